"""The PyNN API on this backend: parameters, recording to neo, reset, errors."""

import numpy as np
import pytest
import quantities as pq
from numpy.testing import assert_array_equal, assert_allclose

from pyNN import errors


def test_parameters_roundtrip_populations_and_views(sim):
    pop = sim.Population(10, sim.IF_cond_exp(tau_m=lambda i: 10.0 + i))
    assert_array_equal(pop.get("tau_m"), 10.0 + np.arange(10))
    pop[2:5].set(v_thresh=-45.0)
    expected = np.full(10, -50.0)
    expected[2:5] = -45.0
    assert_array_equal(pop.get("v_thresh"), expected)
    assert pop[3].v_thresh == -45.0
    pop.set(cm=sim.RandomDistribution("uniform", (0.5, 1.5), rng=sim.NumpyRNG(1)))
    cm = pop.get("cm")
    assert cm.shape == (10,) and np.all((cm >= 0.5) & (cm <= 1.5)) and np.unique(cm).size == 10


def test_parameter_change_between_runs_takes_effect(sim):
    cell = sim.Population(1, sim.IF_curr_exp(i_offset=0.0))
    cell.record("spikes")
    sim.run(100.0)
    cell.set(i_offset=2.0)
    sim.run(100.0)
    spikes = cell.get_data().segments[0].spiketrains[0].magnitude
    assert spikes.size > 0 and spikes.min() > 100.0


def test_recorded_signals_have_units_and_sampling(sim):
    cells = sim.Population(3, sim.IF_cond_exp(i_offset=1.0))
    cells.record(["v", "gsyn_exc"], sampling_interval=1.0)
    cells.record("spikes")
    sim.run(50.0)
    block = cells.get_data()
    segment = block.segments[0]
    v = segment.filter(name="v")[0]
    g = segment.filter(name="gsyn_exc")[0]
    assert v.units == pq.mV and g.units == pq.uS
    assert v.sampling_period == 1.0 * pq.ms
    assert v.shape == (51, 3)
    assert v.magnitude[0, 0] == pytest.approx(-65.0)
    assert segment.spiketrains[0].units == pq.ms
    assert len(segment.spiketrains) == 3


def test_reset_starts_new_segment_with_same_result(sim):
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells.record(["spikes", "v"])
    sim.run(60.0)
    sim.reset()
    assert sim.get_current_time() == 0.0
    sim.run(60.0)
    block = cells.get_data()
    assert len(block.segments) == 2
    first, second = (seg.spiketrains[0].magnitude for seg in block.segments)
    assert first.size > 0
    assert_array_equal(first, second)
    assert_array_equal(block.segments[0].analogsignals[0].magnitude,
                       block.segments[1].analogsignals[0].magnitude)


def test_initialize_sets_membrane_potential(sim):
    cells = sim.Population(3, sim.IF_curr_exp(v_thresh=0.0))
    cells.initialize(v=np.array([-70.0, -60.0, -55.0]))
    cells.record("v")
    sim.run(1.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert_allclose(v.magnitude[0], [-70.0, -60.0, -55.0])


def test_write_data_to_neo_file(sim, tmp_path):
    from neo.io import PickleIO
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells.record(["spikes", "v"])
    sim.run(40.0)
    path = tmp_path / "data.pkl"
    cells.write_data(str(path))
    block = PickleIO(str(path)).read_block()
    assert len(block.segments[0].spiketrains) == 2
    assert block.segments[0].filter(name="v")[0].shape == (401, 2)


def test_current_sources(sim):
    cells = sim.Population(4, sim.IF_curr_exp(v_thresh=0.0, tau_m=10.0, cm=1.0))
    sim.DCSource(amplitude=1.0, start=10.0, stop=30.0).inject_into(cells[0:1])
    sim.StepCurrentSource(times=[5.0, 15.0], amplitudes=[0.5, 0.0]).inject_into(cells[1:2])
    sim.ACSource(amplitude=1.0, frequency=50.0, start=0.0, stop=100.0).inject_into(cells[2:3])
    noise = sim.NoisyCurrentSource(mean=0.0, stdev=1.0, start=0.0, stop=100.0, dt=1.0)
    noise.inject_into(cells[3:4])
    cells.record("v")
    sim.run(100.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    t = np.arange(v.shape[0]) * 0.1
    # at rest before the DC step: equal to v_rest up to rounding (the exact propagator
    # leaves ~1e-14 mV per step, which depends on the numpy build)
    np.testing.assert_allclose(v[t <= 10.0, 0], -65.0, rtol=0, atol=1e-9)
    # the DC steady state approaches v_rest + R*I = -55 mV within 20 ms (2 tau)
    assert v[300, 0] == pytest.approx(-65.0 + 10.0 * (1 - np.exp(-2.0)), abs=1e-3)
    assert v[150, 1] == pytest.approx(-65.0 + 5.0 * (1 - np.exp(-1.0)), abs=1e-3)
    assert v[:, 2].max() > -64.0 and v[:, 2].min() < -66.0
    assert np.std(np.diff(v[:, 3])) > 0


def test_errors_are_clear(sim):
    with pytest.raises(errors.InvalidParameterValueError, match="increasing order"):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 2.0]))
    pre = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="shorter than the time step"):
        sim.Projection(pre, pre, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.05))
    with pytest.raises(errors.ConnectionError, match="positive"):
        sim.Projection(pre, pre, sim.AllToAllConnector(), sim.StaticSynapse(weight=-1.0),
                       receptor_type="excitatory")
    with pytest.raises(ValueError, match="unknown chip 'nonexistent'"):
        sim.setup(chip="nonexistent")


