"""Neuron and synapse dynamics on the ideal chip against closed-form solutions."""

import numpy as np
import pytest
from numpy.testing import assert_allclose


def first_spike_time_lif(v0, v_rest, tau_m, cm, i_amp, v_thresh):
    """Time (ms) for a LIF neuron starting at v0 under constant current to reach threshold."""
    v_inf = v_rest + i_amp * tau_m / cm  # nA * ms / nF = mV
    return tau_m * np.log((v_inf - v0) / (v_inf - v_thresh))


def test_lif_first_spike_under_dc_matches_closed_form(sim):
    currents = np.array([0.9, 1.0, 1.5, 2.0])
    cells = sim.Population(4, sim.IF_curr_exp(tau_m=20.0, cm=1.0, v_rest=-65.0,
                                              v_thresh=-50.0, tau_refrac=2.0,
                                              i_offset=currents))
    cells.record("spikes")
    sim.run(100.0)
    trains = cells.get_data().segments[0].spiketrains
    expected = first_spike_time_lif(-65.0, -65.0, 20.0, 1.0, currents, -50.0)
    # a spike is labelled with the end of the time step in which v crossed threshold
    first = np.array([float(train[0]) for train in trains])
    assert np.all(first >= expected - 1e-9)
    assert np.all(first < expected + 0.1 + 1e-9)


def test_lif_subthreshold_relaxation_is_exact(sim):
    cell = sim.Population(1, sim.IF_curr_exp(tau_m=10.0, cm=0.5, v_rest=-70.0,
                                             v_thresh=0.0, i_offset=0.2))
    cell.initialize(v=-70.0)
    cell.record("v")
    sim.run(50.0)
    v = cell.get_data().segments[0].filter(name="v")[0]
    t = v.times.magnitude
    expected = -70.0 + 0.2 * 10.0 / 0.5 * (1 - np.exp(-t / 10.0))
    assert v.shape == (501, 1)
    assert_allclose(v.magnitude[:, 0], expected, atol=1e-6)


def test_exponential_current_psp_and_delay(sim):
    """One input spike at 10 ms, delay 1.5 ms: the PSP starts at 11.5 ms and follows
    the difference of exponentials."""
    tau_m, tau_s, cm, w = 20.0, 5.0, 1.0, 0.5
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_m=tau_m, tau_syn_E=tau_s, cm=cm,
                                             v_rest=-65.0, v_thresh=0.0))
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=w, delay=1.5), receptor_type="excitatory")
    cell.record("v")
    sim.run(60.0)
    v = cell.get_data().segments[0].filter(name="v")[0]
    t = v.times.magnitude - 11.5
    psp = np.where(t > 0, w / cm * tau_m * tau_s / (tau_m - tau_s)
                   * (np.exp(-np.clip(t, 0, None) / tau_m) - np.exp(-np.clip(t, 0, None) / tau_s)),
                   0.0)
    assert_allclose(v.magnitude[:, 0] + 65.0, psp, atol=1e-6)


def test_alpha_current_peaks_at_weight(sim):
    """The alpha-shaped current reaches the weight at t = tau_syn after arrival: checked
    through the membrane with an (almost) infinite capacitance-free integration."""
    tau_s, w = 2.0, 0.3
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    cell = sim.Population(1, sim.IF_curr_alpha(tau_m=1e6, tau_syn_E=tau_s, cm=1.0,
                                               v_rest=0.0, v_reset=0.0, v_thresh=1e3))
    cell.initialize(v=0.0)
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=w, delay=1.0))
    cell.record("v")
    sim.run(40.0)
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    # with tau_m -> infinity, v is the integral of the current over cm:
    # integral of w*e*(t/tau)*exp(-t/tau) from 0 to inf = w*e*tau
    assert v[-1] == pytest.approx(w * np.e * tau_s, rel=1e-3)
    # and the current (dv/dt * cm) peaks one tau after arrival at 6 ms
    current = np.diff(v) / 0.1
    assert np.argmax(current) * 0.1 == pytest.approx(6.0 + tau_s, abs=0.1)
    assert current.max() == pytest.approx(w, rel=0.02)


