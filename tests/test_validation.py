"""User input is checked before any simulation (issue 12): each bad value raises an
error naming the object, the parameter and the value; valid edge cases still run."""

import re
from importlib import resources

import numpy as np
import pytest
from pyNN import errors

import pyNN.sparsehw as sim_module
from pyNN_sparsehw.chip.model import ChipModelError, load_chip
from pyNN_sparsehw.validation import StaleObjectError

NAN, INF = float("nan"), float("inf")


def _raises(error, *fragments):
    """pytest.raises whose message must contain every fragment (literally)."""
    return pytest.raises(error, match="(?s)" + "".join(f"(?=.*{re.escape(f)})"
                                                      for f in fragments))


# ----------------------------------------------------------- 1. cell parameters
NEURON_TYPES = ["IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", "IF_cond_exp",
                "IF_cond_alpha", "IF_cond_exp_gsfa_grr", "EIF_cond_exp_isfa_ista",
                "EIF_cond_alpha_isfa_ista", "Izhikevich", "HH_cond_exp", "SpikeSourcePoisson",
                "ALIF_curr_delta", "GIF_cond_exp", "EGRU"]
EVERY_PARAMETER = [(cell, name) for cell in NEURON_TYPES
                   for name in getattr(sim_module, cell).default_parameters]

#: NEST 3.10's set_status checks (models/*.cpp, BadProperty) plus HH conductances and
#: Poisson sources: a value each check refuses
OUT_OF_RANGE = {"cm": 0.0, "tau_m": 0.0, "tau_syn_E": -1.0, "tau_syn_I": 0.0,
                "tau_refrac": -0.1, "tau_sfa": 0.0, "tau_rr": -2.0, "tau_w": 0.0,
                "delta_T": -1.0, "gbar_Na": -1.0, "gbar_K": -6.0, "g_leak": -0.01,
                "rate": -5.0, "duration": -1.0, "tau_a": 0.0, "beta": -1.7, "delta_v": 0.0,
                "lambda0": -1.0, "tau_eta": 0.0, "tau_gamma": -10.0}
SIGN_CASES = [(cell, name) for cell, name in EVERY_PARAMETER if name in OUT_OF_RANGE]


def _given(cell, name, bad):
    """`bad` as a value of parameter `name` of `cell`: array-valued parameters (GIF's
    kernels) get it as their first component."""
    default = getattr(sim_module, cell).default_parameters[name]
    return [bad, *np.ravel(default.value)[1:]] if hasattr(default, "value") else bad


def test_every_type_is_covered():
    assert set(NEURON_TYPES) == set(sim_module.list_standard_models()) - {"SpikeSourceArray",
                                                                          "PointNeuron"}
    assert {name for _, name in SIGN_CASES} == set(OUT_OF_RANGE)


@pytest.mark.parametrize("cell, name", EVERY_PARAMETER)
def test_non_finite_parameter_is_refused(sim, cell, name):
    for bad in [NAN, -INF] + ([] if name == "duration" else [INF]):  # (sources may not end)
        with _raises(errors.InvalidParameterValueError, f"({cell})", f"{name} = {bad:g}"):
            sim.Population(3, getattr(sim, cell)(**{name: _given(cell, name, bad)}), label="bad")


@pytest.mark.parametrize("cell, name", SIGN_CASES)
def test_parameter_out_of_range_is_refused(sim, cell, name):
    bad = OUT_OF_RANGE[name]
    with _raises(errors.InvalidParameterValueError, "population 'bad'", f"{name} = {bad:g}"):
        sim.Population(2, getattr(sim, cell)(**{name: _given(cell, name, bad)}), label="bad")


@pytest.mark.parametrize("cell, parameters, fragments", [
    ("IF_curr_exp", dict(v_reset=-50.0, v_thresh=-50.0), ["v_reset = -50 mV", "v_thresh"]),
    ("IF_cond_exp_gsfa_grr", dict(v_reset=-40.0), ["v_reset = -40 mV", "v_thresh = -50"]),
    ("EIF_cond_exp_isfa_ista", dict(v_spike=-60.0), ["v_thresh = -50.4 mV", "v_spike = -60"]),
    ("EIF_cond_alpha_isfa_ista", dict(v_reset=-40.0), ["v_reset = -40 mV", "v_spike = -40"]),
    ("EIF_cond_exp_isfa_ista", dict(delta_T=0.01), ["delta_T", "1040"]),
])
def test_meaningless_orderings_are_refused(sim, cell, parameters, fragments):
    with _raises(errors.InvalidParameterValueError, *fragments):
        sim.Population(1, getattr(sim, cell)(**parameters))


