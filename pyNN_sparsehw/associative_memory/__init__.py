"""Spatially arranged sparse associative memory (after Tanaka et al. 2020, IEEE TNNLS
31(1)): connectivity on a 2-D grid, learning rules, the sparsity optimisation,
capacity and wiring measures, and recall as a spiking network on the chip.

Modules: grid (positions, distances, modules), topology (connectivity masks),
learning (Hebbian, perceptron), sparsity (the linear program), recall (patterns,
cues, sign dynamics), measures (capacity, wiring, cost-performance), spiking (the
network as LIF neurons through the PyNN API: recall on the chips, chip hop cost),
images (gray-scale test images as bit planes). Conventions: patterns (P, N) of ±1; weights and masks (N, N) indexed
[post, pre]; positions (3, N) in grid units.
"""

from .grid import grid_positions, distances, module_index
from .topology import modular, modular_long_range, distance_dependent
from .learning import hebbian, perceptron, PerceptronResult
from .sparsity import sparsest_weights, SparseEmbedding, InfeasibleEmbedding
from .recall import random_patterns, corrupt, overlap, recall, stable
from .measures import (wiring_length, full_wiring_length, cost_performance,
                       mean_recall_overlap, all_stable, recalls, capacity, CapacityScan)
from .spiking import (LIFUnits, SpikingRecall, connection_lists, spiking_network,
                      spiking_recall, chip_wiring_cost)

__all__ = ["grid_positions", "distances", "module_index",
           "modular", "modular_long_range", "distance_dependent",
           "hebbian", "perceptron", "PerceptronResult",
           "sparsest_weights", "SparseEmbedding", "InfeasibleEmbedding",
           "random_patterns", "corrupt", "overlap", "recall", "stable",
           "wiring_length", "full_wiring_length", "cost_performance", "mean_recall_overlap",
           "all_stable", "recalls", "capacity", "CapacityScan",
           "LIFUnits", "SpikingRecall", "connection_lists", "spiking_network",
           "spiking_recall", "chip_wiring_cost"]
