"""Connectivity of neurons on a 2-D grid, as boolean masks.

Every builder returns ``mask`` of shape (N, N) with ``mask[i, j]`` True when neuron
``j`` (presynaptic) connects to neuron ``i`` (postsynaptic): the same orientation as
the weights ``w[i, j]`` of the learning rules, whose local field is
``h_i = sum_j w[i, j] s_j``. No neuron connects to itself. ``np.nonzero(mask)`` gives
the (post, pre) index arrays. Positions are (3, N) arrays in grid units
(:func:`~pyNN_sparsehw.associative_memory.grid.grid_positions`).
"""

import numpy as np

from .grid import distances, module_index


def modular(positions, module_side):
    """Square modules of module_side x module_side neurons, all-to-all within a
    module (module_side**2 - 1 inputs per neuron), no connection between modules."""
    module = module_index(positions, module_side)
    mask = module[:, None] == module[None, :]
    np.fill_diagonal(mask, False)
    return mask


def modular_long_range(positions, module_side, links, seed, replace=False):
    """Square modules (:func:`modular`) plus `links` long-range connections per
    neuron: every neuron receives `links` inputs from distinct partners drawn
    uniformly from outside its own module (seeded by `seed`). Every neuron thus has
    the same fan-in, which is what its storage capacity depends on.

    With ``replace=True`` each neuron also loses `links` of its inputs from within its
    module (chosen at random), so the network keeps the connection count of the purely
    modular one: a small-world rewiring (Watts & Strogatz 1998) of the modules.
    """
    module = module_index(positions, module_side)
    inside = module[:, None] == module[None, :]
    n = module.size
    outside_count = n - np.bincount(module)[module]
    links = int(links)
    if links < 0 or links > outside_count.min():
        raise ValueError(f"modular_long_range: {links} long-range links per neuron requested; "
                         f"a neuron has {outside_count.min()} neurons outside its module. "
                         f"Use 0 <= links <= {outside_count.min()}.")
    if replace and links > module_side ** 2 - 1:
        raise ValueError(f"modular_long_range: cannot replace {links} of the "
                         f"{module_side ** 2 - 1} connections a neuron has within its module; "
                         f"use links <= {module_side ** 2 - 1} or replace=False")
    rng = np.random.default_rng(seed)
    keys = rng.random((n, n))                 # a neuron's partners: its smallest keys
    mask = inside.copy()
    np.fill_diagonal(mask, False)
    if replace:
        mask &= ~_smallest(np.where(mask, keys, np.inf), links)
    return mask | _smallest(np.where(inside, np.inf, keys), links)


def distance_dependent(positions, length, seed, probability_at_zero=1.0):
    """Connections drawn independently with probability
    ``probability_at_zero * exp(-d / length)`` for neurons at distance d (grid
    units), seeded by `seed`; no self-connections."""
    if length <= 0 or not 0 < probability_at_zero <= 1:
        raise ValueError(f"distance_dependent needs length > 0 and 0 < probability_at_zero "
                         f"<= 1, got length={length}, probability_at_zero={probability_at_zero}")
    d = distances(positions)
    rng = np.random.default_rng(seed)
    mask = rng.random(d.shape) < probability_at_zero * np.exp(-d / length)
    np.fill_diagonal(mask, False)
    return mask


def _smallest(keys, count):
    """Boolean mask of the `count` smallest keys of every row (each row has at least
    `count` finite keys)."""
    chosen = np.zeros(keys.shape, dtype=bool)
    if count > 0:
        columns = np.argpartition(keys, count - 1, axis=1)[:, :count]
        chosen[np.arange(keys.shape[0])[:, None], columns] = True
    return chosen
