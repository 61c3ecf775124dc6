"""Calibration routines: a measurement protocol, a target and a search algorithm each.

Every routine builds a PyNN network on the :class:`~.bench.Bench` whose population
fills every circuit of the chip, and measures one quantity of every circuit per
simulation. The search (:mod:`.search`) then sets that quantity's trim codes. The
target of a measurement is the same protocol on the reference chip (no mismatch), so
that DAC resolution and discretisation are part of the target, not of the error.

The routines run in the order of :func:`default_routines`, each relying on the ones
before:

1. ``leak`` (v_rest): the limit the membrane relaxes to without input, at a small
   leak resistance (tau_m 2 ms, C 2 nF: 1 MOhm) so that offset currents do not show.
2. ``reset`` (v_reset): the membrane potential held during the refractory period
   after a spike.
3. ``membrane_time_constant`` (tau_m): the decay of a membrane released 15 mV below
   rest (three samples a quarter of tau_m apart).
4. ``capacitance`` (c_m): C = dI tau / dV from the response to a current step,
   tau and dV from the same relaxation (offset currents cancel).
5. ``offset_current`` (i_offset): the shift of the resting potential between a
   large (40 MOhm) and a small (1 MOhm) leak resistance, which only an offset
   current produces.
6. ``threshold`` (v_thresh): the membrane potential at the first spike of a slowly
   rising membrane; each measurement is a new trial (trial-to-trial noise on the
   threshold), averaged.
7. ``refractory_time`` (tau_refrac): how long the membrane is clamped after a spike,
   at an operating point of 10 ms (a relative trim corrects a factor, whatever the
   value; PyNN's default 0.1 ms is one time step).
8. ``synaptic_time_constants`` (tau_syn of both inputs): the decay of a
   postsynaptic potential at tau_m = 0.5 ms.
9. ``synaptic_gains`` (gain_syn of both inputs): the charge a volley through half the
   synapse rows of the circuit's column delivers (the other half for the other
   input), relative to the response to a known current and divided by the PSP's own
   decay time: the input gain times the mean gain of those synapses.
10. ``firing_rate`` (end to end): the rate under a reference input current,
    refined with the capacitance trim (the gain from every input current to the
    membrane); noisy (trial-to-trial threshold noise), averaged over trials.

Times in ms, potentials in mV, currents in nA, capacitances in nF.
"""

import numpy as np

from ..chip.realise import trim_step
from . import measures
from .bench import DT, Bench, membrane_samples, reference_chip, spike_times
from .search import BinarySearch, LinearPrediction

#: PyNN's default IF_cond_exp parameter values: the default targets
DEFAULT_TARGETS = {"v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0, "tau_m": 20.0,
                   "cm": 1.0, "i_offset": 0.0, "tau_refrac": 0.1, "tau_syn_E": 5.0,
                   "tau_syn_I": 5.0}
#: tolerance of a calibrated circuit: its measurement within this many trim steps of
#: the target (0.5 is the quantization limit); beyond it the trim is out of range
TOLERANCE_STEPS = 0.75
#: the threshold stays this far below every other potential that must not spike (mV)
NO_SPIKE_MARGIN = 30.0
#: input of the end-to-end routine (nA above the target i_offset): about 70 Hz on
#: PyNN's default cell
REFERENCE_INPUT = 1.5


def _ms(duration):
    """Samples of a duration at the calibration time step."""
    return int(round(duration / DT))