@pytest.mark.filterwarnings("ignore:chip 'analog'")
@pytest.mark.parametrize("chip", ["ideal", "digital", "analog"])
def test_refused_on_every_chip(chip):
    sim_module.setup(timestep=0.1, chip=chip, calibration=None)
    with _raises(errors.InvalidParameterValueError, "tau_m = nan ms"):
        sim_module.Population(1, sim_module.IF_curr_exp(tau_m=NAN))


def test_composed_neuron_receptor_parameters(sim):
    celltype = sim.PointNeuron(sim.LIF(), AMPA=sim.CondExpPostSynapticResponse(tau_syn=0.0))
    with _raises(errors.InvalidParameterValueError, "AMPA.tau_syn = 0"):
        sim.Population(1, celltype)


def test_random_values_are_checked_neuron_by_neuron(sim):
    tau = np.full(10, 20.0)
    tau[[3, 7]] = -1.0
    with _raises(errors.InvalidParameterValueError, "tau_m = -1 ms for neuron 3 (and 1 more)"):
        sim.Population(10, sim.IF_curr_exp(tau_m=tau))
    rng = sim.NumpyRNG(seed=1)
    with _raises(errors.InvalidParameterValueError, "cm = -"):
        sim.Population(50, sim.IF_curr_exp(cm=sim.RandomDistribution("normal", (0.0, 1.0),
                                                                     rng=rng)))


def test_set_and_initialize_are_checked_and_change_nothing(sim):
    cells = sim.Population(4, sim.IF_curr_exp(), label="cells")
    with _raises(errors.InvalidParameterValueError, "population 'cells'", "tau_m = nan"):
        cells.set(tau_m=NAN)
    with _raises(errors.InvalidParameterValueError, "v_reset = -65 mV", "v_thresh = -70 mV"):
        cells[1:3].set(v_thresh=-70.0)
    assert cells.get("tau_m") == 20.0 and cells.get("v_thresh") == -50.0
    with _raises(errors.InvalidParameterValueError, "initial value of v = nan"):
        cells.initialize(v=NAN)
    hh = sim.Population(1, sim.HH_cond_exp())
    with _raises(errors.InvalidParameterValueError, "initial value of m = 2"):
        hh.initialize(m=2.0)
    with _raises(errors.InvalidParameterValueError, "initial value of gsyn_exc = -1"):
        sim.Population(2, sim.IF_cond_exp(), initial_values={"gsyn_exc": -1.0})
    assert len(sim.simulator.state.description.populations) == 2  # the refused one left none


@pytest.mark.parametrize("times, fragment", [([1.0, NAN], "contain nan ms"),
                                             ([-1.0, 2.0], "contain -1 ms"),
                                             ([5.0, 2.0], "increasing order")])
def test_spike_times_are_checked(sim, times, fragment):
    with _raises(errors.InvalidParameterValueError, "spike_times" if "contain" in fragment
                 else "spike times", fragment):
        sim.Population(1, sim.SpikeSourceArray(spike_times=times))


@pytest.mark.parametrize("source, parameters, fragment", [
    ("DCSource", dict(amplitude=NAN), "amplitude = nan nA"),
    ("DCSource", dict(start=10.0, stop=5.0), "stop = 5 ms is before start = 10 ms"),
    ("ACSource", dict(frequency=INF), "frequency = inf Hz"),
    ("ACSource", dict(phase=NAN), "phase = nan deg"),
    ("StepCurrentSource", dict(times=[1.0, 2.0], amplitudes=[0.5, NAN]),
     "amplitudes = nan nA for step 1"),
    ("StepCurrentSource", dict(times=[NAN, 2.0], amplitudes=[0.5, 1.0]), "times = nan ms"),
    ("NoisyCurrentSource", dict(stdev=-1.0), "stdev = -1 nA"),
    ("NoisyCurrentSource", dict(mean=INF), "mean = inf nA"),
])
def test_current_source_parameters_are_checked(sim, source, parameters, fragment):
    with _raises(errors.InvalidParameterValueError, source, fragment):
        getattr(sim, source)(**parameters)


def test_current_source_changes_are_checked(sim):
    source = sim.DCSource(amplitude=0.5)
    with _raises(errors.InvalidParameterValueError, "amplitude = nan"):
        source.amplitude = NAN
    assert source.amplitude == 0.5


# -------------------------------------------------------- 2. weights and delays
@pytest.mark.parametrize("synapse, error, fragment", [
    (dict(weight=NAN), errors.InvalidWeightError, "weight = nan"),
    (dict(weight=INF), errors.InvalidWeightError, "weight = inf"),
    (dict(delay=NAN), errors.ConnectionError, "delay = nan ms"),
    (dict(delay=INF), errors.ConnectionError, "delay = inf ms"),
    (dict(delay=-1.0), errors.ConnectionError, "delay = -1 ms"),
])
def test_bad_weights_and_delays_at_creation(sim, synapse, error, fragment):
    cells = sim.Population(2, sim.IF_curr_exp())
    with _raises(error, "projection 'p'", fragment):
        sim.Projection(cells, cells, sim.AllToAllConnector(), sim.StaticSynapse(**synapse),
                       label="p")


