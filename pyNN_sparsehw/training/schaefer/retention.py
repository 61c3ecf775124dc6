"""The pattern-retention network of Schaefer et al. 2020, on the training twin.

A fixed (seeded) Poisson input pattern drives a two-layer feed-forward network of
current-based LIF neurons (:func:`pyNN_sparsehw.training.twin.neurons.lif_step`,
1 ms steps); the output layer is trained by BPTT, through the twin's
pseudo-derivative, to emit a fixed (seeded) Poisson target pattern. The training loss
is the van Rossum distance written for torch (squared difference of exponentially
filtered trains); accuracy is measured with elephant's
:func:`elephant.spike_train_dissimilarity.van_rossum_distance`.

Weights are quantized to ``bits``-bit signed codes: a sign bit and ``bits - 1``
magnitude bits, by the chip's rule (:func:`pyNN_sparsehw.chip.quantize.quantize_weights`,
nearest rounding) with the code step chosen so that a given fraction of the weights
(the paper's density) gets a non-zero code: pruning and quantization are one step.
Quantization-aware fine-tuning trains through the twin's straight-through
:class:`pyNN_sparsehw.training.twin.quantize.WeightQuantizer`.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ...chip import encodings
from ...chip.quantize import quantize_weights
from ..twin.neurons import (LIFParameters, lif_constants, lif_initial_state, lif_integrate,
                            lif_step)
from ..twin.quantize import WeightQuantizer


@dataclass(frozen=True)
class RetentionTask:
    """Sizes (neurons per layer, input first), duration (`steps` of `dt` ms), the
    Poisson rates of the input and target patterns (Hz), the van Rossum time
    constant (ms) and the seed of both patterns and of the initial weights."""
    sizes: tuple = (700, 400, 250)
    steps: int = 200
    dt: float = 1.0
    input_rate_hz: float = 20.0
    target_rate_hz: float = 20.0
    tau_ms: float = 10.0
    seed: int = 0

    def patterns(self):
        """(input spikes, target spikes): 0/1 float32 tensors of shape (steps, n)."""
        rng = np.random.default_rng(self.seed)
        p_in = self.input_rate_hz * self.dt / 1000.0
        p_out = self.target_rate_hz * self.dt / 1000.0
        inputs = rng.random((self.steps, self.sizes[0])) < p_in
        target = rng.random((self.steps, self.sizes[-1])) < p_out
        return torch.tensor(inputs, dtype=torch.float32), torch.tensor(target, dtype=torch.float32)

    def initial_weights(self):
        """One (n_pre, n_post) float32 tensor per layer (nA), Gaussian, seeded: a
        mean drive near threshold at the input rate."""
        gen = torch.Generator().manual_seed(self.seed)
        weights = []
        for n_pre, n_post in zip(self.sizes[:-1], self.sizes[1:]):
            sigma = 2.0 / np.sqrt(n_pre)
            weights.append(torch.randn(n_pre, n_post, generator=gen) * sigma + 0.2 * sigma)
        return weights


def lif_parameters(n):
    """IF_curr_exp neurons (PyNN's defaults but a 5 ms synapse, no offset) for the
    twin: tau_m 20 ms, c_m 1 nF, rest and reset -65 mV, threshold -50 mV,
    refractory 2 ms, floating-point membrane."""
    def full(value):
        return torch.full((n,), float(value), dtype=torch.float32)
    return LIFParameters(tau_m=full(20.0), c_m=full(1.0), v_rest=full(-65.0),
                         v_reset=full(-65.0), v_thresh=full(-50.0), tau_refrac=full(2.0),
                         i_offset=full(0.0), tau_exc=full(5.0), tau_inh=full(5.0),
                         v_lsb=full(0.0))


def simulate(weights, inputs, dt=1.0, error_support=False):
    """Spikes of every layer, each a (steps, n) tensor, for `inputs` (steps, n_in).

    The signed current ``spikes @ W`` of each layer enters its excitatory input
    (both synapses have the same time constant). With `error_support` (no gradient)
    also returns, per layer, the (steps, n) mask where the pseudo-derivative is
    non-zero: the steps in which the backward pass has an error for the neuron."""
    dt_t = torch.tensor(dt, dtype=torch.float32)
    params = [lif_parameters(w.shape[1]) for w in weights]
    states = [lif_initial_state(p, 1) for p in params]
    outputs = [[] for _ in weights]
    support = [[] for _ in weights]
    for t in range(inputs.shape[0]):
        z = inputs[t].unsqueeze(0)
        for k, (w, p) in enumerate(zip(weights, params)):
            if error_support:
                frozen = torch.clamp(states[k].refractory - 1, min=0) > 0
                v, _, _ = lif_integrate(states[k], lif_constants(p, dt_t), frozen)
                scaled = (v - p.v_thresh) / (p.v_thresh - p.v_reset)
                support[k].append(((scaled.abs() < 1) & ~frozen)[0])
            z, states[k] = lif_step(states[k], p, dt_t, exc=z @ w)
            outputs[k].append(z[0])
    spikes = [torch.stack(layer) for layer in outputs]
    return (spikes, [torch.stack(s) for s in support]) if error_support else spikes


def van_rossum_loss(spikes, target, tau_ms, dt=1.0):
    """Squared van Rossum distance per neuron, averaged (differentiable): the trains
    filtered by exp(-t/tau) compared as (2 dt / tau) * sum of squared differences,
    elephant's normalisation (a lone spike is at distance 1 from no spike, as dt /
    tau -> 0)."""
    decay = float(np.exp(-dt / tau_ms))
    trace = torch.zeros_like(spikes[0])
    total = torch.zeros((), dtype=spikes.dtype)
    for t in range(spikes.shape[0]):
        trace = trace * decay + (spikes[t] - target[t])
        total = total + (trace ** 2).sum()
    return total * 2.0 * dt / tau_ms / spikes.shape[1]


def code_step(weights, bits, density):
    """Weight per magnitude code step (nA) that gives a non-zero `bits`-bit signed
    code (``bits - 1`` magnitude bits) to the fraction `density` of `weights` with
    the largest magnitudes: magnitudes from half a step round to code 1."""
    if bits < 2:
        raise ValueError(f"signed weights need bits >= 2 (a sign and a magnitude), got {bits}")
    if not 0 < density <= 1:
        raise ValueError(f"density must lie in (0, 1], got {density}")
    magnitudes = np.abs(np.asarray(weights, dtype=float)).ravel()
    threshold = np.quantile(magnitudes, 1.0 - density)
    return 2.0 * max(threshold, np.finfo(float).tiny)


def quantizer(weights, bits, density):
    """The twin's straight-through quantizer of one layer at `bits` and `density`."""
    return WeightQuantizer(bits=bits - 1,
                           scale=code_step(weights.detach().numpy(), bits, density))


