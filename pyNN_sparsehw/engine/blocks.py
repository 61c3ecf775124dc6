"""Brian2 objects per circuit kind: merged neuron groups, synapses and monitors.

A *neuron block* is one Brian2 group holding every population of one kind, each a
contiguous :class:`Slot`:

* neurons realised by the same circuit: same membrane, same receptor set (names and
  kinetics) and same fixed-point state resolution. Every parameter is a per-neuron
  variable, so populations with different values share the group;
* Poisson sources (rate, start and stop per source);
* spike arrays (one ``SpikeGeneratorGroup``).

A *synapse block* is one ``Synapses`` holding every projection between two neuron
blocks onto the same receptor with the same plasticity model (and with or without
analog gains), each projection a contiguous range of synapses, with per-synapse
weights, delays, gains and plasticity parameters.

Brian2 object names are canonical (derived from the kind, not from counters), so
that generated code is identical, and compiled code reused, across scripts and
processes that build networks of the same kinds.
"""

import logging
import zlib
from dataclasses import dataclass

import numpy as np
import brian2
from brian2 import ms
from brian2.units.fundamentalunits import DIMENSIONLESS

from .circuits import (KINETICS, MEMBRANES, PropagatorUpdate, integration_method,
                       propagators_for, receptor_equations, unit_of)

logger = logging.getLogger("pyNN_sparsehw")

__all__ = ["Slot", "NeuronBlock", "SynapseBlock", "StateRecord", "neuron_kind",
           "spike_array_events", "build_neuron_blocks", "build_synapse_blocks",
           "build_state_monitors"]


@dataclass
class Slot:
    """A population's neurons [start, stop) in a neuron block, or a projection's
    synapses [start, stop) in a synapse block."""
    block: object
    start: int
    stop: int

    @property
    def size(self):
        return self.stop - self.start

    def indices(self, local=None):
        """Block indices of the local indices `local` (all of the slot if None)."""
        if local is None:
            return slice(self.start, self.stop)
        if isinstance(local, slice):
            return np.arange(self.start, self.stop)[local]
        return np.asarray(local, dtype=np.int64) + self.start


def _steps(times_ms, dt_ms):
    """Times in ms to whole time steps (nearest)."""
    return np.rint(np.asarray(times_ms, dtype=float) / dt_ms).astype(np.int64)


def _canonical(prefix, kind):
    """A Brian2 name for a kind: the prefix and a checksum of the kind's description."""
    return f"{prefix}_{zlib.crc32(repr(kind).encode()):08x}"


def _per_item(specs, values_of, size_of, name, default=0.0):
    """One array over all specs: each spec's value of `name` broadcast to its size."""
    parts = []
    for spec in specs:
        values = values_of(spec)
        value = values[name] if name in values else default
        parts.append(np.broadcast_to(np.asarray(value, dtype=float), (size_of(spec),)))
    return np.concatenate(parts) if parts else np.zeros(0)


def spike_array_events(spike_times, dt, first_step=0):
    """Per-neuron spike times (ms) to (neuron indices, emission steps).

    A spike labelled T is emitted in the step starting at T - dt; spikes before
    `first_step` are left out, spikes of one neuron in the same step merged."""
    counts = np.array([len(t) for t in spike_times], dtype=np.int64)
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    indices = np.repeat(np.arange(len(spike_times)), counts)
    steps = _steps(np.concatenate([np.asarray(t, dtype=float) for t in spike_times]), dt) - 1
    keep = steps >= first_step
    if np.any(steps < 0):
        logger.warning("SpikeSourceArray: %d spikes at t <= 0 ms were dropped (the first "
                       "spike a source can emit is at one time step)",
                       int(np.count_nonzero(steps < 0)))
    pairs = np.unique(np.stack([indices[keep], steps[keep]]), axis=1)
    if pairs.shape[1] < keep.sum():
        logger.warning("SpikeSourceArray: %d spikes fall in the same time step as another "
                       "spike of the same neuron and were merged",
                       keep.sum() - pairs.shape[1])
    return pairs[0], pairs[1]


# --------------------------------------------------------------------------- neurons
def neuron_kind(spec):
    """What decides whether two populations can share a Brian2 group."""
    if spec.kind != "neuron":
        return (spec.kind,)
    return ("neuron", spec.membrane, tuple(spec.receptors.items()),
            tuple(sorted(spec.state_lsb.items())))


