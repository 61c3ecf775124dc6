"""The rate model of a neuron: expected spikes per window as a function of its mean
input current, derived from the LIF neuron and fitted to what the ideal chip does.

A LIF neuron (membrane time constant tau_m, resistance R = tau_m / c_m, refractory
period t_ref) driven by a constant current I fires at

    rate = 1 / (t_ref + tau_m * ln(1 + (v_thresh - v_reset) / u)),
    u = R (I + i_offset) - (v_thresh - v_rest)      (mV above threshold, u > 0)

Under rate-coded input the membrane fluctuates around its mean, so the neuron fires
already a little below that onset, and the onset is smooth. The model replaces u by
a smooth rectification with an effective onset and width, and the window by an
effective counting time (the neuron needs a few ms to charge up):

    count(I) = window_eff / (t_ref + tau_m * ln(1 + (v_thresh - v_reset) / u_s)),
    u_s = width * log(1 + exp((R (I + i_offset) - onset) / width))

`window_eff` (ms), `onset` (mV) and `width` (mV) are fitted to (current, count)
pairs measured on the ideal chip (:func:`fit_transfer`); the rest are the neuron's
parameters.
"""

from dataclasses import dataclass, asdict

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit

from .architecture import NeuronParameters

#: exp(-700) is still a normal float: keeps the rectified drive positive
_LOWEST_EXPONENT = -700.0


@dataclass(frozen=True)
class LIFTransfer:
    """Expected spikes per window of a LIF neuron whose mean input current is `I`
    (nA). See the module docstring for the formula."""
    neuron: NeuronParameters
    window_eff: float
    onset: float
    width: float

    def _parts(self, current):
        n = self.neuron
        resistance = n.tau_m / n.cm                       # MOhm: nA -> mV
        z = np.maximum((resistance * (np.asarray(current, dtype=float) + n.i_offset) - self.onset)
                       / self.width, _LOWEST_EXPONENT)
        softplus = np.logaddexp(0.0, z)
        drive = self.width * softplus                     # u_s, mV above onset
        reset_gap = n.v_thresh - n.v_reset
        with np.errstate(over="ignore"):             # far below the onset: no spikes
            interval = n.tau_refrac + n.tau_m * np.log1p(reset_gap / drive)
        return resistance, z, softplus, drive, reset_gap, interval

    def __call__(self, current):
        return self.window_eff / self._parts(current)[-1]

    def derivative(self, current):
        """d count / d current (spikes per window per nA)."""
        resistance, z, softplus, drive, reset_gap, interval = self._parts(current)
        # d interval / d drive = -tau_m * gap / (drive * (drive + gap)), and
        # d drive / d current = R * sigmoid(z); written with drive = width * softplus(z)
        # so that sigmoid(z) / softplus(z), which tends to 1 far below the onset, is
        # computed without dividing two vanishing numbers by each other in the product
        d_interval_d_current = -self.neuron.tau_m * reset_gap * resistance \
            * (expit(z) / softplus) / (self.width * (drive + reset_gap))
        return -self.window_eff * d_interval_d_current / interval ** 2

    def inverse(self, count, lowest=0.1):
        """The mean current (nA) at which the model fires `count` spikes per window.

        Counts are taken within [`lowest`, 99.9 % of the refractory limit
        window_eff / t_ref], where the inverse exists and is finite.
        """
        n = self.neuron
        count = np.clip(np.asarray(count, dtype=float), lowest,
                        0.999 * self.window_eff / n.tau_refrac)
        interval = self.window_eff / count
        drive = (n.v_thresh - n.v_reset) / np.expm1((interval - n.tau_refrac) / n.tau_m)
        y = drive / self.width
        z = y + np.log(-np.expm1(-y))                    # inverse softplus, stable
        return (self.onset + self.width * z) / (n.tau_m / n.cm) - n.i_offset

    def as_dict(self):
        return {"window_eff": self.window_eff, "onset": self.onset, "width": self.width,
                "neuron": asdict(self.neuron)}


def fit_transfer(currents, counts, neuron, window):
    """Least-squares :class:`LIFTransfer` through (mean current in nA, spikes per
    window) pairs, e.g. measured on the ideal chip (:func:`.chip.measure_transfer`).

    `window` (ms) is the presentation window, the starting guess of `window_eff`.
    Returns the fit and its RMS residual (spikes per window).
    """
    currents = np.asarray(currents, dtype=float).ravel()
    counts = np.asarray(counts, dtype=float).ravel()
    if currents.size != counts.size or currents.size < 3:
        raise ValueError(f"fit_transfer needs >= 3 (current, count) pairs of equal number, "
                         f"got {currents.size} currents and {counts.size} counts")
    if not (counts.min() < 1.0 < counts.max()):
        raise ValueError(f"fit_transfer needs currents both below and above the firing "
                         f"onset (counts below and above one spike); the counts span "
                         f"{counts.min():g} .. {counts.max():g}: widen the range of probe "
                         f"currents")
    start = [float(window), neuron.v_thresh - neuron.v_rest, 1.0]

    def residual(p):
        return LIFTransfer(neuron, *p)(currents) - counts

    result = least_squares(residual, start, bounds=([1e-3 * window, -np.inf, 1e-3],
                                                    [10.0 * window, np.inf, np.inf]))
    rms = float(np.sqrt(np.mean(result.fun ** 2)))
    return LIFTransfer(neuron, *(float(v) for v in result.x)), rms
