"""Export a PyNN network to NIR: as specified, or as realised on the chip."""

from collections import defaultdict

import numpy as np
import nir
from pyNN import common

from pyNN_sparsehw import simulator

from . import units
from .neurons import (META_CELL_TYPE, META_CM, META_I_OFFSET, META_MODEL, META_TAU_REFRAC,
                      META_TAU_SYN_I, NIRMappingError, rest_shift)
from .reader import DEFAULT_DT, META_DISCRETISATION, META_DT, META_LATENCY, NIRNetwork

SOURCES = ("SpikeSourceArray", "SpikeSourcePoisson")
CELL_NODES = {"IF_curr_delta": "LIF", "IF_curr_exp": "CubaLIF"}


def _values(population, names, hardware):
    values = population.get(names, hardware=hardware, simplify=False)
    return {name: np.broadcast_to(np.asarray(v, dtype=float), (population.size,)).copy()
            for name, v in zip(names, values)}


def _neuron_node(population, hardware, dt, discretisation, h, voltage):
    """(NIR node, weight factor: NIR weight per PyNN weight, per neuron); `voltage`:
    (mV per NIR unit, offset in mV)."""
    cell_type = type(population.celltype).__name__
    if cell_type not in CELL_NODES:
        raise NIRMappingError(
            f"population '{population.label}': cell type {cell_type} has no NIR node; "
            f"NIR describes {', '.join(CELL_NODES)} (as {', '.join(CELL_NODES.values())})")
    names = ["tau_m", "cm", "v_rest", "v_reset", "v_thresh", "tau_refrac", "i_offset"]
    if cell_type == "IF_curr_exp":
        names += ["tau_syn_E", "tau_syn_I"]
    p = _values(population, names, hardware)
    metadata = {META_CELL_TYPE: cell_type, META_CM: p["cm"],
                META_TAU_REFRAC: p["tau_refrac"], META_I_OFFSET: p["i_offset"]}
    beta = units.chip_decay(p["tau_m"], h)
    tau_mem = units.tau_from_decay(beta, dt, discretisation)
    _, gain_mem = units.decay_and_gain(tau_mem, dt, discretisation)
    scale, offset = voltage
    v_leak = (p["v_rest"] + rest_shift(p["tau_m"], p["cm"], p["i_offset"],
                                       p["tau_m"] < units.NO_LEAK_TAU_MS) - offset) / scale
    v_thresh, v_reset = (p["v_thresh"] - offset) / scale, (p["v_reset"] - offset) / scale
    if cell_type == "IF_curr_delta":
        node = nir.LIF(tau=tau_mem, r=1.0 / gain_mem, v_leak=v_leak, v_threshold=v_thresh,
                       v_reset=v_reset, metadata=metadata)
        return node, np.full(population.size, 1.0 / scale)
    # NIR's CubaLIF has one synaptic time constant: tau_syn_E; tau_syn_I (which
    # mismatch makes differ on an analog chip) travels in the metadata
    metadata[META_TAU_SYN_I] = p["tau_syn_I"]
    alpha = units.chip_decay(p["tau_syn_E"], h)
    tau_syn = units.tau_from_decay(alpha, dt, discretisation)
    _, gain_syn = units.decay_and_gain(tau_syn, dt, discretisation)
    node = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=1.0 / gain_mem,
                       w_in=1.0 / gain_syn, v_leak=v_leak, v_threshold=v_thresh,
                       v_reset=v_reset, metadata=metadata)
    # one NIR weight unit adds one NIR voltage unit over the step after it arrives
    return node, units.current_to_voltage(p["tau_m"], p["tau_syn_E"], p["cm"], h) / scale


def _connections(projection, hardware, h):
    rows = np.asarray(projection.get(["weight", "delay"], format="list", with_address=True,
                                     hardware=hardware), dtype=float).reshape(-1, 4)
    steps = np.rint(rows[:, 3] / h).astype(np.int64)
    return rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64), rows[:, 2], steps


