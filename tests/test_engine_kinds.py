"""The engine groups the network by circuit kind (pyNN_sparsehw.engine.blocks).

The Brian2 object count depends on the kinds, not on how many populations and
projections there are; a population simulated in a merged group behaves exactly as
alone; recording, clearing and event counts stay per population and projection.
"""

import numpy as np
import pytest

import pyNN.sparsehw as sim
from pyNN_sparsehw import simulator
from pyNN_sparsehw.engine.blocks import neuron_kind, spike_array_events
from pyNN_sparsehw.engine.specs import NeuronGroupSpec


def _layered(n_populations, size=5):
    """`n_populations` IF_curr_exp populations in a chain, each driven by Poisson."""
    sim.setup(timestep=0.1)
    populations = [sim.Population(size, sim.IF_curr_exp(tau_m=10.0 + k), label=f"p{k}")
                   for k in range(n_populations)]
    for k, post in enumerate(populations):
        drive = sim.Population(size, sim.SpikeSourcePoisson(rate=100.0 + k))
        sim.Projection(drive, post, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=1.0, delay=0.1 * (k % 3 + 1)))
        if k:
            sim.Projection(populations[k - 1], post, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=0.2, delay=1.0 + 0.1 * k))
            sim.Projection(post, populations[k - 1], sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=-0.1, delay=1.0),
                           receptor_type="inhibitory")
    for population in populations:
        population.record("spikes")
    populations[0].record("v")
    sim.run(0.1)
    objects = len(simulator.state.engine.brian_objects())
    sim.end()
    return objects


def test_object_count_depends_on_kinds_not_on_populations():
    assert _layered(2) == _layered(40)


def test_neuron_kind_separates_circuits_and_fixed_point():
    lif = NeuronGroupSpec(0, "a", 3, "neuron", "lif", {"excitatory": "curr_exp"})
    other_values = NeuronGroupSpec(1, "b", 4, "neuron", "lif", {"excitatory": "curr_exp"},
                                   parameters={"tau_m": np.ones(4)})
    alpha = NeuronGroupSpec(2, "c", 3, "neuron", "lif", {"excitatory": "curr_alpha"})
    fixed = NeuronGroupSpec(3, "d", 3, "neuron", "lif", {"excitatory": "curr_exp"},
                            state_lsb={"v": 0.1})
    assert neuron_kind(lif) == neuron_kind(other_values)
    assert len({neuron_kind(s) for s in (lif, alpha, fixed)}) == 3


def test_spike_array_events_are_emitted_one_step_early_and_merged():
    indices, steps = spike_array_events([[1.0, 1.02, 2.0], [], [0.5]], dt=0.1)
    assert indices.tolist() == [0, 0, 2]
    assert steps.tolist() == [9, 19, 4]
    indices, steps = spike_array_events([[1.0, 2.0]], dt=0.1, first_step=10)
    assert steps.tolist() == [19]


def _drive(extra_populations, chip="ideal"):
    """Membrane trace and spikes of one population, with other populations of the
    same kind (different parameters, inputs, recordings) built before it."""
    sim.setup(timestep=0.1, chip=chip)
    rng = np.random.default_rng(2)
    times = [np.sort(rng.uniform(1, 30, 8)).round(1) for _ in range(8)]
    source = sim.Population(8, sim.SpikeSourceArray(spike_times=times))
    others = []
    for k in range(extra_populations):
        other = sim.Population(6, sim.IF_curr_exp(tau_m=12.0 + k, v_thresh=-55.0))
        sim.Projection(source, other, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.7, delay=0.4 + 0.2 * k))
        other.record(["spikes", "v"], sampling_interval=0.5)
        others.append(other)
    target = sim.Population(5, sim.IF_curr_exp(tau_m=20.0, tau_syn_E=2.0))
    projection = sim.Projection(source, target, sim.FixedProbabilityConnector(
        0.6, rng=sim.NativeRNG(1)), sim.StaticSynapse(weight=1.1, delay=1.3))
    target[1:4].record("v")
    target.record("spikes")
    sim.run(15.0)
    if others:
        others[0].get_data(clear=True)  # clearing another population keeps ours
    projection.set(weight=0.9)
    target.set(tau_m=15.0)
    sim.run(15.0)
    block = target.get_data().segments[0]
    v = np.asarray(block.filter(name="v")[0])
    spikes = [np.asarray(st) for st in block.spiketrains]
    sim.end()
    return v, spikes