@pytest.mark.parametrize("name, bad, error", [("weight", NAN, errors.InvalidWeightError),
                                              ("weight", INF, errors.InvalidWeightError),
                                              ("delay", NAN, errors.ConnectionError)])
def test_bad_weights_and_delays_at_set(sim, name, bad, error):
    cells = sim.Population(2, sim.IF_curr_exp())
    prj = sim.Projection(cells, cells, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.0), label="p")
    with _raises(error, "projection 'p'", f"{name} = {bad:g}"):
        prj.set(**{name: bad})
    with _raises(error, f"{name} = {bad:g}"):
        setattr(prj[0], name, bad)
    assert np.all(np.isfinite(prj.get(name, format="array")))


def test_delay_below_min_delay_set_in_setup():
    sim_module.setup(timestep=0.1, min_delay=1.0, chip="ideal")
    cells = sim_module.Population(2, sim_module.IF_curr_exp())
    with _raises(errors.ConnectionError, "delay = 0.5 ms", "min_delay", "1 ms"):
        sim_module.Projection(cells, cells, sim_module.AllToAllConnector(),
                              sim_module.StaticSynapse(delay=0.5))


def test_synapse_parameters_are_checked(sim):
    cells = sim.Population(2, sim.IF_curr_exp())
    with _raises(errors.InvalidParameterValueError, "U = 2"):
        sim.Projection(cells, cells, sim.AllToAllConnector(),
                       sim.TsodyksMarkramSynapse(U=2.0))


# ------------------------------------------------------------ 3. setup and run
@pytest.mark.parametrize("arguments, fragment", [
    (dict(timestep=-0.1), "timestep = -0.1"), (dict(timestep=0.0), "timestep = 0.0"),
    (dict(timestep=NAN), "timestep = nan"), (dict(timestep=INF), "timestep = inf"),
    (dict(min_delay=NAN), "min_delay = nan"), (dict(min_delay=-1.0), "min_delay = -1.0"),
    (dict(min_delay=0.05), "min_delay = 0.05"),
    (dict(min_delay=1.0, max_delay=0.5), "max_delay = 0.5"),
    (dict(chip_seed=-1), "chip_seed = -1"), (dict(chip_seed="abc"), "chip_seed = 'abc'"),
    (dict(chip_seed=3.7), "chip_seed = 3.7"), (dict(rng_seed="x"), "rng_seed = 'x'"),
])
def test_bad_setup_arguments(arguments, fragment):
    with _raises(errors.InvalidParameterValueError, "setup()", fragment):
        sim_module.setup(chip="ideal", **arguments)


@pytest.mark.parametrize("simtime", [NAN, -1.0, INF])
def test_bad_run_times(sim, simtime):
    with _raises(errors.InvalidParameterValueError, f"simtime = {simtime!r}"):
        sim.run(simtime)


def test_empty_network_advances_time(sim):
    assert sim.run(10.0) == pytest.approx(10.0)
    assert sim.get_current_time() == pytest.approx(10.0)


# ------------------------------------------------- 4. objects of an older setup
def _stale_actions(sim, old, old_projection, old_source, new):
    """action -> (what the error must name, the call)."""
    return {
        "projection from": ("Population 'old'",
                            lambda: sim.Projection(old, new, sim.AllToAllConnector())),
        "projection to": ("view of 'old'",
                          lambda: sim.Projection(new, old[0:1], sim.AllToAllConnector())),
        "record": ("Population 'old'", lambda: old.record("v")),
        "set": ("Population 'old'", lambda: old.set(tau_m=10.0)),
        "get": ("Population 'old'", lambda: old.get("tau_m")),
        "initialize": ("Population 'old'", lambda: old.initialize(v=-70.0)),
        "get_data": ("Population 'old'", lambda: old.get_data()),
        "view set": ("view of 'old'", lambda: old[0:1].set(tau_m=10.0)),
        "assembly record": ("Population 'old'", lambda: (new + old).record("spikes")),
        "inject": ("Population 'old'", lambda: sim.DCSource(amplitude=1.0).inject_into(old)),
        "old source": ("DCSource", lambda: old_source.inject_into(new)),
        "projection set": ("Projection 'old_prj'", lambda: old_projection.set(weight=1.0)),
        "projection get": ("Projection 'old_prj'",
                           lambda: old_projection.get("weight", format="list")),
        "id": ("neuron id 0", lambda: old[0].tau_m),
    }


