"""A trained EGRU layer as plain PyNN populations and projections on pyNN.sparsehw.

The layer becomes a population of :class:`pyNN_sparsehw.standardmodels.cells.EGRU`
units (one copy per sample of a batch, so that a batch runs in one simulation) fed
by a ``SpikeSourceArray`` of binary inputs. Each weight matrix becomes projections
onto the receptor of its gate input, with a delay of one time step, its positive
and its negative weights apart (PyNN wants one sign per projection):

=========================  =========================  ==================
weights                    from                       receptor
=========================  =========================  ==================
W_u, R_u                   inputs, units              ``update``
W_r, R_r                   inputs, units              ``reset``
W_z                        inputs                     ``candidate_input``
R_z                        units                      ``candidate_recurrent``
=========================  =========================  ==================

Timing: the unit's update of step k uses the events of step k - 1, so an input
spike of step k is labelled k*dt (delivered at k*dt after a delay of dt). A spike
source cannot emit at t = 0: the input of step 0 must be zero (the tasks start
with a blank step). A unit's event of step k is labelled (k + 1)*dt, and its
graded value is the recorded ``y`` at (k + 1)*dt.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from pyNN.parameters import Sequence

from ... import simulator
from .cell import EGRUParameters, EGRUStep

#: (weight attribute, source: "input" or "recurrent", receptor)
PROJECTIONS = (
    ("w_update", "input", "update"), ("r_update", "recurrent", "update"),
    ("w_reset", "input", "reset"), ("r_reset", "recurrent", "reset"),
    ("w_candidate", "input", "candidate_input"),
    ("r_candidate", "recurrent", "candidate_recurrent"),
)
#: EGRU cell parameter -> attribute of EGRUParameters
CELL_PARAMETERS = {"b_update": "b_update", "b_reset": "b_reset",
                   "b_candidate": "b_candidate",
                   "b_candidate_recurrent": "b_candidate_recurrent", "theta": "threshold"}


@dataclass
class ChipEGRU:
    """The populations and projections of an EGRU layer on the chip.

    inputs : SpikeSourceArray of batch*I sources (sample-major)
    units : EGRU population of batch*H units (sample-major)
    projections : (weight attribute name, "positive" or "negative") -> Projection
    """
    inputs: object
    units: object
    projections: dict
    batch: int
    input_size: int
    hidden_size: int


def _block_diagonal(matrix, batch):
    """FromListConnector rows (pre, post, weight) of `batch` copies of the non-zero
    entries of `matrix` (post x pre), copy b connecting pre block b to post block b."""
    n_post, n_pre = matrix.shape
    post, pre = np.nonzero(matrix)
    weights = matrix[post, pre]
    offsets = np.arange(batch)[:, None]
    rows = np.column_stack([(pre + offsets * n_pre).ravel(), (post + offsets * n_post).ravel(),
                            np.tile(weights, batch)])
    return rows


def build(sim, parameters, batch, label="egru", hardware=None, new_core=False,
          encodings=None):
    """Create the populations and projections of one EGRU layer with `parameters`
    (:class:`~.cell.EGRUParameters`, e.g. ``EGRU.parameters_now()``) in `batch` copies.
    `hardware`: per-projection hardware options (``Projection(..., hardware=...)``);
    `new_core`: the units start on a core of their own (``Population(...,
    hardware={"new_core": True})``); `encodings`: (weight attribute, sign) -> the
    synaptic memory encoding of that projection (default: the chip's choice)."""
    hidden, inputs = parameters.w_update.shape
    values = {name: np.tile(getattr(parameters, attr).detach().double().numpy(), batch)
              for name, attr in CELL_PARAMETERS.items()}
    units = sim.Population(batch * hidden, sim.EGRU(**values), label=label,
                           hardware={"new_core": new_core})
    sources = sim.Population(batch * inputs, sim.SpikeSourceArray(spike_times=[]),
                             label=f"{label}_inputs")
    dt = sim.get_time_step()
    synapse = sim.StaticSynapse(delay=dt)  # (a default delay would scan the network)
    projections = {}
    warnings.filterwarnings("ignore", "Can't check weight", UserWarning)  # gate receptors
    for attr, source, receptor in PROJECTIONS:
        matrix = getattr(parameters, attr).detach().double().numpy()
        pre = sources if source == "input" else units
        for sign, part in (("positive", np.clip(matrix, 0, None)),
                           ("negative", np.clip(matrix, None, 0))):
            rows = _block_diagonal(part, batch)
            if not len(rows):
                continue
            connector = sim.FromListConnector(np.column_stack([rows, np.full(len(rows), dt)]),
                                              column_names=["weight", "delay"])
            options = dict(hardware or {})
            if encodings and (attr, sign) in encodings:
                options["encoding"] = encodings[attr, sign]
            projections[attr, sign] = sim.Projection(
                pre, units, connector, synapse, receptor_type=receptor,
                label=f"{label}_{attr}_{sign}", **({"hardware": options} if options else {}))
    return ChipEGRU(sources, units, projections, batch, inputs, hidden)


@dataclass(frozen=True)
class CopyPlan:
    """How copies of a layer share a chip: `per_core` copies per core (0: no limit),
    and the synaptic memory encoding the chip chose for each projection of one copy,
    (weight attribute, sign) -> name (empty on chips without a memory model)."""
    per_core: int
    encodings: dict


def plan_copies(sim, parameters, chip, hardware=None):
    """The :class:`CopyPlan` of the layer on `chip`, from the mapping of one copy: as
    many copies per core as its neuron circuits and the fraction ``placement_fill``
    of its synaptic memory hold (each copy in the encodings the chip chooses)."""
    sim.setup(timestep=1.0, chip=chip)
    network = build(sim, parameters, 1, hardware=hardware)
    mapper = simulator.state.mapping()
    fill = float((mapper.chip.memory or {}).get("placement_fill", 1.0)) * \
        mapper.memory_capacity
    neurons = int(mapper.topology.neurons_per_core) // parameters.threshold.numel()
    bits = float(mapper.memory_used.max())
    chosen = {prj.label: mapper.projections[prj.index].memory
              for prj in simulator.state.description.projections}
    encodings = {key: chosen[p.label].encoding for key, p in network.projections.items()
                 if chosen[p.label] is not None}
    sim.end()
    limits = [n for n in (neurons, fill // bits if bits and np.isfinite(fill) else 0) if n]
    return CopyPlan(int(min(limits)) if limits else 0, encodings)


def build_copies(sim, parameters, copies, plan=CopyPlan(1, {}), label="egru",
                 hardware=None):
    """`copies` networks of one copy each (:func:`build` with batch 1) placed by `plan`
    (:func:`plan_copies`): ``plan.per_core`` copies share a core, each in the chosen
    encodings. Each copy's synaptic memory is that of one network (its blocks hold its
    own neurons only), so the chip's memory per core bounds ``plan.per_core`` copies,
    not the batch."""
    per_core = plan.per_core or copies
    return [build(sim, parameters, 1, label=f"{label}{k}", hardware=hardware,
                  new_core=k % per_core == 0, encodings=plan.encodings)
            for k in range(copies)]


def set_inputs(network, x):
    """Binary inputs `x` (T, batch, I; step 0 all zero) as the sources' spike times."""
    x = np.asarray(x)
    if np.any(x[0]):
        raise ValueError("the input of step 0 must be zero: a spike source cannot emit at "
                         "t = 0 (prepend a blank step)")
    if not np.all((x == 0) | (x == 1)):
        raise ValueError("chip inputs are spikes: x must be 0 or 1")
    steps, batch, size = x.shape
    dt = float(network.inputs._simulator.state.dt)
    flat = x.reshape(steps, batch * size).T
    network.inputs.set(spike_times=[
        Sequence(np.nonzero(row)[0] * dt) for row in flat])


def run(sim, network, x):
    """Run the layer on `x` (T, batch, I) once, from its initial state; returns the
    :class:`~.cell.EGRUStep` the chip produced, tensors (T, batch, H): events, graded
    events (recorded payload at the events) and the state before the reset (the
    recorded payload at every step). `network`: a :class:`ChipEGRU`, or a list of
    them (e.g. :func:`build_copies`) that share the batch in order, all run in one
    simulation."""
    networks = network if isinstance(network, (list, tuple)) else [network]
    x = np.asarray(x)
    bounds = np.cumsum([0] + [n.batch for n in networks])
    if bounds[-1] != x.shape[1]:
        raise ValueError(f"the networks hold {bounds[-1]} copies, x has a batch of "
                         f"{x.shape[1]}: give one sample per copy")
    for part, start, stop in zip(networks, bounds[:-1], bounds[1:]):
        set_inputs(part, x[:, start:stop])
        part.units.record(["spikes", "y"])
    sim.run(x.shape[0] * sim.get_time_step())
    steps = [_read(sim, part, x.shape[0]) for part in networks]
    return EGRUStep(*(torch.cat(parts, 1) for parts in zip(*steps)))


def _read(sim, network, steps):
    """(events, graded events, payload) tensors (T, batch, H) recorded in `network`."""
    dt = sim.get_time_step()
    block = network.units.get_data().segments[-1]
    signal = next(s for s in block.analogsignals if s.name == "y")
    payload = np.asarray(signal.magnitude)[1:steps + 1]
    events = np.zeros((steps, network.units.size))
    for unit, train in enumerate(block.spiketrains):
        k = np.rint(np.asarray(train.magnitude) / dt).astype(np.int64) - 1
        events[k[(k >= 0) & (k < steps)], unit] = 1.0
    shape = (steps, network.batch, network.hidden_size)
    payload = payload.reshape(shape)
    events = events.reshape(shape)
    return torch.tensor(events), torch.tensor(events * payload), torch.tensor(payload)


def fixed_point(network):
    """(state lsb, payload lsb) of the EGRU units on the current chip (None: floating
    point), as the mapping declares them (the chip model's ``[neurons.state]`` c, y)."""
    mapping = simulator.state.mapping()
    lsb = mapping.populations[network.units.grandparent_description.index].spec.state_lsb
    return lsb.get("c"), lsb.get("y")


def realised_parameters(network):
    """The :class:`~.cell.EGRUParameters` of the first copy as the chip realises them
    (``get(..., hardware=True)``: stored weights and fixed-point parameters)."""
    hidden, inputs = network.hidden_size, network.input_size
    cell = network.units[:hidden]
    values = dict(zip(CELL_PARAMETERS.values(), (
        torch.tensor(np.asarray(v, dtype=float) * np.ones(hidden))
        for v in cell.get(list(CELL_PARAMETERS), hardware=True, simplify=False))))
    for attr, source, _ in PROJECTIONS:
        n_pre = inputs if source == "input" else hidden
        matrix = np.zeros((n_pre, hidden))
        for sign in ("positive", "negative"):
            if (attr, sign) in network.projections:
                part = network.projections[attr, sign].get("weight", format="array",
                                                           hardware=True)
                matrix += np.nan_to_num(np.asarray(part, dtype=float)[:n_pre, :hidden])
        values[attr] = torch.tensor(matrix.T)
    return EGRUParameters(**values)


__all__ = ["PROJECTIONS", "ChipEGRU", "build", "CopyPlan", "plan_copies", "build_copies", "set_inputs", "run", "fixed_point",
           "realised_parameters"]
