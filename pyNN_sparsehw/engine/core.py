"""The engine: a mapped network becomes Brian2 objects, runs, and reports events.

Every neuron group and synapse block is built in one vectorized step from the
arrays of its spec (:mod:`.specs`): no Python loop runs per neuron or per synapse.

Timing convention (the one NEST uses, so that the `ideal` chip reproduces it): a
spike *labelled* T takes effect on its targets at T + delay. Brian2 executes a
synaptic event emitted in the step starting at s at the end of the step starting at
s + delay, i.e. at time s + delay + dt. Neurons crossing threshold while being
integrated over [s, s + dt) are therefore labelled s + dt (the end of the step,
as in NEST), and spike sources emit a spike labelled T in the step starting at
T - dt. Recorded state variables are sampled at the start of a step, i.e. they
are exact values at multiples of the sampling interval.
"""

import logging

import numpy as np
import brian2
from brian2 import ms, second
from brian2.units.fundamentalunits import DIMENSIONLESS

from .progress import SimulationProgress
from .circuits import MEMBRANES, KINETICS, integration_method, receptor_equations, unit_of

logger = logging.getLogger("pyNN_sparsehw")

STDP_MU = {  # (mu_plus, mu_minus) of each weight dependence, Gütig et al. 2003 form
    "additive": (0.0, 0.0),
    "multiplicative": (1.0, 1.0),
    "additive_multiplicative": (0.0, 1.0),
}


def _steps(times_ms, dt_ms):
    """Times in ms to whole time steps (nearest)."""
    return np.rint(np.asarray(times_ms, dtype=float) / dt_ms).astype(np.int64)