class Routine:
    """A measurement protocol with its search (module docstring).

    Subclasses set `name`, `streams` (the trim streams it sets), `key` (the chip-model
    parameter of those streams), `quantity` and `unit` (what is measured), implement
    :meth:`build` and :meth:`measure`, and may override :meth:`refresh`,
    :meth:`tolerance` and :meth:`default_algorithm`. `noisy` routines
    start a new trial (``sim.reset()``: new trial-to-trial noise) for every
    measurement; the others update the running network in place.
    """
    name = ""
    streams = ()
    key = ""
    quantity = ""
    unit = ""
    noisy = False

    def __init__(self, algorithm=None):
        self.algorithm = algorithm or self.default_algorithm()

    def default_algorithm(self):
        return LinearPrediction()

    def success_key(self, stream):
        """Name of the success mask this routine writes for `stream`."""
        return stream

    def build(self, sim, size, targets):
        """Create the routine's populations; return them (the first is measured)."""
        raise NotImplementedError

    def refresh(self, network):
        """Make a running network realise the current trim codes again."""
        cells = network[0]
        cells.set(cm=cells.get("cm"))

    def measure(self, sim, network, targets):
        """One measurement of every neuron: array (streams, neurons)."""
        raise NotImplementedError

    def reference(self, chip, targets, seed=0):
        """The measurement's target per stream: this protocol on one circuit of the
        reference chip (:func:`~.bench.reference_chip`)."""
        bench = Bench(reference_chip(chip), 0, {}, size=1, seed=seed)
        network = self.build(bench.sim, 1, targets)
        return np.asarray(self.measure(bench.sim, network, targets), dtype=float)[:, 0]

    def tolerance(self, chip, reference, targets):
        """Largest abs(measured - target) of a calibrated circuit, per stream."""
        step = trim_step(chip.parameter(self.key))
        relative = chip.parameter(self.key).get("mismatch", {}).get("relative", True)
        scale = np.abs(reference) if relative else 1.0
        return TOLERANCE_STEPS * step * scale * np.ones(len(self.streams))

    def __repr__(self):
        return f"<{type(self).__name__} '{self.name}': {self.quantity} by {self.algorithm.name}>"


def _population(sim, size, targets, **overrides):
    """IF_curr_exp cells at the targets with some parameters changed, recording v."""
    parameters = dict(targets)
    parameters.update(overrides)
    cells = sim.Population(size, sim.IF_curr_exp(**parameters), label="calibration")
    cells.record("v")
    return cells


def _run_phases(sim, phases):
    """Run `phases`, a list of (duration in ms, action or None), in one ``run()``:
    each action is called at the start of its phase, inside the simulation (PyNN
    callbacks), so that Brian2 is not restarted between phases. Returns the sample
    index at which each phase starts."""
    durations = [duration for duration, _ in phases]
    starts = np.concatenate([[0.0], np.cumsum(durations)])
    origin = sim.get_current_time()
    upcoming = iter(range(len(phases)))

    def next_phase(t):
        k = next(upcoming, None)
        if k is None:
            return np.inf
        if phases[k][1] is not None:
            phases[k][1]()
        return origin + starts[k + 1]

    sim.run(starts[-1], callbacks=[next_phase])
    return [_ms(start) for start in starts[:-1]]


def _release(cells, start, **values):
    """An action: set parameters `values`, then release the membrane at `start` (mV)
    with no synaptic current left."""
    def action():
        if values:
            cells.set(**values)
        cells.initialize(v=start, isyn_exc=0.0, isyn_inh=0.0)
    return action


def _three(v, first, spacing):
    """Samples `first`, `first` + `spacing`, `first` + 2 `spacing` (sample indices)."""
    return v[first], v[first + spacing], v[first + 2 * spacing]


def _relaxation_phase(cells, start, spacing, **values):
    """A phase releasing the membrane and lasting until its third sample (one step
    after the release, then `spacing` ms apart: the step of the release itself may
    be sampled before the action)."""
    return (2 * spacing + 2 * DT, _release(cells, start, **values))


class Leak(Routine):
    """Resting potential: the limit of a membrane relaxing without input."""
    name = "leak"
    streams = ("v_rest",)
    key = "v_rest"
    quantity = "resting potential"
    unit = "mV"
    TAU_M, CM, SPACING = 2.0, 2.0, 2.0     # a 1 MOhm leak: offset currents negligible

    def build(self, sim, size, targets):
        return [_population(sim, size, targets, tau_m=self.TAU_M, cm=self.CM, i_offset=0.0,
                            v_thresh=targets["v_thresh"] + NO_SPIKE_MARGIN)]

    def measure(self, sim, network, targets):
        cells = network[0]
        (start,) = _run_phases(sim, [_relaxation_phase(cells, targets["v_rest"] - 10.0,
                                                       self.SPACING)])
        v = membrane_samples(cells)
        return measures.exponential_limit(*_three(v, start + 1, _ms(self.SPACING)))[None]