class NeuronBlock:
    """One Brian2 group holding the populations of one kind (see module docstring).

    `slots` maps population key to its :class:`Slot`; `counter` counts every
    neuron's spikes; `recorder` (created on demand) records spike times of the whole
    group, and `spike_cutoff` says, per recording population, from which recorded
    spike on its data are kept (recording start or last clear)."""

    def __init__(self, name, kind, specs, group, membrane=None, receptors=None,
                 propagators=None):
        self.name = name
        self.propagators = propagators
        self.kind = kind
        self.group = group
        self.membrane = membrane
        self.receptors = receptors or {}
        self.slots = {}
        start = 0
        for spec in specs:
            self.slots[spec.key] = Slot(self, start, start + spec.size)
            start += spec.size
        self.size = start
        self.counter = brian2.SpikeMonitor(group, record=False, name=f"{name}_count")
        self.recorder = None
        self.spike_cutoff = {}
        self.spike_events = {}
        self.spikes_changed = False

    def objects(self):
        return [self.group, self.counter]

    def unit(self, name):
        """Brian2 unit of a variable of a neuron circuit."""
        return unit_of(name, MEMBRANES[self.membrane], self.receptors)

    def assign(self, values, index, dt):
        """Set parameters or states (standard units) of block neurons `index`."""
        group = self.group
        if self.kind == "poisson":
            if "rate" in values:
                group.rate[index] = np.asarray(values["rate"], dtype=float) * brian2.Hz
            # a spike labelled T is emitted in the step starting at T - dt
            if "start" in values:
                group.start_step[index] = _steps(values["start"], dt) - 1
            if "stop" in values:
                # (limited before the cast: an endless source has stop = inf)
                steps = np.minimum(np.asarray(values["stop"], dtype=float) / dt,
                                   np.iinfo(np.int32).max)
                group.stop_step[index] = np.rint(steps).astype(np.int64) - 1
            return
        for name, value in values.items():
            getattr(group, name)[index] = np.asarray(value, dtype=float) * self.unit(name)
        if self.propagators is not None and self.propagators.inputs() & set(values):
            self.update_propagators(dt)

    def update_propagators(self, dt):
        """Recompute the integration propagators from the current parameters."""
        names = self.propagators.inputs()
        current = {n: np.asarray(getattr(self.group, n)[:] / self.unit(n)) for n in names}
        for name, value in self.propagators.compute(current, dt).items():
            setattr(self.group, name, value)

    # ------------------------------------------------------------ spike arrays
    def push_spikes(self, dt, first_step):
        """Give the spike generator the spikes of all its populations from
        `first_step` on."""
        indices, steps = [], []
        for key, (local, emission) in self.spike_events.items():
            keep = emission >= first_step
            indices.append(local[keep] + self.slots[key].start)
            steps.append(emission[keep])
        indices = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        steps = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
        self.group.set_spikes(indices, steps * dt * ms)
        self.spikes_changed = False

    # --------------------------------------------------------------- recording
    def record_spikes(self, key, network):
        """Keep the spikes of population `key` from now on."""
        if key in self.spike_cutoff:
            return
        if self.recorder is None:
            self.recorder = brian2.SpikeMonitor(self.group, record=True,
                                                name=f"{self.name}_spikes")
            network.add(self.recorder)
        self.spike_cutoff[key] = int(self.recorder.num_spikes)

    def recorded_spikes(self, key, slot):
        """(slot indices, emission times in ms) recorded for population `key`."""
        cutoff = self.spike_cutoff[key]
        indices = np.asarray(self.recorder.i[:])[cutoff:]
        times = np.asarray(self.recorder.t[:] / ms)[cutoff:]
        mine = (indices >= slot.start) & (indices < slot.stop)
        return indices[mine] - slot.start, times[mine]

    def clear_spikes(self, key):
        """Drop the spikes recorded so far for `key`; free memory when no recording
        population still needs them."""
        if key not in self.spike_cutoff:
            return
        total = int(self.recorder.num_spikes)
        self.spike_cutoff[key] = total
        if all(cutoff == total for cutoff in self.spike_cutoff.values()):
            self.recorder.resize(0)
            self.spike_cutoff = dict.fromkeys(self.spike_cutoff, 0)


