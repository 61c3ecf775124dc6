"""Build PyNN populations and projections on the current chip from a NIR graph."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import nir
from pyNN.parameters import Sequence

import pyNN_sparsehw as sim
from pyNN_sparsehw import simulator

from . import units
from .graph import analyse, offsets
from .neurons import JUMP_RECEPTORS, NIRMappingError, realise, with_voltage_jumps

logger = logging.getLogger("pyNN_sparsehw")

#: graph metadata key written by :mod:`.writer`: the latency rule of the graph
META_LATENCY = "sparsehw_latency"
META_DT = "sparsehw_dt"
META_DISCRETISATION = "sparsehw_discretisation"
#: default seconds per NIR step: what snnTorch's export_to_nir assumes
DEFAULT_DT = 1.0e-4
#: receptor -> suffix of the labels of the projections onto it
SHORT_RECEPTOR_NAMES = {"excitatory": "exc", "inhibitory": "inh",
                        "jump_excitatory": "jump exc", "jump_inhibitory": "jump inh"}


@dataclass
class NIRNetwork:
    """A NIR graph realised as PyNN objects on the chip.

    Attributes
    ----------
    populations : dict
        Node name -> Population (inputs: SpikeSourceArray; neuron nodes: cells).
    projections : dict
        (pre node, post node) -> list of Projections (one per receptor used).
    shapes : dict
        Node name -> shape of its output (NIR's, without time).
    inputs : list
        Names of the Input nodes (drive them with :meth:`run`).
    outputs : dict
        Output node name -> name of the neuron node it reads.
    records : dict
        Neuron node -> "spikes" or "v" (leaky integrators).
    offsets : dict
        Node name -> chip steps by which its activity at NIR step t comes later
        than step t + 1 (see docs/nir.rst); used to read results back in NIR steps.
    dt : float
        Seconds per NIR step; ``timestep``: ms per chip step.
    bias : str or None
        Name of the spike source that carries the graph's biases (it fires at every
        step of a run).
    notes : list
        What was realised approximately, if anything.
    """
    populations: dict
    projections: dict
    shapes: dict
    inputs: list
    outputs: dict
    records: dict
    offsets: dict
    dt: float
    timestep: float
    discretisation: str
    bias: str = None
    notes: list = field(default_factory=list)

    @property
    def input(self):
        """The name of the one Input node (error if there are several)."""
        if len(self.inputs) != 1:
            raise ValueError(f"the graph has {len(self.inputs)} inputs: "
                             f"{', '.join(self.inputs)}; name one")
        return self.inputs[0]

    def duration(self, steps):
        """Chip time (ms) that covers `steps` NIR steps at every output."""
        latest = max([self.offsets[u] for u in self.outputs.values()] + [0])
        return (steps + latest + 2) * self.timestep

    def set_input(self, spikes):
        """Drive the inputs: `spikes` maps Input node name (or, with one input,
        may be the array itself) to an array (T, \*shape) of 0/1 per NIR step."""
        if not isinstance(spikes, dict):
            spikes = {self.input: spikes}
        steps = None
        for name, array in spikes.items():
            if name not in self.inputs:
                raise KeyError(f"'{name}' is not an Input node; inputs: "
                               f"{', '.join(self.inputs)}")
            array = np.asarray(array)
            shape = self.shapes[name]
            if array.shape[1:] != tuple(shape):
                raise ValueError(f"input '{name}' has shape {tuple(shape)}; got spikes of "
                                 f"shape {array.shape[1:]} per step")
            if np.any((array != 0) & (array != 1)):
                raise ValueError(f"input '{name}': spikes must be 0 or 1 per step and "
                                 f"neuron, got values {np.unique(array)[:5]}")
            flat = array.reshape(array.shape[0], -1).astype(bool)
            step, neuron = np.nonzero(flat)
            # a spike of NIR step t is emitted by the source at chip time (t + 1) h
            times = (step + 1 + self.offsets[name]) * self.timestep + self._now()
            order = np.argsort(neuron, kind="stable")
            split = np.cumsum(np.bincount(neuron, minlength=flat.shape[1]))[:-1]
            sequences = [Sequence(t) for t in np.split(times[order], split)]
            _set_spike_times(self.populations[name], sequences)
            steps = array.shape[0] if steps is None else max(steps, array.shape[0])
        if self.bias is not None:
            every = (np.arange(steps + max(self.offsets.values()) + 1) + 1) * self.timestep
            _set_spike_times(self.populations[self.bias], [Sequence(every + self._now())])
        return steps

    def _now(self):
        return sim.get_current_time()

    def run(self, spikes, steps=None):
        """Present `spikes` (see :meth:`set_input`), run long enough for every output,
        and return the outputs in NIR steps. Every run starts from the initial state
        (``sim.reset()`` when the simulation has already run).

        Returns
        -------
        dict
            Output node name -> array (steps, \*shape): spikes (0/1) of spiking
            nodes, membrane potential (mV) of leaky integrators.
        """
        if self._now() > 0.0:
            sim.reset()
        start = self._now()
        given = self.set_input(spikes)
        steps = given if steps is None else steps
        sim.run(self.duration(steps))
        return self.read_outputs(steps, start)

    def read_outputs(self, steps, start=0.0):
        """The recorded outputs of the last run that started at `start` (ms)."""
        results = {}
        for output, unit in self.outputs.items():
            population = self.populations[unit]
            segment = population.get_data().segments[-1]
            shape = (steps, *self.shapes[unit])
            base = start / self.timestep + 1 + self.offsets[unit]
            if self.records[unit] == "spikes":
                array = np.zeros((steps, population.size))
                for index, train in enumerate(segment.spiketrains):
                    t = np.rint(np.asarray(train.magnitude) / self.timestep - base)
                    t = t[(t >= 0) & (t < steps)].astype(np.int64)
                    array[t, index] = 1.0
            else:
                signal = segment.filter(name="v")[0]
                sampled = np.asarray(signal.magnitude)
                first = float(signal.t_start.rescale("ms").magnitude) / self.timestep
                index = np.rint(base - first + np.arange(steps)).astype(np.int64)
                valid = (index >= 0) & (index < sampled.shape[0])
                array = np.full((steps, population.size), np.nan)
                array[valid] = sampled[index[valid]]
            results[output] = array.reshape(shape)
        return results


def _set_spike_times(population, sequences):
    """PyNN takes a one-neuron population's spike times as one Sequence."""
    population.set(spike_times=sequences[0] if population.size == 1 else sequences)


