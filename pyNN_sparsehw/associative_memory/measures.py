"""What a network stores and what its wiring costs.

* Storage capacity (:func:`capacity`): the largest number of patterns P, scanned in
  increasing order, before the first P at which a criterion fails: all patterns
  stable (:func:`all_stable`, the fixed-point capacity) or recall from noisy cues
  (:func:`recalls`, mean overlap after the sign dynamics of
  :mod:`~pyNN_sparsehw.associative_memory.recall`). The network is learned anew for every P,
  always from the first P rows of one pattern set.
* Wiring cost on the grid (:func:`wiring_length`): the summed length of all
  connections, in grid units.
* Cost-performance ratio (:func:`cost_performance`): Tanaka et al. 2020 (IEEE TNNLS
  31(1)) rate a network by its performance per unit of interconnection cost. Our
  definition: the capacity per neuron P_c / N divided by the network's cost relative to
  the fully connected network on the same grid, C / C_full, where the cost C is either
  the wiring length L (:func:`wiring_length`, against :func:`full_wiring_length`) or
  the number of connections (against N (N - 1)). A fully connected network scores its
  own capacity per neuron (0.14 for Hebb's rule); a network with a tenth of the full
  cost that stores as much scores ten times more.
"""

from dataclasses import dataclass

import numpy as np

from .recall import SYNCHRONOUS, corrupt, overlap, recall, stable


def wiring_length(connections, distance):
    """Summed length (grid units) of the connections: entries of `connections`
    (boolean, or weights: nonzero = connected) times the distances `distance`."""
    return float(np.sum(np.asarray(distance, dtype=float)[np.asarray(connections) != 0]))


def full_wiring_length(distance):
    """Summed length of all N (N - 1) connections of the fully connected network."""
    return float(np.sum(distance))


def cost_performance(capacity, size, cost, full_cost):
    """(capacity / size) / (cost / full_cost): patterns stored per neuron per unit of
    interconnection cost relative to the fully connected network (module docstring);
    `cost` and `full_cost` are wiring lengths or connection counts."""
    if cost <= 0:
        raise ValueError(f"cost_performance: the interconnection cost must be positive, got "
                         f"{cost}")
    return (capacity / size) / (cost / full_cost)


def mean_recall_overlap(weights, patterns, flip_fraction, seed, trials=1,
                        update=SYNCHRONOUS):
    """Mean overlap with the stored pattern after recall from cues with a fraction
    `flip_fraction` of flipped units, over every pattern and `trials` cues each."""
    patterns = np.asarray(patterns, dtype=float)
    targets = np.tile(patterns, (int(trials), 1))
    cues = corrupt(targets, flip_fraction, seed)
    return float(np.mean(overlap(recall(weights, cues, update=update, seed=seed), targets)))


def all_stable(kappa=0.0):
    """Criterion: every pattern is a fixed point (stability > kappa). Value: the
    fraction of stable patterns."""
    def criterion(weights, patterns):
        fraction = float(np.mean(stable(weights, patterns, kappa)))
        return fraction == 1.0, fraction
    return criterion


def recalls(flip_fraction, threshold, seed, trials=1, update=SYNCHRONOUS):
    """Criterion: the mean overlap after recall from cues with `flip_fraction` flipped
    units (:func:`mean_recall_overlap`) reaches `threshold`. Value: that overlap."""
    def criterion(weights, patterns):
        value = mean_recall_overlap(weights, patterns, flip_fraction, seed, trials, update)
        return value >= threshold, value
    return criterion


@dataclass(frozen=True)
class CapacityScan:
    """counts: the numbers of patterns tried, in order; passed, values: the criterion's
    verdict and value at each; capacity: the largest count before the first failure
    (0 if the first fails); networks: the weights learned at each count."""
    counts: tuple
    passed: tuple
    values: tuple
    capacity: int
    networks: tuple


def capacity(learn, patterns, criterion, counts):
    """Storage capacity: learn the first P patterns with ``learn(patterns[:P])`` (which
    returns the weights) for P in `counts` (increasing), judge the network with
    ``criterion(weights, patterns[:P])`` -> (passed, value), and stop at the first
    failure."""
    counts = [int(c) for c in counts]
    if sorted(counts) != counts or counts[-1] > len(patterns):
        raise ValueError(f"capacity: counts must increase and not exceed the {len(patterns)} "
                         f"patterns given, got {counts}")
    tried, passed, values, networks = [], [], [], []
    best = 0
    for count in counts:
        weights = learn(patterns[:count])
        ok, value = criterion(weights, patterns[:count])
        tried.append(count)
        passed.append(bool(ok))
        values.append(float(value))
        networks.append(weights)
        if not ok:
            break
        best = count
    return CapacityScan(tuple(tried), tuple(passed), tuple(values), best, tuple(networks))
