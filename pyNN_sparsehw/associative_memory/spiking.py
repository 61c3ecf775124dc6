"""The associative memory as a spiking network on the chip, through the PyNN API.

A ±1 unit is an ``IF_curr_exp`` neuron: +1 (active) = firing, -1 = silent. With
rows of the weights normalised to unit L1 norm (w_i / sum_j abs(w_ij), which leaves the
sign dynamics unchanged and bounds the field, abs(h_i) <= 1), the unit's field
h_i = sum_j w_ij s_j = 2 sum_j w_ij x_j - sum_j w_ij (x_j = 1 when j fires) becomes
the current

    I_i = I_rheobase + gain * h_i

as follows: a synapse j -> i of weight J_ij = 2 gain w_ij / (tau_syn r_on) delivers
the mean current 2 gain w_ij x_j when j fires at the rate r_on, and the bias
``i_offset_i = I_rheobase - gain sum_j w_ij`` supplies the rest. The neuron then fires
exactly when h_i > 0. r_on, one value for all units, is the closed-form LIF rate at
the field h_on, the median positive stability of the stored patterns. A membrane
time constant (2 ms) short against the refractory period (5 ms) makes the rate of an
active unit depend little on how far above threshold it is (100-200 Hz), so that the
unit is close to binary and the synapses deliver what they were scaled for. Positive
weights go to an excitatory projection and negative ones to an inhibitory projection
(the chip sets the sign by receptor), both ``FromListConnector`` lists.

A recall trial: the cue (±1 per unit) is a current ``cue_current`` into the units
that the cue sets +1 and ``-cue_current`` into the others (one StepCurrentSource per
sign and trial, on PopulationViews), for ``cue_ms``; then the network runs freely
for ``settle_ms``; the state is read from the spike counts of the last
``readout_ms``: +1 where the rate reaches ``rate_fraction * r_on``.
Trials follow one another in one run; each cue overrides the previous state.

The network must fit the chip; the backend checks before simulating and names the
limit it would break (ChipResourceError): on ``analog`` at most 256 synapses onto a
neuron (excitatory and inhibitory together), 512 neurons per chip and 16 chips, two
receptors per neuron, delays up to 64 steps; on ``digital`` 1024 neurons and 128 KiB of
synaptic memory per core, delays up to 62 steps. The default delay (1 ms = 10 steps of
0.1 ms) and the two receptors fit both.

``setup_kwargs`` go to ``sim.setup()`` unchanged, e.g. ``{"calibration": None}`` for
an uncalibrated analog chip (the default there is ``"auto"``: calibrated).
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class LIFUnits:
    """How a ±1 unit becomes an IF_curr_exp neuron (module docstring).

    Times in ms, voltages in mV, currents in nA, capacitance in nF.
    """
    tau_m: float = 2.0
    cm: float = 0.05
    v_rest: float = -65.0
    v_thresh: float = -50.0
    tau_refrac: float = 5.0
    tau_syn: float = 10.0
    gain: float = 2.0            # nA per unit of (row-normalised) field
    delay: float = 1.0
    cue_current: float = 5.0     # nA, overrides any recurrent input (|gain * h| <= gain)
    cue_ms: float = 30.0
    settle_ms: float = 120.0
    readout_ms: float = 50.0
    rate_fraction: float = 0.1   # rate threshold for "active", as a fraction of r_on

    @property
    def rheobase(self):
        """Smallest constant current (nA) that makes the neuron fire:
        cm (v_thresh - v_rest) / tau_m."""
        return self.cm * (self.v_thresh - self.v_rest) / self.tau_m

    def rate(self, current):
        """Firing rate (Hz) of the LIF neuron under a constant `current` (nA), reset to
        v_rest: 1 / (tau_refrac + tau_m ln(I R / (I R - theta))), 0 at or below the
        rheobase."""
        current = np.asarray(current, dtype=float)
        drive = current * self.tau_m / self.cm                 # I R in mV
        theta = self.v_thresh - self.v_rest
        above = drive > theta
        ratio = np.where(above, drive / np.where(above, drive - theta, 1.0), 1.0)
        period = self.tau_refrac + self.tau_m * np.log(ratio)
        return np.where(above, 1000.0 / period, 0.0)

    @property
    def trial_ms(self):
        return self.cue_ms + self.settle_ms

    def cell_parameters(self):
        return dict(tau_m=self.tau_m, cm=self.cm, v_rest=self.v_rest, v_reset=self.v_rest,
                    v_thresh=self.v_thresh, tau_refrac=self.tau_refrac,
                    tau_syn_E=self.tau_syn, tau_syn_I=self.tau_syn)


def normalise_rows(weights):
    """Weights with every row scaled to unit L1 norm (rows of zeros stay zero); the
    sign dynamics is unchanged."""
    weights = np.asarray(weights, dtype=float)
    norm = np.abs(weights).sum(axis=1, keepdims=True)
    return weights / np.where(norm > 0, norm, 1.0)


def connection_lists(weights, delay, scale=1.0):
    """PyNN ``FromListConnector`` lists (pre, post, weight, delay) for the weights
    w[post, pre] times `scale`, split by sign: (excitatory, inhibitory). Inhibitory
    weights stay negative, as PyNN requires for current-based synapses (use their
    magnitude for conductance-based cells)."""
    weights = np.asarray(weights, dtype=float) * scale
    lists = []
    for chosen in (weights > 0, weights < 0):
        post, pre = np.nonzero(chosen)
        lists.append(list(zip(pre.tolist(), post.tolist(), weights[post, pre].tolist(),
                              [float(delay)] * post.size)))
    return tuple(lists)


@dataclass(frozen=True)
class SpikingNetwork:
    """What the spiking realisation of a weight matrix needs: synaptic weights (nA,
    w[post, pre]) and the bias current of each neuron (nA), for the rate r_on (Hz)."""
    synaptic_weights: np.ndarray
    bias: np.ndarray
    rate_on: float


def spiking_network(weights, patterns, units=LIFUnits()):
    """Synaptic weights and biases that turn `weights` into LIF units (module
    docstring); r_on is the rate at the median stability of `patterns`."""
    normalised = normalise_rows(weights)
    patterns = np.asarray(patterns, dtype=float)
    stability = patterns * (patterns @ normalised.T)
    h_on = float(np.median(stability[stability > 0])) if np.any(stability > 0) else 1.0
    rate_on = float(units.rate(units.rheobase + units.gain * h_on))
    scale = 2.0 * units.gain / (units.tau_syn * 1e-3 * rate_on)
    bias = units.rheobase - units.gain * normalised.sum(axis=1)
    return SpikingNetwork(normalised * scale, bias, rate_on)


@dataclass(frozen=True)
class SpikingRecall:
    """states (C, N) ±1 read out at the end of every trial; rates (C, N) in Hz over
    the readout window; rate_on (Hz); report: the hardware report as a dict."""
    states: np.ndarray
    rates: np.ndarray
    rate_on: float
    report: dict = field(repr=False)


def spiking_recall(weights, patterns, cues, chip="digital", units=LIFUnits(), chip_seed=0,
                   rng_seed=1, timestep=0.1, setup_kwargs=None):
    """Recall every cue (C, N) in turn with the spiking network of `weights` on `chip`
    (module docstring) and read out the final states.

    `patterns` (the stored ones) only set the operating rate r_on. `setup_kwargs`
    are passed to ``sim.setup()`` unchanged (e.g. ``trial_noise``, or calibration
    options where the backend has them). Starts a new simulation.
    """
    import pyNN_sparsehw as sim

    cues = np.array(cues, dtype=float, ndmin=2)
    count, n = cues.shape
    network = spiking_network(weights, patterns, units)
    sim.setup(timestep=timestep, chip=chip, chip_seed=chip_seed, rng_seed=rng_seed,
              **(setup_kwargs or {}))
    cells = sim.Population(n, sim.IF_curr_exp(i_offset=network.bias,
                                              **units.cell_parameters()),
                           structure=_structure(n), label="units")
    cells.initialize(v=units.v_rest)
    _project(sim, cells, network.synaptic_weights, units.delay)
    _inject_cues(sim, cells, cues, units)
    cells.record("spikes")
    sim.run(count * units.trial_ms)
    trains = cells.get_data().segments[-1].spiketrains
    rates = _window_rates(trains, count, units)
    report = sim.hardware_report().as_dict()
    sim.end()
    states = np.where(rates >= units.rate_fraction * network.rate_on, 1.0, -1.0)
    return SpikingRecall(states, rates, network.rate_on, report)


def chip_wiring_cost(weights, chip="analog", setup_kwargs=None):
    """The chip's hop cost of the network `weights` after placement: builds the
    population (Grid2D positions when N is a square) and its excitatory and inhibitory
    projections with the PyNN API, maps it (no simulation) and returns the hardware
    report's ``{"total": totals.wiring_cost, "projections": {label: wiring_cost},
    "cores_used": ...}``. Starts a new simulation."""
    import pyNN_sparsehw as sim

    weights = np.asarray(weights, dtype=float)
    sim.setup(timestep=0.1, chip=chip, **(setup_kwargs or {}))
    cells = sim.Population(weights.shape[0], sim.IF_curr_exp(),
                           structure=_structure(weights.shape[0]), label="units")
    _project(sim, cells, weights, delay=1.0)
    report = sim.hardware_report().as_dict()
    sim.end()
    return dict(total=report["totals"]["wiring_cost"],
                projections={p["label"]: p["wiring_cost"] for p in report["projections"]},
                cores_used=report["totals"]["cores_used"])


def _structure(n):
    from pyNN.space import Grid2D
    side = int(round(np.sqrt(n)))
    return Grid2D(aspect_ratio=1.0, dx=1.0, dy=1.0) if side * side == n else None


def _project(sim, cells, synaptic_weights, delay):
    excitatory, inhibitory = connection_lists(synaptic_weights, delay)
    for connections, receptor in ((excitatory, "excitatory"), (inhibitory, "inhibitory")):
        if connections:
            sim.Projection(cells, cells, sim.FromListConnector(connections),
                           sim.StaticSynapse(), receptor_type=receptor, label=receptor)


def _inject_cues(sim, cells, cues, units):
    """Per trial, +cue_current into the units cued +1 and -cue_current into the others
    during the cue window."""
    for trial, cue in enumerate(cues):
        start = trial * units.trial_ms
        for sign in (1.0, -1.0):
            chosen = np.nonzero(cue == sign)[0]
            if chosen.size:
                source = sim.StepCurrentSource(times=[start, start + units.cue_ms],
                                               amplitudes=[sign * units.cue_current, 0.0])
                source.inject_into(cells[chosen])


def _window_rates(trains, count, units):
    """Rates (Hz) of every neuron in the readout window (end - readout_ms, end] of every
    trial, (C, N); a spike is labelled with the end of its time step."""
    times = np.concatenate([np.asarray(t.magnitude, dtype=float) for t in trains])
    neurons = np.repeat(np.arange(len(trains)), [len(t) for t in trains])
    trial = np.ceil(times / units.trial_ms - 1e-9).astype(np.int64) - 1
    in_window = (times > (trial + 1) * units.trial_ms - units.readout_ms) & \
        (trial >= 0) & (trial < count)
    counts = np.zeros((count, len(trains)))
    np.add.at(counts, (trial[in_window], neurons[in_window]), 1.0)
    return counts / (units.readout_ms * 1e-3)
