"""A network of twin neurons simulated step by step, as the engine schedules it.

Populations of one neuron model each (:mod:`pyNN_sparsehw.training.twin.neurons`) and projections between them
with dense signed weights (nA: positive onto the excitatory input, negative onto the
inhibitory one, as the engine applies them) and a delay in whole time steps. Spike
sources are tensors of spikes per emission step.

Timing is the engine's: a spike emitted in step k (labelled (k + 1) dt) reaches its
targets' currents at the end of step k + d, where d is the projection's delay in
steps (>= 1), so it first moves their membranes in step k + d + 1. Step k of a
source tensor holds the spikes labelled (k + 1) dt.
"""

from dataclasses import dataclass

import torch

from . import neurons

def _per_step(step):
    """(prepare, advance) of a step function that takes the parameters and dt."""
    return (lambda p, dt: (p, dt)), \
        (lambda state, c, exc, inh, substitute: step(state, c[0], c[1], exc, inh, substitute))


#: neuron model name -> (initial state, prepare constants from (parameters, dt),
#: advance (state, constants, exc, inh, substitute) by one step)
MODELS = {
    "lif": (neurons.lif_initial_state, neurons.lif_constants, neurons.lif_advance),
    "adex": (neurons.adex_initial_state, *_per_step(neurons.adex_step)),
    "alif": (neurons.alif_initial_state, neurons.alif_constants, neurons.alif_advance),
}


@dataclass
class TwinPopulation:
    """`size` neurons of neuron model `model` (a key of :data:`MODELS`) with
    `parameters` (the model's NamedTuple, tensors of shape (size,))."""
    name: str
    model: str
    parameters: tuple
    size: int


@dataclass
class TwinProjection:
    """Signed weights (nA), shape (n_pre, n_post), onto receptor "exc" or "inh" of
    `post`, delivered `delay` whole steps (>= 1) after the presynaptic spike."""
    pre: str
    post: str
    receptor: str
    weight: torch.Tensor
    delay: int = 1

    def __post_init__(self):
        if self.receptor not in ("exc", "inh"):
            raise ValueError(f"projection {self.pre} -> {self.post}: receptor must be 'exc' "
                             f"or 'inh', got {self.receptor!r}")
        if int(self.delay) < 1:
            raise ValueError(f"projection {self.pre} -> {self.post}: delay must be >= 1 "
                             f"step, got {self.delay}")
        self.delay = int(self.delay)


def signed_projections(pre, post, weight, quantizers, gains=None, delay=1):
    """The two projections (excitatory, inhibitory) that carry signed `weight` (nA,
    shape (n_pre, n_post)) from `pre` to `post`, as the chip splits it by receptor: its
    positive part onto "exc" and its negative part onto "inh", each through its
    quantizer of the pair `quantizers` (straight-through) and times its synapses'
    gains of the pair `gains` (or None: exact gains)."""
    parts = []
    for k, (receptor, part) in enumerate((("exc", torch.clamp(weight, min=0.0)),
                                          ("inh", torch.clamp(weight, max=0.0)))):
        w = quantizers[k](part)
        if gains is not None:
            w = w * gains[k]
        parts.append(TwinProjection(pre, post, receptor, w, delay))
    return parts


def _source_currents(projections, sources, steps, batch, size, dtype):
    """Currents (nA) delivered by spike sources to one population's receptor in each
    step, shape (steps, batch, size): one matrix product per projection."""
    total = torch.zeros((steps, batch, size), dtype=dtype)
    for prj in projections:
        spikes = sources[prj.pre][:steps].to(dtype)
        delivered = spikes @ prj.weight
        if prj.delay < steps:
            total[prj.delay:] = total[prj.delay:] + delivered[:steps - prj.delay]
    return total


