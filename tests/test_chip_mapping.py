"""Chip models and mapping through the PyNN API: cell types on circuits, effective
parameters, quantization, frozen mismatch, resource limits, the hardware report."""

import copy
import json
import re
import subprocess
import sys
import time
from importlib import resources

import numpy as np
import pytest

import pyNN.sparsehw as sim
from pyNN_sparsehw import simulator
from pyNN_sparsehw.chip import ChipModel, load_chip
from pyNN_sparsehw.chip.placement import ChipResourceError
from pyNN_sparsehw.mapping.vocabulary import MappingError

# these tests read the uncalibrated chip on purpose (calibration=None)
pytestmark = pytest.mark.filterwarnings("ignore:chip .* runs uncalibrated:UserWarning")

LIF = dict(cm=0.2, tau_m=20.0, v_rest=-60.0, v_reset=-60.0, v_thresh=-50.0, tau_refrac=5.0,
           tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0)


def chip_variant(name, **changes):
    """A shipped chip model with some tables changed: `changes` maps dotted keys
    ("topology.max_chips") to new values, None to delete."""
    config = copy.deepcopy(load_chip(name).config)
    for dotted, value in changes.items():
        *path, key = dotted.split(".")
        table = config
        for part in path:
            table = table[part]
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return ChipModel(config, source=f"<{name} variant>")


def without_mismatch(name):
    """A shipped chip with every mismatch and noise removed (representation kept)."""
    config = copy.deepcopy(load_chip(name).config)
    for entry in config["neurons"].get("parameters", {}).values():
        entry.pop("mismatch", None)
        entry.pop("noise", None)
    config["synapses"]["gain_mismatch"] = 0.0
    return ChipModel(config, source=f"<{name} without mismatch>")


# ------------------------------------------------------------------ chip models
def test_analog_is_the_default_chip_and_the_environment_can_change_it(monkeypatch):
    monkeypatch.delenv("PYNN_SPARSEHW_CHIP", raising=False)
    monkeypatch.delenv("PYNN_SPARSEHW_CHIP_SEED", raising=False)
    sim.setup(calibration=None)
    assert simulator.state.chip.name == "analog"
    monkeypatch.setenv("PYNN_SPARSEHW_CHIP", "digital")
    sim.setup()
    assert simulator.state.chip.name == "digital"
    sim.setup(chip="ideal")          # an explicit chip wins
    assert simulator.state.chip.name == "ideal"
    monkeypatch.setenv("PYNN_SPARSEHW_CHIP_SEED", "12")
    sim.setup(chip="analog", calibration=None)
    assert simulator.state.chip_seed == 12
    sim.setup(chip="analog", chip_seed=3, calibration=None)
    assert simulator.state.chip_seed == 3


def test_chip_can_be_a_name_a_path_or_an_object(tmp_path):
    text = (resources.files("pyNN_sparsehw.models") / "digital.toml").read_text()
    path = tmp_path / "mychip.toml"
    path.write_text(text.replace('name = "digital"', 'name = "mychip"'))
    sim.setup(chip=str(path))
    assert simulator.state.chip.name == "mychip"
    model = load_chip("analog")
    sim.setup(chip=model, chip_seed=5, calibration=None)
    assert simulator.state.chip is model and simulator.state.chip_seed == 5


@pytest.mark.parametrize("name", ["analog", "digital"])
def test_every_number_in_a_shipped_model_cites_its_source_or_says_assumed(name):
    text = (resources.files("pyNN_sparsehw.models") / f"{name}.toml").read_text()
    tags = set(re.findall(r"^# (\[[A-Z]+\d*\])", text, flags=re.M))
    assert tags, "the model lists its sources at the top"
    for line in text.splitlines():
        code, _, comment = line.partition("#")
        key, _, value = code.partition("=")
        if value and key.strip() != "description" and re.search(r"\d", value):
            cited = "assumed" in comment or any(tag in comment for tag in tags)
            assert cited, f"{name}.toml: '{line.strip()}' cites no source"


