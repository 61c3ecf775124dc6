"""Patterns, noisy cues and the rate-free recall dynamics s_i <- sign(h_i).

States are ±1 arrays of shape (C, N): C cues recalled at once. The local field is
``h = s @ w.T`` (``h_i = sum_j w[i, j] s_j``); a unit with h_i = 0 keeps its state.
"""

import numpy as np

SYNCHRONOUS = "synchronous"
ASYNCHRONOUS = "asynchronous"


def random_patterns(count, size, seed):
    """`count` random ±1 patterns of `size` units (each +1 with probability 1/2), shape
    (count, size); the first k rows do not depend on `count`, so smaller sets are
    nested in larger ones."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((int(count), int(size))) < 0.5, -1.0, 1.0)


def corrupt(patterns, flip_fraction, seed):
    """Copies of `patterns` with each unit flipped independently with probability
    `flip_fraction`."""
    patterns = np.asarray(patterns, dtype=float)
    rng = np.random.default_rng(seed)
    return np.where(rng.random(patterns.shape) < flip_fraction, -patterns, patterns)


def overlap(states, patterns):
    """Overlap m = (1/N) sum_i s_i xi_i of each state with its pattern (row by row):
    1 for perfect recall, 0 for chance."""
    states = np.asarray(states, dtype=float)
    return np.mean(states * np.asarray(patterns, dtype=float), axis=-1)


def recall(weights, cues, update=SYNCHRONOUS, max_sweeps=100, seed=0):
    """Run the sign dynamics from `cues` (C, N) until no unit changes (or
    `max_sweeps`), and return the final states (C, N).

    update = "synchronous": all units at once, s <- sign(s w^T) (a 2-cycle stops at
    max_sweeps). "asynchronous": one unit at a time in a random order (new every
    sweep, seeded by `seed`), each seeing the latest states; the C cues are updated
    together, unit by unit.
    """
    weights = np.asarray(weights, dtype=float)
    states = np.array(cues, dtype=float, ndmin=2)
    if update == SYNCHRONOUS:
        for _ in range(int(max_sweeps)):
            fields = states @ weights.T
            new = np.where(fields > 0, 1.0, np.where(fields < 0, -1.0, states))
            if np.array_equal(new, states):
                break
            states = new
        return states
    if update != ASYNCHRONOUS:
        raise ValueError(f"update must be '{SYNCHRONOUS}' or '{ASYNCHRONOUS}', got {update!r}")
    rng = np.random.default_rng(seed)
    for _ in range(int(max_sweeps)):
        changed = False
        # the order of single-unit updates is the dynamics itself: it cannot be batched
        for unit in rng.permutation(weights.shape[0]):
            field = states @ weights[unit]
            new = np.where(field > 0, 1.0, np.where(field < 0, -1.0, states[:, unit]))
            if not np.array_equal(new, states[:, unit]):
                changed = True
                states[:, unit] = new
        if not changed:
            break
    return states


def stable(weights, patterns, kappa=0.0):
    """Whether each pattern is a fixed point of the sign dynamics with margin kappa:
    xi_i^mu h_i^mu > kappa for every unit i (boolean per pattern)."""
    patterns = np.asarray(patterns, dtype=float)
    return np.all(patterns * (patterns @ np.asarray(weights, dtype=float).T) > kappa, axis=1)
