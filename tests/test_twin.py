"""The differentiable twin (pyNN_sparsehw.training.twin) against the engine.

Contract: a recurrent network driven by Poisson input gives the same spikes on the
chip (engine) and in its twin, built from the mapping of that chip instance.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pyNN_sparsehw as sim  # noqa: E402
from pyNN.parameters import Sequence  # noqa: E402

from pyNN_sparsehw import simulator  # noqa: E402
from pyNN_sparsehw.chip import quantize  # noqa: E402
from pyNN_sparsehw.training.twin import (  # noqa: E402
    SpikeFunction, TwinProjection, WeightQuantizer, delay_steps, simulate, spike,
    synapse_gains, twin_population)
from pyNN_sparsehw.training.twin.network import MODELS  # noqa: E402
from pyNN_sparsehw.training.twin.neurons import refractory_steps  # noqa: E402


def recurrent_network(chip, cell, dt, duration, n_in, n, w_in, w_rec, seed=1):
    """A recurrent population driven by Poisson spike trains (20 Hz) on `chip`:
    returns (engine spikes (steps, n), twin spikes (steps, n), weights the twin uses
    against those the chip reports)."""
    rng = np.random.default_rng(seed)
    steps = int(round(duration / dt))
    poisson = rng.random((steps, n_in)) < 20.0 * dt / 1000.0
    sim.setup(timestep=dt, min_delay=dt, chip=chip, chip_seed=0, trial_noise=False)
    source = sim.Population(n_in, sim.SpikeSourceArray(spike_times=[
        Sequence((np.nonzero(poisson[:, j])[0] + 1) * dt) for j in range(n_in)]))
    population = sim.Population(n, cell)
    population.record("spikes")
    weights = {"input": rng.normal(*w_in, (n_in, n)),
               "pop": rng.normal(0.0, w_rec, (n, n)) * (rng.random((n, n)) < 0.3)}
    projections = []
    for pre, name in ((source, "input"), (population, "pop")):
        for receptor, part in (("excitatory", np.maximum(weights[name], 0.0)),
                               ("inhibitory", np.minimum(weights[name], 0.0))):
            projections.append((name, receptor, part, sim.Projection(
                pre, population, sim.AllToAllConnector(),
                sim.StaticSynapse(weight=part, delay=dt), receptor_type=receptor)))
    sim.run(duration)
    engine = np.zeros((steps + 1, n))
    for train in population.get_data("spikes").segments[-1].spiketrains:
        # a spike labelled T was emitted in step T/dt - 1
        engine[np.rint(np.asarray(train.magnitude) / dt).astype(int) - 1,
               int(train.annotations["source_index"])] = 1.0
    twin = twin_population(population, "pop")
    twin_projections, compared = [], []
    for name, receptor, part, prj in projections:
        quantizer = WeightQuantizer.for_chip(simulator.state.chip, prj.hardware)
        w = quantizer(torch.tensor(part)) * torch.tensor(synapse_gains(prj))
        twin_projections.append(TwinProjection(name, "pop", receptor[:3], w, delay_steps(prj)))
        compared.append((w.numpy(), np.nan_to_num(prj.get("weight", format="array",
                                                           hardware=True))))
    initial = {"pop": MODELS[twin.model][0](twin.parameters, 1, v=-65.0)}
    spikes, _ = simulate([twin], twin_projections,
                         {"input": torch.tensor(poisson[:, None, :], dtype=torch.float64)},
                         steps, dt, initial=initial)
    sim.end()
    return engine[:steps], spikes["pop"][:, 0].numpy(), compared


def matched_within_one_step(a, b):
    """Fraction of the spikes of `a` (steps, neurons) that `b` has in the same neuron
    within one step."""
    near = b.copy()
    near[1:] = np.maximum(near[1:], b[:-1])
    near[:-1] = np.maximum(near[:-1], b[1:])
    return float((a * near).sum() / a.sum())


LIF = dict(tau_m=10.0, tau_syn_E=5.0, tau_syn_I=5.0, v_thresh=-50.0, v_reset=-65.0,
           v_rest=-65.0, tau_refrac=2.0, cm=0.2)


@pytest.mark.parametrize("chip,duration,n_in,n", [("ideal", 1000.0, 50, 100),
                                                  ("analog", 300.0, 40, 80)])
def test_recurrent_lif_twin_gives_the_engines_spikes(chip, duration, n_in, n):
    """IF_curr_exp: exact LIF twin on ideal; AdEx twin (rk4, frozen mismatch, gains,
    6-bit weights) on analog."""
    engine, twin, weights = recurrent_network(chip, sim.IF_curr_exp(**LIF), 0.5, duration,
                                              n_in, n, (0.08, 0.08), 0.15)
    for used, realised in weights:
        np.testing.assert_allclose(used, realised, rtol=1e-12, atol=1e-15)
    assert engine.sum() > 5 * n * duration / 1000.0      # the network is active
    assert matched_within_one_step(engine, twin) >= 0.99
    assert matched_within_one_step(twin, engine) >= 0.99


@pytest.mark.parametrize("chip,duration", [("ideal", 1000.0), ("digital", 300.0)])
def test_recurrent_alif_twin_gives_the_engines_spikes(chip, duration):
    """ALIF_curr_delta (docs/alif.rst) for 1 s on ideal; fixed point on digital."""
    cell = sim.ALIF_curr_delta(tau_m=20.0, tau_a=200.0, beta=1.7, v_thresh=-50.0,
                               tau_refrac=2.0, cm=1.0, i_offset=0.1)
    engine, twin, _ = recurrent_network(chip, cell, 1.0, duration, 40, 80, (2.0, 2.0), 3.0)
    assert engine.sum() > 5 * 80 * duration / 1000.0
    assert matched_within_one_step(engine, twin) >= 0.99
    assert matched_within_one_step(twin, engine) >= 0.99


def test_pseudo_derivative_is_bellecs():
    x = torch.linspace(-2.0, 2.0, 41, dtype=torch.float64, requires_grad=True)
    z = SpikeFunction.apply(x)
    z.sum().backward()
    np.testing.assert_array_equal(z.detach().numpy(), (x.detach().numpy() >= 0).astype(float))
    np.testing.assert_allclose(x.grad.numpy(),
                               0.3 * np.maximum(0.0, 1.0 - np.abs(x.detach().numpy())))


def test_substituted_spikes_keep_the_twins_gradient():
    v = torch.tensor([-49.0, -51.0, -60.0], dtype=torch.float64, requires_grad=True)
    recorded = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
    z = spike(v, -50.0, 15.0, substitute=recorded)
    np.testing.assert_array_equal(z.detach().numpy(), recorded.numpy())
    z.sum().backward()
    x = (v.detach().numpy() + 50.0) / 15.0
    np.testing.assert_allclose(v.grad.numpy(), 0.3 * np.maximum(0, 1 - np.abs(x)) / 15.0)


def test_refractory_steps_round_as_brian2():
    tau = torch.tensor([2.0, 1.9996, 0.0, 2.3])
    np.testing.assert_array_equal(refractory_steps(tau, 0.5).numpy(), [5, 5, 1, 5])


@pytest.mark.parametrize("bits,scale", [(6, None), (6, 0.5 / 63), (8, 0.013)])
def test_quantizer_codes_equal_the_chips(bits, scale):
    w = np.random.default_rng(2).normal(0.0, 0.2, (30, 20))
    expected = quantize.quantize_weights(w, bits, scale)
    got = WeightQuantizer(bits, 0, scale).values(torch.tensor(w)).numpy()
    np.testing.assert_array_equal(got, expected.values)


@pytest.mark.parametrize("rows", [False, True])
def test_quantizer_with_exponents_equals_the_chips(rows):
    w = np.random.default_rng(3).normal(0.0, 1.0, (30, 20)) * \
        np.logspace(-3, 0, 30)[:, None]
    groups = np.repeat(np.arange(30), 20).reshape(30, 20) if rows else None
    expected, _ = quantize.quantize_weights_with_exponent(w, 8, 4, groups)
    got = WeightQuantizer(8, 4, None, rows).values(torch.tensor(w)).numpy()
    np.testing.assert_array_equal(got, expected.values)


def test_quantizer_is_straight_through():
    w = torch.tensor([0.11, -0.26, 0.4], dtype=torch.float64, requires_grad=True)
    q = WeightQuantizer(2, 0, 0.1)(w)
    np.testing.assert_allclose(q.detach().numpy(), [0.1, -0.3, 0.3])
    (q * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0, 3.0])
