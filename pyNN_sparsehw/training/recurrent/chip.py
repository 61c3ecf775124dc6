"""A trained LSNN on a chip through PyNN, and its twin read from that chip instance.

The network is built with the PyNN API on pyNN.sparsehw in `batch` copies (one per
sample, so that a batch runs in one simulation): a ``SpikeSourceArray`` of inputs,
one ``ALIF_curr_delta`` population of recurrent neurons (``beta = 0`` for the LIF
ones) and one of readout neurons whose threshold they never reach. Each weight
matrix becomes two projections, its positive and its negative part (PyNN wants one
sign per projection), block-diagonal over the copies, delay one step. The mapping
quantizes the weights; :meth:`ChipLSNN.twin` reads back what the chip realises (the
neuron parameters with ``get(..., hardware=True)``, the quantizer of every
projection), so that the twin describes this chip instance.

On a chip without ALIF circuits whose neurons are AdEx circuits (``analog``) the
neurons are ``PointNeuron(AdExp, excitatory=CurrExp, inhibitory=CurrExp)`` with the
parameters of :meth:`~.network.RecurrentArchitecture.adex_parameters` (the adaptive
neurons adapt by the AdEx adaptation current), the weights are currents of the same
charge, and the twin reads the synapses' gains (the chip's synapse and input
mismatch) of the first copy as well.

Timing (:mod:`pyNN_sparsehw.training.twin.network`): step k of the inputs emits at
(k + 1) dt; a recurrent spike labelled T was emitted in step T/dt - 1; the readout's
v recorded at (k + 1) dt is its membrane after step k.
"""

import numpy as np
import torch
from pyNN.parameters import Sequence

import pyNN_sparsehw as sim
from pyNN_sparsehw import simulator

from ...mapping.vocabulary import chip_membrane
from ..twin import TwinPopulation, WeightQuantizer, synapse_gains, twin_population
from ..twin.from_chip import ADEX_NAMES, _realised
from ..twin.neurons import AdExParameters
from .network import PROJECTIONS, RecurrentTwin

#: the AdExp PointNeuron's names of AdExParameters' fields, in their order
ADEX_POINT_NAMES = ("tau_m", "cm", "v_rest", "v_reset", "v_thresh", "tau_refrac",
                    "i_offset", "excitatory.tau_syn", "inhibitory.tau_syn") + ADEX_NAMES

SIGNS = (("positive", "excitatory"), ("negative", "inhibitory"))


def block_diagonal(matrix, batch, delay):
    """FromListConnector rows (pre, post, weight, delay) of `batch` copies of the
    non-zero entries of `matrix` (pre, post), copy b from pre block b to post block b."""
    n_pre, n_post = matrix.shape
    pre, post = np.nonzero(matrix)
    offsets = np.arange(batch)[:, None]
    return np.column_stack([(pre + offsets * n_pre).ravel(), (post + offsets * n_post).ravel(),
                            np.tile(matrix[pre, post], batch), np.full(batch * pre.size, delay)])


def _tiled(parameters, batch):
    return {name: np.tile(np.broadcast_to(np.asarray(value, dtype=float),
                                          np.shape(value) or (1,)), batch)
            if np.ndim(value) else value for name, value in parameters.items()}