class Reset(Routine):
    """Reset potential: the lowest membrane potential, held during the clamp."""
    name = "reset"
    streams = ("v_reset",)
    key = "v_reset"
    quantity = "reset potential"
    unit = "mV"

    def build(self, sim, size, targets):
        # rest far above threshold: a spike within a fraction of a ms, then the clamp
        return [_population(sim, size, targets, v_rest=targets["v_thresh"] + 20.0,
                            tau_m=2.0, tau_refrac=1.0, i_offset=0.0)]

    def measure(self, sim, network, targets):
        cells = network[0]
        cells.initialize(v=targets["v_thresh"] + 5.0)
        sim.run(5.0)
        return measures.reset_potential(membrane_samples(cells))[None]


class MembraneTimeConstant(Routine):
    """Membrane time constant: the decay of a membrane released below rest."""
    name = "membrane_time_constant"
    streams = ("tau_m",)
    key = "tau_m"
    quantity = "membrane time constant"
    unit = "ms"

    def build(self, sim, size, targets):
        return [_population(sim, size, targets, i_offset=0.0,
                            v_thresh=targets["v_thresh"] + NO_SPIKE_MARGIN)]

    def measure(self, sim, network, targets):
        cells = network[0]
        spacing = DT * max(1, _ms(targets["tau_m"] / 4))
        (start,) = _run_phases(sim, [_relaxation_phase(cells, targets["v_rest"] - 15.0,
                                                       spacing)])
        v = membrane_samples(cells)
        return measures.decay_time_constant(*_three(v, start + 1, _ms(spacing)), spacing)[None]


class Capacitance(Routine):
    """Membrane capacitance: C = dI tau / dV from the relaxation after a current step."""
    name = "capacitance"
    streams = ("c_m",)
    key = "c_m"
    quantity = "membrane capacitance"
    unit = "nF"
    TAU_M, STEP, SPACING = 2.0, 1.0, 2.0   # ms, nA (2 mV at 1 nF), ms

    def build(self, sim, size, targets):
        return [_population(sim, size, targets, tau_m=self.TAU_M, i_offset=0.0,
                            v_thresh=targets["v_thresh"] + NO_SPIKE_MARGIN)]

    def measure(self, sim, network, targets):
        cells = network[0]
        start = targets["v_rest"] - 10.0
        starts = _run_phases(sim, [_relaxation_phase(cells, start, self.SPACING, i_offset=0.0),
                                   _relaxation_phase(cells, start, self.SPACING,
                                                     i_offset=self.STEP)])
        v = membrane_samples(cells)
        n = _ms(self.SPACING)
        before = measures.exponential_limit(*_three(v, starts[0] + 1, n))
        samples = _three(v, starts[1] + 1, n)
        after = measures.exponential_limit(*samples)
        tau = measures.decay_time_constant(*samples, self.SPACING)
        return (self.STEP * tau / (after - before))[None]

    def refresh(self, network):
        pass    # measure() sets i_offset, which realises the codes again


class OffsetCurrent(Routine):
    """Offset current: how far the rest moves when the leak resistance grows."""
    name = "offset_current"
    streams = ("i_offset",)
    key = "i_offset"
    quantity = "rest shift at 40 MOhm leak"
    unit = "mV"
    SMALL = dict(tau_m=2.0, cm=2.0)        # 1 MOhm
    LARGE = dict(tau_m=2.0, cm=0.05)       # 40 MOhm
    SPACINGS = (2.0, 2.0)

    def build(self, sim, size, targets):
        return [_population(sim, size, targets, v_thresh=targets["v_thresh"] + NO_SPIKE_MARGIN,
                            **self.SMALL)]

    def measure(self, sim, network, targets):
        cells = network[0]
        start = targets["v_rest"] - 10.0
        leaks = (self.SMALL, self.LARGE)
        starts = _run_phases(sim, [_relaxation_phase(cells, start, spacing, **leak)
                                   for leak, spacing in zip(leaks, self.SPACINGS)])
        v = membrane_samples(cells)
        small, large = (measures.exponential_limit(*_three(v, first + 1, _ms(spacing)))
                        for first, spacing in zip(starts, self.SPACINGS))
        return (large - small)[None]

    def refresh(self, network):
        pass    # measure() sets the leak, which realises the codes again

    def tolerance(self, chip, reference, targets):
        resistance = self.LARGE["tau_m"] / self.LARGE["cm"] - self.SMALL["tau_m"] / self.SMALL["cm"]
        return np.array([TOLERANCE_STEPS * trim_step(chip.parameter(self.key)) * resistance])