def test_inconsistent_chip_model_is_a_clear_error():
    with pytest.raises(ValueError, match=r"core_grid \[4, 4\] holds 16 cores.*cores_per_chip is 128"):
        chip_variant("digital", **{"topology.core_grid": [4, 4]})
    with pytest.raises(ValueError, match=r"neurons.parameters.tau_m has unknown key\(s\) sigma"):
        chip_variant("analog", **{"neurons.parameters.tau_m.sigma": 0.1})


# ---------------------------------------------------------- cell types on chips
@pytest.mark.parametrize("chip, cell, reason", [
    ("analog", "HH_cond_exp", "no hh neuron circuit"),
    ("analog", "IF_curr_alpha", "no curr_alpha kinetics"),
    ("analog", "Izhikevich", "no izhikevich neuron circuit"),
    ("digital", "EIF_cond_exp_isfa_ista", "no adex neuron circuit"),
    ("digital", "IF_cond_alpha", "no cond_alpha kinetics"),
])
def test_cell_type_a_chip_cannot_realise_is_an_error_naming_type_and_chip(chip, cell, reason):
    sim.setup(chip=chip, calibration=None)
    sim.Population(2, getattr(sim, cell)(), label="cells")
    with pytest.raises(MappingError, match=rf"population 'cells': the {chip} chip cannot "
                                           rf"realise cell type {cell}: .*{reason}"):
        sim.run(1.0)
    assert sim.get_current_time() == 0.0


def test_point_neuron_with_more_receptors_than_the_circuit_has_is_an_error():
    sim.setup(chip="analog", calibration=None)
    cell = sim.PointNeuron(sim.LIF(), AMPA=sim.CondExpPostSynapticResponse(),
                           NMDA=sim.CondExpPostSynapticResponse(),
                           GABA=sim.CondExpPostSynapticResponse())
    sim.Population(2, cell, label="multi")
    with pytest.raises(MappingError, match=r"'multi'.*needs 3 synaptic inputs.*have 2"):
        sim.run(1.0)


def spike_times_of(chip, cell="IF_cond_exp", parameters=LIF, i_offset=0.3, tstop=300.0):
    sim.setup(timestep=0.1, min_delay=0.1, chip=chip, calibration=None)
    cells = sim.Population(1, getattr(sim, cell)(i_offset=i_offset, **parameters))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[20.0, 40.0, 45.0]))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="excitatory")
    cells.record("spikes")
    sim.run(tstop)
    return np.asarray(cells.get_data().segments[0].spiketrains[0].magnitude)


@pytest.mark.parametrize("cell", ["IF_cond_exp", "IF_curr_exp"])
def test_lif_on_the_analog_adex_circuit_equals_lif_on_ideal(cell):
    """IF_* on AdEx circuits with a = b = 0 and the exponential term off: without
    mismatch and with exact parameters, the same spikes as the ideal chip."""
    parameters = dict(LIF) if cell == "IF_cond_exp" else \
        {k: v for k, v in LIF.items() if not k.startswith("e_rev")}
    weight_scale_exact = without_mismatch("analog")
    for entry in weight_scale_exact.config["neurons"]["parameters"].values():
        entry.pop("dac", None)
    ideal = spike_times_of("ideal", cell, parameters)
    analog = spike_times_of(weight_scale_exact, cell, parameters)
    assert ideal.size >= 5
    np.testing.assert_allclose(analog, ideal, atol=1e-9)