@pytest.mark.parametrize("chip", ["ideal", "digital"])
def test_population_in_a_merged_group_behaves_as_alone(chip):
    v_alone, spikes_alone = _drive(0, chip)
    v_merged, spikes_merged = _drive(3, chip)
    assert v_alone.shape == v_merged.shape == (301, 3)
    np.testing.assert_array_equal(v_alone, v_merged)
    assert sum(s.size for s in spikes_alone) > 0
    for alone, merged in zip(spikes_alone, spikes_merged):
        np.testing.assert_array_equal(alone, merged)


def test_report_counts_stay_per_population_and_projection():
    sim.setup(timestep=0.1)
    sources = [sim.Population(4, sim.SpikeSourceArray(spike_times=[[2.0 + k, 9.0]] * 4))
               for k in range(2)]
    targets = [sim.Population(3, sim.IF_curr_exp()) for _ in range(2)]
    projections = [sim.Projection(sources[0], targets[0], sim.AllToAllConnector(),
                                  sim.StaticSynapse(weight=0.1, delay=1.0)),
                   sim.Projection(sources[1], targets[0], sim.FromListConnector(
                       [(0, 0), (1, 1), (2, 2)]),
                                  sim.StaticSynapse(weight=0.1, delay=1.0)),
                   sim.Projection(sources[1], targets[1], sim.FromListConnector(
                       [(0, 0), (0, 1), (3, 2)]), sim.StaticSynapse(weight=0.1, delay=1.0)),
                   # alone in its kind and empty: an inactive Brian2 Synapses
                   sim.Projection(sources[0], targets[1], sim.FromListConnector([]),
                                  sim.StaticSynapse(weight=-0.1, delay=1.0),
                                  receptor_type="inhibitory")]
    sim.run(20.0)
    report = sim.hardware_report().as_dict()
    sim.end()
    assert [p["spikes"] for p in report["populations"]] == [8, 8, 0, 0]
    # events = presynaptic spikes x fan-out: 8 x 3, 2 spikes x 3 one-to-one, 2 x 3
    assert [p["synaptic_events"] for p in report["projections"]] == [24, 6, 6, 0]


def test_propagators_match_closed_forms_and_the_equal_time_constant_limit():
    from pyNN_sparsehw.engine.circuits import Propagators
    dt, tau_m, c_m = 0.1, np.array([20.0, 10.0, 10.0]), np.array([1.0, 0.25, 0.25])
    tau = np.array([5.0, 10.0, 10.0 * (1 + 1e-9)])
    p = Propagators({"exc": "curr_exp", "jump": "voltage_jump"})
    assert p.inputs() == {"tau_m", "c_m", "tau_exc"}
    values = p.compute({"tau_m": tau_m, "c_m": c_m, "tau_exc": tau}, dt)
    np.testing.assert_allclose(values["P_v"], np.exp(-dt / tau_m))
    np.testing.assert_allclose(values["P_decay_exc"], np.exp(-dt / tau))
    window = np.asarray(values["P_exc"] / 1e6)   # ohm -> mV/nA
    closed = tau[0] * tau_m[0] / (c_m[0] * (tau_m[0] - tau[0])) * (
        np.exp(-dt / tau_m[0]) - np.exp(-dt / tau[0]))
    np.testing.assert_allclose(window[0], closed, rtol=1e-12)
    limit = dt / c_m[1] * np.exp(-dt / tau_m[1])        # tau_syn = tau_m
    np.testing.assert_allclose(window[1:], limit, rtol=1e-8)


def test_set_between_runs_updates_the_propagators():
    sim.setup(timestep=0.1, chip="ideal")
    built = sim.Population(2, sim.IF_curr_exp(tau_m=15.0, tau_syn_E=3.0, i_offset=1.0))
    changed = sim.Population(2, sim.IF_curr_exp(tau_m=20.0, tau_syn_E=5.0, i_offset=1.0))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[3.0, 7.0]))
    for post in (built, changed):
        sim.Projection(source, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=2.0, delay=1.0))
        post.record("v")
    sim.run(0.0)
    changed.set(tau_m=15.0, tau_syn_E=3.0)
    sim.run(40.0)
    v_built, v_changed = (np.asarray(p.get_data().segments[0].analogsignals[0])
                          for p in (built, changed))
    sim.end()
    np.testing.assert_array_equal(v_built, v_changed)