class Threshold(Routine):
    """Spike threshold: the membrane potential at the first spike, one trial each."""
    name = "threshold"
    streams = ("v_thresh",)
    key = "v_thresh"
    quantity = "spike threshold"
    unit = "mV"
    noisy = True
    TAU_M, DRIVE, START, DURATION = 10.0, 15.0, 12.0, 20.0   # ms, mV above / below, ms

    def default_algorithm(self):
        # codes a quarter of the range apart keep the threshold below the drive
        return LinearPrediction(fit_codes=(0.375, 0.625), repeats=4, common_slope=True)

    def build(self, sim, size, targets):
        cells = _population(sim, size, targets, tau_m=self.TAU_M, i_offset=0.0,
                            v_rest=targets["v_thresh"] + self.DRIVE,
                            v_reset=targets["v_thresh"] - self.START)
        cells.initialize(v=targets["v_thresh"] - self.START)
        return [cells]

    def measure(self, sim, network, targets):
        sim.run(self.DURATION)
        return measures.threshold_crossing(membrane_samples(network[0]))[None]

    def tolerance(self, chip, reference, targets):
        entry = chip.parameter(self.key)
        noise = float(entry.get("noise", {}).get("sigma", 0.0))
        verify = getattr(self.algorithm, "verify_repeats", getattr(self.algorithm, "repeats", 1))
        return np.array([TOLERANCE_STEPS * trim_step(entry) + 3 * noise / np.sqrt(verify)])


class RefractoryTime(Routine):
    """Refractory time: how long the membrane stays clamped after a spike."""
    name = "refractory_time"
    streams = ("tau_refrac",)
    key = "tau_refrac"
    quantity = "refractory clamp at 10 ms"
    unit = "ms"
    OPERATING = 10.0

    def default_algorithm(self):
        return BinarySearch()

    def build(self, sim, size, targets):
        # released above threshold it spikes at once; after the clamp it rises towards
        # a rest below threshold, so that no spike (and no clamp) is left for the next
        return [_population(sim, size, targets, tau_refrac=self.OPERATING, tau_m=2.0,
                            i_offset=0.0, v_rest=targets["v_thresh"] - 5.0)]

    def measure(self, sim, network, targets):
        cells = network[0]
        cells.initialize(v=targets["v_thresh"] + 10.0)
        # long enough for the longest clamp the trim and a 4-sigma mismatch can give
        entry = sim.simulator.state.chip.parameter(self.key)
        longest = 1.0 + float(entry["trim"]["span"]) / 2
        longest *= 1.0 + 4 * float(entry.get("mismatch", {}).get("sigma", 0.0))
        sim.run(self.OPERATING * longest + 2.0)
        return measures.clamped_duration(membrane_samples(cells), DT)[None]

    def tolerance(self, chip, reference, targets):
        return super().tolerance(chip, reference, targets) + DT


