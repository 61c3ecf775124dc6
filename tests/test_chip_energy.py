"""The energy model: closed forms, the fit to Schaefer et al. 2020, and the energy and
memory report of networks mapped through the PyNN API."""

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import pyNN.sparsehw as sim
from pyNN_sparsehw import simulator
from pyNN_sparsehw.chip import ChipModel, load_chip
from pyNN_sparsehw.chip import encodings as enc
from pyNN_sparsehw.chip import energy
from pyNN_sparsehw.chip.placement import ChipResourceError

DATA = Path(__file__).resolve().parent / "data" / "schaefer2020_frontier.csv"
BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "encodings.py"

PROFILE = dict(synaptic_event=2e-12, neuron_update=5e-12, word_read={"csr": 1e-12},
               write_factor=2.0, size_exponent=0.5, reference_bits=1000.0, spike_hop=3e-12,
               static_power_per_core=0.1, speedup=10.0)


def test_profile_closed_forms_and_validation():
    profile = energy.EnergyProfile.from_config(PROFILE)
    assert profile.word_energy("csr", 4000) == pytest.approx(2e-12)       # sqrt(4) x 1 pJ
    assert profile.word_energy("csr", 0) == pytest.approx(1e-12 / np.sqrt(1000))
    with pytest.raises(energy.EnergyModelError, match="no word-read energy for encoding "
                                                     "'dense'; the profile has csr"):
        profile.word_energy("dense", 1000)
    with pytest.raises(energy.EnergyModelError, match=r"\[energy\] lacks spike_hop"):
        energy.EnergyProfile.from_config({k: v for k, v in PROFILE.items() if k != "spike_hop"})
    with pytest.raises(energy.EnergyModelError, match="must be >= 0"):
        energy.EnergyProfile.from_config(dict(PROFILE, synaptic_event=-1.0))
    # 2 cores x 0.1 W over 500 ms of biological time at a 10x speed-up
    assert energy.static_energy(profile, 2, 500.0) == pytest.approx(0.2 * 0.05)
    assert energy.routing_energy(profile, [1.0, 3.0], [10, 2]) == pytest.approx(16 * 3e-12)
    # graded events: 16 hops x (3 pJ + 16 payload bits x 0.1 pJ)
    graded = energy.EnergyProfile.from_config(dict(PROFILE, payload_bit_hop=0.1e-12))
    assert energy.routing_energy(graded, [1.0, 3.0], [10, 2], payload_bits=16) == \
        pytest.approx(16 * (3e-12 + 1.6e-12))
    assert energy.routing_energy(graded, [1.0, 3.0], [10, 2]) == pytest.approx(16 * 3e-12)
    with pytest.raises(energy.EnergyModelError, match="'u' carry 16-bit payloads.*no "
                                                     "payload_bit_hop"):
        energy.routing_energy(profile, [1.0], [1], payload_bits=16, source="'u'")


def test_routing_prices_the_payload_bits_of_graded_events_per_hop():
    # an EGRU unit under constant drive fires at steps 2 and 5 (test_egru_chip); its
    # target starts on the next core (1 hop); a host spike source reaches that core in
    # 2 hops (the host sits west of core 0)
    sim.setup(timestep=1.0, chip="digital")
    source = sim.Population(1, sim.EGRU(b_candidate=np.arctanh(0.8), theta=0.65), label="u")
    target = sim.Population(1, sim.EGRU(theta=5.0), label="v", hardware={"new_core": True})
    host = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 3.0, 4.0]), label="h")
    sim.Projection(source, target, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.5, delay=1.0), receptor_type="candidate_input")
    sim.Projection(host, target, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.5, delay=1.0), receptor_type="update")
    source.record("spikes")
    sim.run(8.0)
    events = len(source.get_data().segments[-1].spiketrains[0])
    report = sim.hardware_report()
    sim.end()
    profile = load_chip("digital").energy_profile
    assert events == 2 and profile.payload_bit_hop == pytest.approx(3.5e-12 / 32, rel=0.01)
    graded = events * 1 * (profile.spike_hop + 16 * profile.payload_bit_hop)
    spikes = 3 * 2 * profile.spike_hop
    assert report.energy["by_category"]["routing"] == pytest.approx(graded + spikes)