# ----------------------------------------------------- effective parameters
def test_hardware_get_returns_the_digital_fixed_point_values():
    sim.setup(timestep=0.1, chip="digital")
    cells = sim.Population(3, sim.IF_cond_exp(**LIF), label="cells")
    tau_m, tau_e, refrac, v_thresh = cells.get(
        ["tau_m", "tau_syn_E", "tau_refrac", "v_thresh"], hardware=True)
    assert tau_m == pytest.approx(-0.1 / np.log(1 - 20 / 4096))     # decay code 20
    assert tau_e == pytest.approx(-0.1 / np.log(1 - 81 / 4096))     # decay code 81
    assert refrac == pytest.approx(5.0)
    lsb = 512.0 / (2 ** 24 - 1)
    assert v_thresh == pytest.approx(-256.0 + np.floor((206.0) / lsb + 0.5) * lsb)
    assert cells.get("tau_m") == 20.0                     # the target is kept
    view = cells[1:]
    assert view.get("tau_m", hardware=True, simplify=False).shape == (2,)


def test_analog_effective_parameters_follow_dac_mismatch_and_are_frozen():
    sim.setup(timestep=0.1, chip="analog", chip_seed=11, calibration=None)
    cells = sim.Population(512, sim.IF_cond_exp(**LIF))
    tau_m = cells.get("tau_m", hardware=True)
    v_thresh = cells.get("v_thresh", hardware=True)
    assert np.std(tau_m / np.mean(tau_m)) == pytest.approx(0.15, rel=0.15)
    assert np.std(v_thresh) == pytest.approx(2.0, rel=0.15)
    # setting a parameter keeps each circuit's deviation
    cells.set(tau_m=10.0)
    np.testing.assert_allclose(cells.get("tau_m", hardware=True) / tau_m, 0.5, rtol=0.01)
    # AdEx settings that switch adaptation off are exact, not mismatched
    mapped = simulator.state.mapping().populations[0]
    assert np.all(mapped.spec.parameters["a"] == 0) and np.all(mapped.spec.parameters["b"] == 0)


PROBE = """
import hashlib, json, sys
import numpy as np
import pyNN.sparsehw as sim
sim.setup(timestep=0.1, chip="analog", chip_seed=int(sys.argv[1]), calibration=None)
sim.Population(int(sys.argv[2]), sim.SpikeSourcePoisson(rate=1.0))   # shifts nothing
cells = sim.Population(600, sim.IF_cond_exp())
values = np.concatenate([np.atleast_1d(cells.get(name, hardware=True))
                         for name in ("tau_m", "v_thresh", "cm", "tau_syn_E")])
print(hashlib.sha256(values.tobytes()).hexdigest())
"""