@pytest.mark.parametrize("action", list(_stale_actions(None, None, None, None, None)))
def test_objects_of_a_previous_setup_are_refused(sim, action):
    old = sim.Population(2, sim.IF_curr_exp(), label="old")
    old.record("spikes")
    old_projection = sim.Projection(old, old, sim.AllToAllConnector(), label="old_prj")
    old_source = sim.DCSource(amplitude=1.0)
    sim.setup(timestep=0.1, chip="ideal")
    new = sim.Population(2, sim.IF_curr_exp(), label="new")
    named, call = _stale_actions(sim, old, old_projection, old_source, new)[action]
    with _raises(StaleObjectError, named, "previous setup()"):
        call()


# ------------------------------------------- 5. a population created after run()
def test_population_created_after_run(sim):
    first = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    first.record("spikes")
    sim.run(50.0)
    late = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    late.record("spikes")
    sim.run(50.0)
    # 1 nA into 1 nF, tau_m 20 ms: v reaches -50 mV after 20 ln(20/5) = 27.7 ms,
    # counted from the population's creation
    first_spike = late.get_data().segments[0].spiketrains[0].magnitude[0]
    assert first_spike == pytest.approx(50.0 + 20 * np.log(4.0), abs=0.15)
    assert first.get_data().segments[0].spiketrains[0].magnitude[0] == \
        pytest.approx(20 * np.log(4.0), abs=0.15)


# ------------------------------------------------ 6. get_data before run, sizes
def test_get_data_before_run_is_an_empty_block(sim):
    cells = sim.Population(3, sim.IF_curr_exp())
    cells.record(["spikes", "v"])
    block = cells.get_data()
    assert len(block.segments) == 1
    segment = block.segments[0]
    assert len(segment.spiketrains) == 3 and all(len(st) == 0 for st in segment.spiketrains)
    assert len(segment.analogsignals) == 0


@pytest.mark.parametrize("size", [0, -1, 2.5])
def test_population_size_must_be_positive(sim, size):
    with _raises((errors.InvalidDimensionsError, ValueError), str(size)):
        sim.Population(size, sim.IF_curr_exp())


# ------------------------------------------------------------ 7. chip TOMLs
@pytest.mark.parametrize("key, good, bad", [
    ("neurons_per_core", "neurons_per_core = 512 ", "neurons_per_core = -512 "),
    ("weight_bits", "weight_bits = 6 ", 'weight_bits = "six" '),
    ("tau_m.dac.bits", "dac = { bits = 10, range = [0.5, 100.0] }",
     "dac = { bits = 0, range = [0.5, 100.0] }"),
    ("tau_m.dac.range", "dac = { bits = 10, range = [0.5, 100.0] }",
     "dac = { bits = 10, range = [100.0, 0.5] }"),
    ("tau_m.mismatch.sigma", "mismatch = { sigma = 0.15", "mismatch = { sigma = -0.15"),
    ("gain_mismatch", "gain_mismatch = 0.10", "gain_mismatch = -0.10"),
    ("placement_fill", "placement_fill = 1.0", "placement_fill = 1.5"),
    ("max_weight.current", "current = 10.0", "current = -10.0"),
    ("speedup", "speedup = 1000.0", "speedup = 0.0"),
])
def test_chip_model_keys_are_checked(tmp_path, key, good, bad):
    text = (resources.files("pyNN_sparsehw.models") / "analog.toml").read_text()
    assert good in text
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(good, bad, 1))
    with _raises(ChipModelError, str(path), key):
        load_chip(str(path))


# ------------------------------------------------------- valid edge cases run
def test_valid_edge_cases_still_run(sim):
    cells = sim.Population(2, sim.IF_curr_exp(tau_refrac=0.0, i_offset=-0.5))
    adex = sim.Population(1, sim.EIF_cond_exp_isfa_ista(v_spike=-50.4, delta_T=0.0))
    silent = sim.Population(1, sim.SpikeSourcePoisson(rate=0.0))
    endless = sim.Population(1, sim.SpikeSourcePoisson(rate=1000.0, duration=INF))
    endless.record("spikes")
    spikes = sim.Population(1, sim.SpikeSourceArray(spike_times=[0.0, 1.0, 1.0]))
    sim.Projection(silent, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.0))
    sim.Projection(spikes, adex, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.0))
    sim.DCSource(amplitude=-0.1, start=0.0, stop=INF).inject_into(cells)
    cells.record("v")
    sim.run(5.0)
    assert np.all(np.isfinite(cells.get_data().segments[0].analogsignals[0].magnitude))
    assert len(endless.get_data().segments[0].spiketrains[0]) > 0
