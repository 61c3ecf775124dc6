"""Search algorithms over trim codes, for all circuits at once.

Each algorithm finds, for every circuit, the trim code whose measurement comes
closest to a target. It only sees a `measure` function: given an int array of codes
(streams x circuits) it runs one measurement on the chip (one simulation of all
circuits) and returns the measured values, same shape, NaN where the measurement
failed. It is called as ``algorithm(measure, target, bits, tolerance, start)`` with
`start` the circuits' current codes (which also gives the shape), `target` and
`tolerance` broadcastable to it. A circuit succeeds when its measurement at the
chosen code lies within a `tolerance` of the target; otherwise its target is out of
the trim's range (or the measurement is invalid). Pure numpy.

- :class:`BinarySearch`: successive approximation (as a SAR ADC), one code bit per
  measurement, most significant first, for a measurement that rises (or falls)
  monotonically with the code: `bits` + 1 measurements. With ``repeats > 1`` every
  measurement is the mean of that many trials: the noisy binary search for
  measurements with trial-to-trial noise.
- :class:`LinearPrediction`: measure at a few codes, fit a polynomial per circuit
  (degree 1: a line), take the code where the fit meets the target, and measure
  there once more to verify. For a linear trim it needs len(fit_codes) + 1
  measurements whatever the number of bits; with trial noise, repeats average
  the fit points and ``common_slope`` takes one slope for all circuits (the trim
  DAC's design step) so that each circuit's intercept uses every trial.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SearchOutcome:
    """Per stream and circuit: the chosen `codes`, the `measured` value there, the
    `target`, whether it lies within the tolerance (`success`), and the number of
    measurements made (`calls`). `slope`: fitted measurement change per code step
    (LinearPrediction), else None."""
    codes: np.ndarray
    measured: np.ndarray
    target: np.ndarray
    success: np.ndarray
    calls: int
    slope: object = None
    history: list = field(default_factory=list)

    @property
    def error(self):
        return self.measured - self.target


def _averaged(measure, codes, repeats):
    """Mean of `repeats` measurements at `codes` (NaN when any trial failed)."""
    total = np.zeros(codes.shape)
    for _ in range(repeats):
        total += measure(codes)
    return total / repeats


def _success(measured, target, tolerance):
    with np.errstate(invalid="ignore"):
        return np.abs(measured - target) <= tolerance


class BinarySearch:
    """Successive approximation over the codes 0 .. 2**bits - 1 (module docstring).
    Circuits whose measurement at the chosen code is invalid (NaN) keep their start
    codes and fail.

    Parameters
    ----------
    repeats : int
        Trials averaged per measurement (> 1: noisy binary search).
    increasing : bool
        Whether the measurement rises with the code.
    """

    def __init__(self, repeats=1, increasing=True):
        self.repeats = int(repeats)
        self.increasing = bool(increasing)

    @property
    def name(self):
        return "noisy binary search" if self.repeats > 1 else "binary search"

    def calls(self, bits):
        """Number of measurements it makes for a `bits`-bit trim."""
        return (int(bits) + 1) * self.repeats

    def __call__(self, measure, target, bits, tolerance, start):
        target = np.asarray(target, dtype=float)
        top = 2 ** int(bits) - 1
        low = np.zeros(np.shape(start), dtype=np.int64)
        high = np.full(low.shape, top, dtype=np.int64)
        at_low = np.full(low.shape, np.nan)     # measured at `low` (untested: NaN)
        above_high = np.full(low.shape, np.nan)  # measured at `high + 1`
        history = []
        for _ in range(int(bits)):
            mid = np.where(high > low, (low + high + 1) // 2, low)
            values = _averaged(measure, mid, self.repeats)
            history.append((mid, values))
            with np.errstate(invalid="ignore"):
                below = values <= target if self.increasing else values >= target
            searching = high > low
            up = searching & below
            down = searching & ~below
            low = np.where(up, mid, low)
            at_low = np.where(up, values, at_low)
            high = np.where(down, mid - 1, high)
            above_high = np.where(down, values, above_high)
        # the answer is `low` or `low + 1` (measured above_high, if that exists)
        with np.errstate(invalid="ignore"):
            upper_better = np.abs(above_high - target) < np.abs(at_low - target)
        untested = np.isnan(at_low)
        codes = np.where(untested | ~upper_better, low, np.minimum(low + 1, top))
        measured = _averaged(measure, codes, self.repeats)
        history.append((codes, measured))
        with np.errstate(invalid="ignore"):
            switch = untested & (np.abs(above_high - target) < np.abs(measured - target))
        codes = np.where(switch, low + 1, codes)
        measured = np.where(switch, above_high, measured)
        codes = np.where(np.isnan(measured), start, codes)   # nothing measured: keep
        return SearchOutcome(codes, measured, np.broadcast_to(target, codes.shape),
                             _success(measured, target, tolerance),
                             self.calls(bits), history=history)


class LinearPrediction:
    """Polynomial fit of the measurement against the code (module docstring).

    Parameters
    ----------
    fit_codes : sequence of float
        Where to measure, as fractions of the code range (0.25: a quarter of
        2**bits); with ``relative=True``, offsets in codes from the start codes.
    degree : int
        Degree of the fitted polynomial (< len(fit_codes)).
    repeats : int
        Trials averaged at each fit code.
    verify_repeats : int, optional
        Trials averaged at the chosen code (default: `repeats`).
    common_slope : bool
        Degree 1 only: one slope per stream (median over circuits), so that each
        circuit's intercept averages all of its trials.
    relative : bool
        Fit codes are offsets from the circuits' current codes (a local refinement).
    """

    def __init__(self, fit_codes=(0.25, 0.75), degree=1, repeats=1, verify_repeats=None,
                 common_slope=False, relative=False):
        if degree >= len(fit_codes):
            raise ValueError(f"a degree-{degree} fit needs more than {len(fit_codes)} codes")
        if common_slope and degree != 1:
            raise ValueError("common_slope needs degree 1")
        self.fit_codes = tuple(fit_codes)
        self.degree = int(degree)
        self.repeats = int(repeats)
        self.verify_repeats = int(verify_repeats or repeats)
        self.common_slope = bool(common_slope)
        self.relative = bool(relative)

    @property
    def name(self):
        noisy = "noisy " if self.repeats > 1 else ""
        return f"{noisy}{'linear' if self.degree == 1 else 'polynomial'} prediction"

    def calls(self, bits):
        return len(self.fit_codes) * self.repeats + self.verify_repeats

    def _codes(self, bits, start):
        top = 2 ** int(bits) - 1
        if self.relative:
            return [np.clip(np.asarray(start) + int(round(offset)), 0, top)
                    for offset in self.fit_codes]
        return [np.full(np.shape(start), min(int(round(f * (top + 1))), top), dtype=np.int64)
                for f in self.fit_codes]

    def __call__(self, measure, target, bits, tolerance, start):
        target = np.asarray(target, dtype=float)
        x = np.stack(self._codes(bits, start)).astype(float)     # (K, S, N)
        y = np.stack([_averaged(measure, codes.astype(np.int64), self.repeats)
                      for codes in x.astype(np.int64)])
        history = list(zip(x.astype(np.int64), y))
        coefficients, slope = self._fit(x, y)
        top = 2 ** int(bits) - 1
        grid = np.arange(top + 1, dtype=float)
        # the fitted measurement at every code (highest power first), (codes, S, N)
        predicted = sum(c * grid[:, None, None] ** (self.degree - k)
                        for k, c in enumerate(coefficients))
        distance = np.abs(predicted - target)
        valid = np.isfinite(distance).any(axis=0)
        # circuits without a valid fit keep their codes (and fail)
        codes = np.where(valid, np.argmin(np.where(np.isfinite(distance), distance, np.inf),
                                          axis=0), start).astype(np.int64)
        measured = _averaged(measure, codes, self.verify_repeats)
        history.append((codes, measured))
        success = _success(measured, target, tolerance) & valid
        return SearchOutcome(codes, measured, np.broadcast_to(target, codes.shape), success,
                             self.calls(bits), slope=slope, history=history)

    def _fit(self, x, y):
        """Coefficients (highest power first), each (S, N), and the slope per code
        at the middle of the fit range."""
        if self.degree == 1:
            mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = ((x - mean_x) * (y - mean_y)).sum(axis=0) / ((x - mean_x) ** 2).sum(axis=0)
            if self.common_slope:
                slope = np.broadcast_to(np.nanmedian(slope, axis=-1, keepdims=True), slope.shape)
            return [slope, mean_y - slope * mean_x], slope
        # least squares per circuit through the normal equations, batched
        powers = np.stack([x ** (self.degree - k) for k in range(self.degree + 1)], axis=-1)
        a = np.moveaxis(powers, 0, -2)                         # (S, N, K, d+1)
        b = np.moveaxis(y, 0, -1)[..., None]                   # (S, N, K, 1)
        normal = np.swapaxes(a, -1, -2) @ a
        finite = np.isfinite(b).all(axis=(-1, -2))
        rhs = np.swapaxes(a, -1, -2) @ np.where(np.isfinite(b), b, 0.0)
        solution = np.linalg.solve(normal, rhs)[..., 0]        # (S, N, d+1)
        solution[~finite] = np.nan
        coefficients = [solution[..., k] for k in range(self.degree + 1)]
        middle = x.mean(axis=0)
        slope = sum((self.degree - k) * coefficients[k] * middle ** (self.degree - k - 1)
                    for k in range(self.degree))
        return coefficients, slope
