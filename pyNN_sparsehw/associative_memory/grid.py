"""Neurons on a square 2-D grid: positions, distances and square modules.

Positions follow PyNN's :class:`pyNN.space.Grid2D` (shape (3, N): x, y, z; neuron
``i`` sits at x = i // side, y = i % side), in grid units (one unit = the spacing of
neighbouring neurons), so a population built with ``structure=Grid2D()`` has exactly
these positions.
"""

import numpy as np
from pyNN.space import Grid2D


def grid_positions(side):
    """Positions (3, side**2) of side x side neurons on PyNN's Grid2D, in grid units."""
    side = int(side)
    if side < 1:
        raise ValueError(f"grid side must be a positive integer, got {side}")
    return Grid2D(aspect_ratio=1.0, dx=1.0, dy=1.0).generate_positions(side * side)


def distances(positions):
    """Euclidean distances (N, N) between all pairs of `positions` (3, N), in grid
    units."""
    positions = np.asarray(positions, dtype=float)
    difference = positions[:, :, None] - positions[:, None, :]
    return np.sqrt(np.einsum("kij,kij->ij", difference, difference))


def module_index(positions, module_side):
    """Index of the square module (module_side x module_side neurons) holding each
    neuron: modules are numbered x-major, as the neurons of Grid2D.

    Raises ValueError if the grid is not tiled exactly by such modules.
    """
    positions = np.asarray(positions, dtype=float)
    module_side = int(module_side)
    cells = np.rint(positions[:2] - positions[:2].min(axis=1, keepdims=True)).astype(np.int64)
    extent = cells.max(axis=1) + 1
    if module_side < 1 or np.any(extent % module_side):
        raise ValueError(f"a grid of {extent[0]} x {extent[1]} neurons cannot be tiled by "
                         f"square modules of side {module_side}; choose a module side that "
                         f"divides {extent[0]} and {extent[1]}")
    per_row = extent[1] // module_side
    return (cells[0] // module_side) * per_row + cells[1] // module_side
