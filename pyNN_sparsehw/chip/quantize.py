"""Quantization: weights, delays and circuit parameters -> the codes a chip stores.

Every function returns the integer codes, the values the chip really realises, and
a :class:`Loss` record of what was lost (values clipped, weights rounded to zero,
RMS relative error), so that the mapping can report it. Pure numpy.

Weights are stored as magnitudes: the sign of a synapse is set by the receptor it
targets (excitatory or inhibitory), as on BrainScaleS-2 and Loihi, so a weight code
of `bits` bits spans 0 .. 2**bits - 1 steps of `scale`.
"""

from dataclasses import dataclass

import numpy as np

ROUNDING = ("nearest", "stochastic")


@dataclass(frozen=True)
class Loss:
    """What quantization lost, over `n` values.

    `clipped`: values outside the representable range; `zeroed`: non-zero values that
    became zero; `rms_relative_error`: sqrt(mean((q - x)**2)) / sqrt(mean(x**2)), 0
    when all values are zero.
    """
    n: int
    clipped: int
    zeroed: int
    rms_relative_error: float


@dataclass(frozen=True)
class Quantized:
    """Integer `codes`, the `values` they stand for (same units as the input), the
    `scale` of one code step and the :class:`Loss`."""
    codes: np.ndarray
    values: np.ndarray
    scale: float
    loss: Loss


def _loss(original, realised, clipped):
    original = np.asarray(original, dtype=float)
    power = np.mean(original ** 2) if original.size else 0.0
    error = np.mean((realised - original) ** 2) if original.size else 0.0
    return Loss(n=int(original.size), clipped=int(np.count_nonzero(clipped)),
                zeroed=int(np.count_nonzero((realised == 0) & (original != 0))),
                rms_relative_error=float(np.sqrt(error / power)) if power > 0 else 0.0)


def _round(x, rounding, rng):
    """Round to integers: to the nearest, or stochastically (up with probability equal
    to the fractional part, so that the expectation is exact)."""
    if rounding == "nearest":
        return np.floor(x + 0.5)
    if rounding == "stochastic":
        if rng is None:
            raise ValueError("stochastic rounding needs a numpy Generator (rng=...)")
        low = np.floor(x)
        return low + (rng.random(x.shape) < (x - low))
    raise ValueError(f"rounding must be one of {ROUNDING}, got {rounding!r}")


def weight_scale(magnitudes, bits):
    """Automatic scale (weight per code step) so that the largest magnitude gets the
    largest code 2**bits - 1; 1.0 when all weights are zero."""
    top = float(np.max(magnitudes)) if np.size(magnitudes) else 0.0
    return top / (2 ** bits - 1) if top > 0 else 1.0


def quantize_weights(weights, bits, scale=None, rounding="nearest", rng=None):
    """Weight magnitudes -> `bits`-bit codes.

    Parameters
    ----------
    weights : array
        Weights (nA, µS or mV); their sign is kept apart (set by the receptor).
    bits : int
        Code width, >= 1.
    scale : float, optional
        Weight of one code step; automatic (:func:`weight_scale`) when None.
        Magnitudes above ``scale * (2**bits - 1)`` are clipped.
    rounding : "nearest" or "stochastic"
    rng : numpy.random.Generator, for stochastic rounding.
    """
    if int(bits) != bits or bits < 1:
        raise ValueError(f"weight bits must be a whole number >= 1, got {bits}")
    weights = np.asarray(weights, dtype=float)
    magnitudes = np.abs(weights)
    if scale is None:
        scale = weight_scale(magnitudes, bits)
    if not scale > 0:
        raise ValueError(f"weight scale must be positive, got {scale}")
    top = 2 ** int(bits) - 1
    exact = magnitudes / scale
    clipped = exact > top + 0.5
    codes = np.clip(_round(exact, rounding, rng), 0, top).astype(np.int64)
    values = np.sign(weights) * codes * scale
    return Quantized(codes, values, float(scale), _loss(weights, values, clipped))