class ChipLSNN:
    """An LSNN with fixed weights on a chip, `batch` samples at a time.

    Parameters
    ----------
    architecture : RecurrentArchitecture
    weights : {name: signed matrix (pre, post), mV} (``RecurrentSNN.numpy_weights()``)
    batch : copies of the network (samples per run)
    setup_kwargs : keywords of ``sim.setup`` (chip, chip_seed, rng_seed, trial_noise,
        calibration)

    pyNN.sparsehw keeps one simulation per process: building a ChipLSNN ends the
    previous one.
    """

    def __init__(self, architecture, weights, batch, setup_kwargs=None):
        self.architecture = architecture
        self.batch = int(batch)
        dt = architecture.dt
        sim.setup(timestep=dt, min_delay=dt, **(setup_kwargs or {}))
        self.chip = simulator.state.chip
        #: AdEx-adapting neurons with current inputs (no ALIF circuit on this chip)
        self.adex = chip_membrane(self.chip, "alif") is None
        per_mv = architecture.current_per_mv() if self.adex else 1.0
        limit = self.chip.max_weight("current" if self.adex else "voltage") / per_mv
        largest = max(float(np.abs(w).max()) for w in weights.values())
        if largest > limit:
            raise ValueError(f"LSNN weights reach {largest:g} mV, above the {self.chip.name} "
                             f"chip's largest weight, {limit:g} mV; lower the model's "
                             f"weight_limit to <= {limit:g}")
        weights = {name: np.asarray(w, dtype=float) * per_mv for name, w in weights.items()}
        n_in = architecture.n_input
        self.inputs = sim.Population(self.batch * n_in, sim.SpikeSourceArray(
            spike_times=[[] for _ in range(self.batch * n_in)]), label="inputs")
        self.populations = {"input": self.inputs}
        for name in ("recurrent", "readout"):
            self.populations[name] = sim.Population(
                self.batch * architecture.size(name), self._cell_type(name), label=name)
            if self.adex:
                self.populations[name].initialize(v=architecture.v_rest)
        self.populations["recurrent"].record("spikes")
        self.populations["readout"].record("v")
        self.first_copy("recurrent").record(self.adaptation)
        self.projections = {}
        for name, (pre, post) in PROJECTIONS.items():
            matrix = np.asarray(weights[name], dtype=float)
            for sign, receptor in SIGNS:
                part = np.clip(matrix, 0, None) if sign == "positive" else \
                    np.clip(matrix, None, 0)
                rows = block_diagonal(part, self.batch, dt)
                self.projections[name, sign] = sim.Projection(
                    self.populations[pre], self.populations[post],
                    sim.FromListConnector(rows, column_names=["weight", "delay"]),
                    sim.StaticSynapse(), receptor_type=receptor, label=f"{name} {sign}",
                    hardware=self._hardware_options(weights))

    @property
    def adaptation(self):
        """Recorded adaptation variable: "w" (nA) of AdEx neurons, "b" of ALIF ones."""
        return "w" if self.adex else "b"

    def _cell_type(self, name):
        """The cell type of population `name`, `batch` copies."""
        architecture = self.architecture
        if not self.adex:
            return sim.ALIF_curr_delta(**_tiled(architecture.cell_parameters(name),
                                                self.batch))
        synapse = dict(tau_syn=architecture.tau_syn)
        return sim.PointNeuron(sim.AdExp(**_tiled(architecture.adex_parameters(name),
                                                  self.batch)),
                               excitatory=sim.CurrExpPostSynapticResponse(**synapse),
                               inhibitory=sim.CurrExpPostSynapticResponse(**synapse))

    def _hardware_options(self, weights):
        """Per-projection hardware options: on chips with one weight scale per
        projection (no exponent), a fixed scale, the largest code standing for the
        largest weight of the network; on chips that choose a memory encoding, the
        run-length one ("delta", Rice-coded gaps between synapses): the copies make
        each matrix block-diagonal, mostly empty, which the pointer and dense layouts
        store at a cost that grows with the copies and the chip's greedy choice
        (least read energy first) runs out of memory on the first cores."""
        options = {}
        bits = self.chip.weight_bits
        if bits and not int(self.chip.synapses.get("exponent_bits", 0)):
            largest = max(float(np.abs(w).max()) for w in weights.values())
            options["weight_scale"] = largest / (2 ** bits - 1)
        if "delta" in (self.chip.memory or {}).get("encodings", ()):
            options["encoding"] = "delta"
        return options or None

    def first_copy(self, name):
        """The view of the first copy of population `name`."""
        size = self.architecture.size(name)
        return self.populations[name][:size]

    def twin(self, dtype=torch.float32):
        """The :class:`~.network.RecurrentTwin` of this chip instance (its first copy):
        realised neuron parameters, weight quantizers and the synapses' gains (None
        where the chip has no synapse mismatch)."""
        quantizers = {name: tuple(WeightQuantizer.for_chip(
            self.chip, self.projections[name, sign].hardware) for sign, _ in SIGNS)
            for name in PROJECTIONS}
        gains = {}
        for name, (pre, post) in PROJECTIONS.items():
            shape = (self.architecture.size(pre), self.architecture.size(post))
            gains[name] = tuple(torch.tensor(
                synapse_gains(self.projections[name, sign])[:shape[0], :shape[1]], dtype=dtype)
                for sign, _ in SIGNS)
        if all(bool(torch.all(g == 1)) for pair in gains.values() for g in pair):
            gains = None
        if not self.adex:
            populations = {name: twin_population(self.first_copy(name), name, dtype=dtype)
                           for name in ("recurrent", "readout")}
            return RecurrentTwin(populations, quantizers, self.architecture.dt, gains=gains)
        populations = {name: TwinPopulation(name, "adex", AdExParameters(*_realised(
            self.first_copy(name), ADEX_POINT_NAMES, dtype)), self.architecture.size(name))
            for name in ("recurrent", "readout")}
        return RecurrentTwin(populations, quantizers, self.architecture.dt,
                             self.architecture.current_per_mv(), gains,
                             self.architecture.v_rest)

    def run(self, x):
        """Run inputs `x` (steps, batch, n_input) of spikes from rest; returns
        (recurrent spikes, readout v in mV, adaptation of the first copy: b, or w in nA
        on AdEx circuits), arrays (steps, batch, n) (adaptation: (steps, n_recurrent))."""
        x = np.asarray(x)
        steps, batch, n_in = x.shape
        if batch != self.batch:
            raise ValueError(f"the chip LSNN has {self.batch} copies; got a batch of {batch} "
                             f"samples: build it with batch={batch}")
        dt = self.architecture.dt
        sim.reset()
        flat = x.reshape(steps, batch * n_in).T
        self.inputs.set(spike_times=[Sequence((np.nonzero(row)[0] + 1) * dt) for row in flat])
        sim.run(steps * dt)
        n_rec = self.architecture.n_recurrent
        # the view's b first, kept: clearing a view's data clears its population's
        b = self._signal(self.first_copy("recurrent"), self.adaptation, steps, clear=False)
        spikes = np.zeros((steps, batch * n_rec))
        for train in self.populations["recurrent"].get_data("spikes", clear=True) \
                .segments[-1].spiketrains:
            k = np.rint(np.asarray(train.magnitude) / dt).astype(np.int64) - 1
            spikes[k[(k >= 0) & (k < steps)], int(train.annotations["source_index"])] = 1.0
        v = self._signal(self.populations["readout"], "v", steps)
        return spikes.reshape(steps, batch, n_rec), \
            v.reshape(steps, batch, self.architecture.n_output), b

    @staticmethod
    def _signal(population, name, steps, clear=True):
        block = population.get_data(name, clear=clear).segments[-1]
        signal = next(s for s in block.analogsignals if s.name == name)
        values = np.asarray(signal.magnitude, dtype=float)
        return values[1:steps + 1]
