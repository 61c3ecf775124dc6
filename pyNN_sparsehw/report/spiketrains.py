"""Spike-train statistics and distances between two simulations of one population.

Everything works on flat arrays, one entry per spike: ``neuron`` (index of the
neuron in its population) and ``times`` (ms). Whole populations are processed at
once: there is no Python loop per neuron or per spike.

* :func:`spike_counts`, :func:`isi_cv`: activity of one simulation;
* :func:`rate_correlation`: Pearson correlation of the spike counts of the same
  neurons in two simulations;
* :func:`van_rossum_distances`: van Rossum (2001) distance between the trains of
  the same neuron in two simulations, normalised as in elephant (a train with one
  spike is at distance 1 from an empty train);
* :func:`spike_agreement`: fraction of spikes that have a partner within a time
  window in the other simulation (one-to-one pairs).
"""

from dataclasses import dataclass

import numpy as np

#: pairs of spikes further apart than this many time constants contribute less than
#: exp(-37) = 8.5e-17 to a van Rossum sum: below double precision, left out
VAN_ROSSUM_CUTOFF = 37.0


@dataclass
class PopulationSpikes:
    """The recorded spikes of one population in one simulation.

    Attributes
    ----------
    label : str
    size : int
        Neurons in the population.
    recorded : ndarray of int
        Indices of the neurons whose spikes were recorded (sorted).
    neuron, times : ndarray
        One entry per spike: the neuron's index in the population and the spike
        time (ms), sorted by neuron, then time.
    t_start, t_stop : float
        Recording interval (ms).
    """
    label: str
    size: int
    recorded: np.ndarray
    neuron: np.ndarray
    times: np.ndarray
    t_start: float
    t_stop: float

    def __post_init__(self):
        self.recorded = np.asarray(self.recorded, dtype=np.int64)
        neuron = np.asarray(self.neuron, dtype=np.int64)
        times = np.asarray(self.times, dtype=float)
        order = np.lexsort((times, neuron))
        self.neuron, self.times = neuron[order], times[order]

    @property
    def duration_ms(self):
        return self.t_stop - self.t_start

    def restricted_to(self, neurons):
        """The spikes of the given neurons only (a subset of ``recorded``)."""
        keep = np.isin(self.neuron, neurons)
        return PopulationSpikes(self.label, self.size, np.intersect1d(self.recorded, neurons),
                                self.neuron[keep], self.times[keep], self.t_start, self.t_stop)

    def trains(self):
        """Spike times (ms) of each recorded neuron: a list of arrays."""
        bounds = np.searchsorted(self.neuron, self.recorded)
        return np.split(self.times, bounds[1:])


def spike_counts(neuron, n):
    """Spikes of each of the neurons 0..n-1 (``neuron``: one index per spike)."""
    return np.bincount(np.asarray(neuron, dtype=np.int64), minlength=n)[:n]


def mean_rate_hz(n_spikes, n_neurons, duration_ms):
    """Mean firing rate in Hz of `n_neurons` that fired `n_spikes` in `duration_ms`."""
    if n_neurons == 0 or duration_ms <= 0:
        return float("nan")
    return 1000.0 * n_spikes / (n_neurons * duration_ms)


def isi_cv(neuron, times, n, min_spikes=3):
    """Coefficient of variation (std / mean, population std) of the inter-spike
    intervals of each neuron 0..n-1; NaN for neurons with fewer than `min_spikes`
    spikes. Spikes must be sorted by neuron, then time."""
    neuron = np.asarray(neuron, dtype=np.int64)
    times = np.asarray(times, dtype=float)
    same = neuron[1:] == neuron[:-1]
    owner = neuron[1:][same]
    isi = np.diff(times)[same]
    count = np.bincount(owner, minlength=n)[:n].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(owner, weights=isi, minlength=n)[:n] / count
        deviation = isi - mean[owner]
        std = np.sqrt(np.bincount(owner, weights=deviation * deviation, minlength=n)[:n]
                      / count)
        cv = std / mean
    cv[(count < max(min_spikes - 1, 1)) | ~(mean > 0)] = np.nan
    return cv


def rate_correlation(counts_a, counts_b):
    """Pearson correlation of two vectors of per-neuron spike counts; NaN when it is
    undefined (fewer than two neurons, or counts that do not vary)."""
    a = np.asarray(counts_a, dtype=float)
    b = np.asarray(counts_b, dtype=float)
    if a.size < 2:
        return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    norm = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / norm) if norm > 0 else float("nan")


def _group_keys(neuron, times, span):
    """One sortable number per spike: neurons in blocks of length `span` (ms)."""
    return np.asarray(neuron, dtype=float) * span + np.asarray(times, dtype=float)