class Engine:
    """Simulates a mapped network with Brian2.

    Parameters
    ----------
    dt : float
        Integration time step in ms.
    seed : int
        Seed of the random numbers drawn during the simulation (Poisson sources,
        noisy currents): the same seed gives the same spikes.
    target : str
        Brian2 code-generation target: ``"numpy"`` (no compilation, fastest to
        build) or ``"cython"`` (compiled, faster for long runs once cached).
    """

    def __init__(self, dt, seed, target="numpy"):
        brian2.prefs.codegen.target = target
        brian2.prefs.logging.file_log = False
        self.dt = float(dt)
        self.seed = int(seed)
        self.clock = brian2.Clock(self.dt * ms, name="sparsehw_clock*")
        self.network = brian2.Network()
        self.groups = {}
        self.group_specs = {}
        self.synapses = {}
        self.synapse_specs = {}
        self.spike_monitors = {}
        self.spike_counters = {}
        self.state_monitors = {}
        self.injections = []
        self._injection_op = None
        self._started = False
        self._running = False
        self._pending_spikes = {}

    # ------------------------------------------------------------------ build
    def add_neuron_group(self, spec):
        """Create the Brian2 group for a :class:`NeuronGroupSpec`."""
        if spec.kind == "neuron":
            group = self._build_neurons(spec)
        elif spec.kind == "poisson":
            group = self._build_poisson(spec)
        elif spec.kind == "spike_array":
            group = self._build_spike_array(spec)
        else:
            raise ValueError(f"unknown neuron group kind '{spec.kind}' for group '{spec.label}'")
        self.groups[spec.key] = group
        self.group_specs[spec.key] = spec
        # spike counts of every group (for the hardware report), whatever is recorded
        counter = brian2.SpikeMonitor(group, record=False, name=f"spikecounter_{spec.key}*")
        self.spike_counters[spec.key] = counter
        self.network.add(group, counter)
        return group

    def _build_neurons(self, spec):
        membrane = MEMBRANES[spec.membrane]
        receptor_eqs, receptor_parameters, _ = receptor_equations(spec.receptors)
        declarations = "".join(
            f"{name} : {_unit_name(unit)}\n"
            for name, unit in {**membrane.parameters, **receptor_parameters}.items())
        equations = brian2.Equations(
            membrane.equations + "\n" + receptor_eqs + declarations + "i_inj : amp\n")
        group = brian2.NeuronGroup(
            spec.size, equations,
            threshold=membrane.threshold,
            reset=membrane.reset or None,
            refractory=membrane.refractory if membrane.refractory is not None else False,
            method=integration_method(membrane, spec.receptors, self.dt),
            clock=self.clock,
            name=f"neurons_{spec.key}*",
            namespace={})
        self._assign(group, spec.parameters, membrane, spec.receptors)
        self._assign(group, spec.initial_values, membrane, spec.receptors)
        for name, lsb in spec.state_lsb.items():
            # fixed-point state: rounded to its resolution after each integration step
            unit = unit_of(name, membrane, spec.receptors)
            step = f"({float(np.asarray(lsb * unit))!r}*{_unit_name(unit)})"
            group.run_regularly(f"{name} = floor({name}/{step} + 0.5)*{step}",
                                when="after_groups", name=f"fixedpoint_{spec.key}_{name}*")
        if membrane.after_integration:
            # before the fixed-point rounding (order 0) in the same slot
            group.run_regularly(membrane.after_integration, when="after_groups", order=-1,
                                name=f"afterintegration_{spec.key}*")
        if membrane.name == "hh":
            group.v_previous = group.v
            group.run_regularly("v_previous = v", when="before_groups")
        return group

    @staticmethod
    def _assign(group, values, membrane, receptors, indices=None):
        for name, value in values.items():
            unit = unit_of(name, membrane, receptors)
            quantity = np.asarray(value, dtype=float) * unit
            if indices is None:
                setattr(group, name, quantity)
            else:
                getattr(group, name)[indices] = quantity

    def _build_poisson(self, spec):
        group = brian2.NeuronGroup(
            spec.size,
            "rate : Hz\nstart_step : integer\nstop_step : integer",
            threshold="rand() < rate*dt and timestep(t, dt) >= start_step "
                      "and timestep(t, dt) < stop_step",
            clock=self.clock, name=f"poisson_{spec.key}*", namespace={})
        self._assign_poisson(group, spec.parameters)
        return group

    def _assign_poisson(self, group, parameters, indices=None):
        index = slice(None) if indices is None else indices
        if "rate" in parameters:
            group.rate[index] = np.asarray(parameters["rate"], dtype=float) * brian2.Hz
        # a spike labelled T is emitted in the step starting at T - dt
        if "start" in parameters:
            group.start_step[index] = _steps(parameters["start"], self.dt) - 1
        if "stop" in parameters:
            # (limited before the cast: an endless source has stop = inf)
            steps = np.minimum(np.asarray(parameters["stop"], dtype=float) / self.dt,
                               np.iinfo(np.int32).max)
            group.stop_step[index] = np.rint(steps).astype(np.int64) - 1

    def _spike_array_events(self, spike_times, first_step=0):
        """Flatten per-neuron spike times to (indices, emission times)."""
        counts = np.array([len(t) for t in spike_times], dtype=np.int64)
        if counts.sum() == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0) * ms
        indices = np.repeat(np.arange(len(spike_times)), counts)
        steps = _steps(np.concatenate([np.asarray(t, dtype=float) for t in spike_times]),
                       self.dt) - 1
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
        return pairs[0], pairs[1] * self.dt * ms

    def _build_spike_array(self, spec):
        indices, times = self._spike_array_events(spec.spike_times)
        return brian2.SpikeGeneratorGroup(spec.size, indices, times, clock=self.clock,
                                          name=f"spikearray_{spec.key}*")

    def set_spike_times(self, key, spike_times):
        """Replace the spike times of a spike-array group (future spikes only).

        Brian2 takes a spike generator's new spikes when a run starts. Called during a
        run (by a callback), the change is kept, the run stops after this time step
        and resumes with the new spikes (see :meth:`run`)."""
        indices, times = self._spike_array_events(spike_times,
                                                  first_step=self._step() + int(self._running))
        if self._running:
            self._pending_spikes[key] = (indices, times)
            self.network.stop()
        else:
            self.groups[key].set_spikes(indices, times)

    def add_synapse_group(self, spec):
        """Create the Brian2 Synapses for a :class:`SynapseGroupSpec`."""
        pre = self.groups[spec.pre]
        post = self.groups[spec.post]
        post_spec = self.group_specs[spec.post]
        membrane = MEMBRANES[post_spec.membrane]
        kinetics = self._receptor_kinetics(spec)
        variable = kinetics.target.format(r=spec.receptor)
        unit = _unit_name(kinetics.weight_unit)
        effect = f"{variable}_post += {kinetics.factor!r}*w_eff"
        pre_spec = self.group_specs[spec.pre]
        if pre_spec.kind == "neuron" and MEMBRANES[pre_spec.membrane].payload:
            # graded events: the weight times the payload of the emitting neuron
            effect += f"*{MEMBRANES[pre_spec.membrane].payload}_pre"
        if spec.gain is not None:
            effect += "*gain"
        if variable == "v" and membrane.refractory is not None:
            effect += "*int(not_refractory_post)"
        model, on_pre, on_post, internal = _synapse_equations(spec.model, unit, effect)
        if spec.gain is not None:
            model += "\ngain : 1\n"
        syn = brian2.Synapses(pre, post, model=model, on_pre=on_pre, on_post=on_post,
                              clock=self.clock, method="exact",
                              name=f"synapses_{spec.key}*", namespace={})
        if variable == "v":
            # a voltage jump must be seen by this step's threshold test, as in NEST
            # (iaf_psc_delta, izhikevich add it before testing): apply it before the
            # thresholds, one step earlier in Brian2's queue (see set_synapse_values)
            syn.pre.when = "before_thresholds"
        if kinetics.pathway_when:
            syn.pre.when = kinetics.pathway_when
        syn.connect(i=np.asarray(spec.pre_index, dtype=np.int32),
                    j=np.asarray(spec.post_index, dtype=np.int32))
        self.synapses[spec.key] = syn
        self.synapse_specs[spec.key] = spec
        self.set_synapse_values(spec.key, spec.weights, spec.delays, spec.parameters,
                                spec.gain)
        for name, value in internal.items():
            setattr(syn, name, value)
        for name, value in spec.initial_values.items():
            setattr(syn, name, value)
        self.network.add(syn)
        return syn

    def _receptor_kinetics(self, spec):
        """The kinetics of the receptor a synapse block targets."""
        receptors = self.group_specs[spec.post].receptors
        if spec.receptor not in receptors:
            raise ValueError(f"synapses '{spec.label}' target receptor '{spec.receptor}', "
                             f"which group '{self.group_specs[spec.post].label}' does not "
                             f"have (it has {', '.join(receptors)})")
        return KINETICS[receptors[spec.receptor]]

    def set_synapse_values(self, key, weights=None, delays=None, parameters=None, gain=None):
        """Update weights (weight unit), delays (ms), plasticity parameters or gains."""
        syn = self.synapses[key]
        spec = self.synapse_specs[key]
        weight_unit = self._receptor_kinetics(spec).weight_unit
        if weights is not None:
            syn.w_syn = np.asarray(weights, dtype=float) * weight_unit
        if gain is not None:
            if spec.gain is None:
                raise ValueError(f"synapses '{spec.label}' were built without gains")
            syn.gain = np.asarray(gain, dtype=float)
        if delays is not None:
            delays = np.asarray(delays, dtype=float)
            # the soma sees the event `delay` after it was emitted (module docstring); a
            # pathway scheduled before the thresholds runs before this step's spikes are
            # queued, so it needs one step less to act at the same time
            early = self.dt if syn.pre.when in _BEFORE_THRESHOLDS else 0.0
            syn.pre.delay = _homogeneous_or(delays - early) * ms
            if spec.model == "stdp":
                fraction = float(np.asarray(spec.parameters["dendritic_delay_fraction"]).flat[0])
                syn.post.delay = _homogeneous_or(2 * fraction * delays) * ms
        for name, value in (parameters or {}).items():
            if name in ("weight_dependence", "dendritic_delay_fraction"):
                continue
            unit = _SYNAPSE_PARAMETER_UNITS.get(name)
            if unit == "weight":
                unit = weight_unit
            setattr(syn, name, np.asarray(value, dtype=float) * (unit or 1))

    def get_weights(self, key):
        """Current weights of a synapse block, in its weight unit."""
        unit = self._receptor_kinetics(self.synapse_specs[key]).weight_unit
        return np.asarray(self.synapses[key].w_syn[:] / unit)

    def set_current_injections(self, injections):
        """Install the current sources (replacing any previous set)."""
        self.injections = list(injections)
        if self._injection_op is None and self.injections:
            self._injection_op = brian2.NetworkOperation(
                self._update_injected_currents, when="start", clock=self.clock,
                name="current_sources*")
            self.network.add(self._injection_op)

    def _update_injected_currents(self):
        t = float(self.clock.t / ms)
        totals = {}
        for injection in self.injections:
            amplitude = injection.amplitude_at(t)
            for key, indices in injection.targets.items():
                total = totals.setdefault(key, np.zeros(self.group_specs[key].size))
                np.add.at(total, indices, amplitude)
        for key, total in totals.items():
            self.groups[key].i_inj = total * brian2.nA

    # -------------------------------------------------------------- parameters
    def set_neuron_values(self, key, values, indices=None):
        """Set parameters or state variables (engine names, standard units)."""
        spec = self.group_specs[key]
        group = self.groups[key]
        if spec.kind == "neuron":
            self._assign(group, values, MEMBRANES[spec.membrane], spec.receptors, indices)
        elif spec.kind == "poisson":
            self._assign_poisson(group, values, indices)
        elif spec.kind == "spike_array":
            if "spike_times" in values:
                self.set_spike_times(key, values["spike_times"])
        else:
            raise ValueError(spec.kind)

    # --------------------------------------------------------------- recording
    def record_spikes(self, key):
        """Record every spike of a group (idempotent)."""
        if key not in self.spike_monitors:
            monitor = brian2.SpikeMonitor(self.groups[key], record=True,
                                          name=f"spikemonitor_{key}*")
            self.spike_monitors[key] = monitor
            self.network.add(monitor)

    def record_state(self, key, name, indices, sampling_interval):
        """Record state variable `name` of neurons `indices` every `sampling_interval` ms."""
        if (key, name) in self.state_monitors:
            return
        spec = self.group_specs[key]
        unit = unit_of(name, MEMBRANES[spec.membrane], spec.receptors)
        monitor = brian2.StateMonitor(self.groups[key], name, record=np.asarray(indices),
                                      dt=sampling_interval * ms, when="start",
                                      name=f"statemonitor_{key}_{name}*")
        self.state_monitors[(key, name)] = (monitor, np.asarray(indices), unit)
        self.network.add(monitor)

    def spikes(self, key):
        """(neuron indices, spike times in ms) recorded from group `key`."""
        monitor = self.spike_monitors[key]
        steps = np.rint(np.asarray(monitor.t[:] / ms) / self.dt) + 1
        return np.asarray(monitor.i[:]), np.round(steps * self.dt, 9)

    def spike_counts(self, key):
        """Spikes emitted by each neuron of group `key` since the engine was built."""
        return np.asarray(self.spike_counters[key].count[:])

    def total_spikes(self, key):
        return int(self.spike_counts(key).sum())

    def state_samples(self, key, name):
        """Samples of a recorded state variable: array (n_samples, n_recorded).

        The last row is the value now, so that a run of T ms sampled every Δ gives
        T/Δ + 1 samples, the first at the start of recording and the last at T.
        """
        monitor, indices, unit = self.state_monitors[(key, name)]
        recorded = np.asarray(getattr(monitor, name)[:] / unit).T
        now = np.asarray(getattr(self.groups[key], name)[indices] / unit)
        return np.vstack([recorded.reshape(-1, indices.size), now[np.newaxis, :]])

    def clear_recordings(self, key):
        """Drop the data recorded so far from group `key` (recording continues)."""
        if key in self.spike_monitors:
            self.spike_monitors[key].resize(0)
        for (group_key, _), (monitor, _, _) in self.state_monitors.items():
            if group_key == key:
                monitor.resize(0)

    # -------------------------------------------------------------------- run
    @property
    def t(self):
        """Current simulation time in ms."""
        return float(self.clock.t / ms)

    def run(self, duration, callbacks=()):
        """Advance by `duration` ms (rounded to whole steps).

        `callbacks` is a list of ``[next_time, function]`` pairs: each function is
        called with the current time (ms) at the start of the first step at or after
        its `next_time`, and returns the time it wants to be called next. Calling them
        from inside the run avoids stopping and restarting Brian2 at every call.

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C (SIGINT) during the run, after the current time step: the
            simulation then stands at the time it reached (:attr:`t`).
        """
        n_steps = int(round(duration / self.dt))
        if n_steps <= 0:
            return
        if not self.network.objects:
            # nothing to simulate, but time passes (Brian2 moves only clocks in use)
            self.clock._set_t_update_dt(target_t=(self._step() + n_steps) * self.dt * ms)
            return
        if not self._started:
            # Brian2's rand() draws from numpy's global generator: seed it once here
            brian2.seed(self.seed)
            self._started = True
        operation = None
        if callbacks:
            schedule = [list(entry) for entry in callbacks]

            def call_due():
                now = float(self.clock.t / ms)
                for entry in schedule:
                    if now >= entry[0] - self.dt / 2:
                        entry[0] = entry[1](now)

            operation = brian2.NetworkOperation(call_due, when="start", clock=self.clock,
                                                name="callbacks*")
            self.network.add(operation)
        progress = SimulationProgress(n_steps * self.dt)
        report = dict(report=progress, report_period=progress.period_s * second) \
            if progress.wanted else {}
        end = self._step() + n_steps
        self._running = True
        try:
            while self._step() < end:
                self.network.run((end - self._step()) * self.dt * ms, namespace={}, **report)
                pending, self._pending_spikes = self._pending_spikes, {}
                for key, (indices, times) in pending.items():
                    self.groups[key].set_spikes(indices, times)
                if brian2.Network._globally_stopped:      # Brian2's answer to Ctrl-C
                    raise self._interrupted(end)
                if not pending:
                    break
        finally:
            self._running = False
            # a second Ctrl-C raises KeyboardInterrupt inside Brian2's loop, which then
            # never clears these class-wide flags; later Ctrl-Cs must interrupt normally
            brian2.Network._globally_running = False
            brian2.Network._globally_stopped = False
            progress.close()
            if operation is not None:
                self.network.remove(operation)

    def _interrupted(self, end):
        """The KeyboardInterrupt of a run that Brian2 stopped before step `end`.

        Brian2 turns the first Ctrl-C (SIGINT) of a run into "stop after this time
        step" and returns normally. The run ends where Brian2 stopped, with every
        object at the same completed time step (``t`` says which), and the caller
        gets the KeyboardInterrupt that Ctrl-C means in Python."""
        return KeyboardInterrupt(
            f"simulation interrupted at t = {self.t:g} ms of a run to {end * self.dt:g} ms "
            f"(Ctrl-C): the network's state is that of t = {self.t:g} ms")

    def _step(self):
        """The current time step (whole steps since the start)."""
        return int(round(float(self.clock.t / ms) / self.dt))

    def synaptic_event_counts(self):
        """Synaptic events delivered so far per synapse block (presynaptic spikes x fan-out)."""
        counts = {}
        for key, spec in self.synapse_specs.items():
            pre_counts = self.spike_counts(spec.pre)
            fan_out = np.bincount(spec.pre_index, minlength=pre_counts.size)
            counts[key] = int(np.dot(pre_counts, fan_out))
        return counts


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
