"""What the calibration routines read from recorded membrane potentials and spikes.

Pure numpy. Sampled membrane potentials are arrays (samples, neurons), one sample
per time step. Between events a linear membrane relaxes exponentially, and the
engine's Runge-Kutta step keeps the sampled sequence geometric (v_k - v_inf =
rho**k (v_0 - v_inf) with rho = exp(-dt/tau) to within ~1e-9), so three equally
spaced samples give both the limit and the time constant exactly, without waiting
for the membrane to settle.
"""

import numpy as np


def exponential_limit(v0, v1, v2):
    """Limit of an exponential relaxation from three equally spaced samples (Aitken's
    delta-squared): v_inf = v0 - (v1 - v0)**2 / (v2 - 2 v1 + v0)."""
    v0, v1, v2 = (np.asarray(v, dtype=float) for v in (v0, v1, v2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return v0 - (v1 - v0) ** 2 / (v2 - 2.0 * v1 + v0)


def decay_time_constant(v0, v1, v2, spacing):
    """Time constant (unit of `spacing`) of an exponential relaxation, from three
    samples `spacing` apart: spacing / ln((v1 - v0) / (v2 - v1)); independent of the
    limit it relaxes to."""
    v0, v1, v2 = (np.asarray(v, dtype=float) for v in (v0, v1, v2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return spacing / np.log((v1 - v0) / (v2 - v1))


def first_reset(v):
    """Index of the last sample before the first reset (the first sample followed by
    a lower one) of each neuron, -1 where the membrane never fell."""
    v = np.asarray(v, dtype=float)
    falls = np.diff(v, axis=0) < 0
    index = np.argmax(falls, axis=0)
    return np.where(falls.any(axis=0), index, -1)


def threshold_crossing(v):
    """Threshold of each neuron from a membrane rising to its first spike (mV).

    The threshold was crossed between the last sample before the reset, v_K, and the
    next sample it would have had, v_K + rho (v_K - v_K-1) (the rise is geometric,
    rho = (v_K - v_K-1) / (v_K-1 - v_K-2)); the midpoint of the two has an error
    uniform within half of that step. NaN where no spike came after at least three
    samples."""
    v = np.asarray(v, dtype=float)
    k = first_reset(v)
    valid = k >= 2
    k = np.where(valid, k, 2)
    columns = np.arange(v.shape[1])
    last, before, earlier = v[k, columns], v[k - 1, columns], v[k - 2, columns]
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (last - before) / (before - earlier)
    step = np.where(np.isfinite(rho), rho, 1.0) * (last - before)
    return np.where(valid, last + step / 2.0, np.nan)


def reset_potential(v):
    """Lowest membrane potential of each neuron (mV): the reset potential, when the
    membrane only falls by resets and the recording holds at least one."""
    return np.asarray(v, dtype=float).min(axis=0)


def clamped_duration(v, dt):
    """How long (ms) the membrane stayed exactly at its reset value after the first
    spike (the refractory clamp), in whole samples of `dt`. NaN without a spike;
    a clamp lasting to the end of the recording counts up to the end."""
    v = np.asarray(v, dtype=float)
    k = first_reset(v)
    columns = np.arange(v.shape[1])
    start = np.where(k >= 0, k + 1, 0)
    held = v == v[start, columns]
    after = np.arange(v.shape[0])[:, None] >= start
    # samples from the start of the clamp until the first that differs
    moved = after & ~held
    end = np.where(moved.any(axis=0), np.argmax(moved, axis=0), v.shape[0])
    return np.where(k >= 0, (end - start) * dt, np.nan)


def mean_firing_rate(indices, times, size):
    """Firing rate (Hz) of each of `size` neurons from its inter-spike intervals:
    (n - 1) / (last - first spike), from the neuron index and time (ms) of every
    spike; NaN with fewer than two spikes."""
    indices = np.asarray(indices, dtype=np.int64)
    times = np.asarray(times, dtype=float)
    count = np.bincount(indices, minlength=size)
    first = np.full(size, np.inf)
    last = np.full(size, -np.inf)
    np.minimum.at(first, indices, times)
    np.maximum.at(last, indices, times)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = 1000.0 * (count - 1) / (last - first)
    return np.where((count >= 2) & (last > first), rate, np.nan)


def charge_integral(v, baseline, dt, tail_spacing):
    """Integral of v - baseline (mV ms) over the recording (trapezoid rule) plus the
    exponential tail beyond its end, v_end * tau, with each neuron's tail time
    constant tau from its last sample and the one `tail_spacing` samples earlier."""
    v = np.asarray(v, dtype=float) - np.asarray(baseline, dtype=float)
    inside = dt * (v.sum(axis=0) - 0.5 * (v[0] + v[-1]))
    n = int(tail_spacing)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = v[-1] / v[-1 - n]
        tail = np.where((rho > 0) & (rho < 1), v[-1] * (-n * dt / np.log(rho)), 0.0)
    return inside + tail
