"""Placement of neurons on the cores of a 2-D mesh, routing hops and wiring cost.

Algorithm (sequential fill along a serpentine path):

1. Cores are numbered along a boustrophedon walk of the mesh: left to right on
   even rows, right to left on odd rows, so that consecutive cores are neighbours
   (one hop apart).
2. Populations are laid out in the order they were created, each neuron taking the
   next free circuit: a population larger than a core is split over consecutive
   cores, and small populations share a core. Populations created together (which
   usually connect to each other) end up close together.
3. A spike travels from its source core to a target core by dimension-order routing,
   i.e. |dx| + |dy| hops; the wiring cost of a projection is the sum over its
   synapses of that hop count (Tanaka et al. 2020's cost for spatially arranged
   networks, measured on the chip's mesh).

Pure numpy: every step is vectorized over neurons and synapses.
"""

from dataclasses import dataclass

import numpy as np


class ChipResourceError(ValueError):
    """The network does not fit the chip."""


@dataclass(frozen=True)
class Placement:
    """Where every neuron sits.

    `core` and `circuit` map each population (by index) to per-neuron arrays: the
    core index (serpentine order) and the circuit index within the core.
    `mesh_width` and `n_cores` describe the mesh used.
    """
    core: dict
    circuit: dict
    mesh_width: int
    n_cores: int

    @property
    def cores_used(self):
        used = [np.unique(c) for c in self.core.values() if c.size]
        return int(np.unique(np.concatenate(used)).size) if used else 0

    def neurons_per_core(self):
        """Number of neurons placed on each core in use, indexed by core."""
        counts = np.zeros(self.n_cores, dtype=np.int64)
        for cores in self.core.values():
            np.add.at(counts, cores, 1)
        return counts


def core_coordinates(cores, mesh_width):
    """(x, y) of cores numbered along the serpentine walk of a mesh `mesh_width` wide."""
    cores = np.asarray(cores, dtype=np.int64)
    y = cores // mesh_width
    x = cores % mesh_width
    x = np.where(y % 2 == 0, x, mesh_width - 1 - x)
    return x, y


def hops(source_cores, target_cores, mesh_width):
    """Routing hops |dx| + |dy| between cores (dimension-order routing)."""
    xs, ys = core_coordinates(source_cores, mesh_width)
    xt, yt = core_coordinates(target_cores, mesh_width)
    return np.abs(xs - xt) + np.abs(ys - yt)


def place(population_sizes, labels, neurons_per_core, n_cores, mesh_width):
    """Place populations (sizes in creation order) on `n_cores` cores.

    Raises :class:`ChipResourceError` naming the first population that does not fit.
    """
    sizes = np.asarray(population_sizes, dtype=np.int64)
    ends = np.cumsum(sizes)
    capacity = int(neurons_per_core) * int(n_cores)
    if ends.size and ends[-1] > capacity:
        first = int(np.searchsorted(ends, capacity, side="right"))
        raise ChipResourceError(
            f"population '{labels[first]}' does not fit: the network needs "
            f"{int(ends[-1])} neurons but the chip has {n_cores} cores x "
            f"{neurons_per_core} neurons = {capacity}. Use a smaller network or a chip "
            f"model with more cores.")
    starts = ends - sizes
    core, circuit = {}, {}
    for index, (start, size) in enumerate(zip(starts, sizes)):
        slots = np.arange(start, start + size)
        core[index] = slots // neurons_per_core
        circuit[index] = slots % neurons_per_core
    return Placement(core=core, circuit=circuit, mesh_width=int(mesh_width),
                     n_cores=int(n_cores))


def wiring_cost(placement, pre_population, post_population, pre_index, post_index):
    """Sum over a projection's synapses of the hops from source to target core."""
    source = placement.core[pre_population][np.asarray(pre_index, dtype=np.int64)]
    target = placement.core[post_population][np.asarray(post_index, dtype=np.int64)]
    return int(hops(source, target, placement.mesh_width).sum())
