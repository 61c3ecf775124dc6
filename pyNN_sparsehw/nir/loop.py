"""Fine-tuning a network read from NIR with the chip in the loop.

:func:`~pyNN_sparsehw.nir.read` builds a graph's layers as populations and
projections on the chip. The training stack trains the weights of a feed-forward
network with the chip in the loop (:class:`pyNN_sparsehw.training.InTheLoopTrainer`:
forward on the chip, backward through the twin of this chip instance,
:meth:`~pyNN_sparsehw.training.ArchitectureTwin.from_chip`, with the chip's recorded
spikes substituted). This module joins the two without a second trainer:

* :class:`NIRChip` shows the populations and projections that ``read`` created to the
  trainer as its chip (the interface of :class:`~pyNN_sparsehw.training.ChipNetwork`:
  ``architecture``, ``layers``, ``projections``, ``chip``, ``code``, ``write_weights``,
  ``record``), so the trainer runs the very circuits, with their mismatch and
  calibration, that the network was read onto;
* :class:`SignedWeights` holds their weights (nA) as the trainer's model: every weight
  keeps the sign of the synapse that carries it (the chip sets a synapse's sign by its
  receptor, and ``read`` made an excitatory synapse for each positive NIR weight and an
  inhibitory one for each negative weight); a weight that training drives through zero
  stays at zero, and pairs without a synapse stay without one.

The network must be feed-forward from one Input through spiking nodes, with one
delay on every projection and without biases (the trainer's architecture has
none): :class:`NIRChip` names what is not.
"""

from dataclasses import dataclass

import numpy as np
import torch

import pyNN_sparsehw as sim
from pyNN_sparsehw import simulator
from pyNN_sparsehw.training import Architecture, SpikingNetwork

from .neurons import NIRMappingError

RECEPTORS = ("excitatory", "inhibitory")


@dataclass(frozen=True)
class Presentation:
    """Samples shown one after another: `steps` NIR steps of input each, then `gap`
    silent steps (the state decays before the next sample); `dt`: ms per chip step."""
    steps: int
    gap: int
    dt: float

    @property
    def period(self):
        """Steps from one sample's start to the next."""
        return self.steps + self.gap

    def stream(self, spikes):
        """Samples' spikes (samples, steps, \\*shape) one after another with the gaps:
        (samples * period, \\*shape)."""
        spikes = np.asarray(spikes)
        if spikes.shape[1] != self.steps:
            raise ValueError(f"the presentation shows {self.steps} steps per sample; got "
                             f"spikes of {spikes.shape[1]} steps")
        shown = np.zeros((spikes.shape[0], self.period, *spikes.shape[2:]))
        shown[:, :self.steps] = spikes
        return shown.reshape(-1, *spikes.shape[2:])

    def counts(self, output, samples):
        """Spike counts per sample (samples, n) within each sample's `steps`, of an
        output in NIR steps (samples * period, n)."""
        output = np.asarray(output).reshape(samples, self.period, -1)
        return output[:, :self.steps].sum(axis=1)


def _feed_forward_order(network, source, units):
    """`units` in an order where every projection runs forward from `source` (Kahn),
    else an error naming a projection on a cycle."""
    incoming = {unit: {pre for pre, post in network.projections if post == unit}
                for unit in units}
    order, placed = [], {source}
    while len(order) < len(units):
        ready = [u for u in units if u not in placed and incoming[u] <= placed]
        if not ready:
            pre, post = next((pre, post) for pre, post in network.projections
                             if post not in placed and pre not in placed)
            raise NIRMappingError(
                f"edge {pre} -> {post} lies on a cycle: fine-tuning in the loop trains "
                f"feed-forward networks only (the twin's architecture has no recurrence)")
        order.extend(ready)
        placed.update(ready)
    return order