def _probe(seed, n_sources=1):
    result = subprocess.run([sys.executable, "-c", PROBE, str(seed), str(n_sources)],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_same_chip_seed_gives_identical_effective_parameters_across_processes():
    first = _probe(7)
    assert _probe(7, n_sources=5) == first   # spike sources take no circuit
    assert _probe(8) != first


def _uniform_chip(sigma_relative=0.15, sigma_absolute=2.0):
    """The analog chip with room for 10k circuits and exact DACs."""
    chip = chip_variant("analog", **{"topology.max_chips": 20, "topology.chip_grid": [5, 4]})
    parameters = chip.config["neurons"]["parameters"]
    for entry in parameters.values():
        entry.pop("dac", None)
    parameters["tau_m"]["mismatch"]["sigma"] = sigma_relative
    parameters["v_thresh"]["mismatch"]["sigma"] = sigma_absolute
    return ChipModel(chip.config, source="<analog, 20 chips>")


def test_mismatch_over_10k_circuits_has_the_declared_sigma_and_seeds_differ():
    chip = _uniform_chip()
    realised = {}
    for seed in (1, 2):
        sim.setup(chip=chip, chip_seed=seed, calibration=None)
        cells = sim.Population(10000, sim.IF_cond_exp(**LIF))
        realised[seed] = (cells.get("tau_m", hardware=True) / 20.0,
                          cells.get("v_thresh", hardware=True) + 50.0)
    for seed in (1, 2):
        factor, offset = realised[seed]
        assert abs(np.std(factor - 1.0) / 0.15 - 1.0) < 0.03
        assert abs(np.std(offset) / 2.0 - 1.0) < 0.03
    # two chip instances differ circuit by circuit: difference has sigma * sqrt(2)
    difference = realised[1][1] - realised[2][1]
    assert abs(np.std(difference) / (2.0 * np.sqrt(2)) - 1.0) < 0.03
    assert abs(np.corrcoef(realised[1][0], realised[2][0])[0, 1]) < 0.05


def firing_rates(chip, n=200, tstop=1000.0, chip_seed=0):
    """Rates (Hz) of `n` identical neurons under the identical constant input, on the
    uncalibrated chip."""
    sim.setup(timestep=0.1, chip=chip, chip_seed=chip_seed, calibration=None)
    cells = sim.Population(n, sim.IF_cond_exp(i_offset=0.25, **LIF))
    cells.record("spikes")
    sim.run(tstop)
    trains = cells.get_data().segments[0].spiketrains
    return np.array([len(st) for st in trains]) / (tstop / 1000.0)


def test_uncalibrated_analog_chip_spreads_rates_of_identical_neurons():
    ideal = firing_rates("ideal")
    assert ideal.mean() > 10 and np.std(ideal) == 0.0
    analog = firing_rates("analog")
    cv = np.std(analog) / np.mean(analog)
    assert cv > 0.10, f"rate CV across identical analog neurons is only {cv:.3f}"


# ---------------------------------------------------------------- synapses
def _projection(chip, weights, **kwargs):
    sim.setup(timestep=0.1, chip=chip, calibration=None)
    pre = sim.Population(len(weights), sim.SpikeSourcePoisson(rate=5.0), label="pre")
    post = sim.Population(1, sim.IF_curr_exp(), label="post")
    connections = [(i, 0, w, 1.0) for i, w in enumerate(weights)]
    return sim.Projection(pre, post, sim.FromListConnector(connections),
                          receptor_type="excitatory", label="prj", **kwargs)


def test_analog_weights_are_6_bit_codes_times_a_per_projection_scale():
    weights = np.array([0.0, 0.01, 0.1, 0.33, 0.63])
    prj = _projection(without_mismatch("analog"), weights)
    realised = prj.get("weight", format="list", with_address=False, hardware=True)
    np.testing.assert_allclose(realised, np.round(weights / 0.01) * 0.01, atol=1e-12)
    mapped = simulator.state.mapping().projections[0]
    assert mapped.weight_step == pytest.approx(0.01)
    assert prj.get("weight", format="list", with_address=False)[2] == 0.1  # target kept
    # a user scale: codes of 0.02, the largest weights clip at 63 * 0.002
    prj = _projection(without_mismatch("analog"), weights, hardware={"weight_scale": 0.002})
    realised = np.array(prj.get("weight", format="list", with_address=False, hardware=True))
    np.testing.assert_allclose(realised, [0.0, 0.01, 0.1, 0.126, 0.126], atol=1e-12)
    report = sim.hardware_report().as_dict()["projections"][0]["weights"]
    assert report["clipped"] == 2 and report["bits"] == 6


def test_synapse_gain_mismatch_is_frozen_per_synapse_circuit():
    prj = _projection("analog", np.full(200, 0.1))
    first = np.array(prj.get("weight", format="list", with_address=False, hardware=True))
    # one target neuron: its input gain scales all; synapse circuits spread by 10 %
    assert np.std(first / first.mean()) == pytest.approx(0.10, rel=0.25)
    mapped = simulator.state.mapping().populations[1]
    assert first.mean() / 0.1 == pytest.approx(mapped.gains["exc"][0], rel=0.03)
    again = _projection("analog", np.full(200, 0.1))
    np.testing.assert_array_equal(
        np.array(again.get("weight", format="list", with_address=False, hardware=True)), first)


def test_stochastic_rounding_is_unbiased_and_repeatable():
    weights = np.full(4000, 0.3)
    weights[0] = 1.0           # scale 1/255: 0.3 is 76.5 codes
    prj = _projection(without_mismatch("digital"), weights, hardware={"rounding": "stochastic"})
    realised = np.array(prj.get("weight", format="list", with_address=False, hardware=True))
    codes = np.round(realised[1:] * 255).astype(int)
    assert set(codes) == {76, 77}
    assert abs(realised[1:].mean() - 0.3) < 0.002
    again = _projection(without_mismatch("digital"), weights, hardware={"rounding": "stochastic"})
    np.testing.assert_array_equal(
        realised, again.get("weight", format="list", with_address=False, hardware=True))


def test_row_exponents_keep_small_rows_precise():
    weights = np.array([1.0, 0.999, 0.001, 0.00123])
    sim.setup(chip=without_mismatch("digital"))
    pre = sim.Population(2, sim.SpikeSourcePoisson(rate=5.0))
    post = sim.Population(2, sim.IF_curr_exp())
    rows = [(0, 0, 1.0, 1.0), (0, 1, 0.999, 1.0), (1, 0, 0.001, 1.0), (1, 1, 0.00123, 1.0)]
    shared = sim.Projection(pre, post, sim.FromListConnector(rows))
    per_row = sim.Projection(pre, post, sim.FromListConnector(rows),
                             hardware={"exponent_group": "row"})
    a = np.array(shared.get("weight", format="list", with_address=False, hardware=True))
    b = np.array(per_row.get("weight", format="list", with_address=False, hardware=True))
    in_list_order = weights[[0, 2, 1, 3]]               # get() orders by target
    assert abs(a[3] / in_list_order[3] - 1) > 0.05      # 0.00123 on a step of 1/255
    np.testing.assert_allclose(b, in_list_order, rtol=0.01)


def test_bad_hardware_options_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown hardware option\(s\) scale; available"):
        _projection("analog", [0.1], hardware={"scale": 0.1})
    with pytest.raises(ValueError, match=r"rounding must be one of"):
        _projection("analog", [0.1], hardware={"rounding": "up"})
    prj = _projection("digital", [0.1], hardware={"weight_scale": 0.01})
    with pytest.raises(ValueError, match=r"sets weight scales by exponents"):
        prj.get("weight", format="list", hardware=True)


# -------------------------------------------------------------- resources
def test_delay_beyond_the_chip_range_is_an_error_before_simulation():
    sim.setup(timestep=0.1, chip="digital")
    pre = sim.Population(2, sim.SpikeSourcePoisson(rate=5.0))
    post = sim.Population(2, sim.IF_curr_exp())
    sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(delay=10.0),
                   label="slow")
    with pytest.raises(ChipResourceError,
                       match=r"projection 'slow': delay 10 ms is longer than the digital "
                             r"chip's longest delay, 62 time steps = 6.2 ms.*shorter delays"):
        sim.run(10.0)
    assert sim.get_current_time() == 0.0


