"""Placement on a 2-D mesh, hop counts and wiring cost, against hand-worked layouts."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from pyNN_sparsehw.chip import placement as pl


def test_serpentine_coordinates_keep_neighbours_adjacent():
    x, y = pl.core_coordinates(np.arange(8), mesh_width=3)
    assert list(zip(x.tolist(), y.tolist())) == [
        (0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1), (0, 2), (1, 2)]
    assert_array_equal(pl.hops(np.arange(7), np.arange(1, 8), 3), np.ones(7))


def test_hops_are_manhattan_distance():
    # core 0 at (0, 0), core 6 at (0, 2), core 4 at (1, 1)
    assert_array_equal(pl.hops([0, 0, 6], [6, 4, 4], 3), [2, 2, 2])
    assert pl.hops([2], [6], 3)[0] == 4   # (2, 0) -> (0, 2)


def test_large_populations_split_and_small_ones_share():
    placement = pl.place([2500, 100, 100], ["big", "a", "b"], neurons_per_core=1024,
                         n_cores=4, mesh_width=2)
    assert_array_equal(np.bincount(placement.core[0]), [1024, 1024, 452])
    assert set(placement.core[1]) == {2} and set(placement.core[2]) == {2}
    assert placement.circuit[1][0] == 452 and placement.circuit[2][-1] == 651
    assert placement.cores_used == 3
    assert_array_equal(placement.neurons_per_core(), [1024, 1024, 652, 0])


def test_network_too_large_names_the_population():
    with pytest.raises(pl.ChipResourceError,
                       match=r"population 'exc' does not fit.*5000 neurons.*4 cores x 1024"):
        pl.place([800, 4200], ["input", "exc"], 1024, 4, 2)


def test_wiring_cost_sums_hops_over_synapses():
    # 4 neurons per core on a 2-wide mesh: pop 0 on cores 0-1, pop 1 on cores 2-3
    placement = pl.place([8, 8], ["p", "q"], neurons_per_core=4, n_cores=4, mesh_width=2)
    # core 0 (0,0), 1 (1,0), 2 (1,1), 3 (0,1)
    pre = np.array([0, 4, 0, 7])
    post = np.array([0, 0, 5, 7])
    # hops: core0->core2 = 2, core1->core2 = 1, core0->core3 = 1, core1->core3 = 2
    assert pl.wiring_cost(placement, 0, 1, pre, post) == 6
    assert pl.wiring_cost(placement, 0, 0, [0, 1], [1, 2]) == 0   # same core
