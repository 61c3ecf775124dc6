"""The trained network in torch: signed weights of an architecture, run through the
chip's twin (:mod:`.twin`) in discrete time.

:class:`SpikingNetwork` holds one signed weight matrix (nA) per projection of an
:class:`~.architecture.Architecture`. :class:`ArchitectureTwin` says how a chip
realises it: the neuron parameters of every layer, the quantization of each of the
two PyNN projections (excitatory: the positive weights; inhibitory: the negative
ones), the gain of every synapse, the delay. Either nominal (the parameters as
written, which is what the `ideal` chip realises) or read from a chip instance
(:meth:`ArchitectureTwin.from_chip`: its frozen mismatch and quantization).

The forward pass gives every layer's spikes per time step of each sample's period;
the output layer's spike counts, times `readout_scale`, are the logits of a softmax
cross-entropy. With recorded spikes substituted (``substitute=``), the forward
values are the chip's and the gradients the twin's (the chip in the loop).
"""

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from .twin import TwinPopulation, WeightQuantizer, signed_projections, simulate
from .twin.neurons import LIFParameters


#: LIF twin parameter -> the chip model's circuit parameter whose mismatch it has
MISMATCH_OF = {"tau_exc": "tau_syn", "tau_inh": "tau_syn"}


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy (nats) of integer `labels` (a torch scalar)."""
    return torch.nn.functional.cross_entropy(logits, torch.as_tensor(labels, dtype=torch.int64))


def accuracy(scores, labels):
    """Fraction of samples whose label has the highest score; a tie between k
    outputs counts 1/k (the expected accuracy of breaking ties at random), so equal
    spike counts are neither rewarded nor penalised by a choice of order."""
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels)
    top = scores == scores.max(axis=1, keepdims=True)
    return float(np.mean(top[np.arange(labels.size), labels] / top.sum(axis=1)))


@contextmanager
def one_thread():
    """Run torch on one thread inside the block. The twin's tensors are small: a
    second thread only adds synchronisation, and on a loaded machine its waits slow
    each step tenfold (measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def key_name(key):
    """"pre->post": the name of projection (pre, post)."""
    return f"{key[0]}->{key[1]}"


@dataclass
class ArchitectureTwin:
    """How a chip realises an architecture, for the twin.

    populations : {layer: TwinPopulation} of every neuron layer
    quantizers : {(pre, post): (excitatory, inhibitory) WeightQuantizer}
    gains : {(pre, post): (excitatory, inhibitory) tensors (n_pre, n_post)} or None
    delay : delay of every projection in whole steps
    dt : time step (ms)
    """
    populations: dict
    quantizers: dict
    gains: dict
    delay: int
    dt: float

    @classmethod
    def nominal(cls, architecture, dt, dtype=torch.float32):
        """The parameters as written (the `ideal` chip): exact, floating-point weights."""
        n = architecture.neuron
        populations = {}
        for name in architecture.names[1:]:
            size = architecture.size(name)

            def full(value, size=size):
                return torch.full((size,), float(value), dtype=dtype)

            parameters = LIFParameters(full(n.tau_m), full(n.cm), full(n.v_rest),
                                       full(n.v_reset), full(n.v_thresh), full(n.tau_refrac),
                                       full(n.i_offset), full(n.tau_syn), full(n.tau_syn),
                                       full(0.0))
            populations[name] = TwinPopulation(name, "lif", parameters, size)
        quantizers = {key: (WeightQuantizer(), WeightQuantizer())
                      for key in architecture.projections}
        return cls(populations, quantizers, None, 1, float(dt))

    @classmethod
    def sampled(cls, architecture, dt, chip_model, generator, weight_limit, spread=1.0,
                dtype=torch.float32):
        """A random instance of `chip_model` (a
        :class:`~pyNN_sparsehw.chip.model.ChipModel`): the nominal parameters with a
        fresh draw of the chip's frozen mismatch (its sigmas, relative or absolute,
        relative factors clipped at 0.05 as on the chip), the gain of every neuron
        input and synapse, and the weights quantized as
        :class:`~.chip.ChipNetwork` writes them (the largest code stands for
        `weight_limit`, nA). Training under such draws makes a network robust to
        the mismatch of an uncalibrated chip (Petrovici et al. 2017). `spread`:
        the fraction of the chip's sigmas drawn; `generator`: a torch.Generator."""
        nominal = cls.nominal(architecture, dt, dtype)

        def deviate(values, parameter, shape):
            mismatch = (chip_model.parameter(parameter) or {}).get("mismatch") or {}
            sigma = spread * float(mismatch.get("sigma", 0.0))
            z = torch.randn(shape, generator=generator, dtype=dtype)
            if mismatch.get("relative", True):
                return values * torch.clamp(1.0 + sigma * z, min=0.05)
            return values + sigma * z

        populations = {}
        for name, pop in nominal.populations.items():
            fields = {field: deviate(value, MISMATCH_OF.get(field, field), value.shape)
                      for field, value in pop.parameters._asdict().items()}
            populations[name] = TwinPopulation(name, pop.model, type(pop.parameters)(**fields),
                                               pop.size)
        bits = int(chip_model.weight_bits)
        exponent_bits = int(chip_model.synapses.get("exponent_bits", 0))
        scale = float(weight_limit) / (2 ** bits - 1) if bits and not exponent_bits else None
        quantizer = WeightQuantizer(bits, exponent_bits, scale)
        synapse_sigma = spread * float(chip_model.synapses.get("gain_mismatch", 0.0))
        quantizers, gains = {}, {}
        for pre, post in architecture.projections:
            shape = (architecture.size(pre), architecture.size(post))
            quantizers[pre, post] = (quantizer, quantizer)
            gains[pre, post] = tuple(
                deviate(torch.ones(shape[1], dtype=dtype), "gain_syn", shape[1])
                * torch.clamp(1.0 + synapse_sigma
                              * torch.randn(shape, generator=generator, dtype=dtype), min=0.05)
                for _ in ("exc", "inh"))
        return cls(populations, quantizers, gains, nominal.delay, nominal.dt)

    @classmethod
    def from_chip(cls, chip, dtype=torch.float32):
        """The twin of a :class:`~.chip.ChipNetwork`'s chip instance."""
        from .twin import delay_steps, synapse_gains, twin_population

        populations = {}
        for name in chip.architecture.names[1:]:
            twin = twin_population(chip.layers[name], name, dtype=dtype)
            populations[name] = twin
        quantizers, gains, delays = {}, {}, set()
        for key, pair in chip.projections.items():
            quantizers[key] = tuple(WeightQuantizer.for_chip(chip.chip, prj.hardware)
                                    for prj in pair)
            gains[key] = tuple(torch.tensor(synapse_gains(prj), dtype=dtype) for prj in pair)
            delays.update(delay_steps(prj) for prj in pair)
        if len(delays) != 1:
            raise ValueError(f"the chip network's projections have delays of {sorted(delays)} "
                             f"steps; the architecture twin needs one delay")
        return cls(populations, quantizers, gains, delays.pop(), chip.code.dt)

    def projections(self, key, weight):
        """The two twin projections (excitatory, inhibitory) of signed `weight`
        (nA): quantized straight-through, times the synapses' gains."""
        gains = None if self.gains is None else self.gains[key]
        return signed_projections(key[0], key[1], weight, self.quantizers[key], gains,
                                  self.delay)


class SpikingNetwork(torch.nn.Module):
    """Trainable signed weights (nA) of an architecture's projections.

    Parameters
    ----------
    architecture : Architecture (feed-forward layers of ``IF_curr_exp`` neurons)
    weight_limit : float
        Largest weight magnitude (nA); :meth:`clip_` keeps the weights within it.
    readout_scale : float
        Logit per output spike.
    seed : int
        Seed of the initial weights.
    init_weight : float
        Standard deviation (nA) of the initial weights times sqrt(fan-in).
    dtype : torch dtype of the weights and of the simulation.
    """

    def __init__(self, architecture, weight_limit=0.5, readout_scale=1.0, seed=0,
                 init_weight=1.5, dtype=torch.float32):
        super().__init__()
        self.architecture = architecture
        self.weight_limit = float(weight_limit)
        self.readout_scale = float(readout_scale)
        self.dtype = dtype
        rng = np.random.default_rng(seed)
        self.weights = torch.nn.ParameterDict()
        for pre, post in architecture.projections:
            n_pre = architecture.size(pre)
            w = rng.normal(0.0, init_weight / np.sqrt(n_pre), (n_pre, architecture.size(post)))
            self.weights[key_name((pre, post))] = torch.nn.Parameter(
                torch.tensor(np.clip(w, -self.weight_limit, self.weight_limit), dtype=dtype))

    def weight(self, key):
        return self.weights[key_name(key)]

    def forward(self, input_spikes, twin, substitute=None):
        """Spikes of every neuron layer, {layer: tensor (steps, samples, n)}, for
        input spikes (steps, samples, n_input); `substitute`: {layer: recorded
        spikes} to put the chip's spikes in the forward pass."""
        arch = self.architecture
        projections = [prj for key in arch.projections
                       for prj in twin.projections(key, self.weight(key))]
        inputs = {arch.input: torch.as_tensor(input_spikes, dtype=self.dtype)}
        substitute = {name: torch.as_tensor(s, dtype=self.dtype)
                      for name, s in (substitute or {}).items()}
        spikes, _ = simulate([twin.populations[name] for name in arch.names[1:]], projections,
                             inputs, inputs[arch.input].shape[0], twin.dt, substitute,
                             record=())
        return spikes

    def logits(self, output_spikes):
        """Output spike counts per sample times `readout_scale`."""
        return self.readout_scale * output_spikes.sum(dim=0)

    def loss(self, spikes, labels):
        """(cross-entropy tensor, accuracy) of the output layer in `spikes`."""
        output = spikes[self.architecture.output]
        logits = self.logits(output)
        return cross_entropy(logits, labels), accuracy(logits.detach().numpy(), labels)

    @torch.no_grad()
    def clip_(self):
        """Keep every weight within +-weight_limit."""
        for w in self.weights.values():
            w.clamp_(-self.weight_limit, self.weight_limit)

    def numpy_weights(self):
        """{(pre, post): weights (nA) as numpy arrays}, e.g. to write to a chip."""
        return {key: self.weight(key).detach().numpy().astype(float).copy()
                for key in self.architecture.projections}

    @torch.no_grad()
    def set_weights(self, weights):
        for key in self.architecture.projections:
            self.weight(key).copy_(torch.as_tensor(np.asarray(weights[key]), dtype=self.dtype))


@torch.no_grad()
def predict(model, twin, code, x, batch_size=200):
    """(logits, spike counts of the output) of the model on samples `x` in the twin."""
    outputs = []
    with one_thread():
        for start in range(0, len(x), batch_size):
            spikes = model(code.spike_tensor(x[start:start + batch_size]), twin)
            outputs.append(spikes[model.architecture.output].sum(dim=0))
    counts = torch.cat(outputs)
    return model.readout_scale * counts, counts.numpy()