def build_neuron_blocks(specs, clock, dt, suffix=""):
    """Neuron blocks for `specs`, one per kind, in order of first appearance.

    `suffix` distinguishes blocks built after a run from earlier ones of the same kind.
    """
    by_kind = {}
    for spec in specs:
        by_kind.setdefault(neuron_kind(spec), []).append(spec)
    return [_build_block(kind, members, clock, dt, suffix) for kind, members in by_kind.items()]


def _build_block(kind, specs, clock, dt, suffix):
    size = sum(spec.size for spec in specs)
    if kind[0] == "poisson":
        name = f"poisson{suffix}"
        group = brian2.NeuronGroup(
            size, "rate : Hz\nstart_step : integer\nstop_step : integer",
            threshold="rand() < rate*dt and timestep(t, dt) >= start_step "
                      "and timestep(t, dt) < stop_step",
            clock=clock, name=name, namespace={})
        block = NeuronBlock(name, "poisson", specs, group)
        names = {n for spec in specs for n in spec.parameters}
        block.assign({n: _per_item(specs, lambda s: s.parameters, lambda s: s.size, n)
                      for n in names}, slice(None), dt)
        return block
    if kind[0] == "spike_array":
        name = f"spikearray{suffix}"
        group = brian2.SpikeGeneratorGroup(size, np.zeros(0, dtype=np.int64), np.zeros(0) * ms,
                                           clock=clock, name=name)
        block = NeuronBlock(name, "spike_array", specs, group)
        for spec in specs:
            block.spike_events[spec.key] = spike_array_events(spec.spike_times, dt)
        block.push_spikes(dt, 0)
        return block
    first = specs[0]
    membrane = MEMBRANES[first.membrane]
    name = _canonical(first.membrane, kind) + suffix
    receptor_eqs, receptor_parameters, _ = receptor_equations(first.receptors)
    declarations = "".join(
        f"{parameter} : {_unit_name(unit)}\n"
        for parameter, unit in {**membrane.parameters, **receptor_parameters}.items())
    propagators = propagators_for(membrane, first.receptors)
    if propagators is not None:
        declarations += propagators.declarations()
    equations = brian2.Equations(
        membrane.equations + "\n" + receptor_eqs + declarations + "i_inj : amp\n")
    group = brian2.NeuronGroup(
        size, equations,
        threshold=membrane.threshold,
        reset=membrane.reset or None,
        refractory=membrane.refractory if membrane.refractory is not None else False,
        method=integration_method(membrane, first.receptors, dt) if propagators is None
        else PropagatorUpdate(propagators),
        clock=clock, name=name, namespace={})
    block = NeuronBlock(name, "neuron", specs, group, first.membrane, dict(first.receptors),
                        propagators)
    for values_of in (lambda s: s.parameters, lambda s: s.initial_values):
        names = list(dict.fromkeys(n for spec in specs for n in values_of(spec)))
        block.assign({n: _per_item(specs, values_of, lambda s: s.size, n) for n in names},
                     slice(None), dt)
    if propagators is not None:
        block.update_propagators(dt)
    if membrane.after_integration:
        # before the fixed-point rounding (order 0) in the same slot
        group.run_regularly(membrane.after_integration, when="after_groups", order=-1,
                            name=f"{name}_after_integration")
    for state, lsb in first.state_lsb.items():
        # fixed-point state: rounded to its resolution after each integration step
        unit = block.unit(state)
        step = f"({float(np.asarray(lsb * unit))!r}*{_unit_name(unit)})"
        group.run_regularly(f"{state} = floor({state}/{step} + 0.5)*{step}",
                            when="after_groups", name=f"{name}_fixedpoint_{state}")
    if membrane.name == "hh":
        group.v_previous = group.v
        group.run_regularly("v_previous = v", when="before_groups",
                            name=f"{name}_previous_v")
    return block