def test_memory_energy_counts_rows_columns_and_updates():
    profile = energy.EnergyProfile.from_config(PROFILE)
    # rows 0 -> {1, 3}, 1 -> {}, 2 -> {0, 1, 2, 3}: csr with 16-bit words (see
    # test_chip_encodings): forward words [2, 1, 3], backward 8 per column
    table = enc.SynapseTable([0, 0, 2, 2, 2, 2], [1, 3, 0, 1, 2, 3], np.full(6, 3),
                             np.zeros(6, int), 3, 4, 4, 2)
    encoded = enc.encode(table, "csr", 16)
    word = profile.word_energy("csr", 1000)
    pre_spikes = np.array([5, 7, 1])          # row 1 has no synapse: never read
    reads, writes = energy.memory_energy(profile, encoded, 1000, pre_spikes,
                                         pre_index=table.pre)
    assert reads == pytest.approx((5 * 2 + 1 * 3) * word) and writes == 0
    post_spikes = np.array([1, 0, 0, 2])
    reads, writes = energy.memory_energy(profile, encoded, 1000, pre_spikes, post_spikes,
                                         table.pre, table.post)
    assert reads == pytest.approx((13 + 3 * 8) * word)
    updates = (pre_spikes[table.pre] + post_spikes[table.post]) @ encoded.update_words
    assert writes == pytest.approx(updates * word * 2.0)