def test_weight_beyond_the_chip_range_is_an_error():
    with pytest.raises(ChipResourceError,
                       match=r"projection 'prj': weight 20 nA exceeds the analog chip's "
                             r"largest current weight 10 nA"):
        _projection("analog", [20.0]).get("weight", format="list", hardware=True)


def test_fan_in_beyond_the_synapse_rows_is_an_error():
    sim.setup(chip="analog", calibration=None)
    pre = sim.Population(300, sim.SpikeSourcePoisson(rate=5.0), label="inputs")
    post = sim.Population(4, sim.IF_cond_exp(), label="target")
    sim.Projection(pre, post, sim.AllToAllConnector(), label="dense")
    with pytest.raises(ChipResourceError,
                       match=r"projection 'dense': neuron 0 of population 'target' would "
                             r"receive 300 synapses.*analog chip has 256 \(fan-in limit\)"):
        sim.run(1.0)


def test_too_many_input_axons_per_core_is_an_error():
    sim.setup(chip="digital")
    pre = sim.Population(5000, sim.SpikeSourcePoisson(rate=5.0))
    post = sim.Population(30, sim.IF_cond_exp())
    sim.Projection(pre, post, sim.FixedNumberPreConnector(500, rng=sim.NumpyRNG(1)),
                   label="wide")
    with pytest.raises(ChipResourceError,
                       match=r"projection 'wide': core 0 would receive spikes from \d{4} "
                             r"distinct presynaptic neurons.*4096 input axons"):
        sim.run(1.0)


