"""The engine: a mapped network becomes Brian2 objects, runs, and reports events.

Brian2's cost per time step grows with the number of its objects (each calls its
code objects every step), not with the number of neurons they hold. The engine
therefore groups the network *by kind* (see :mod:`.blocks`): all neurons realised by
the same circuit share one ``NeuronGroup``, each population a contiguous slice; all
synapses between two such groups onto the same receptor with the same plasticity
rule share one ``Synapses``, each projection a contiguous range of synapses. The
object count depends on the number of kinds, not on the number of populations and
projections. Callers still address populations and projections by their keys.

Everything created before a run is built together at the start of that run (or on
:meth:`Engine.build`); what is added later (PyNN allows new populations between
runs) forms new groups of the same kinds.

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

from .blocks import (build_neuron_blocks, build_state_monitors, build_synapse_blocks,
                     spike_array_events)
from .progress import SimulationProgress

logger = logging.getLogger("pyNN_sparsehw")


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
        Brian2 code-generation target: ``"numpy"`` (no compilation; the default, see
        docs/engine.rst for the measurements) or ``"cython"`` (compiled once per
        circuit kind and machine, then cached; up to 1.6x faster per step for networks
        of 1,000-4,000 neurons, no faster from 16,000 on).

    Attributes
    ----------
    groups : dict
        Population key -> :class:`~.blocks.Slot` (its slice of a merged group).
    synapses : dict
        Projection key -> :class:`~.blocks.Slot` (its range of a merged Synapses).
    """

    def __init__(self, dt, seed, target="numpy"):
        if target not in ("numpy", "cython"):
            raise ValueError(f"code-generation target must be 'numpy' or 'cython', "
                             f"got {target!r}")
        self.target = target
        brian2.prefs.codegen.target = target
        brian2.prefs.logging.file_log = False
        self.dt = float(dt)
        self.seed = int(seed)
        self.clock = brian2.Clock(self.dt * ms, name="sparsehw_clock")
        self.network = brian2.Network()
        self.groups = {}
        self.group_specs = {}
        self.synapses = {}
        self.synapse_specs = {}
        self.neuron_blocks = []
        self.synapse_blocks = []
        self.injections = []
        self._injection_op = None
        self._started = False
        self._running = False
        self._pending = dict(neurons=[], synapses=[], states=[])
        self._state_records = {}   # (key, name) -> StateRecord
        self._generation = 0

    # ------------------------------------------------------------------ build
    def add_neuron_group(self, spec):
        """Register a :class:`NeuronGroupSpec` (built with the others of its kind)."""
        if spec.kind not in ("neuron", "poisson", "spike_array"):
            raise ValueError(f"unknown neuron group kind '{spec.kind}' for group '{spec.label}'")
        self.group_specs[spec.key] = spec
        self.groups[spec.key] = None
        self._pending["neurons"].append(spec)

    def add_synapse_group(self, spec):
        """Register a :class:`SynapseGroupSpec` (built with the others of its kind)."""
        post = self.group_specs.get(spec.post)
        if post is not None and spec.receptor not in post.receptors:
            raise ValueError(f"synapses '{spec.label}' target receptor '{spec.receptor}', "
                             f"which group '{post.label}' does not "
                             f"have (it has {', '.join(post.receptors)})")
        self.synapse_specs[spec.key] = spec
        self.synapses[spec.key] = None
        self._pending["synapses"].append(spec)

    def build(self):
        """Create the Brian2 objects of everything registered since the last build."""
        pending = self._pending
        if not (pending["neurons"] or pending["synapses"] or pending["states"]):
            return
        self._pending = dict(neurons=[], synapses=[], states=[])
        suffix = f"_g{self._generation}" if self._generation else ""
        self._generation += 1
        for block in build_neuron_blocks(pending["neurons"], self.clock, self.dt, suffix):
            self.neuron_blocks.append(block)
            self.groups.update(block.slots)
            self.network.add(*block.objects())
        for block in build_synapse_blocks(pending["synapses"], self.groups, self.clock,
                                          self.dt, suffix):
            self.synapse_blocks.append(block)
            self.synapses.update(block.slots)
            self.network.add(block.synapses)
        for monitor, records in build_state_monitors(pending["states"], self.groups,
                                                     self.group_specs, suffix):
            self._state_records.update(records)
            self.network.add(monitor)

    def set_spike_times(self, key, spike_times):
        """Replace the spike times of a spike-array population (future spikes only).

        Brian2 takes a spike generator's new spikes when a run starts. Called during a
        run (by a callback), the change is kept, the run stops after this time step
        and resumes with the new spikes (see :meth:`run`)."""
        self.build()
        slot = self.groups[key]
        first_step = self._step() + int(self._running)
        slot.block.spike_events[key] = spike_array_events(spike_times, self.dt, first_step)
        slot.block.spikes_changed = True
        if self._running:
            self.network.stop()
        else:
            slot.block.push_spikes(self.dt, first_step)

    def set_synapse_values(self, key, weights=None, delays=None, parameters=None, gain=None):
        """Update weights (weight unit), delays (ms), plasticity parameters or gains."""
        self.build()
        slot = self.synapses[key]
        slot.block.set_values(slot, self.synapse_specs[key], weights, delays, parameters,
                              gain)

    def get_weights(self, key):
        """Current weights of a synapse block, in its weight unit."""
        self.build()
        slot = self.synapses[key]
        return slot.block.get_weights(slot)

    def set_current_injections(self, injections):
        """Install the current sources (replacing any previous set)."""
        self.injections = list(injections)
        if self._injection_op is None and self.injections:
            self._injection_op = brian2.NetworkOperation(
                self._update_injected_currents, when="start", clock=self.clock,
                name="current_sources")
            self.network.add(self._injection_op)

    def _update_injected_currents(self):
        t = float(self.clock.t / ms)
        totals = {}
        for injection in self.injections:
            amplitude = injection.amplitude_at(t)
            for key, indices in injection.targets.items():
                slot = self.groups[key]
                total = totals.setdefault(id(slot.block), (slot.block, np.zeros(slot.block.size)))
                np.add.at(total[1], np.asarray(indices) + slot.start, amplitude)
        for block, total in totals.values():
            block.group.i_inj = total * brian2.nA

    # -------------------------------------------------------------- parameters
    def set_neuron_values(self, key, values, indices=None):
        """Set parameters or state variables (engine names, standard units) of the
        neurons `indices` (all if None) of population `key`."""
        spec = self.group_specs[key]
        if spec.kind == "spike_array":
            if "spike_times" in values:
                self.set_spike_times(key, values["spike_times"])
            return
        self.build()
        slot = self.groups[key]
        slot.block.assign(values, slot.indices(indices), self.dt)

    # --------------------------------------------------------------- recording
    def record_spikes(self, key):
        """Record every spike of a population from now on (idempotent)."""
        self.build()
        slot = self.groups[key]
        slot.block.record_spikes(key, self.network)

    def record_state(self, key, name, indices, sampling_interval):
        """Record state variable `name` of neurons `indices` every `sampling_interval` ms
        (from the next run on; idempotent)."""
        if (key, name) in self._state_records or any(
                (k, n) == (key, name) for k, n, _, _ in self._pending["states"]):
            return
        self._pending["states"].append((key, name, np.asarray(indices, dtype=np.int64),
                                        float(sampling_interval)))

    def spikes(self, key):
        """(neuron indices, spike times in ms) recorded from population `key`."""
        self.build()
        slot = self.groups[key]
        indices, times = slot.block.recorded_spikes(key, slot)
        steps = np.rint(times / self.dt) + 1
        return indices, np.round(steps * self.dt, 9)

    def spike_counts(self, key):
        """Spikes emitted by each neuron of population `key` since the engine was built."""
        self.build()
        slot = self.groups[key]
        return np.asarray(slot.block.counter.count[slot.start:slot.stop])

    def total_spikes(self, key):
        return int(self.spike_counts(key).sum())

    def state_samples(self, key, name):
        """Samples of a recorded state variable: array (n_samples, n_recorded).

        The last row is the value now, so that a run of T ms sampled every Δ gives
        T/Δ + 1 samples, the first at the start of recording and the last at T.
        """
        self.build()
        return self._state_records[(key, name)].samples()

    def clear_recordings(self, key):
        """Drop the data recorded so far from population `key` (recording continues)."""
        self.build()
        self.groups[key].block.clear_spikes(key)
        for (record_key, _), record in self._state_records.items():
            if record_key == key:
                record.clear()

    # -------------------------------------------------------------------- run
    @property
    def t(self):
        """Current simulation time in ms."""
        return float(self.clock.t / ms)

    def brian_objects(self):
        """Every Brian2 object the network runs (including contained ones)."""
        return list(self.network.objects)

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
        self.build()
        n_steps = int(round(duration / self.dt))
        if n_steps <= 0:
            return
        # a global preference of Brian2, read when code objects are created (at a run)
        brian2.prefs.codegen.target = self.target
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
                                                name="callbacks")
            self.network.add(operation)
        progress = SimulationProgress(n_steps * self.dt)
        report = dict(report=progress, report_period=progress.period_s * second) \
            if progress.wanted else {}
        end = self._step() + n_steps
        self._running = True
        try:
            while self._step() < end:
                self.network.run((end - self._step()) * self.dt * ms, namespace={}, **report)
                changed = [b for b in self.neuron_blocks if b.spikes_changed]
                for block in changed:
                    block.push_spikes(self.dt, self._step())
                if brian2.Network._globally_stopped:      # Brian2's answer to Ctrl-C
                    raise self._interrupted(end)
                if not changed:
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
        """Synaptic events delivered so far per projection (presynaptic spikes x fan-out)."""
        counts = {}
        for key, spec in self.synapse_specs.items():
            pre_counts = self.spike_counts(spec.pre)
            fan_out = np.bincount(spec.pre_index, minlength=pre_counts.size)
            counts[key] = int(np.dot(pre_counts, fan_out))
        return counts


__all__ = ["Engine"]