def _load(path_or_graph):
    if isinstance(path_or_graph, nir.NIRGraph):
        return path_or_graph
    if isinstance(path_or_graph, nir.NIRNode):
        raise NIRMappingError(f"read() needs a NIRGraph, got a single "
                              f"{type(path_or_graph).__name__} node")
    path = Path(path_or_graph)
    if not path.is_file():
        raise FileNotFoundError(f"no NIR file at {path}")
    return nir.read(path)


def _metadata_value(metadata, key, default):
    value = metadata.get(key, default)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape == ():
        return value.item()
    return value


def read(path_or_graph, dt=None, discretisation=None, latency=None, voltage_scale=1.0,
         v_offset=0.0, record=True):
    """Build the populations and projections of a NIR graph on the current chip.

    Call after ``sim.setup(timestep=h, chip=...)``: one NIR step becomes one chip
    step of `h` ms.

    Parameters
    ----------
    path_or_graph : str, Path or nir.NIRGraph
        An HDF5 file written by ``nir.write`` (any NIR exporter) or a graph.
    dt : float
        Seconds per NIR step the graph was made for (default: the graph's
        ``sparsehw_dt`` metadata, else 1e-4 s as snnTorch exports).
    discretisation : {"euler", "exact"}
        How time constants become decays per step (see :mod:`.units`; default: the
        graph's metadata, else "euler", what discrete-time exporters assume).
    latency : {"compensate", "step"}
        How NIR's zero-delay edges become chip delays (see :func:`.graph.offsets`;
        default: the graph's metadata, else "compensate").
    voltage_scale, v_offset : float
        A NIR voltage u becomes ``v_offset + voltage_scale * u`` mV on the chip
        (NIR's voltages have no unit); weights scale with `voltage_scale`. Default:
        1 NIR unit = 1 mV around 0 mV.
    record : bool
        Record what every output reads (spikes, or v of leaky integrators).

    Returns
    -------
    NIRNetwork

    Raises
    ------
    NIRMappingError
        Naming the node, when a node is not supported or the chip cannot hold it.
    """
    graph = _load(path_or_graph)
    metadata = graph.metadata if isinstance(graph.metadata, dict) else {}
    dt = float(dt if dt is not None else _metadata_value(metadata, META_DT, DEFAULT_DT))
    discretisation = discretisation or _metadata_value(metadata, META_DISCRETISATION,
                                                       "euler")
    units.check_discretisation(discretisation)
    latency = latency or _metadata_value(metadata, META_LATENCY, "compensate")
    state = simulator.state
    h, chip = state.dt, state.chip
    analysis = analyse(graph, dt)
    voltage = (float(voltage_scale), float(v_offset))
    realisations = {name: realise(name, node, analysis.size(name), dt, discretisation, h,
                                  chip, voltage)
                    for name, node in analysis.neurons.items()}
    latencies = {name: r.latency for name, r in realisations.items()}
    latencies.update({name: 0 for name in analysis.inputs})
    biased = {edge.post for edge in analysis.edges if np.any(edge.map.bias)}
    # CubaLIF realisations can add voltage-jump receptors where the chip has them
    jumps = {name for name, r in realisations.items() if r.cell_type == "IF_curr_exp"
             and isinstance(analysis.neurons[name], nir.CubaLIF)} \
        if chip.has_kinetics("voltage_jump") else set()
    step_offsets, delays, warnings, split = offsets(analysis, latencies, latency, biased,
                                                    jumps)
    for index in split:
        post = analysis.edges[index].post
        if realisations[post].jump_factor is None:
            realisations[post] = with_voltage_jumps(realisations[post], h)
    notes = [note for r in realisations.values() for note in r.notes] + warnings
    for note in notes:
        logger.warning(note)
    populations = {}
    for name in analysis.inputs:
        populations[name] = sim.Population(analysis.size(name), sim.SpikeSourceArray(),
                                           label=name)
    for name, realisation in realisations.items():
        population = sim.Population(analysis.size(name), _cell(realisation), label=name)
        population.initialize(v=realisation.initial_v)
        populations[name] = population
    projections = {}
    for index, (edge, steps) in enumerate(zip(analysis.edges, delays)):
        realisation, label = realisations[edge.post], f"{edge.pre}->{edge.post}"
        weights = edge.map.weight * realisation.weight_factor[edge.map.post]
        pair = (populations[edge.pre], populations[edge.post], edge.map.pre, edge.map.post)
        made = projections.setdefault((edge.pre, edge.post), [])
        if index in split:
            # the step's effect as a voltage jump, the decaying rest as a current
            alpha_e, alpha_i = realisation.current_decay(h)
            alpha = np.where(weights > 0, alpha_e[edge.map.post], alpha_i[edge.map.post])
            made.extend(_project(*pair, alpha * weights, steps * h, label))
            made.extend(_project(*pair, edge.map.weight * realisation.jump_factor[
                edge.map.post], steps * h, label, JUMP_RECEPTORS))
        else:
            made.extend(_project(*pair, weights, steps * h, label))
    bias = _bias_source(analysis, realisations, step_offsets, populations, projections, h)
    records = {name: r.record for name, r in realisations.items()}
    if record:
        for unit in set(analysis.outputs.values()):
            if unit in records:
                populations[unit].record(records[unit])
    return NIRNetwork(populations, projections, analysis.shapes, list(analysis.inputs),
                      dict(analysis.outputs), records, step_offsets, dt, h, discretisation,
                      bias, notes)