class SynapticTimeConstants(Routine):
    """Time constants of both synaptic inputs: the decay of a PSP."""
    name = "synaptic_time_constants"
    streams = ("tau_syn[0]", "tau_syn[1]")
    key = "tau_syn"
    quantity = "PSP decay time constant"
    unit = "ms"
    WEIGHT = 0.5                           # nA: about 5 mV at 10 MOhm
    DELAY, SETTLE = 0.5, 5.0               # spike after the phase start; tau_m decays 10x

    def build(self, sim, size, targets):
        cells = _population(sim, size, targets, tau_m=0.5, cm=0.05, i_offset=0.0,
                            v_thresh=targets["v_thresh"] + NO_SPIKE_MARGIN)
        network = [cells]
        for receptor, sign in (("excitatory", 1.0), ("inhibitory", -1.0)):
            source = sim.Population(1, sim.SpikeSourceArray(spike_times=[]))
            sim.Projection(source, cells, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=sign * self.WEIGHT, delay=DT),
                           receptor_type=receptor)
            network.append(source)
        return network

    def measure(self, sim, network, targets):
        cells = network[0]
        names = ("tau_syn_E", "tau_syn_I")
        spacings = [DT * max(1, _ms(0.8 * targets[name])) for name in names]
        durations = [self.DELAY + DT + self.SETTLE + 2 * spacing + DT for spacing in spacings]
        now = sim.get_current_time()
        for source, begin in zip(network[1:], np.cumsum([0.0] + durations[:-1])):
            # spike sources cannot be changed inside a run: both volleys are set now
            source.set(spike_times=[now + begin + self.DELAY])
        release = _release(cells, targets["v_rest"])
        starts = _run_phases(sim, [(duration, release) for duration in durations])
        v = membrane_samples(cells)
        taus = []
        for first, spacing in zip(starts, spacings):
            first += _ms(self.DELAY + DT + self.SETTLE)
            taus.append(measures.decay_time_constant(*_three(v, first, _ms(spacing)), spacing))
        return np.array(taus)