# -------------------------------------------------------------------------- synapses
class SynapseBlock:
    """One Brian2 Synapses holding the projections of one kind (module docstring)."""

    def __init__(self, name, synapses, model, weight_unit, early, slots):
        self.name = name
        self.synapses = synapses
        self.model = model
        self.weight_unit = weight_unit
        self.early = early
        self.slots = slots
        for slot in slots.values():
            slot.block = self

    def set_values(self, slot, spec, weights=None, delays=None, parameters=None, gain=None):
        """Update one projection's weights (weight unit), delays (ms), plasticity
        parameters or gains."""
        syn = self.synapses
        index = slot.indices()
        if weights is not None:
            syn.w_syn[index] = np.asarray(weights, dtype=float) * self.weight_unit
        if gain is not None:
            if spec.gain is None:
                raise ValueError(f"synapses '{spec.label}' were built without gains")
            syn.gain[index] = np.asarray(gain, dtype=float)
        if delays is not None:
            delays = np.broadcast_to(np.asarray(delays, dtype=float), (slot.size,))
            syn.pre.delay[index] = (delays - self.early) * ms
            if self.model == "stdp":
                syn.post.delay[index] = _dendritic_delays(spec, delays) * ms
        for name, value in _plasticity_parameters(parameters or {}).items():
            getattr(syn, name)[index] = np.asarray(value, dtype=float) * \
                self._parameter_unit(name)

    def _parameter_unit(self, name):
        unit = _SYNAPSE_PARAMETER_UNITS.get(name)
        return self.weight_unit if unit == "weight" else (unit or 1)

    def get_weights(self, slot):
        return np.asarray(self.synapses.w_syn[slot.indices()] / self.weight_unit)


def _plasticity_parameters(parameters):
    """The plasticity parameters that are synaptic variables."""
    return {name: value for name, value in parameters.items()
            if name not in ("weight_dependence", "dendritic_delay_fraction")}


def _dendritic_delays(spec, delays):
    """Delay (ms) of the postsynaptic spike reaching an STDP synapse."""
    fraction = float(np.asarray(spec.parameters["dendritic_delay_fraction"]).flat[0])
    return 2 * fraction * np.asarray(delays, dtype=float)


def build_synapse_blocks(specs, slots, clock, dt, suffix=""):
    """Synapse blocks for `specs`, one per kind; `slots` maps population keys to
    their neuron :class:`Slot`."""
    by_kind = {}
    for spec in specs:
        kind = (slots[spec.pre].block.name, slots[spec.post].block.name, spec.receptor,
                spec.model, spec.gain is not None)
        by_kind.setdefault(kind, []).append(spec)
    return [_build_synapses(kind, members, slots, clock, dt, suffix)
            for kind, members in by_kind.items()]