def simulate(populations, projections, sources, steps, dt, substitute=None,
             record=("v",), initial=None):
    """Run `steps` time steps of `dt` ms.

    Parameters
    ----------
    populations : list of TwinPopulation
    projections : list of TwinProjection
    sources : dict name -> tensor (steps, batch, n) of spikes per emission step
    substitute : dict name -> tensor (steps, batch, n), optional
        Recorded spikes that replace the population's spikes in the forward pass
        (gradients stay the twin's): the chip in the loop.
    record : state variables to return for every population (e.g. "v", "w", "a")
    initial : dict name -> state, optional (default: at rest)

    Returns
    -------
    (spikes, states): dicts name -> tensor (steps, batch, size), and name ->
    {variable: tensor (steps, batch, size)} of the state after each step.

    A feed-forward network (every projection between populations runs to a later
    population in the list) is simulated one population at a time, each over all
    steps, its input from earlier populations computed in one matrix product.
    """
    substitute = substitute or {}
    batch = next(iter(sources.values())).shape[1] if sources else \
        next(iter(substitute.values())).shape[1]
    dtype = populations[0].parameters[0].dtype
    order = {p.name: k for k, p in enumerate(populations)}
    unknown = [prj.pre for prj in projections if prj.pre not in order and prj.pre not in sources]
    if unknown:
        raise ValueError(f"projections from {sorted(set(unknown))}, which are neither "
                         f"populations ({sorted(order)}) nor sources ({sorted(sources)})")
    initial = initial or {}
    feed_forward = all(order[prj.pre] < order[prj.post]
                       for prj in projections if prj.pre in order)
    if feed_forward:
        # one population at a time: the spikes of the earlier ones are sources
        sources = dict(sources)
        spikes, states = {}, {}
        for pop in populations:
            mine = [prj for prj in projections if prj.post == pop.name]
            out, traces = _run([pop], mine, sources, steps, dt, substitute, record, initial,
                               batch, dtype)
            spikes.update(out)
            states.update(traces)
            sources[pop.name] = out[pop.name]
        return spikes, states
    return _run(populations, projections, sources, steps, dt, substitute, record, initial,
                batch, dtype)


def _run(populations, projections, sources, steps, dt, substitute, record, initial, batch,
         dtype):
    """Step all `populations` together (any recurrence)."""
    names = {p.name for p in populations}
    external = {}
    for pop in populations:
        for receptor in ("exc", "inh"):
            incoming = [prj for prj in projections
                        if prj.post == pop.name and prj.receptor == receptor and prj.pre in sources]
            # one tensor per step, split once: indexing the (steps, ...) tensor in every
            # step would make its backward add a full-size gradient per step
            external[pop.name, receptor] = _source_currents(
                incoming, sources, steps, batch, pop.size, dtype).unbind(0)
    recurrent = [prj for prj in projections if prj.pre in names and prj.post in names]
    state = {p.name: initial.get(p.name) or MODELS[p.model][0](p.parameters, batch)
             for p in populations}
    constants = {p.name: MODELS[p.model][1](p.parameters, dt) for p in populations}
    history = {p.name: [] for p in populations}
    traces = {p.name: {name: [] for name in record} for p in populations}
    for k in range(steps):
        new = {}
        for pop in populations:
            drive = {r: external[pop.name, r][k] for r in ("exc", "inh")}
            for prj in recurrent:
                if prj.post == pop.name and k - prj.delay >= 0:
                    drive[prj.receptor] = drive[prj.receptor] + \
                        history[prj.pre][k - prj.delay] @ prj.weight
            recorded = substitute.get(pop.name)
            z, new[pop.name] = MODELS[pop.model][2](
                state[pop.name], constants[pop.name], drive["exc"], drive["inh"],
                None if recorded is None else recorded[k])
            history[pop.name].append(z)
            for name in record:
                if hasattr(new[pop.name], name):
                    traces[pop.name][name].append(getattr(new[pop.name], name))
        state = new
    spikes = {name: torch.stack(zs) for name, zs in history.items()}
    states = {pop: {name: torch.stack(values) for name, values in per.items() if values}
              for pop, per in traces.items()}
    return spikes, states