class SynapticGains(Routine):
    """Input gain of both synaptic inputs: the PSP charge of a volley through half the
    synapse rows of the circuit's column each (:meth:`rows_used`), relative to the
    charge of a known current."""
    name = "synaptic_gains"
    streams = ("gain_syn[0]", "gain_syn[1]")
    key = "gain_syn"
    quantity = "input gain x mean synapse gain"
    unit = "1"
    TAU_M, CM = 0.5, 0.05                  # 10 MOhm: the membrane follows the current
    CHARGE, CURRENT = 1.0, 0.5             # nA of a whole volley, nA of the reference
    DELAY, WINDOW, SETTLE = 0.5, 30.0, 5.0  # the tail's decay is read SETTLE after it
    DRIVEN, REST = 2.2, 5.2                # ms: the reference current, then at rest
    RECEPTORS = (("excitatory", 1.0, "tau_syn_E"), ("inhibitory", -1.0, "tau_syn_I"))

    @staticmethod
    def rows_used(chip):
        """Synapse rows of a column the excitatory and the inhibitory volleys use: the
        first and the second half (mapped in that order)."""
        half = max(1, (chip.topology.fan_in or 256) // 2)
        return range(0, half), range(half, 2 * half)

    def build(self, sim, size, targets):
        rows = len(self.rows_used(sim.simulator.state.chip)[0])
        cells = _population(sim, size, targets, tau_m=self.TAU_M, cm=self.CM, i_offset=0.0,
                            v_thresh=targets["v_thresh"] + NO_SPIKE_MARGIN)
        network = [cells]
        for receptor, sign, _ in self.RECEPTORS:
            source = sim.Population(rows, sim.SpikeSourceArray(spike_times=[]))
            projection = sim.Projection(
                source, cells, sim.AllToAllConnector(),
                sim.StaticSynapse(weight=sign * self.CHARGE / rows, delay=DT),
                receptor_type=receptor)
            network += [source, projection]
        return network

    def refresh(self, network):
        cells = network[0]
        cells.set(cm=cells.get("cm"))
        for (_, sign, _), source, projection in zip(self.RECEPTORS, network[1::2], network[2::2]):
            projection.set(weight=sign * self.CHARGE / source.size)   # new input gains

    def measure(self, sim, network, targets):
        cells = network[0]
        start = targets["v_rest"] - 5.0
        volley = self.DELAY + self.WINDOW
        now = sim.get_current_time()
        # driven, then at rest (settling for 10 tau_m), then one volley per receptor;
        # spike sources cannot be changed inside a run: the volleys are set now
        for k, source in enumerate(network[1::2]):
            source.set(spike_times=[now + self.DRIVEN + self.REST + k * volley + self.DELAY])

        def cut_tail():          # the first volley's current must not enter the second
            cells.initialize(isyn_exc=0.0, isyn_inh=0.0)
        starts = _run_phases(sim, [(self.DRIVEN, _release(cells, start, i_offset=self.CURRENT)),
                                   (self.REST, _release(cells, start, i_offset=0.0)),
                                   (volley, None), (volley, cut_tail)])
        v = membrane_samples(cells)
        driven, rest = (measures.exponential_limit(*_three(v, first + 1, _ms(1.0)))
                        for first in starts[:2])
        resistance = (driven - rest) / self.CURRENT
        gains = []
        for (_, sign, tau), first, end in zip(self.RECEPTORS, starts[2:],
                                              starts[3:] + [v.shape[0] - 1]):
            charge = measures.charge_integral(v[first:end + 1], rest, DT, _ms(5.0))
            # the charge is gain x weight x tau_syn: divide by this PSP's own decay
            spacing = DT * max(1, _ms(0.8 * targets[tau]))
            tail = _three(v, first + _ms(self.DELAY + DT + self.SETTLE), _ms(spacing))
            tau_syn = measures.decay_time_constant(*tail, spacing)
            gains.append(sign * charge / (resistance * self.CHARGE * tau_syn))
        return np.array(gains)


class FiringRate(Routine):
    """End to end: the firing rate under a reference input current, refined with the
    trim of `knob` (a chip-model parameter; default the membrane capacitance, which
    scales every input current) around the codes found so far."""
    name = "firing_rate"
    quantity = "firing rate under the reference input"
    unit = "Hz"
    noisy = True
    DURATION = 40.0                        # two spikes at least above 50 Hz
    PYNN_NAMES = {"c_m": "cm", "i_offset": "i_offset", "tau_m": "tau_m"}

    def __init__(self, input_current=REFERENCE_INPUT, knob="c_m", algorithm=None):
        self.input_current = float(input_current)
        self.key = knob
        self.streams = (knob,)
        super().__init__(algorithm)

    def default_algorithm(self):
        return LinearPrediction(fit_codes=(-8, 8), repeats=3, verify_repeats=2,
                                common_slope=True, relative=True)

    def success_key(self, stream):
        return self.name

    def build(self, sim, size, targets):
        parameters = dict(targets)
        parameters["i_offset"] = targets["i_offset"] + self.input_current
        cells = sim.Population(size, sim.IF_curr_exp(**parameters), label="calibration")
        cells.record("spikes")
        return [cells]

    def measure(self, sim, network, targets):
        sim.run(self.DURATION)
        cells = network[0]
        return measures.mean_firing_rate(*spike_times(cells), cells.size)[None]

    def tolerance(self, chip, reference, targets):
        """0.75 knob steps, plus 3 sigma of the trial-to-trial rate noise (the
        threshold noise times the rate's sensitivity to the threshold, measured on the
        reference chip) over the verifying trials, plus the period's quantization to
        whole time steps."""
        rate = abs(float(reference[0]))
        shifted = dict(targets, v_thresh=targets["v_thresh"] + 1.0)
        per_mv = abs(float(self.reference(chip, shifted)[0]) - rate)
        entry = chip.parameter(self.key)
        name = self.PYNN_NAMES[self.key]
        step = trim_step(entry)
        value = targets[name] * (1 + 10 * step) if entry.get("mismatch", {}).get(
            "relative", True) else targets[name] + 10 * step
        per_step = abs(float(self.reference(chip, dict(targets, **{name: value}))[0]) - rate) / 10
        noise = float(chip.parameter("v_thresh").get("noise", {}).get("sigma", 0.0))
        trials = getattr(self.algorithm, "verify_repeats", getattr(self.algorithm, "repeats", 1))
        return np.array([TOLERANCE_STEPS * per_step + 3 * per_mv * noise / np.sqrt(trials)
                         + rate ** 2 * DT / 1000])


def default_routines(input_current=REFERENCE_INPUT):
    """The routines of a full calibration, in the order they run."""
    return [Leak(), Reset(), MembraneTimeConstant(), Capacitance(), OffsetCurrent(),
            Threshold(), RefractoryTime(), SynapticTimeConstants(),
            SynapticGains(), FiringRate(input_current)]