def quantize_weights_with_exponent(weights, mantissa_bits, exponent_bits, groups=None,
                                   rounding="nearest", rng=None):
    """Weights as mantissa * 2**exponent with one exponent per group (Loihi's layout:
    an 8-bit mantissa and a shared exponent per synaptic row or per projection).

    `groups` gives each weight's group (e.g. its presynaptic row); None means one
    group. Each group's exponent is the smallest that fits its largest magnitude in
    the mantissa, within 0 .. 2**exponent_bits - 1 steps above the finest scale of the
    whole set. Returns the :class:`Quantized` codes (mantissas), with ``scale`` the
    finest step, and the per-weight exponents.
    """
    weights = np.asarray(weights, dtype=float)
    magnitudes = np.abs(weights)
    groups = np.zeros(weights.shape, dtype=np.int64) if groups is None \
        else np.asarray(groups, dtype=np.int64)
    top = 2 ** int(mantissa_bits) - 1
    n_groups = int(groups.max()) + 1 if groups.size else 0
    group_max = np.zeros(n_groups)
    np.maximum.at(group_max, groups, magnitudes)
    # the finest step: the largest exponent range must still reach the largest weight
    max_exponent = 2 ** int(exponent_bits) - 1
    overall = float(magnitudes.max()) if magnitudes.size else 0.0
    finest = overall / (top * 2.0 ** max_exponent) if overall > 0 else 1.0
    with np.errstate(divide="ignore"):
        needed = np.ceil(np.log2(np.where(group_max > 0, group_max / (top * finest), 1.0)))
    exponent = np.clip(needed, 0, max_exponent).astype(np.int64)
    step = finest * 2.0 ** exponent[groups]
    exact = magnitudes / step
    clipped = exact > top + 0.5
    codes = np.clip(_round(exact, rounding, rng), 0, top).astype(np.int64)
    values = np.sign(weights) * codes * step
    return Quantized(codes, values, float(finest), _loss(weights, values, clipped)), \
        exponent[groups]


def quantize_delays(delays, dt, max_steps=None):
    """Delays (ms) -> whole time steps (nearest, at least one; at most `max_steps`
    when the chip has a limit). Delays beyond the limit count as clipped."""
    delays = np.asarray(delays, dtype=float)
    steps = np.maximum(np.floor(delays / dt + 0.5), 1)
    clipped = np.zeros(steps.shape, dtype=bool)
    if max_steps:
        clipped = steps > max_steps
        steps = np.minimum(steps, max_steps)
    steps = steps.astype(np.int64)
    return Quantized(steps, steps * dt, float(dt), _loss(delays, steps * dt, clipped))


def quantize_parameter(values, low, high, bits):
    """A circuit parameter -> the code of a `bits`-bit DAC spanning [low, high].

    Values outside the range are clipped to it (and counted)."""
    if not high > low:
        raise ValueError(f"DAC range must have high > low, got [{low}, {high}]")
    values = np.asarray(values, dtype=float)
    top = 2 ** int(bits) - 1
    step = (high - low) / top
    clipped = (values < low - step / 2) | (values > high + step / 2)
    codes = np.clip(np.floor((values - low) / step + 0.5), 0, top).astype(np.int64)
    realised = low + codes * step
    return Quantized(codes, realised, float(step), _loss(values, realised, clipped))


def quantize_time_constant(tau, dt, decay_bits):
    """A time constant (ms) -> the `decay_bits`-bit decay factor a digital neuron
    applies each time step (Loihi's form: x <- x * (1 - code / 2**decay_bits)).

    The realised time constant is the one that decays by exactly that factor per step
    of `dt` ms: tau' = -dt / ln(1 - code / 2**decay_bits). Codes are kept within
    1 .. 2**decay_bits - 1, so time constants too long (code 0: no decay) or too short
    (below about dt / ln(2**decay_bits)) count as clipped.
    """
    tau = np.asarray(tau, dtype=float)
    full = 2.0 ** int(decay_bits)
    with np.errstate(divide="ignore"):
        exact = full * -np.expm1(-dt / tau)
    codes = np.clip(np.floor(exact + 0.5), 1, full - 1)
    clipped = (exact < 0.5) | (exact > full - 0.5)
    realised = -dt / np.log1p(-codes / full)
    return Quantized(codes.astype(np.int64), realised, 1.0 / full,
                     _loss(tau, realised, clipped))


def quantize_to_steps(values, dt):
    """Durations (ms) -> whole time steps (nearest, at least 0), e.g. a refractory
    period counted by a digital neuron."""
    values = np.asarray(values, dtype=float)
    steps = np.maximum(np.floor(values / dt + 0.5), 0).astype(np.int64)
    return Quantized(steps, steps * dt, float(dt),
                     _loss(values, steps * dt, np.zeros(values.shape, dtype=bool)))