def _benchmark():
    spec = importlib.util.spec_from_file_location("encodings_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fit_to_schaefer_2020_reproduces_the_headline_and_the_ordering():
    """Schaefer et al. 2020: PB-BMP at 2 bits is 1.37x more energy-efficient than a dense
    crossbar at 5 bits (both layers, forward + backward); at 2 bits the bitmap is the
    cheapest, from 3 bits on the crossbar, and CSR is always the dearest."""
    from pyNN_sparsehw.chip import energy_fit
    bench = _benchmark()
    layers = energy_fit.read_published(DATA, {400: 700, 250: 400})
    assert len(layers) == 66          # every row of the published file
    fit = energy_fit.fit_pass_energies(layers)
    dense5, bitmap2 = bench.headline_layers(layers)
    published = sum(l.forward + l.backward for l in dense5) / \
        sum(l.forward + l.backward for l in bitmap2)
    assert published == pytest.approx(1.369, abs=0.001)
    model = fit.total(dense5) / fit.total(bitmap2)
    assert model == pytest.approx(published, rel=0.05)
    for bits, (model_order, published_order) in bench.orderings(fit, layers).items():
        assert model_order == published_order, bits
    assert bench.orderings(fit, layers)[2][0] == ["bitmap", "dense", "csr"]
    # the fitted size exponent is the SRAM scaling of Horowitz (2014), ~0.5
    assert 0.4 <= fit.alpha <= 0.7
    assert fit.rms_residual("backward") < 0.10 and fit.rms_residual("forward") < 0.25


# ------------------------------------------------------------ through PyNN
def _network(chip, n_exc=400, n_inh=100, p=0.1, tstop=200.0, hardware=None, **setup):
    sim.setup(timestep=0.1, chip=chip, **setup)
    exc = sim.Population(n_exc, sim.IF_cond_exp(i_offset=0.3), label="exc")
    inh = sim.Population(n_inh, sim.IF_cond_exp(i_offset=0.3), label="inh")
    rng = sim.NumpyRNG(5)
    e2i = sim.Projection(exc, inh, sim.FixedProbabilityConnector(p, rng=rng),
                         sim.StaticSynapse(weight=0.002, delay=1.0), label="e2i",
                         hardware=hardware)
    i2e = sim.Projection(inh, exc, sim.FixedProbabilityConnector(p, rng=rng),
                         sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="inhibitory",
                         label="i2e")
    sim.run(tstop)
    return e2i, i2e


def test_digital_report_has_memory_per_projection_and_energy_from_the_counts():
    _network("digital")
    report = sim.hardware_report(inferences=4).as_dict()
    e2i = report["projections"][0]
    memory = e2i["memory"]
    assert memory["encoding"] in memory["alternatives"]
    assert memory["bits"] == memory["alternatives"][memory["encoding"]]
    assert memory["alternatives"]["functional"] is None
    assert "kernel of index offsets" in memory["unavailable"]["functional"]
    # the energy objective picked the least expected read energy
    costs = {k: v for k, v in memory["alternatives_energy_per_s"].items() if v is not None}
    assert memory["encoding"] == min(costs, key=costs.get)
    mapper = simulator.state.mapping()
    assert sum(c["memory_bits"] for c in report["cores"]["per_core"]) == \
        pytest.approx(sum(p["memory"]["bits"] for p in report["projections"]))
    # energy from the simulation's counts
    engine = simulator.state.engine
    profile = load_chip("digital").energy_profile
    totals = report["energy"]
    assert totals["by_category"]["synaptic_events"] == pytest.approx(
        profile.synaptic_event * sum(p["synaptic_events"] for p in report["projections"]))
    assert totals["by_category"]["neuron_updates"] == pytest.approx(
        profile.neuron_update * 500 * 2000)
    assert totals["by_category"]["static"] == pytest.approx(
        profile.static_power_per_core * report["cores"]["used"] * 0.2)
    assert totals["total_j"] == pytest.approx(sum(totals["by_category"].values()))
    assert totals["per_second_w"] == pytest.approx(totals["total_j"] / 0.2)
    assert totals["per_inference_j"] == pytest.approx(totals["total_j"] / 4)
    spikes = engine.spike_counts(0).astype(float)
    route = mapper.projections[0].route_hops
    assert totals["projections"]["e2i"] >= profile.spike_hop * spikes @ route
    text = str(sim.hardware_report())
    assert "Synaptic memory" in text and "Energy:" in text and "memory_reads" in text


def test_user_encoding_override_and_its_errors():
    _network("digital", hardware={"encoding": "bitmap"})
    mapped = simulator.state.mapping().projections[0]
    assert mapped.memory.encoding == "bitmap"
    assert list(mapped.memory.alternatives) == ["bitmap"]
    with pytest.raises(ValueError, match="cannot hold it: the connectivity is not one-to-one"):
        _network("digital", hardware={"encoding": "functional"})
    with pytest.raises(ValueError, match="encoding 'bitmap' is not available on the analog chip"):
        _network("analog", hardware={"encoding": "bitmap"}, calibration=None)


def test_structured_projection_gets_the_functional_encoding():
    sim.setup(timestep=0.1, chip="digital")
    a = sim.Population(300, sim.IF_curr_exp())
    b = sim.Population(300, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.5))
    memory = simulator.state.mapping().projections[0].memory
    assert memory.encoding == "functional"
    assert memory.size_bits == 10 * enc.HEADER_FIELD_BITS    # generator and shared weight
    assert memory.alternatives["csr"]["bits"] > 30 * memory.size_bits
    assert len(prj) == 300


def test_memory_that_no_encoding_fits_is_a_clear_error():
    chip = copy.deepcopy(load_chip("digital").config)
    chip["topology"]["synaptic_memory_bits"] = 40000
    sim.setup(chip=ChipModel(chip, source="<small memory>"))
    pre = sim.Population(300, sim.SpikeSourcePoisson(rate=5.0), label="pre")
    post = sim.Population(20, sim.IF_curr_exp(), label="post")
    # ~300 synapses fit the index-based reservation, but a crossbar of 300 x 20 cells of
    # 14 bits (84,000 bits) does not fit 40,000
    sim.Projection(pre, post, sim.FixedProbabilityConnector(0.05, rng=sim.NumpyRNG(1)),
                   sim.StaticSynapse(weight=0.1), label="wide", hardware={"encoding": "dense"})
    with pytest.raises(ChipResourceError,
                       match=r"projection 'wide' needs 10.3 KiB of synaptic memory on core 0 "
                             r"even with its smallest encoding \(dense\); the core has 4.9 KiB"):
        sim.run(1.0)