def test_delta_synapse_jumps_by_weight(sim):
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 20.0]))
    cell = sim.Population(1, sim.IF_curr_delta(tau_m=1e6, v_rest=-65.0, v_thresh=0.0))
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=2.5, delay=1.0))
    cell.record("v")
    sim.run(30.0)
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    assert v[59] == pytest.approx(-65.0, abs=1e-6)   # t = 5.9 ms: not yet
    assert v[61] == pytest.approx(-62.5, abs=1e-3)   # after arrival at 6 ms
    assert v[-1] == pytest.approx(-60.0, abs=1e-3)


def test_tsodyks_markram_depression_sequence(sim):
    """PSP amplitudes follow the Tsodyks-Markram recursion (tau_facil = 0)."""
    U, tau_rec, w = 0.5, 100.0, 1.0
    times = np.array([10.0, 20.0, 30.0, 80.0])
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    cell = sim.Population(1, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_reset=0.0,
                                               v_thresh=1e3))
    cell.initialize(v=0.0)
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.TsodyksMarkramSynapse(weight=w, delay=1.0, U=U, tau_rec=tau_rec,
                                             tau_facil=0.0))
    cell.record("v")
    sim.run(100.0)
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    steps = np.rint((times + 1.0) / 0.1).astype(int)
    jumps = v[steps + 1] - v[steps - 1]
    x, expected, last = 1.0, [], None
    for t in times:
        if last is not None:
            x = 1 + (x - x * U - 1) * np.exp(-(t - last) / tau_rec)
        expected.append(w * U * x)
        last = t
    assert_allclose(jumps, expected, rtol=1e-6)
    assert jumps[1] < jumps[0]  # depression


def test_stdp_pair_additive(sim):
    """One pre spike then one post spike: additive potentiation of
    w_max * A_plus * exp(-dt/tau_plus), dt measured at the synapse (delay dendritic)."""
    delay, tau_plus, a_plus, w_max, w0 = 1.0, 20.0, 0.1, 0.5, 0.1
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    post = sim.Population(1, sim.IF_curr_exp(tau_refrac=50.0))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[15.0]))
    sim.Projection(driver, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=50.0, delay=0.1))
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=tau_plus, tau_minus=20.0,
                                            A_plus=a_plus, A_minus=0.0),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=w_max),
        weight=w0, delay=delay, dendritic_delay_fraction=1.0)
    prj = sim.Projection(pre, post, sim.OneToOneConnector(), stdp)
    post.record("spikes")
    sim.run(100.0)
    t_post = float(post.get_data().segments[0].spiketrains[0][0])
    # NEST's convention: the presynaptic spike is seen at t_pre, the postsynaptic one
    # after the (dendritic) delay
    dt_syn = t_post + delay - 10.0
    expected = w0 + w_max * a_plus * np.exp(-dt_syn / tau_plus)
    assert prj.get("weight", format="list", with_address=False)[0] == \
        pytest.approx(expected, rel=1e-6)


def test_poisson_rate_and_repeatability():
    import pyNN.sparsehw as sim

    def counts(seed):
        sim.setup(timestep=0.1, rng_seed=seed, chip="ideal")
        sources = sim.Population(200, sim.SpikeSourcePoisson(rate=50.0, start=100.0,
                                                             duration=400.0))
        sources.record("spikes")
        sim.run(600.0)
        trains = sources.get_data().segments[0].spiketrains
        all_times = np.concatenate([t.magnitude for t in trains])
        return np.array([len(t) for t in trains]), all_times

    a, times_a = counts(1)
    b, times_b = counts(1)
    c, _ = counts(2)
    assert np.array_equal(a, b) and np.array_equal(times_a, times_b)
    assert not np.array_equal(a, c)
    # 200 sources x 0.4 s x 50 Hz = 4000 spikes; Poisson sd ~ 63
    assert abs(a.sum() - 4000) < 4 * np.sqrt(4000)
    assert times_a.min() >= 100.0 and times_a.max() < 500.0