def train(weights, inputs, target, task, iterations, lr=2e-3, bits=None, densities=None,
          progress=None):
    """Adam on the van Rossum loss, from `weights` (copied); with `bits` and
    `densities` (one per layer) quantization-aware, straight-through. Returns the
    float weights and the loss of each iteration."""
    params = [torch.nn.Parameter(w.detach().clone()) for w in weights]
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    steps = range(iterations) if progress is None else progress(range(iterations))
    for _ in steps:
        used = params if bits is None else [quantizer(w, bits, d)(w)
                                             for w, d in zip(params, densities)]
        out = simulate(used, inputs, task.dt)[-1]
        loss = van_rossum_loss(out, target, task.tau_ms, task.dt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return [p.detach() for p in params], losses


def synapse_table(weights, bits, density):
    """The layer's non-zero weights as a :class:`pyNN_sparsehw.chip.encodings.SynapseTable`
    of `bits`-bit codes (magnitude in the low ``bits - 1`` bits, the sign bit on top)
    and the quantized weights (nA) the chip computes with."""
    w = np.asarray(weights, dtype=float)
    q = quantize_weights(w, bits - 1, scale=code_step(w, bits, density))
    pre, post = np.nonzero(q.codes)
    codes = q.codes[pre, post] + (w[pre, post] < 0) * 2 ** (bits - 1)
    table = encodings.SynapseTable(pre, post, codes, np.zeros(pre.size, np.int64),
                                   w.shape[0], w.shape[1], bits, 0)
    return table, q.values


def van_rossum(spikes, target, tau_ms, dt=1.0):
    """Mean over neurons of elephant's van Rossum distance between each neuron's
    train in `spikes` and in `target` ((steps, n) 0/1 arrays; spikes at the end of
    their step)."""
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance
    from neo import SpikeTrain
    spikes, target = np.asarray(spikes), np.asarray(target)
    stop = spikes.shape[0] * dt
    distances = []
    with warnings.catch_warnings():
        # elephant clips its rounding errors (about 1e-8) for equal trains, and says so
        warnings.filterwarnings("ignore", message=".*very small negative values")
        for k in range(spikes.shape[1]):
            trains = [SpikeTrain((np.flatnonzero(s[:, k]) + 1) * dt * pq.ms,
                                 t_stop=stop * pq.ms) for s in (spikes, target)]
            distances.append(van_rossum_distance(trains, time_constant=tau_ms * pq.ms)[0, 1])
    return float(np.mean(distances))
