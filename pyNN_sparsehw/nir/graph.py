"""A NIR graph as units (inputs and neuron nodes) joined by connection maps.

:func:`analyse` flattens nested graphs, infers the shape flowing along every edge,
composes the stateless nodes between two units into one
:class:`~.maps.ConnectionMap`, and assigns every unit its step offset: the number of
chip steps by which its spikes come later than in NIR's own discrete-time evaluation
(where a spike crosses any chain of stateless nodes within the step it was emitted,
and a cycle carries it to the next step).
"""

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import nir
from nir.ir.utils import calc_flatten_output

from .maps import ConnectionMap, convolution, pooling
from .neurons import NEURON_NODES, NIRMappingError

STATELESS = (nir.Affine, nir.Linear, nir.Scale, nir.Conv1d, nir.Conv2d, nir.SumPool2d,
             nir.AvgPool2d, nir.Flatten, nir.Delay, nir.ir.graph.Identity)
SUPPORTED = ("Input", "Output", "Affine", "Linear", "Scale", "LIF", "CubaLIF", "CubaLI",
             "IF", "LI", "Delay", "Threshold", "Flatten", "Conv1d", "Conv2d", "SumPool2d",
             "AvgPool2d", "Identity", "NIRGraph")
#: the latency rules (see docs/nir.rst): "compensate" aligns every unit on NIR's
#: discrete-time evaluation; "step": every edge is one chip step plus its Delay nodes
LATENCIES = ("compensate", "step")


@dataclass
class Edge:
    """Connections from unit `pre` to unit `post` through stateless nodes."""
    pre: str
    post: str
    map: ConnectionMap
    back: bool = False


@dataclass
class Analysis:
    """The graph reduced to units and edges.

    `inputs`, `neurons`: unit name -> node; `shapes`: unit name -> shape;
    `edges`: list of :class:`Edge`; `outputs`: Output node name -> unit name.
    """
    inputs: dict
    neurons: dict
    shapes: dict
    edges: list
    outputs: dict

    def size(self, unit):
        return int(np.prod(self.shapes[unit]))