def _bias_source(analysis, realisations, step_offsets, populations, projections, h):
    """The biases of Affine / Conv nodes as one spike source that fires at every NIR
    step (offset 0, like the inputs), with a synapse of weight `bias` onto every
    biased neuron: a constant input from NIR step 0 on, through the same synapses as
    any other input. Returns the source's name, or None when nothing is biased."""
    biases = {}
    for edge in analysis.edges:
        biases[edge.post] = biases.get(edge.post, 0.0) + edge.map.bias
    biases = {unit: b for unit, b in biases.items() if np.any(b)}
    if not biases:
        return None
    name = "bias"
    while name in populations:
        name += "_"
    source = sim.Population(1, sim.SpikeSourceArray(), label=name)
    populations[name] = source
    for unit, b in biases.items():
        realisation = realisations[unit]
        post = np.nonzero(b)[0]
        steps = step_offsets[unit] - realisation.latency      # >= 1 (graph.offsets)
        projections[(name, unit)] = _project(
            source, populations[unit], np.zeros(post.size, dtype=np.int64), post,
            b[post] * realisation.weight_factor[post], np.full(post.size, steps * h),
            f"{name}->{unit}")
    return name


def _cell(realisation):
    """The PyNN cell type object of a realisation."""
    p = realisation.parameters
    if realisation.cell_type != "PointNeuron":
        return getattr(sim, realisation.cell_type)(**p)
    lif = {name: p[name] for name in ("tau_m", "cm", "v_rest", "v_reset", "v_thresh",
                                      "tau_refrac", "i_offset")}
    jumps = {receptor: sim.VoltageJumpPostSynapticResponse() for receptor in JUMP_RECEPTORS}
    return sim.PointNeuron(sim.LIF(**lif),
                           excitatory=sim.CurrExpPostSynapticResponse(tau_syn=p["tau_syn_E"]),
                           inhibitory=sim.CurrExpPostSynapticResponse(tau_syn=p["tau_syn_I"]),
                           **jumps)


def _project(pre, post, pre_index, post_index, weights, delays, label,
             receptors=("excitatory", "inhibitory")):
    """One projection per sign: onto the first of `receptors` (w > 0) and the second
    (w < 0, PyNN's sign for current-based inhibition)."""
    out = []
    for receptor, selected in zip(receptors, (weights > 0, weights < 0)):
        if not np.any(selected):
            continue
        table = np.column_stack([pre_index[selected], post_index[selected],
                                 weights[selected], delays[selected]])
        out.append(sim.Projection(pre, post, sim.FromListConnector(
            table, column_names=["weight", "delay"]), receptor_type=receptor,
            label=f"{label} {SHORT_RECEPTOR_NAMES[receptor]}"))
    return out