class NIRChip:
    """The populations and projections of a :class:`~pyNN_sparsehw.nir.NIRNetwork`
    seen by :class:`~pyNN_sparsehw.training.InTheLoopTrainer` as its chip.

    Create it right after :func:`~pyNN_sparsehw.nir.read` (it records the spikes of
    every layer, which must be asked for before the first run).

    Parameters
    ----------
    network : NIRNetwork
        Read on the current chip (one Input, spiking nodes, no biases).
    presentation : Presentation
        How the samples that :meth:`record` receives are shown.

    Raises
    ------
    NIRMappingError
        Naming the node or edge the training stack cannot train.
    """

    def __init__(self, network, presentation):
        self.network = network
        self.code = presentation
        self.chip = simulator.state.chip
        if abs(presentation.dt - network.timestep) > 1e-12:
            raise ValueError(f"the presentation's dt ({presentation.dt:g} ms) is not the "
                             f"chip's step ({network.timestep:g} ms)")
        if network.bias is not None:
            biased = sorted(post for pre, post in network.projections if pre == network.bias)
            raise NIRMappingError(
                f"node(s) {', '.join(biased)} have biases, which the training stack's "
                f"architecture cannot train or hold; export the network without biases "
                f"(e.g. torch.nn.Linear(..., bias=False))")
        source = network.input
        units = [name for name in network.populations if name != source]
        for unit in units:
            if network.records[unit] != "spikes":
                raise NIRMappingError(f"node '{unit}' is a leaky integrator: the trainer's "
                                      f"loss needs spikes of every layer")
        order = [source] + _feed_forward_order(network, source, units)
        layers = tuple((name, network.populations[name].size) for name in order)
        keys = tuple(key for key in network.projections)
        self.architecture = Architecture(layers, keys)
        self.layers = {name: network.populations[name] for name in order}
        self.projections, self.signs = {}, {}
        for key, projections in network.projections.items():
            by_receptor = {prj.receptor_type: prj for prj in projections}
            missing = [r for r in RECEPTORS if r not in by_receptor]
            if missing:
                raise NIRMappingError(
                    f"edge {key[0]} -> {key[1]} has no {missing[0]} synapses: a weight "
                    f"keeps the sign of its synapse, so one sign could never be trained")
            pair = tuple(by_receptor[r] for r in RECEPTORS)
            self.projections[key] = pair
            self.signs[key] = sum(np.sign(np.nan_to_num(prj.get("weight", format="array")))
                                  for prj in pair)
        for name in order[1:]:
            self.layers[name].record("spikes")

    def weights(self):
        """Signed weights (nA) per projection as written, {(pre, post): (n_pre, n_post)}
        (0 where there is no synapse)."""
        return {key: sum(np.nan_to_num(prj.get("weight", format="array")) for prj in pair)
                for key, pair in self.projections.items()}

    def write_weights(self, weights):
        """Write signed weight matrices (nA, (n_pre, n_post) per projection) to the
        synapses that exist: positive parts to the excitatory ones, negative parts
        (PyNN's sign for current-based inhibition) to the inhibitory ones."""
        for key, (excitatory, inhibitory) in self.projections.items():
            w = np.asarray(weights[key], dtype=float)
            excitatory.set(weight=np.maximum(w, 0.0))
            inhibitory.set(weight=np.minimum(w, 0.0))

    def record(self, x):
        """Show samples `x` (samples, steps, \\*input shape) of 0/1 spikes one after
        another and return the spikes of every layer per chip step of each sample's
        period, name -> array (period, samples, neurons), as the twin steps them (a
        spike labelled T in step T/dt - 1; a NIR-step-t input spike in step t)."""
        x = np.asarray(x, dtype=float)
        samples, period = x.shape[0], self.code.period
        network = self.network
        shown = self.code.stream(x)
        if sim.get_current_time() > 0.0:
            sim.reset()
        network.set_input(shown)
        sim.run(network.duration(samples * period))
        names = self.architecture.names
        spikes = {names[0]: shown.reshape(samples, period, -1).transpose(1, 0, 2)}
        for name in names[1:]:
            population = self.layers[name]
            trains = population.get_data("spikes", clear=True).segments[-1].spiketrains
            array = np.zeros((samples * period, population.size))
            for index, train in enumerate(trains):
                step = np.rint(np.asarray(train.magnitude) / self.code.dt).astype(np.int64) - 1
                step = step[(step >= 0) & (step < array.shape[0])]
                array[step, index] = 1.0
            spikes[name] = array.reshape(samples, period, -1).transpose(1, 0, 2)
        return spikes


class SignedWeights(SpikingNetwork):
    """The weights of a :class:`NIRChip` as a trainable
    :class:`~pyNN_sparsehw.training.SpikingNetwork`, each weight bound to the sign of
    the synapse that carries it (zero where there is none).

    Parameters
    ----------
    chip : NIRChip
    readout_scale : float
        Logit per output spike.
    weight_limit : float
        Largest weight magnitude (nA); default the chip's largest current weight.
    """

    def __init__(self, chip, readout_scale=1.0, weight_limit=None):
        limit = chip.chip.max_weight("current") if weight_limit is None else weight_limit
        super().__init__(chip.architecture, weight_limit=limit, readout_scale=readout_scale)
        self.signs = {key: torch.as_tensor(sign, dtype=self.dtype)
                      for key, sign in chip.signs.items()}
        self.set_weights(chip.weights())
        self.clip_()

    @torch.no_grad()
    def clip_(self):
        """Every weight within +-weight_limit and on its synapse's side of zero."""
        super().clip_()
        for key, sign in self.signs.items():
            w = self.weight(key)
            w.copy_(torch.where(sign > 0, w.clamp(min=0.0),
                                torch.where(sign < 0, w.clamp(max=0.0), torch.zeros_like(w))))