def test_assembly_projection_splits_by_population(sim):
    a = sim.Population(3, sim.IF_cond_exp())
    b = sim.Population(2, sim.EIF_cond_exp_isfa_ista())
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    prj = sim.Projection(source, a + b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01))
    assert len(prj) == 5
    assert len(prj._parts) == 2
    (a + b).record("v")
    sim.run(10.0)
    assert prj.get("weight", format="array").shape == (1, 5)


def test_hardware_report_counts_events(sim):
    source = sim.Population(5, sim.SpikeSourceArray(spike_times=[1.0, 2.0, 3.0]))
    cells = sim.Population(4, sim.IF_cond_exp())
    sim.Projection(source, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.001))
    sim.run(10.0)
    report = sim.hardware_report().as_dict()
    assert report["chip"]["name"] == "ideal"
    assert report["populations"][0]["spikes"] == 15
    assert report["projections"][0]["synapses"] == 20
    # every presynaptic spike reaches its 4 targets
    assert report["projections"][0]["synaptic_events"] == 60
    assert "events" in str(sim.hardware_report())


def test_callbacks_are_called_during_the_run(sim):
    cell = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    calls = []

    def every_10ms(t):
        calls.append((t, cell.get("i_offset")))
        cell.set(i_offset=0.0 if t >= 30.0 else 1.0)
        return t + 10.0

    cell.record("spikes")
    end = sim.run(50.0, callbacks=[every_10ms])
    assert end == pytest.approx(50.0)
    assert [t for t, _ in calls] == pytest.approx([0.0, 10.0, 20.0, 30.0, 40.0])
    # the change made by the callback at 30 ms stops the firing
    spikes = cell.get_data().segments[0].spiketrains[0].magnitude
    assert spikes.size > 0 and spikes.max() <= 30.0 + 0.1


def test_native_rng_is_numpy_with_the_same_seed(sim):
    native = sim.RandomDistribution("uniform", (0, 1), rng=sim.NativeRNG(seed=5)).next(5)
    numpy_rng = sim.RandomDistribution("uniform", (0, 1), rng=sim.NumpyRNG(seed=5)).next(5)
    assert_array_equal(native, numpy_rng)


def test_spike_times_changed_by_a_callback_during_the_run_are_emitted(sim):
    """PyNN's update_spike_source_array example: a callback gives a SpikeSourceArray
    new spikes in the middle of a run; they must be emitted."""
    source = sim.Population(2, sim.SpikeSourceArray(spike_times=[]))
    source.record("spikes")

    def give_spikes(t):
        if t < 10.0:
            return 10.0
        source[0:1].set(spike_times=[t + 5.0, t + 15.0])
        source[1:2].set(spike_times=[t + 20.0])
        return 1e9

    sim.run(50.0, callbacks=[give_spikes])
    trains = source.get_data().segments[0].spiketrains
    assert [list(np.asarray(st)) for st in trains] == [[15.0, 25.0], [30.0]]
    assert sim.get_current_time() == pytest.approx(50.0)
