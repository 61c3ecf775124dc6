"""Synaptic memory encodings: exact round trips, sizes against closed forms, access
counts against hand-worked layouts, the information bound."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.special import gammaln

from pyNN_sparsehw.chip import encodings as enc
from pyNN_sparsehw.chip.encodings import bits_for

H = enc.HEADER_FIELD_BITS


def random_table(rng, n_pre, n_post, density, weight_bits=6, delay_bits=3, multapses=0,
                 zero_weights=False):
    mask = rng.random((n_pre, n_post)) < density
    pre, post = np.nonzero(mask)
    if multapses and pre.size:
        extra = rng.integers(0, pre.size, multapses)
        pre, post = np.concatenate([pre, pre[extra]]), np.concatenate([post, post[extra]])
    low = 0 if zero_weights else 1
    weight = rng.integers(low, 2 ** weight_bits, pre.size)
    delay = rng.integers(0, 2 ** delay_bits, pre.size)
    return enc.SynapseTable(pre, post, weight, delay, n_pre, n_post, weight_bits, delay_bits)


def closed_form_bits(table, name):
    """Sizes written out from each layout's definition (module docstring)."""
    nnz, wb, db = table.size, table.weight_bits, table.delay_bits
    pointers = bits_for(nnz + 1)
    if name == "dense":
        return 6 * H + table.n_pre * table.n_post * (wb + db + int(np.any(table.weight == 0)))
    if name == "csr":
        return 8 * H + (table.n_pre + 1) * pointers + nnz * (bits_for(table.n_post) + wb + db)
    if name == "csc":
        return 8 * H + (table.n_post + 1) * pointers + nnz * (bits_for(table.n_pre) + wb + db)
    if name == "bitmap":
        return 7 * H + (table.n_pre + 1) * pointers + table.n_pre * table.n_post + \
            nnz * (wb + db)
    if name == "delta":
        linear = np.sort(table.pre * table.n_post + table.post)
        difference = np.diff(np.concatenate([[-1], linear]))
        gaps = np.maximum(difference - 1, 0)
        k = enc.rice_parameter(gaps)
        repeats = int(np.any(difference == 0))
        unary = int((gaps >> k).sum()) + nnz
        pointer_bits = bits_for(max(unary, nnz) + 1)
        blocks = -(-(table.n_pre + 1) // enc.BLOCK_ROWS)
        return 10 * H + blocks * (2 * pointer_bits + bits_for(table.n_pre * table.n_post + 1)) \
            + unary + nnz * (k + wb + db + repeats)
    raise KeyError(name)


SHAPES = [(1, 1), (1, 9), (9, 1), (7, 5), (40, 33), (120, 300)]
DENSITIES = [0.0, 0.02, 0.2, 0.7, 1.0]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("density", DENSITIES)
def test_every_applicable_encoding_round_trips_exactly_with_closed_form_size(shape, density):
    rng = np.random.default_rng(hash((shape, density)) % 2 ** 32)
    for multapses, zero_weights, bits in [(0, False, (6, 3)), (3, True, (1, 0)),
                                          (0, True, (8, 6))]:
        table = random_table(rng, *shape, density, *bits, multapses=multapses,
                             zero_weights=zero_weights)
        reasons = enc.applicable(table)
        assert (reasons["dense"] is None) == (reasons["bitmap"] is None) == \
            (not enc.has_multapses(table))
        for name in enc.ENCODINGS:
            if reasons[name] is not None:
                with pytest.raises(enc.EncodingError, match=f"'{name}' cannot hold"):
                    enc.encode(table, name)
                continue
            for word_bits in (16, 64):
                encoded = enc.encode(table, name, word_bits)
                assert enc.decode(encoded).equals(table), (name, shape, density)
                costs = enc.encode(table, name, word_bits, layout=False)
                assert costs.size_bits == encoded.size_bits
                for attribute in ("forward_words", "backward_words", "update_words"):
                    assert_array_equal(getattr(costs, attribute), getattr(encoded, attribute))
                assert encoded.forward_words.shape == (table.n_pre,)
                assert encoded.backward_words.shape == (table.n_post,)
                assert encoded.update_words.shape == (table.size,)
                if name != "functional":
                    assert encoded.size_bits == closed_form_bits(table, name), name


def test_bit_fields_round_trip_and_pack_most_significant_first():
    assert_array_equal(enc.to_bits([5, 2], 3), [1, 0, 1, 0, 1, 0])
    values = np.array([0, 1, 2 ** 40 + 3, 2 ** 63 + 7], dtype=np.uint64)
    assert_array_equal(enc.from_bits(enc.to_bits(values[:3], 41), 41), values[:3])
    bits = enc.pack_entries([([3, 1], 2), ([0, 5], 3)])
    assert_array_equal(bits, [1, 1, 0, 0, 0, 0, 1, 1, 0, 1])
    first, second = enc.unpack_entries(bits, [2, 3], 2)
    assert_array_equal(first, [3, 1]) and assert_array_equal(second, [0, 5])
    wide = enc.pack_entries([([1, 2], 40), ([3, 4], 40)])        # 80 bits per entry
    assert [list(v) for v in enc.unpack_entries(wide, [40, 40], 2)] == [[1, 2], [3, 4]]
    with pytest.raises(enc.EncodingError, match="2 entries of 5 bits has 9 bits"):
        enc.unpack_entries(bits[:9], [2, 3], 2)


def _table(pre, post, n_pre, n_post, weight=None, wb=4, db=2):
    weight = np.full(len(pre), 3) if weight is None else weight
    return enc.SynapseTable(pre, post, weight, np.zeros(len(pre), int), n_pre, n_post, wb, db)


def test_access_counts_of_hand_worked_layouts():
    # 3 x 4: row 0 -> {1, 3}, row 1 -> {}, row 2 -> {0, 1, 2, 3}
    table = _table([0, 0, 2, 2, 2, 2], [1, 3, 0, 1, 2, 3], 3, 4)
    dense = enc.encode(table, "dense", 64)
    assert_array_equal(dense.forward_words, [1, 1, 1])           # one row activation
    assert_array_equal(dense.backward_words, [3, 3, 3, 3])       # every row for a column
    # csr, 16-bit words: pointers of bits_for(7) = 3 bits, entries 2 + 4 + 2 = 8 bits
    csr = enc.encode(table, "csr", 16)
    # row 0: pointers bits [0, 6) -> 1 word; entries bits [0, 16) -> 1 word
    # row 1: pointers [3, 9) -> 1 word; no entries; row 2: pointers [6, 12) -> 1 word,
    # entries [16, 48) -> 2 words
    assert_array_equal(csr.forward_words, [2, 1, 3])
    # a column: every row's pointers (3 words in all) + binary searches of 2, 0, 4
    # entries: ceil(log2(3)) + 0 + ceil(log2(5)) = 2 + 0 + 3
    assert_array_equal(csr.backward_words, [8, 8, 8, 8])
    # bitmap, 16-bit words: pointers 3 bits; bitmap rows of 4 bits; values 6 bits
    bitmap = enc.encode(table, "bitmap", 16)
    # row 2: pointers [6, 12) 1 word + bitmap [8, 12) 1 word + values [12, 36) 3 words
    assert bitmap.forward_words[2] == 5
    # column 3: bitmap word of each row (3) + for synapses (0,3), (2,3): prefix words
    # (3 // 16 + 1 = 1) + pointer words (1) + value word (1)
    assert bitmap.backward_words[3] == 3 + 2 * 3


def test_functional_encoding_detects_structures_and_is_tiny():
    n = 50
    one_to_one = _table(np.arange(n), np.arange(n), n, n, weight=np.arange(n) % 16)
    pre, post = np.divmod(np.arange(n * n), n)
    all_to_all = _table(pre, post, n, n)
    keep = pre != post
    no_self = _table(pre[keep], post[keep], n, n)
    offsets = np.array([-2, -1, 1, 2])
    p = np.repeat(np.arange(n), offsets.size)
    q = p + np.tile(offsets, n)
    inside = (q >= 0) & (q < n)
    kernel = _table(p[inside], q[inside], n, n, weight=np.tile([1, 5, 5, 1], n)[inside])
    shared = _table(np.arange(n), np.arange(n), n, n)
    for table, bits in [(one_to_one, 10 * H + n * 6), (shared, 10 * H), (all_to_all, 10 * H),
                        (no_self, 10 * H), (kernel, 10 * H + 4 * (bits_for(2 * n) + 6))]:
        assert enc.applicable(table)["functional"] is None
        encoded = enc.encode(table, "functional", 64)
        assert encoded.size_bits == bits
        assert enc.decode(encoded).equals(table)
    # a kernel whose weights differ along the offset is not functional
    broken = _table(p[inside], q[inside], n, n, weight=np.arange(inside.sum()) % 16)
    assert "kernel of index offsets" in enc.applicable(broken)["functional"]
    rng = np.random.default_rng(0)
    assert enc.applicable(random_table(rng, 30, 30, 0.1))["functional"] is not None


def test_corrupt_or_cost_only_layouts_are_clear_errors():
    table = _table([0, 1], [1, 0], 2, 2)
    encoded = enc.encode(table, "csr")
    encoded.encoding = "bitmap"
    with pytest.raises(enc.EncodingError, match="header of a 'bitmap' layout is corrupt"):
        enc.decode(encoded)
    with pytest.raises(enc.EncodingError, match="made with layout=False"):
        enc.decode(enc.encode(table, "csr", layout=False))
    with pytest.raises(enc.EncodingError, match="unknown encoding 'zip'"):
        enc.encode(table, "zip")
    with pytest.raises(enc.EncodingError, match=r"weight codes must lie in \[0, 15\]"):
        _table([0], [0], 1, 1, weight=[16])


def information_bound(n_cells, synapses, weight_bits):
    """log2 C(n_cells, synapses) + synapses * weight_bits."""
    log2_binomial = (gammaln(n_cells + 1) - gammaln(synapses + 1) -
                     gammaln(n_cells - synapses + 1)) / np.log(2)
    return log2_binomial + synapses * weight_bits


@pytest.mark.parametrize("density", [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5])
def test_smallest_encoding_stays_within_1_5_of_the_information_bound(density):
    rng = np.random.default_rng(7)
    n = 1000
    count = int(density * n * n)
    cells = rng.choice(n * n, count, replace=False)
    table = enc.SynapseTable(cells // n, cells % n, rng.integers(1, 256, count),
                             np.zeros(count, int), n, n, 8, 0)
    sizes = {name: enc.encode(table, name, 64, layout=False).size_bits
             for name, reason in enc.applicable(table).items() if reason is None}
    bound = information_bound(n * n, count, 8)
    best = min(sizes.values())
    assert best <= 1.5 * bound, f"density {density}: {sizes} vs bound {bound:.0f}"
    assert best >= bound      # no layout beats the information limit