def _exponential_sums(neuron_a, times_a, neuron_b, times_b, n, tau):
    """For each neuron 0..n-1: sum over its spikes x in A and y in B of
    exp(-|x - y| / tau). Both inputs sorted by neuron, then time."""
    if len(times_a) == 0 or len(times_b) == 0:
        return np.zeros(n)
    window = VAN_ROSSUM_CUTOFF * tau
    low = min(np.min(times_a), np.min(times_b))
    span = max(np.max(times_a), np.max(times_b)) - low + 4 * window
    key_a = _group_keys(neuron_a, np.asarray(times_a) - low, span)
    key_b = _group_keys(neuron_b, np.asarray(times_b) - low, span)
    first = np.searchsorted(key_b, key_a - window, side="left")
    last = np.searchsorted(key_b, key_a + window, side="right")
    partners = last - first
    a_of_pair = np.repeat(np.arange(key_a.size), partners)
    offset = np.arange(a_of_pair.size) - np.repeat(np.cumsum(partners) - partners, partners)
    b_of_pair = np.repeat(first, partners) + offset
    same = neuron_a[a_of_pair] == neuron_b[b_of_pair]
    a_of_pair, b_of_pair = a_of_pair[same], b_of_pair[same]
    weights = np.exp(-np.abs(times_a[a_of_pair] - times_b[b_of_pair]) / tau)
    return np.bincount(neuron_a[a_of_pair], weights=weights, minlength=n)[:n]


def van_rossum_distances(neuron_a, times_a, neuron_b, times_b, n, tau_ms):
    """Van Rossum distance between the trains of each neuron 0..n-1 in simulations
    A and B, with time constant `tau_ms`.

    ``D^2 = sum_ij k(a_i - a_j) + sum_ij k(b_i - b_j) - 2 sum_ij k(a_i - b_j)`` with
    ``k(t) = exp(-|t| / tau)``: elephant's normalisation (one spike against an empty
    train: 1; divide by sqrt(2) for van Rossum's). Spikes sorted by neuron, time.
    """
    neuron_a = np.asarray(neuron_a, dtype=np.int64)
    neuron_b = np.asarray(neuron_b, dtype=np.int64)
    times_a = np.asarray(times_a, dtype=float)
    times_b = np.asarray(times_b, dtype=float)
    squared = (_exponential_sums(neuron_a, times_a, neuron_a, times_a, n, tau_ms)
               + _exponential_sums(neuron_b, times_b, neuron_b, times_b, n, tau_ms)
               - 2 * _exponential_sums(neuron_a, times_a, neuron_b, times_b, n, tau_ms))
    return np.sqrt(np.maximum(squared, 0.0))


def _nearest(key_from, key_to):
    """Index into sorted `key_to` of the nearest entry to each of `key_from`."""
    right = np.clip(np.searchsorted(key_to, key_from), 0, key_to.size - 1)
    left = np.clip(right - 1, 0, key_to.size - 1)
    take_left = np.abs(key_from - key_to[left]) <= np.abs(key_to[right] - key_from)
    return np.where(take_left, left, right)


def matched_spike_pairs(neuron_a, times_a, neuron_b, times_b, window_ms):
    """Number of one-to-one pairs of spikes of the same neuron in A and B that are
    each other's nearest spike and at most `window_ms` apart. Spikes sorted by
    neuron, then time."""
    if len(times_a) == 0 or len(times_b) == 0:
        return 0
    times_a = np.asarray(times_a, dtype=float)
    times_b = np.asarray(times_b, dtype=float)
    low = min(times_a.min(), times_b.min())
    span = max(times_a.max(), times_b.max()) - low + 4 * window_ms + 1.0
    key_a = _group_keys(neuron_a, times_a - low, span)
    key_b = _group_keys(neuron_b, times_b - low, span)
    to_b = _nearest(key_a, key_b)
    to_a = _nearest(key_b, key_a)
    mutual = to_a[to_b] == np.arange(key_a.size)
    close = np.abs(times_a - times_b[to_b]) <= window_ms
    same = np.asarray(neuron_a) == np.asarray(neuron_b)[to_b]
    return int(np.count_nonzero(mutual & close & same))


def spike_agreement(neuron_a, times_a, neuron_b, times_b, window_ms):
    """Fraction of all spikes of A and B that belong to a matched pair (see
    :func:`matched_spike_pairs`): 1 for identical trains, 0 when nothing matches;
    1 when neither has spikes."""
    total = len(times_a) + len(times_b)
    if total == 0:
        return 1.0
    return 2 * matched_spike_pairs(neuron_a, times_a, neuron_b, times_b, window_ms) / total