def flatten(graph, prefix=""):
    """(nodes, edges) of `graph` with nested graphs inlined: inner node ``x`` of
    subgraph ``g`` becomes ``g.x``; edges to ``g`` go to its Input nodes and edges
    from ``g`` leave from its Output nodes, which become pass-through nodes."""
    nodes, edges = {}, []
    entries, exits = {}, {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            inner_nodes, inner_edges = flatten(node, full + ".")
            nodes.update(inner_nodes)
            edges += inner_edges
            entries[full] = [full + "." + n for n, v in node.nodes.items()
                             if isinstance(v, nir.Input)]
            exits[full] = [full + "." + n for n, v in node.nodes.items()
                           if isinstance(v, nir.Output)]
        else:
            nodes[full] = node
    for source, target in graph.edges:
        source, target = prefix + source, prefix + target
        for s in exits.get(source, [source]):
            for t in entries.get(target, [target]):
                edges.append((s, t))
    if prefix:   # inner Input/Output nodes pass their input on
        for name in list(nodes):
            if isinstance(nodes[name], (nir.Input, nir.Output)) and \
                    name.count(".") == prefix.count("."):
                shape = _declared_shape(nodes[name])
                nodes[name] = nir.ir.graph.Identity(input_type={"input": shape})
    return nodes, edges


def _declared_shape(node):
    types = node.output_type if isinstance(node, nir.Input) else node.input_type
    value = next(iter(types.values()))
    return None if value is None else np.asarray(value, dtype=np.int64)


def _kind(node):
    return type(node).__name__


def _check_supported(nodes):
    for name, node in nodes.items():
        if not isinstance(node, (nir.Input, nir.Output) + STATELESS + NEURON_NODES):
            raise NIRMappingError(
                f"node '{name}' is a {_kind(node)}, which pyNN_sparsehw.nir does not "
                f"support; supported: {', '.join(SUPPORTED)}")


class _Shapes:
    """Output shapes and maps of the stateless nodes, computed once per node."""

    def __init__(self, nodes, dt):
        self.nodes, self.dt = nodes, dt
        self.maps, self.out = {}, {}

    def map_of(self, name, in_shape):
        if name in self.maps:
            if tuple(self.maps[name][1]) != tuple(in_shape):
                raise NIRMappingError(
                    f"node '{name}' receives inputs of shapes {tuple(self.maps[name][1])} "
                    f"and {tuple(in_shape)}")
            return self.maps[name][0], self.out[name]
        node = self.nodes[name]
        n = int(np.prod(in_shape))
        try:
            mapped, out = self._build(name, node, tuple(int(s) for s in in_shape), n)
        except ValueError as error:
            if isinstance(error, NIRMappingError):
                raise
            raise NIRMappingError(f"node '{name}' ({_kind(node)}): {error}") from None
        self.maps[name], self.out[name] = (mapped, tuple(in_shape)), tuple(out)
        return mapped, self.out[name]

    def _build(self, name, node, shape, n):
        if isinstance(node, (nir.Affine, nir.Linear)):
            weight = np.asarray(node.weight, dtype=float)
            if weight.ndim != 2 or weight.shape[1] != n:
                raise NIRMappingError(
                    f"node '{name}' ({_kind(node)}): weight of shape {weight.shape} "
                    f"cannot take an input of shape {shape} ({n} values); flatten first")
            bias = getattr(node, "bias", None)
            return ConnectionMap.dense(weight, bias), (weight.shape[0],)
        if isinstance(node, nir.Scale):
            scale = np.asarray(node.scale, dtype=float)
            factors = scale.ravel() if scale.size == n else np.broadcast_to(scale, shape)
            return ConnectionMap.scale(np.ravel(factors)), shape
        if isinstance(node, (nir.Conv1d, nir.Conv2d)):
            spatial = 1 if isinstance(node, nir.Conv1d) else 2
            if len(shape) != spatial + 1:
                raise NIRMappingError(
                    f"node '{name}' ({_kind(node)}) needs a (channels, {spatial}-d) input, "
                    f"got shape {shape}")
            return convolution(node.weight, shape[1:], node.stride, node.padding,
                               node.dilation, node.groups, node.bias)
        if isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
            if len(shape) != 3:
                raise NIRMappingError(f"node '{name}' ({_kind(node)}) needs a (C, H, W) "
                                      f"input, got shape {shape}")
            return pooling(shape, node.kernel_size, node.stride, node.padding,
                           average=isinstance(node, nir.AvgPool2d))
        if isinstance(node, nir.Flatten):
            return ConnectionMap.identity(n), tuple(
                int(v) for v in calc_flatten_output(shape, node.start_dim, node.end_dim))
        if isinstance(node, nir.Delay):
            steps = np.asarray(node.delay, dtype=float) / self.dt
            whole = np.rint(steps)
            if np.any(np.abs(steps - whole) > 1e-6) or np.any(whole < 0):
                raise NIRMappingError(
                    f"node '{name}' (Delay): delays {np.unique(node.delay)[:4]} s are not "
                    f"whole non-negative multiples of dt = {self.dt:g} s")
            steps = np.broadcast_to(whole.astype(np.int64).ravel() if whole.size == n
                                    else whole.astype(np.int64), (n,))
            return ConnectionMap.identity(n, steps), shape
        return ConnectionMap.identity(n), shape          # Identity, inner Input/Output


def analyse(graph, dt):
    """Reduce `graph` (a :class:`nir.NIRGraph`) to an :class:`Analysis`."""
    nodes, edges = flatten(graph)
    _check_supported(nodes)
    successors = defaultdict(list)
    for source, target in edges:
        for name in (source, target):
            if name not in nodes:
                raise NIRMappingError(f"edge ({source!r}, {target!r}) names a node that "
                                      f"does not exist")
        successors[source].append(target)
    inputs = {n: v for n, v in nodes.items() if isinstance(v, nir.Input)}
    if not inputs:
        raise NIRMappingError("the graph has no Input node")
    neurons = {n: v for n, v in nodes.items() if isinstance(v, NEURON_NODES)}
    shapes = {name: tuple(int(s) for s in _declared_shape(node)) for name, node in
              inputs.items()}
    stateless = _Shapes(nodes, dt)
    found, outputs = [], {}
    # breadth-first over units: a neuron's shape is known once something reaches it
    queue, done = list(inputs), set()
    while queue:
        unit = queue.pop(0)
        if unit in done:
            continue
        done.add(unit)
        _check_output_kind(unit, nodes[unit], successors[unit], nodes)
        for target, mapped, shape in _walk(unit, shapes[unit], successors, nodes, stateless):
            node = nodes[target]
            if isinstance(node, nir.Output):
                if unit in inputs:
                    raise NIRMappingError(f"Output '{target}' reads Input '{unit}' without "
                                          f"a neuron between them")
                if not _is_identity(mapped):
                    raise NIRMappingError(
                        f"Output '{target}' reads '{unit}' through weights or delays; the "
                        f"chip outputs spikes or membrane potentials of neurons: end the "
                        f"graph with a neuron node")
                outputs[target] = unit
                continue
            _check_neuron_shape(target, node, shape)
            if target in shapes and shapes[target] != tuple(shape):
                if int(np.prod(shapes[target])) != int(np.prod(shape)):
                    raise NIRMappingError(f"node '{target}' receives {shapes[target]} and "
                                          f"{tuple(shape)} shaped inputs")
            shapes.setdefault(target, tuple(shape))
            found.append(Edge(unit, target, mapped))
            queue.append(target)
    unreached = sorted(set(neurons) - done)
    if unreached:
        raise NIRMappingError(f"node(s) {', '.join(unreached)} cannot be reached from an "
                              f"Input node")
    found = _join_parallel(found)
    _mark_back_edges(list(inputs), found)
    return Analysis(inputs, neurons, shapes, found, outputs)


def _join_parallel(edges):
    """One edge per (pre, post): parallel paths summed, equal entries merged."""
    groups = defaultdict(list)
    for edge in edges:
        groups[(edge.pre, edge.post)].append(edge.map)
    return [Edge(pre, post, ConnectionMap.concatenate(maps).merged())
            for (pre, post), maps in groups.items()]


def _check_output_kind(unit, node, successors, nodes):
    if isinstance(node, (nir.LI, nir.CubaLI)):
        wrong = [s for s in successors if not isinstance(nodes[s], nir.Output)]
        if wrong:
            raise NIRMappingError(
                f"node '{unit}' ({_kind(node)}) feeds '{wrong[0]}': a leaky integrator's "
                f"output is its membrane potential, which the chip cannot send to other "
                f"neurons; LI nodes can only feed Output nodes")


def _check_neuron_shape(name, node, shape):
    size = int(np.prod(shape))
    for attribute in ("tau", "tau_mem", "r", "threshold", "v_threshold"):
        value = getattr(node, attribute, None)
        if value is not None and np.size(value) not in (1, size):
            raise NIRMappingError(f"node '{name}' ({_kind(node)}) has {np.size(value)} "
                                  f"neurons but receives {size} inputs (shape "
                                  f"{tuple(shape)})")


def _walk(unit, shape, successors, nodes, stateless):
    """(target unit or Output, composed map, shape at the target) for every path of
    stateless nodes leaving `unit`."""
    stack = [(target, ConnectionMap.identity(int(np.prod(shape))), tuple(shape), (unit,))
             for target in successors[unit]]
    while stack:
        name, mapped, in_shape, path = stack.pop()
        node = nodes[name]
        if isinstance(node, NEURON_NODES + (nir.Output,)):
            yield name, mapped, in_shape
            continue
        if name in path:
            raise NIRMappingError(f"the stateless nodes {' -> '.join(path[1:] + (name,))} "
                                  f"form a loop without a neuron")
        step, out_shape = stateless.map_of(name, in_shape)
        composed = mapped.compose(step)
        for target in successors[name]:
            stack.append((target, composed, out_shape, path + (name,)))


def _is_identity(mapped):
    return (mapped.n_pre == mapped.n_post and np.array_equal(mapped.pre, mapped.post)
            and mapped.pre.size == mapped.n_pre and np.all(mapped.weight == 1.0)
            and not np.any(mapped.delay) and not np.any(mapped.bias))


def _mark_back_edges(inputs, edges):
    """Depth-first from the inputs, in the graph's order: an edge to a unit still on
    the search path closes a cycle and carries spikes to the next NIR step."""
    outgoing = defaultdict(list)
    for edge in edges:
        outgoing[edge.pre].append(edge)
    state = {}

    def visit(unit):
        state[unit] = "open"
        for edge in outgoing[unit]:
            if state.get(edge.post) == "open":
                edge.back = True
            elif edge.post not in state:
                visit(edge.post)
        state[unit] = "closed"

    for unit in inputs:
        if unit not in state:
            visit(unit)


def offsets(analysis, latencies, mode, biased=(), jumps=()):
    """Step offset of every unit and the delay (chip steps) of every synapse.

    Parameters
    ----------
    analysis : Analysis
    latencies : dict
        Unit name -> steps its synaptic kinetics add (0 for inputs).
    mode : str
        ``"compensate"``: a forward edge u -> v gets ``d(v) - d(u) + k - L(v)`` steps
        (`k`: its Delay nodes, `L`: kinetics latency), with offsets ``d`` the
        smallest that keep every delay >= 1; a back edge gets one step more, since NIR
        carries it to the next step. ``"step"``: every edge gets ``1 + k`` steps.
    biased : iterable
        Units fed by the bias source, whose offset is 0: all offsets are shifted
        (edge delays unchanged) so that every offset is >= 0 and the bias reaches
        each of these units with >= 1 step.
    jumps : iterable
        Units of latency 1 that can also take voltage jumps (latency 0). A back edge
        into one of them that would need 0 steps is *split* instead: a voltage jump
        carries the input's effect on the next step and an exponential current,
        one step later, the rest (see :func:`~.neurons.with_voltage_jumps`); such
        an edge gets 1 step (plus its Delay nodes) and no warning.

    Returns
    -------
    (offsets dict, delays list of int arrays per edge, warnings list, split: set of
    the indices of split edges)
    """
    if mode not in LATENCIES:
        raise ValueError(f"latency must be one of {', '.join(LATENCIES)}, got {mode!r}")
    d = {unit: 0 for unit in analysis.inputs}
    forward = [e for e in analysis.edges if not e.back]
    # longest path over the acyclic forward edges (Bellman-Ford; graphs are small)
    for _ in range(len(analysis.neurons) + 1):
        changed = False
        for edge in forward:
            k = int(edge.map.delay.min()) if edge.map.delay.size else 0
            need = 1 if mode == "step" else 1 - k + latencies[edge.post]
            value = d[edge.pre] + need
            if edge.post not in d or d[edge.post] < value:
                d[edge.post] = value
                changed = True
        if not changed:
            break
    shift = max([0, -min(d.values())] + [1 + latencies[u] - d[u] for u in biased])
    d = {unit: value + shift for unit, value in d.items()}
    delays, warnings, split = [], [], set()
    jumps = set(jumps)
    for index, edge in enumerate(analysis.edges):
        if mode == "step":
            steps = 1 + edge.map.delay
        else:
            steps = d[edge.post] - d[edge.pre] + edge.map.delay \
                - latencies[edge.post] + int(edge.back)
        if edge.back and edge.post in jumps and latencies[edge.post] == 1 and \
                steps.size and steps.min() == 0:
            split.add(index)
            steps = steps + 1
        if steps.size and steps.min() < 1:
            warnings.append(f"edge {edge.pre} -> {edge.post}: the chip needs at least one "
                            f"step per synapse, NIR asks for {int(steps.min())}; realised "
                            f"with {1 - int(steps.min())} step(s) more latency")
            steps = np.maximum(steps, 1)
        delays.append(steps.astype(np.int64))
    return d, delays, warnings, split