def test_oversized_network_fails_before_simulation_naming_the_population():
    sim.setup(chip="analog", calibration=None)
    sim.Population(5000, sim.IF_cond_exp(), label="exc")
    sim.Population(4000, sim.IF_cond_exp(), label="inh")
    with pytest.raises(ChipResourceError,
                       match=r"population 'inh' does not fit: 9000 neurons .* more than the "
                             r"16 cores of the analog chip model \(16 cores x 512 neurons"):
        sim.run(1.0)
    assert sim.get_current_time() == 0.0


def test_synaptic_memory_splits_a_population_over_more_cores():
    sim.setup(chip="digital")
    pre = sim.Population(1000, sim.SpikeSourcePoisson(rate=5.0))
    post = sim.Population(1024, sim.IF_cond_exp(), label="dense")
    sim.Projection(pre, post, sim.AllToAllConnector())
    report = sim.hardware_report().as_dict()
    # 1000 synapses x 24 bits per neuron reserved, placement fills 90 % of 1 Mibit:
    # 39 neurons per core
    per_core = [c["neurons"] for c in report["cores"]["per_core"]]
    assert per_core[:-1] == [39] * 26 and sum(per_core) == 1024
    assert all(c["memory_bits"] <= 1048576 for c in report["cores"]["per_core"])
    assert report["cores"]["per_core"][0]["synapses"] == 39000


def test_mapping_one_million_synapses_takes_under_5_seconds():
    sim.setup(chip="digital")
    pre = sim.Population(2000, sim.IF_cond_exp())
    post = sim.Population(2000, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.FixedNumberPreConnector(500, rng=sim.NumpyRNG(3)))
    assert len(prj) == 1_000_000
    start = time.perf_counter()
    mapper = simulator.state.mapping()
    elapsed = time.perf_counter() - start
    assert mapper.projections[0].spec.pre_index.size == 1_000_000
    assert elapsed < 5.0, f"mapping 1M synapses took {elapsed:.2f} s"


# ------------------------------------------------------------------- report
def test_hardware_report_lists_cores_losses_and_wiring_cost():
    sim.setup(timestep=0.1, chip="analog", chip_seed=3, calibration=None)
    exc = sim.Population(600, sim.IF_cond_exp(**LIF), label="exc")
    inh = sim.Population(100, sim.IF_cond_exp(**LIF), label="inh")
    sim.Projection(exc, inh, sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(2)),
                   sim.StaticSynapse(weight=0.004), label="e2i")
    sim.run(10.0)
    report = sim.hardware_report()
    data = json.loads(report.to_json())
    assert data["chip"]["name"] == "analog" and data["chip"]["seed"] == 3
    assert data["chip"]["calibration"] == {"calibrated": False}
    assert "uncalibrated: every trim at its middle code" in str(report)
    assert data["cores"]["used"] == 2
    assert [c["neurons"] for c in data["cores"]["per_core"]] == [512, 188]
    # inh sits on core 1 (chip 1, one hop east of chip 0)
    projection = data["projections"][0]
    on_core_0 = np.arange(600) < 512
    assert projection["wiring_cost"] <= projection["synapses"]
    assert 0 < projection["mean_hops"] <= 1.0
    assert projection["weights"]["bits"] == 6
    assert projection["gain_sigma"] == pytest.approx(0.10, rel=0.3)
    parameters = data["populations"][0]["parameters"]
    assert parameters["tau_m"]["mismatch_sigma"] == pytest.approx(0.15, rel=0.2)
    assert parameters["c_m"]["rms_relative_error"] > 0.01          # 6-bit capacitor DAC
    text = str(report)
    for needle in ("Cores: 2 used of 16", "mismatch sigma", "wiring cost", "e2i"):
        assert needle in text
    assert on_core_0.sum() == 512