def to_graph(projections, populations=None, outputs=None, hardware=False, dt=DEFAULT_DT,
             discretisation="euler", voltage_scale=1.0, v_offset=0.0):
    """A NIR graph of the network made of `populations` and `projections`.

    Parameters
    ----------
    projections : list of Projection, or a NIRNetwork
        Every projection must join two whole populations.
    populations : list of Population
        Default: every population of the simulation.
    outputs : list of Population
        Populations that get an Output node (default: neuron populations without
        projections to other populations).
    hardware : bool
        Export what the chip realises (quantized weights, delays in whole steps,
        mismatched parameters: ``get(..., hardware=True)``) instead of what was asked.
    dt : float
        Seconds per NIR step; one chip time step becomes one NIR step.
    discretisation : {"euler", "exact"}
        How per-step decays become NIR time constants (see :mod:`.units`).
    voltage_scale, v_offset : float
        ``v`` mV on the chip is the NIR voltage ``(v - v_offset) / voltage_scale``
        (the inverse of :func:`.read`'s).

    Returns
    -------
    nir.NIRGraph
        Spike sources become Input nodes; ``IF_curr_delta`` LIF and ``IF_curr_exp``
        CubaLIF nodes (with ``cm``, ``tau_refrac``, ``i_offset`` and, for CubaLIF,
        ``tau_syn_I`` in their metadata,
        ``i_offset`` also folded into ``v_leak``); each pair of connected populations
        one Linear node per delay (weights summed over receptors, inhibitory
        negative), behind a Delay node of (delay - 1) steps when longer than a step.
        The graph's metadata says that every edge is one chip step (latency "step").
    """
    if isinstance(projections, NIRNetwork):
        network = projections
        populations = populations or list(network.populations.values())
        projections = [p for group in network.projections.values() for p in group]
    units.check_discretisation(discretisation)
    state = simulator.state
    h = state.dt
    populations = list(populations if populations is not None else state.populations)
    labels = [p.label for p in populations]
    if len(set(labels)) != len(labels):
        raise NIRMappingError(f"population labels must be unique to name NIR nodes, got "
                              f"{labels}")
    nodes, factors = {}, {}
    for population in populations:
        if not isinstance(population, common.Population):
            raise NIRMappingError(f"'{population.label}' is a {type(population).__name__}; "
                                  f"export whole populations")
        if type(population.celltype).__name__ in SOURCES:
            nodes[population.label] = nir.Input(input_type=np.array([population.size]))
        else:
            nodes[population.label], factors[population.label] = _neuron_node(
                population, hardware, dt, discretisation, h, (voltage_scale, v_offset))
    blocks = defaultdict(list)
    for projection in projections:
        for side in (projection.pre, projection.post):
            if side.label not in nodes or not isinstance(side, common.Population):
                raise NIRMappingError(
                    f"projection '{projection.label}' joins '{side.label}', which is not "
                    f"one of the exported populations")
        blocks[(projection.pre, projection.post)].append(
            _connections(projection, hardware, h))
    edges = []
    for (pre, post), parts in blocks.items():
        i, j, w, steps = (np.concatenate(column) for column in zip(*parts))
        w = w * factors[post.label][j]
        for d in np.unique(steps):
            chosen = steps == d
            weight = np.zeros((post.size, pre.size))
            np.add.at(weight, (j[chosen], i[chosen]), w[chosen])
            name = f"{pre.label}->{post.label}" + (f" delay {d}" if len(np.unique(steps)) > 1
                                                   else "")
            nodes[name] = nir.Linear(weight=weight)
            if d > 1:
                nodes[name + " wait"] = nir.Delay(delay=np.full(pre.size, (d - 1) * dt))
                edges += [(pre.label, name + " wait"), (name + " wait", name)]
            else:
                edges.append((pre.label, name))
            edges.append((name, post.label))
    senders = {pre.label for pre, post in blocks if pre is not post}
    if outputs is None:
        outputs = [p for p in populations if p.label in factors and p.label not in senders]
    for population in outputs:
        name = f"{population.label} output"
        nodes[name] = nir.Output(output_type=np.array([population.size]))
        edges.append((population.label, name))
    metadata = {META_LATENCY: "step", META_DT: float(dt),
                META_DISCRETISATION: discretisation}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write(path, projections, populations=None, outputs=None, hardware=False, dt=DEFAULT_DT,
          discretisation="euler", voltage_scale=1.0, v_offset=0.0):
    """Write the network to `path` (HDF5, through ``nir.write``); see
    :func:`to_graph` for the arguments. Returns the graph."""
    graph = to_graph(projections, populations, outputs, hardware, dt, discretisation,
                     voltage_scale, v_offset)
    nir.write(path, graph)
    return graph


def model_node(model, base, **parameters):
    """A neuron model NIR has no node for (e.g. ALIF, EGRU), carried by the NIR node
    `base` that describes its non-adaptive part, with the model's name and its
    parameters in the node's metadata (``sparsehw_model`` and ``<model>_<name>``).

    Other NIR tools see `base`; :func:`.read` refuses the node, naming it, until
    pyNN_sparsehw realises that model (see docs/nir.rst)."""
    base.metadata = dict(base.metadata or {}, **{META_MODEL: str(model)})
    for name, value in parameters.items():
        # nir.write compresses arrays, which HDF5 refuses for scalars
        base.metadata[f"{model}_{name}"] = np.atleast_1d(np.asarray(value))
    return base
