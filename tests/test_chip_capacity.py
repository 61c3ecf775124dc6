"""The budget of synapses that fits a chip's synaptic memory (chip.capacity) against
sizes computed by hand from the encodings' layouts (docs/mapping.rst)."""

import copy

import pytest

from pyNN_sparsehw.chip.capacity import (CapacityError, memory_bits, share,
                                         synapse_capacity)
from pyNN_sparsehw.chip.model import ChipModel, load_chip


def digital_with_memory(bits):
    """The digital chip (8-bit weights, 6-bit delays, 64-bit words) with `bits` of
    synaptic memory per core."""
    config = copy.deepcopy(load_chip("digital").config)
    config["topology"]["synaptic_memory_bits"] = bits
    return ChipModel(config)


def one_more_does_not_fit(chip, capacity, projections):
    more = share(capacity.synapses + 1, projections)
    return memory_bits(chip, projections, capacity.encoding, more) > capacity.available_bits


def test_csr_by_hand():
    # header 8 fields x 32 bits; 21 row pointers of ceil(log2(nnz + 1)) = 8 bits; entries
    # of 5 (column index of 30) + 8 (weight) + 6 (delay) = 19 bits:
    # 256 + 168 + 19 n <= 4096  ->  n = 193 (4091 bits); 194 needs 4110
    chip = digital_with_memory(4096)
    capacity = synapse_capacity(chip, 1, [(20, 30)], "csr")
    assert (capacity.synapses, capacity.bits, capacity.available_bits) == (193, 4091, 4096)
    assert memory_bits(chip, [(20, 30)], "csr", [194]) == 4110
    assert capacity.fraction == pytest.approx(193 / 600)


def test_bitmap_by_hand():
    # header 7 x 32; 21 pointers of 8 bits; a 600-bit presence map; values of 14 bits:
    # 224 + 168 + 600 + 14 n <= 4096  ->  n = 221 (4086 bits)
    chip = digital_with_memory(4096)
    capacity = synapse_capacity(chip, 1, [(20, 30)], "bitmap")
    assert (capacity.synapses, capacity.bits) == (221, 4086)
    assert one_more_does_not_fit(chip, capacity, [(20, 30)])


def test_csr_on_a_whole_digital_core_by_hand():
    # 1024 x 1024 in 128 KiB: 256 + 1025 x 16 + 24 n <= 1048576  ->  n = 42996
    capacity = synapse_capacity("digital", 1, [(1024, 1024)], "csr")
    assert capacity.synapses == 42996
    assert one_more_does_not_fit("digital", capacity, [(1024, 1024)])
    # two cores hold more than twice as many (the header and pointers are paid once)
    assert synapse_capacity("digital", 2, [(1024, 1024)], "csr").synapses > 2 * 42996


def test_dense_holds_all_or_nothing():
    # header 6 x 32; 600 cells of 8 + 6 + 1 (connected) bits = 9000
    assert synapse_capacity(digital_with_memory(9192), 1, [(20, 30)], "dense").synapses == 600
    # even empty it does not fit: 192 + 600 x 14 bits (no connected bit without synapses)
    empty = synapse_capacity(digital_with_memory(8591), 1, [(20, 30)], "dense")
    assert (empty.synapses, empty.bits) == (0, 8592)
    assert synapse_capacity(digital_with_memory(9191), 1, [(20, 30)], "dense").synapses == 0


def test_several_projections_share_in_proportion_and_delta_fits_its_boundary():
    assert share(100, [(20, 30), (30, 10)]).tolist() == [67, 33]
    assert share(900, [(20, 30), (30, 10)]).tolist() == [600, 300]
    projections = [(64, 100), (100, 10)]
    chip = digital_with_memory(32768)
    for encoding in ("csr", "csc", "bitmap", "delta"):
        capacity = synapse_capacity(chip, 1, projections, encoding)
        assert 0 < capacity.synapses < capacity.possible == 7400
        assert capacity.bits <= 32768
        assert sum(capacity.per_projection) == capacity.synapses
        assert one_more_does_not_fit(chip, capacity, projections), encoding


def test_errors_name_the_chip_and_the_value():
    with pytest.raises(CapacityError, match="ideal chip sets no synaptic-memory size"):
        synapse_capacity("ideal", 1, [(10, 10)], "csr")
    with pytest.raises(CapacityError, match="analog chip sets no synaptic-memory size"):
        synapse_capacity("analog", 1, [(10, 10)], "csc")
    with pytest.raises(CapacityError, match="'functional' stores structured connectivity"):
        synapse_capacity("digital", 1, [(10, 10)], "functional")
    with pytest.raises(CapacityError, match="from 1 to the digital chip's 4096 cores, got 5000"):
        synapse_capacity("digital", 5000, [(10, 10)], "csr")
    with pytest.raises(CapacityError, match=r"\(n_pre, n_post\) pairs"):
        synapse_capacity("digital", 1, [(10, 0)], "csr")
    config = copy.deepcopy(load_chip("digital").config)
    config["memory"]["encodings"] = ["csr"]
    with pytest.raises(CapacityError, match="'bitmap' is not offered by the digital chip; it "
                                            "offers csr"):
        synapse_capacity(ChipModel(config), 1, [(10, 10)], "bitmap")