def _build_synapses(kind, specs, slots, clock, dt, suffix):
    pre_block, post_block = slots[specs[0].pre].block, slots[specs[0].post].block
    receptor, model, has_gain = kind[2:]
    kinetics = KINETICS[post_block.receptors[receptor]]
    variable = kinetics.target.format(r=receptor)
    unit = _unit_name(kinetics.weight_unit)
    effect = f"{variable}_post += {kinetics.factor!r}*w_eff"
    if pre_block.kind == "neuron" and MEMBRANES[pre_block.membrane].payload:
        # graded events: the weight times the payload of the emitting neuron
        effect += f"*{MEMBRANES[pre_block.membrane].payload}_pre"
    if has_gain:
        effect += "*gain"
    if variable == "v" and MEMBRANES[post_block.membrane].refractory is not None:
        effect += "*int(not_refractory_post)"
    equations, on_pre, on_post, internal = _synapse_equations(model, unit, effect)
    if has_gain:
        equations += "\ngain : 1\n"
    name = f"{pre_block.name}__{post_block.name}__{receptor}_{model}"
    name += ("_gain" if has_gain else "") + suffix
    syn = brian2.Synapses(pre_block.group, post_block.group, model=equations, on_pre=on_pre,
                          on_post=on_post, clock=clock, method="exact", name=name,
                          namespace={})
    # a voltage jump must be seen by this step's threshold test, as in NEST
    # (iaf_psc_delta, izhikevich add it before testing): apply it before the
    # thresholds, one step earlier in Brian2's queue
    if variable == "v":
        syn.pre.when = "before_thresholds"
    if kinetics.pathway_when:
        syn.pre.when = kinetics.pathway_when
    # a pathway scheduled before the thresholds runs before this step's spikes are
    # queued, so it needs one step less to act at the same time
    early = dt if syn.pre.when in _BEFORE_THRESHOLDS else 0.0
    sizes = [spec.pre_index.size for spec in specs]
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    block_slots = {spec.key: Slot(None, int(bounds[k]), int(bounds[k + 1]))
                   for k, spec in enumerate(specs)}
    block = SynapseBlock(name, syn, model, kinetics.weight_unit, early, block_slots)
    if bounds[-1] == 0:
        syn.active = False   # no synapse at all: Brian2 refuses to run it
        return block
    pre = np.concatenate([np.asarray(s.pre_index) + slots[s.pre].start for s in specs])
    post = np.concatenate([np.asarray(s.post_index) + slots[s.post].start for s in specs])
    syn.connect(i=pre.astype(np.int32), j=post.astype(np.int32))

    def concatenated(values_of, name, default=0.0):
        return _per_item(specs, values_of, lambda s: s.pre_index.size, name, default)

    syn.w_syn = concatenated(lambda s: {"w": s.weights}, "w") * kinetics.weight_unit
    if has_gain:
        syn.gain = concatenated(lambda s: {"g": s.gain}, "g")
    delays = concatenated(lambda s: {"d": s.delays}, "d")
    syn.pre.delay = _homogeneous_or(delays - early) * ms
    if model == "stdp":
        syn.post.delay = _homogeneous_or(concatenated(
            lambda s: {"d": _dendritic_delays(s, np.broadcast_to(
                np.asarray(s.delays, dtype=float), (s.pre_index.size,)))}, "d")) * ms
    names = list(dict.fromkeys(n for s in specs for n in _plasticity_parameters(s.parameters)))
    for parameter in names:
        values = concatenated(lambda s: _plasticity_parameters(s.parameters), parameter)
        setattr(syn, parameter, values * block._parameter_unit(parameter))
    for state, value in internal.items():
        setattr(syn, state, value)
    for state in dict.fromkeys(n for s in specs for n in s.initial_values):
        setattr(syn, state, concatenated(lambda s: s.initial_values, state,
                                         default=internal.get(state, 0.0)))
    return block


# ------------------------------------------------------------------------ monitors
class StateRecord:
    """One population's recorded state variable: columns of a shared StateMonitor.

    `cutoff` is the first sample kept (recording start or last clear); `shared`
    lists the records of the same monitor (to free its memory when all cleared)."""

    def __init__(self, monitor, group, name, unit, columns, indices, shared):
        self.monitor = monitor
        self.group = group
        self.name = name
        self.unit = unit
        self.columns = columns
        self.indices = indices
        self.cutoff = 0
        self.shared = shared

    def samples(self):
        """(n_samples, n_recorded): the samples kept, then the value now."""
        n_recorded = len(self.monitor.record)
        values = np.asarray(getattr(self.monitor, self.name)[:] / self.unit)
        values = values.reshape(n_recorded, -1)[self.columns, self.cutoff:].T
        now = np.asarray(getattr(self.group, self.name)[self.indices] / self.unit)
        return np.vstack([values, now[np.newaxis, :]])

    def clear(self):
        total = len(self.monitor.t)
        self.cutoff = total
        if all(record.cutoff == total for record in self.shared):
            self.monitor.resize(0)
            for record in self.shared:
                record.cutoff = 0


def build_state_monitors(requests, slots, specs, suffix=""):
    """One StateMonitor per (neuron block, variable, sampling interval).

    `requests` holds (population key, variable, indices, sampling interval in ms);
    yields (monitor, {(key, variable): :class:`StateRecord`})."""
    by_monitor = {}
    for key, name, indices, interval in requests:
        by_monitor.setdefault((slots[key].block.name, name, interval), []).append(
            (key, indices))
    counters = {}
    for (_, name, interval), members in by_monitor.items():
        block = slots[members[0][0]].block
        everything = np.unique(np.concatenate(
            [slots[key].indices(indices) for key, indices in members]))
        number = counters[(block.name, name)] = counters.get((block.name, name), -1) + 1
        monitor = brian2.StateMonitor(block.group, name, record=everything,
                                      dt=interval * ms, when="start",
                                      name=f"{block.name}_{name}_{number}{suffix}")
        unit = block.unit(name)
        shared = []
        records = {}
        for key, indices in members:
            indices = slots[key].indices(indices)
            record = StateRecord(monitor, block.group, name, unit,
                                 np.searchsorted(everything, indices), indices, shared)
            shared.append(record)
            records[(key, name)] = record
        yield monitor, records