def test_ideal_chip_report_has_no_losses():
    sim.setup(chip="ideal")
    cells = sim.Population(10, sim.IF_cond_exp())
    sim.Projection(cells, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.0123))
    data = sim.hardware_report().as_dict()
    assert data["chip"]["calibration"] is None          # no trim DACs
    assert data["cores"]["used"] == 1 and data["totals"]["wiring_cost"] == 0
    assert data["populations"][0]["parameters"] == {}
    assert data["projections"][0]["weights"]["bits"] is None


def test_trial_noise_is_redrawn_each_trial_and_kept_apart_from_mismatch():
    sim.setup(timestep=0.1, chip="analog", chip_seed=4, calibration=None)
    cells = sim.Population(400, sim.IF_cond_exp(**LIF))
    mapped = simulator.state.mapping().populations[0]
    first = cells.get("v_thresh", hardware=True)
    frozen = mapped.deviation["v_thresh"].copy()
    first_noise = mapped.noise["v_thresh"].copy()
    assert np.std(mapped.noise["v_thresh"]) == pytest.approx(0.2, rel=0.2)
    sim.run(1.0)
    sim.reset()                                  # a new trial
    second = cells.get("v_thresh", hardware=True)
    mapped = simulator.state.mapping().populations[0]
    np.testing.assert_array_equal(mapped.deviation["v_thresh"], frozen)
    assert np.std(second - first) == pytest.approx(0.2 * np.sqrt(2), rel=0.2)
    report = sim.hardware_report().as_dict()["populations"][0]["parameters"]["v_thresh"]
    assert report["noise_sigma"] == pytest.approx(0.2, rel=0.2)
    # without trial noise, every trial realises the same values
    sim.setup(timestep=0.1, chip="analog", chip_seed=4, trial_noise=False, calibration=None)
    cells = sim.Population(400, sim.IF_cond_exp(**LIF))
    quiet = cells.get("v_thresh", hardware=True)
    sim.run(1.0)
    sim.reset()
    np.testing.assert_array_equal(cells.get("v_thresh", hardware=True), quiet)
    np.testing.assert_allclose(quiet, first - first_noise, atol=1e-12)


def test_chip_layer_imports_neither_pynn_nor_brian2():
    """chip/ is pure numpy (DESIGN.md): no module imports PyNN, Brian2 or the rest of
    pyNN_sparsehw, so that it can be reused alone."""
    import ast
    import pyNN_sparsehw.chip as chip_package
    from pathlib import Path
    for path in Path(chip_package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports from outside chip/"
                names = [] if node.level else [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in ("pyNN", "brian2", "pyNN_sparsehw"), \
                    f"{path.name} imports {name}"


def test_calibration_default_comes_from_the_environment(monkeypatch):
    from pyNN_sparsehw import calibration_from_environment
    monkeypatch.delenv("PYNN_SPARSEHW_CALIBRATION", raising=False)
    assert calibration_from_environment() == "auto"
    monkeypatch.setenv("PYNN_SPARSEHW_CALIBRATION", "NONE")
    assert calibration_from_environment() is None
    with pytest.warns(UserWarning, match="chip 'analog' .* runs uncalibrated"):
        sim.setup(chip="analog", chip_seed=9)
    assert simulator.state.calibration is None
    monkeypatch.setenv("PYNN_SPARSEHW_CALIBRATION", "/no/such/result.json")
    assert calibration_from_environment() == "/no/such/result.json"
