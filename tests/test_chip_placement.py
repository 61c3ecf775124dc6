"""Placement on a 2-D mesh, hop counts and wiring cost, against hand-worked layouts."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from pyNN_sparsehw.chip import placement as pl


def test_serpentine_coordinates_keep_neighbours_adjacent():
    mesh = pl.Mesh(core_grid=(3, 3), chip_grid=(1, 1))
    x, y = mesh.coordinates(np.arange(8))
    assert list(zip(x.tolist(), y.tolist())) == [
        (0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1), (0, 2), (1, 2)]
    assert_array_equal(mesh.hops(np.arange(7), np.arange(1, 8)), np.ones(7))


def test_chips_tile_the_mesh_in_serpentine_order():
    # 2x2 cores per chip, 2x2 chips: chip 1 is east of chip 0, chip 2 north-east
    mesh = pl.Mesh(core_grid=(2, 2), chip_grid=(2, 2))
    x, y = mesh.coordinates([0, 3, 4, 8, 12])
    # core 0 (0,0) of chip 0; core 3 = chip 0 local (0,1); core 4 = chip 1 local (0,0)
    # chip 2 is at chip-grid (1,1) (serpentine), chip 3 at (0,1)
    assert list(zip(x.tolist(), y.tolist())) == [(0, 0), (0, 1), (2, 0), (2, 2), (0, 2)]


def test_hops_are_manhattan_distance_and_host_is_west_of_core_0():
    mesh = pl.Mesh(core_grid=(3, 3), chip_grid=(1, 1))
    # core 0 at (0, 0), core 6 at (0, 2), core 4 at (1, 1)
    assert_array_equal(mesh.hops([0, 0, 6], [6, 4, 4]), [2, 2, 2])
    assert mesh.hops([2], [6])[0] == 4   # (2, 0) -> (0, 2)
    assert_array_equal(mesh.hops([pl.HOST, pl.HOST], [0, 4]), [1, 3])


def _placer(neurons_per_core=1024, n_cores=4, memory_bits=0):
    return pl.Placer(pl.Mesh((2, 2), (1, 1)), neurons_per_core, n_cores, memory_bits, "test")


def test_large_populations_split_and_small_ones_share():
    placer = _placer()
    for index, (label, size) in enumerate([("big", 2500), ("a", 100), ("b", 100)]):
        placer.place(index, label, size)
    assert_array_equal(np.bincount(placer.core[0]), [1024, 1024, 452])
    assert set(placer.core[1]) == {2} and set(placer.core[2]) == {2}
    assert placer.circuit[1][0] == 452 and placer.circuit[2][-1] == 651
    assert placer.cores_used == 3
    assert_array_equal(placer.neurons_used, [1024, 1024, 652, 0])


def test_new_core_starts_a_population_on_an_unused_core():
    placer = _placer()
    placer.place(0, "a", 100)
    placer.place(1, "b", 100, new_core=True)
    placer.place(2, "c", 100)                  # shares b's core
    placer.place(3, "d", 100, new_core=True)
    assert [set(placer.core[k]) for k in range(4)] == [{0}, {1}, {1}, {2}]
    assert placer.circuit[1][0] == 0 and placer.circuit[2][0] == 100
    fresh = _placer()
    fresh.place(0, "first", 10, new_core=True)  # core 0 is unused: it stays there
    assert set(fresh.core[0]) == {0}
    full = _placer(n_cores=2)
    full.place(0, "a", 10)
    full.place(1, "b", 10, new_core=True)
    with pytest.raises(pl.ChipResourceError, match="population 'c' does not fit"):
        full.place(2, "c", 10, new_core=True)


def test_population_hardware_option_new_core_is_checked():
    import pyNN.sparsehw as sim

    sim.setup(timestep=1.0, chip="digital")
    with pytest.raises(ValueError, match=r"population 'p': unknown hardware option.*new_core"):
        sim.Population(2, sim.IF_curr_exp(), label="p", hardware={"core": 3})
    sim.Population(2, sim.IF_curr_exp(), label="first")
    sim.Population(2, sim.IF_curr_exp(), label="second", hardware={"new_core": True})
    sim.run(1.0)
    report = sim.hardware_report()
    sim.end()
    cores = {p["label"]: p["cores"] for p in report.populations}
    assert cores["first"] != cores["second"] and report.cores["used"] == 2


def test_memory_per_neuron_limits_neurons_per_core():
    # 100 bits per neuron, 1000 bits per core: 10 neurons per core, not 1024
    placer = _placer(memory_bits=1000, n_cores=8)
    placer.place(0, "p", 25, np.full(25, 100.0))
    assert_array_equal(np.bincount(placer.core[0]), [10, 10, 5])
    assert_array_equal(placer.memory_used[:3], [1000, 1000, 500])
    # uneven costs: the fill stops before the neuron that would overflow
    placer.place(1, "q", 3, [400.0, 200.0, 300.0])
    assert_array_equal(placer.core[1], [2, 3, 3])


def test_network_too_large_names_the_population():
    placer = _placer()
    placer.place(0, "input", 800)
    with pytest.raises(pl.ChipResourceError,
                       match=r"population 'exc' does not fit.*4 cores x 1024 neurons"):
        placer.place(1, "exc", 4200)


def test_neuron_needing_more_memory_than_a_core_is_an_error():
    placer = _placer(memory_bits=8192)
    with pytest.raises(pl.ChipResourceError, match=r"population 'big'.*neuron 1 needs 2.0 KiB"):
        placer.place(0, "big", 2, [10.0, 16384.0])


def test_memory_added_after_placement_is_checked():
    placer = _placer(memory_bits=1000)
    placer.place(0, "p", 4, np.full(4, 200.0))      # 800 bits on core 0
    placer.add_memory([0, 0], np.array([50.0, 50.0]), "late")
    assert placer.memory_used[0] == 900
    with pytest.raises(pl.ChipResourceError, match=r"projection 'later'.*core 0"):
        placer.add_memory([0, 0, 0], np.full(3, 50.0), "later")


def test_wiring_cost_sums_hops_over_synapses():
    # 4 neurons per core on a 2x2 chip: pop 0 on cores 0-1, pop 1 on cores 2-3
    placer = _placer(neurons_per_core=4)
    placer.place(0, "p", 8)
    placer.place(1, "q", 8)
    # core 0 (0,0), 1 (1,0), 2 (1,1), 3 (0,1)
    pre = np.array([0, 4, 0, 7])
    post = np.array([0, 0, 5, 7])
    # hops: core0->core2 = 2, core1->core2 = 1, core0->core3 = 1, core1->core3 = 2
    assert pl.wiring_cost(placer.mesh, placer.core[0][pre], placer.core[1][post]) == 6
    assert pl.wiring_cost(placer.mesh, placer.core[0][[0, 1]], placer.core[0][[1, 2]]) == 0