# ------------------------------------------------------------------------ equations
#: Brian2 slots of a step that run before its threshold test
_BEFORE_THRESHOLDS = ("start", "before_groups", "groups", "after_groups", "before_thresholds")


def _homogeneous_or(values):
    """A scalar when all values are equal (Brian2 then uses a cheaper queue)."""
    values = np.asarray(values, dtype=float)
    if values.size and np.all(values == values.flat[0]):
        return float(values.flat[0])
    return values


def _unit_name(unit):
    """Name of a unit's dimension usable in a Brian2 equation declaration."""
    dim = brian2.get_dimensions(unit)
    if dim is DIMENSIONLESS:
        return "1"
    try:
        return _BASE_UNIT_NAMES[dim]
    except KeyError:
        raise ValueError(f"no declaration name for unit {unit!r}") from None


_BASE_UNIT_NAMES = {
    brian2.volt.dim: "volt", brian2.second.dim: "second", brian2.amp.dim: "amp",
    brian2.farad.dim: "farad", brian2.siemens.dim: "siemens", brian2.Hz.dim: "hertz",
    (brian2.volt / brian2.second).dim: "volt/second",
}

_SYNAPSE_PARAMETER_UNITS = {
    "U": None, "tau_rec": ms, "tau_facil": ms,
    "tau_plus": ms, "tau_minus": ms, "A_plus": None, "A_minus": None,
    "w_min": "weight", "w_max": "weight", "mu_plus": None, "mu_minus": None,
}


def _synapse_equations(model, weight_unit, effect):
    """(model, on_pre, on_post, internal initial values) of a synapse model.

    `effect` is the statement that applies the effective weight ``w_eff`` to the
    postsynaptic target.
    """
    if model == "static":
        return (f"w_syn : {weight_unit}", effect.replace("w_eff", "w_syn"), None, {})
    if model == "tsodyks_markram":
        # Tsodyks & Markram with facilitation as NEST's tsodyks2_synapse: x is the
        # available resource, u the utilisation, both updated at each presynaptic event
        equations = f"""
            w_syn : {weight_unit}
            U : 1
            tau_rec : second
            tau_facil : second
            x_tm : 1
            u_tm : 1
            t_last : second
        """
        on_pre = f"""
            x_tm = 1 + (x_tm - x_tm*u_tm - 1)*exp(-(t - t_last)/tau_rec)
            u_tm = U + u_tm*(1 - U)*int(tau_facil > 0*ms)*exp(-(t - t_last)/(tau_facil + int(tau_facil <= 0*ms)*ms))
            t_last = t
            {effect.replace('w_eff', 'w_syn*x_tm*u_tm')}
        """
        return equations, on_pre, None, {"x_tm": 1.0, "u_tm": 0.0}
    if model == "stdp":
        # pair-based STDP with all-to-all traces (as NEST's stdp_synapse); the weight
        # dependence is Gütig et al. (2003): mu = 0 additive, mu = 1 multiplicative
        equations = f"""
            w_syn : {weight_unit}
            w_min : {weight_unit}
            w_max : {weight_unit}
            A_plus : 1
            A_minus : 1
            mu_plus : 1
            mu_minus : 1
            tau_plus : second
            tau_minus : second
            dtrace_plus/dt = -trace_plus/tau_plus : 1 (event-driven)
            dtrace_minus/dt = -trace_minus/tau_minus : 1 (event-driven)
        """
        on_pre = f"""
            w_syn = clip(w_syn - w_max*A_minus*clip((w_syn - w_min)/w_max, 0, inf)**mu_minus*trace_minus, w_min, w_max)
            {effect.replace('w_eff', 'w_syn')}
            trace_plus += 1
        """
        on_post = """
            w_syn = clip(w_syn + w_max*A_plus*clip((w_max - w_syn)/w_max, 0, inf)**mu_plus*trace_plus, w_min, w_max)
            trace_minus += 1
        """
        return equations, on_pre, on_post, {}
    raise ValueError(f"unknown synapse model '{model}'")