def test_voltage_jump_receptors_next_to_a_current(sim):
    """VoltageJumpPostSynapticResponse: the weight (mV, either sign) is added to v in
    the step the spike arrives, one delay after it, and decays with tau_m; a current
    receptor of the same PointNeuron keeps its own exponential current."""
    celltype = sim.PointNeuron(sim.LIF(tau_m=10.0, v_rest=-60.0, v_thresh=-40.0),
                               excitatory=sim.CurrExpPostSynapticResponse(tau_syn=2.0),
                               up=sim.VoltageJumpPostSynapticResponse(),
                               down=sim.VoltageJumpPostSynapticResponse())
    neuron = sim.Population(1, celltype, initial_values={"v": -60.0})
    inputs = sim.Population(2, sim.SpikeSourceArray(spike_times=[[20.0], [50.0]]))
    sim.Projection(inputs[0:1], neuron, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=3.0, delay=1.0), receptor_type="up")
    sim.Projection(inputs[1:2], neuron, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=-2.0, delay=1.0), receptor_type="down")
    neuron.record(["v", "excitatory.isyn"])
    sim.run(80.0)
    segment = neuron.get_data().segments[0]
    v = segment.filter(name="v")[0].magnitude[:, 0]
    assert np.all(segment.filter(name="excitatory.isyn")[0].magnitude == 0.0)
    np.testing.assert_allclose(v[:210], -60.0)
    k = np.arange(90)
    np.testing.assert_allclose(v[210:300], -60.0 + 3.0 * np.exp(-k * 0.1 / 10.0), rtol=1e-9)
    after = -60.0 + 3.0 * np.exp(-(510 - 210) * 0.1 / 10.0) - 2.0
    assert v[510] == pytest.approx(after, rel=1e-9)


def test_composed_point_neuron_receptors(sim):
    """A PointNeuron with two named current receptors: each input reaches its own
    receptor, one delay after the spike, with the given weight and time constant."""
    celltype = sim.PointNeuron(sim.LIF(tau_m=10.0, v_rest=-60.0),
                               AMPA=sim.CurrExpPostSynapticResponse(tau_syn=1.0),
                               GABAA=sim.CurrExpPostSynapticResponse(tau_syn=5.0))
    neuron = sim.Population(1, celltype, initial_values={"v": -60.0})
    inputs = sim.Population(2, sim.SpikeSourceArray(spike_times=[[30.0], [60.0]]))
    sim.Projection(inputs[0:1], neuron, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.5, delay=1.5), receptor_type="AMPA")
    sim.Projection(inputs[1:2], neuron, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=-0.5, delay=1.5), receptor_type="GABAA")
    neuron.record(["AMPA.isyn", "GABAA.isyn"])
    assert neuron.get("GABAA.tau_syn") == 5.0
    sim.run(100.0)
    segment = neuron.get_data().segments[0]
    ampa = segment.filter(name="AMPA.isyn")[0].magnitude[:, 0]
    gaba = segment.filter(name="GABAA.isyn")[0].magnitude[:, 0]
    assert np.argmax(ampa) * 0.1 == pytest.approx(31.5) and ampa.max() == pytest.approx(0.5)
    assert np.argmin(gaba) * 0.1 == pytest.approx(61.5) and gaba.min() == pytest.approx(-0.5)
    # exponential decay with each receptor's own time constant
    assert ampa[315 + 10] == pytest.approx(0.5 * np.exp(-1.0), rel=1e-6)
    assert gaba[615 + 50] == pytest.approx(-0.5 * np.exp(-1.0), rel=1e-6)
