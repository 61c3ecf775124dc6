"""Synaptic memory encodings: how a projection is laid out in a chip's memory.

A projection's content is a :class:`SynapseTable`: presynaptic and postsynaptic
indices with integer weight and delay codes. Each encoding turns it into a real bit
layout (:class:`Encoded`: named segments of bits, a header of 32-bit fields first,
from which :func:`decode` rebuilds the table exactly, reading nothing else), counts
its size in bits with every header and pointer, and the memory words read:

* ``forward_words``: per presynaptic spike, for each presynaptic neuron (the
  synapses of its row are delivered);
* ``backward_words``: per access to a postsynaptic column, for each postsynaptic
  neuron (learning rules read the column of a neuron that spiked);
* ``update_words``: to read, modify and write back one synapse, for each synapse.

Memory words have `word_bits` bits, except in the dense crossbar, whose word is a
whole row (a crossbar activates a row and reads all its cells in parallel). Each
segment is a memory region of its own, starting at a word boundary.

Encodings:

``dense``      crossbar: every (pre, post) cell holds weight and delay codes (and a
               connected bit when some synapse has weight code 0).
``csr``        index-based by presynaptic row: row pointers, then (post index,
               weight, delay) entries.
``csc``        index-based by postsynaptic column: column pointers, then (pre index,
               weight, delay) entries.
``bitmap``     PB-BMP (Schaefer et al. 2020): a presence bit per possible synapse,
               row pointers into the packed (weight, delay) values.
``delta``      run-length / delta index: the gaps between successive synapses in
               row-major order, Rice-coded (quotients in unary, k-bit remainders),
               with a pointer pair every `BLOCK_ROWS` rows.
``functional`` structured connectivity stored as a generator and its parameters:
               one-to-one (one shared weight, or one weight per synapse),
               all-to-all (optionally without the diagonal) with one shared weight,
               or a kernel of index offsets (convolution-like and distance-dependent
               kernels) with one weight per offset.

``dense`` and ``bitmap`` cannot hold two synapses between the same pair of neurons;
``functional`` applies only to the structures above; :func:`applicable` says which
encodings can hold a table. Pure numpy, vectorized over synapses.
"""

from dataclasses import dataclass, field

import numpy as np

ENCODINGS = ("dense", "csr", "csc", "bitmap", "delta", "functional")
HEADER_FIELD_BITS = 32
BLOCK_ROWS = 32
FUNCTIONAL_KINDS = ("one_to_one", "all_to_all", "kernel")


class EncodingError(ValueError):
    """A table cannot be held by an encoding, or an encoded layout is corrupt."""


@dataclass(frozen=True)
class SynapseTable:
    """A projection as integer codes: `pre`, `post` indices, `weight` and `delay`
    codes of `weight_bits` and `delay_bits` bits, between `n_pre` and `n_post`
    neurons. :meth:`canonical` sorts it by (pre, post, weight, delay)."""
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    n_pre: int
    n_post: int
    weight_bits: int
    delay_bits: int

    def __post_init__(self):
        for name in ("pre", "post", "weight", "delay"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        n = self.pre.size
        if not (self.post.size == self.weight.size == self.delay.size == n):
            raise EncodingError("pre, post, weight and delay must have the same length")
        for name, limit in (("pre", self.n_pre), ("post", self.n_post),
                            ("weight", 2 ** self.weight_bits), ("delay", 2 ** self.delay_bits)):
            values = getattr(self, name)
            if n and (values.min() < 0 or values.max() >= limit):
                raise EncodingError(f"{name} codes must lie in [0, {limit - 1}], got "
                                    f"{values.min()}..{values.max()}")

    @property
    def size(self):
        return int(self.pre.size)

    def canonical(self):
        order = np.lexsort((self.delay, self.weight, self.post, self.pre))
        return SynapseTable(self.pre[order], self.post[order], self.weight[order],
                            self.delay[order], self.n_pre, self.n_post, self.weight_bits,
                            self.delay_bits)

    def equals(self, other):
        """Same synapses (as a multiset) and same shape."""
        a, b = self.canonical(), other.canonical()
        return (a.n_pre, a.n_post, a.weight_bits, a.delay_bits) == \
            (b.n_pre, b.n_post, b.weight_bits, b.delay_bits) and all(
                np.array_equal(getattr(a, k), getattr(b, k))
                for k in ("pre", "post", "weight", "delay"))


@dataclass
class Encoded:
    """A layout: `segments` maps a name to a uint8 array of bits (0/1), the
    ``"header"`` first, or (when encoded with ``layout=False``, for costs only) to
    the segment's length in bits. `word_bits` is the memory word of the sparse
    layouts; the access counts are per presynaptic neuron (`forward_words`), per
    postsynaptic neuron (`backward_words`) and per synapse (`update_words`)."""
    encoding: str
    segments: dict
    word_bits: int
    forward_words: np.ndarray = field(repr=False, default=None)
    backward_words: np.ndarray = field(repr=False, default=None)
    update_words: np.ndarray = field(repr=False, default=None)

    @property
    def has_layout(self):
        return all(isinstance(bits, np.ndarray) for bits in self.segments.values())

    def segment_bits(self, name):
        bits = self.segments[name]
        return int(bits.size) if isinstance(bits, np.ndarray) else int(bits)

    @property
    def size_bits(self):
        """Total bits, headers and pointers included."""
        return sum(self.segment_bits(name) for name in self.segments)


# ------------------------------------------------------------------ bit fields
def to_bits(values, width):
    """Unsigned integers (< 2**64) -> their `width`-bit binary digits, most significant
    first, as a flat uint8 array of 0/1."""
    values = np.ascontiguousarray(values, dtype=">u8")
    if width == 0 or values.size == 0:
        return np.zeros(0, dtype=np.uint8)
    n_bytes = (width + 7) // 8          # only the low bytes hold digits
    digits = np.unpackbits(values.view(np.uint8).reshape(-1, 8)[:, 8 - n_bytes:], axis=1)
    return digits[:, 8 * n_bytes - width:].ravel()


def from_bits(bits, width):
    """Inverse of :func:`to_bits`: a flat 0/1 array -> unsigned integers."""
    bits = np.asarray(bits, dtype=np.uint8).reshape(-1, width) if width else None
    if width == 0 or bits.size == 0:
        return np.zeros(0, dtype=np.int64)
    padded = np.zeros((bits.shape[0], 64), dtype=np.uint8)
    padded[:, 64 - width:] = bits
    return np.packbits(padded, axis=1).view(">u8").ravel().astype(np.int64)


def pack_entries(fields):
    """Concatenate per-entry fields [(values, width), ...] into one bit stream."""
    fields = [(np.asarray(values, dtype=np.uint64), width) for values, width in fields
              if width]
    total = sum(width for _, width in fields)
    if total == 0:
        return np.zeros(0, dtype=np.uint8)
    if total <= 64:   # one integer per entry, one conversion
        combined = np.zeros(fields[0][0].size, dtype=np.uint64)
        for values, width in fields:
            combined = (combined << np.uint64(width)) | values
        return to_bits(combined, total)
    return np.concatenate([to_bits(values, width).reshape(-1, width)
                           for values, width in fields], axis=1).ravel()


def unpack_entries(bits, widths, count):
    """Inverse of :func:`pack_entries`: `count` entries with fields of `widths` bits
    (a field of width 0 reads as zeros)."""
    total = sum(widths)
    if np.size(bits) != count * total:
        raise EncodingError(f"a stream of {count} entries of {total} bits has "
                            f"{np.size(bits)} bits")
    if 0 < total <= 64:
        combined = from_bits(bits, total).astype(np.uint64)
        out, shift = [], total
        for width in widths:
            shift -= width
            mask = np.uint64((1 << width) - 1)
            out.append(((combined >> np.uint64(shift)) & mask).astype(np.int64))
        return out
    matrix = np.asarray(bits).reshape(count, total)
    out, start = [], 0
    for width in widths:
        out.append(from_bits(matrix[:, start:start + width].ravel(), width) if width
                   else np.zeros(count, dtype=np.int64))
        start += width
    return out


def bits_for(count):
    """Bits to hold the numbers 0 .. count - 1 (at least 1)."""
    return max(int(np.ceil(np.log2(max(int(count), 2)))), 1)


class _Segments(dict):
    """Segments of a layout being built: bits when `layout`, else only lengths.

    Each segment is given by its length in bits (the closed form) and a function
    making its bits; in layout mode the two are checked against each other."""

    def __init__(self, layout):
        super().__init__()
        self.layout = layout

    def add(self, name, n_bits, make_bits):
        n_bits = int(n_bits)
        if not self.layout:
            self[name] = n_bits
            return
        bits = make_bits()
        if bits.size != n_bits:
            raise EncodingError(f"segment '{name}' has {bits.size} bits, its closed form "
                                f"says {n_bits}")
        self[name] = bits

    def header(self, encoding, values):
        fields = [ENCODINGS.index(encoding)] + [int(v) for v in values]
        self.add("header", len(fields) * HEADER_FIELD_BITS,
                 lambda: to_bits(fields, HEADER_FIELD_BITS))


def _read_header(encoded, n_fields):
    values = from_bits(encoded.segments["header"], HEADER_FIELD_BITS)
    if ENCODINGS[values[0]] != encoded.encoding or values.size != n_fields + 1:
        raise EncodingError(f"header of a '{encoded.encoding}' layout is corrupt")
    return [int(v) for v in values[1:]]


def words_spanned(start_bit, stop_bit, word_bits):
    """Memory words touched by bit ranges [start, stop) (0 for empty ranges)."""
    start_bit = np.asarray(start_bit, dtype=np.int64)
    stop_bit = np.asarray(stop_bit, dtype=np.int64)
    spanned = (stop_bit - 1) // word_bits - start_bit // word_bits + 1
    return np.where(stop_bit > start_bit, spanned, 0)


def _binary_search_reads(counts):
    """Entries read by a binary search in a sorted run of `counts` entries."""
    return np.ceil(np.log2(np.asarray(counts, dtype=float) + 1)).astype(np.int64)


# ----------------------------------------------------------------- applicable
def has_multapses(table):
    """True if some pair of neurons has more than one synapse."""
    keys = np.sort(table.pre * table.n_post + table.post)
    return bool(np.any(keys[1:] == keys[:-1]))


def applicable(table, names=ENCODINGS):
    """{encoding: None if it can hold `table`, else the reason it cannot}, for the
    encodings `names`."""
    reasons = {name: None for name in names}
    if not {"dense", "bitmap", "functional"} & set(names):
        return reasons
    multapses = has_multapses(table)
    if multapses:
        for name in {"dense", "bitmap"} & set(names):
            reasons[name] = "several synapses between one pair of neurons"
    if "functional" in names and (multapses or _functional_structure(table) is None):
        reasons["functional"] = ("the connectivity is not one-to-one, all-to-all with one "
                                 "weight, or a kernel of index offsets")
    return reasons


# ---------------------------------------------------------------------- dense
def _encode_dense(table, word_bits, layout):
    has_zero = bool(np.any(table.weight == 0))
    cell_bits = table.weight_bits + table.delay_bits + int(has_zero)

    def cells():
        grid = np.zeros((table.n_pre * table.n_post, 3), dtype=np.int64)
        index = table.pre * table.n_post + table.post
        grid[index, 0] = table.weight
        grid[index, 1] = table.delay
        grid[index, 2] = 1
        fields = [(grid[:, 0], table.weight_bits), (grid[:, 1], table.delay_bits)]
        return pack_entries(fields + ([(grid[:, 2], 1)] if has_zero else []))

    segments = _Segments(layout)
    segments.header("dense", [table.n_pre, table.n_post, table.weight_bits, table.delay_bits,
                              int(has_zero)])
    segments.add("cells", table.n_pre * table.n_post * cell_bits, cells)
    # a row is one word: a spike activates one row; a column needs every row
    return Encoded("dense", segments, word_bits,
                   forward_words=np.ones(table.n_pre, dtype=np.int64),
                   backward_words=np.full(table.n_post, table.n_pre, dtype=np.int64),
                   update_words=np.full(table.size, 2, dtype=np.int64))


def _decode_dense(encoded):
    n_pre, n_post, wb, db, has_zero = _read_header(encoded, 5)
    widths = [wb, db] + ([1] if has_zero else [])
    fields = unpack_entries(encoded.segments["cells"], widths, n_pre * n_post)
    present = fields[2] == 1 if has_zero else fields[0] != 0
    cell = np.flatnonzero(present)
    return SynapseTable(cell // n_post, cell % n_post, fields[0][cell], fields[1][cell],
                        n_pre, n_post, wb, db)


# ----------------------------------------------------------- csr, csc, bitmap
def _rows(table, by):
    """(major, minor) indices sorted by major then minor, and pointer array."""
    major, minor, n_major, n_minor = (table.pre, table.post, table.n_pre, table.n_post) \
        if by == "pre" else (table.post, table.pre, table.n_post, table.n_pre)
    order = np.argsort(major * n_minor + minor)
    counts = np.bincount(major, minlength=n_major)
    pointers = np.concatenate([[0], np.cumsum(counts)])
    return order, major[order], minor[order], counts, pointers


def _encode_index(table, word_bits, layout, by):
    name = "csr" if by == "pre" else "csc"
    order, _, minor, counts, pointers = _rows(table, by)
    n_minor = table.n_post if by == "pre" else table.n_pre
    index_bits = bits_for(n_minor)
    pointer_bits = bits_for(table.size + 1)
    entry_bits = index_bits + table.weight_bits + table.delay_bits
    segments = _Segments(layout)
    segments.header(name, [table.n_pre, table.n_post, table.size, table.weight_bits,
                           table.delay_bits, index_bits, pointer_bits])
    segments.add("pointers", pointers.size * pointer_bits,
                 lambda: to_bits(pointers, pointer_bits))
    segments.add("entries", table.size * entry_bits, lambda: pack_entries(
        [(minor, index_bits), (table.weight[order], table.weight_bits),
         (table.delay[order], table.delay_bits)]))
    pointer_words = words_spanned(np.arange(counts.size) * pointer_bits,
                                  (np.arange(counts.size) + 2) * pointer_bits, word_bits)
    own = pointer_words + words_spanned(pointers[:-1] * entry_bits, pointers[1:] * entry_bits,
                                        word_bits)
    # the other direction: a binary search in every row of the other kind
    other = pointer_words.sum() + _binary_search_reads(counts).sum()
    n_other = table.n_post if by == "pre" else table.n_pre
    row_of = np.repeat(np.arange(counts.size), counts)
    update = pointer_words[row_of] + _binary_search_reads(counts)[row_of] + 1
    forward, backward = (own, np.full(n_other, other)) if by == "pre" else \
        (np.full(n_other, other), own)
    encoded = Encoded(name, segments, word_bits, forward_words=forward,
                      backward_words=backward, update_words=np.empty(table.size, np.int64))
    encoded.update_words[order] = update
    return encoded


def _decode_index(encoded):
    by = "pre" if encoded.encoding == "csr" else "post"
    n_pre, n_post, nnz, wb, db, index_bits, pointer_bits = _read_header(encoded, 7)
    pointers = from_bits(encoded.segments["pointers"], pointer_bits)
    minor, weight, delay = unpack_entries(encoded.segments["entries"], [index_bits, wb, db],
                                          nnz)
    major = np.repeat(np.arange(pointers.size - 1), np.diff(pointers))
    if major.size != nnz:
        raise EncodingError(f"'{encoded.encoding}' pointers count {major.size} synapses, "
                            f"header says {nnz}")
    pre, post = (major, minor) if by == "pre" else (minor, major)
    return SynapseTable(pre, post, weight, delay, n_pre, n_post, wb, db)


def _encode_bitmap(table, word_bits, layout):
    order, rows, columns, counts, pointers = _rows(table, "pre")
    pointer_bits = bits_for(table.size + 1)
    value_bits = table.weight_bits + table.delay_bits

    def presence():
        bits = np.zeros(table.n_pre * table.n_post, dtype=np.uint8)
        bits[rows * table.n_post + columns] = 1
        return bits

    segments = _Segments(layout)
    segments.header("bitmap", [table.n_pre, table.n_post, table.size, table.weight_bits,
                               table.delay_bits, pointer_bits])
    segments.add("pointers", pointers.size * pointer_bits,
                 lambda: to_bits(pointers, pointer_bits))
    segments.add("bitmap", table.n_pre * table.n_post, presence)
    segments.add("values", table.size * value_bits, lambda: pack_entries(
        [(table.weight[order], table.weight_bits), (table.delay[order], table.delay_bits)]))
    n = table.n_post
    row_ids = np.arange(table.n_pre)
    pointer_words = words_spanned(row_ids * pointer_bits, (row_ids + 2) * pointer_bits,
                                  word_bits)
    bitmap_words = words_spanned(row_ids * n, (row_ids + 1) * n, word_bits)
    value_words = words_spanned(pointers[:-1] * value_bits, pointers[1:] * value_bits,
                                word_bits)
    forward = pointer_words + bitmap_words + value_words
    # a column: the bitmap word holding (row, column) in every row; for each synapse
    # found, the prefix of its row up to the column (popcount), its pointer and value
    prefix = columns // word_bits + 1 if n else columns
    per_synapse = prefix + pointer_words[rows] + 1
    backward = table.n_pre + np.bincount(columns, weights=per_synapse,
                                         minlength=n).astype(np.int64)
    encoded = Encoded("bitmap", segments, word_bits, forward_words=forward,
                      backward_words=backward, update_words=np.empty(table.size, np.int64))
    encoded.update_words[order] = per_synapse + 1
    return encoded


def _decode_bitmap(encoded):
    n_pre, n_post, nnz, wb, db, pointer_bits = _read_header(encoded, 6)
    cell = np.flatnonzero(encoded.segments["bitmap"])
    if cell.size != nnz:
        raise EncodingError(f"bitmap holds {cell.size} synapses, header says {nnz}")
    weight, delay = unpack_entries(encoded.segments["values"], [wb, db], nnz)
    return SynapseTable(cell // n_post, cell % n_post, weight, delay, n_pre, n_post, wb, db)


# ---------------------------------------------------------------------- delta
def rice_parameter(gaps):
    """Rice parameter k for gaps with this mean: about log2(mean * ln 2)."""
    mean = float(np.mean(gaps)) if np.size(gaps) else 1.0
    return max(int(np.round(np.log2(max(mean * np.log(2), 1.0)))), 0)


def _encode_delta(table, word_bits, layout):
    order, rows, columns, counts, pointers = _rows(table, "pre")
    linear = rows * table.n_post + columns
    # gap = cells skipped since the previous synapse; a repeat of the same cell (a
    # second synapse between one pair) is flagged instead
    difference = np.diff(np.concatenate([[-1], linear]))
    repeat = (difference == 0).astype(np.int64)
    gaps = np.maximum(difference - 1, 0)
    k = rice_parameter(gaps)
    quotients = gaps >> k
    unary_ends = np.concatenate([[0], np.cumsum(quotients + 1)])
    unary_bits = int(unary_ends[-1])

    def unary():
        bits = np.ones(unary_bits, dtype=np.uint8)
        bits[unary_ends[1:] - 1] = 0
        return bits

    multapses = bool(repeat.any())
    fields = [(gaps & ((1 << k) - 1), k), (table.weight[order], table.weight_bits),
              (table.delay[order], table.delay_bits)]
    if multapses:
        fields.append((repeat, 1))
    entry_bits = k + table.weight_bits + table.delay_bits + int(multapses)
    # a pointer triple (unary bit offset, entry index, cell before the block) every
    # BLOCK_ROWS rows
    block_starts = pointers[::BLOCK_ROWS]
    unary_offset = unary_ends[block_starts]
    previous_cell = linear[block_starts - 1] if linear.size else np.zeros_like(block_starts)
    previous_cell = np.where(block_starts > 0, previous_cell, -1)
    pointer_bits = bits_for(max(unary_bits, table.size) + 1)
    cell_bits = bits_for(table.n_pre * table.n_post + 1)
    block_entry_bits = 2 * pointer_bits + cell_bits
    segments = _Segments(layout)
    segments.header("delta", [table.n_pre, table.n_post, table.size, table.weight_bits,
                              table.delay_bits, k, int(multapses), pointer_bits, cell_bits])
    segments.add("block_pointers", block_starts.size * block_entry_bits,
                 lambda: pack_entries([(unary_offset, pointer_bits),
                                       (block_starts, pointer_bits),
                                       (previous_cell + 1, cell_bits)]))
    segments.add("unary", unary_bits, unary)
    segments.add("entries", table.size * entry_bits, lambda: pack_entries(fields))
    # a row is decoded from the start of its block: its words in both streams
    block_of_row = np.arange(table.n_pre) // BLOCK_ROWS
    first = pointers[block_of_row * BLOCK_ROWS]
    last = pointers[1:]
    pointer_words = words_spanned(block_of_row * block_entry_bits,
                                  (block_of_row + 1) * block_entry_bits, word_bits)
    forward = pointer_words + words_spanned(unary_ends[first], unary_ends[last], word_bits) + \
        words_spanned(first * entry_bits, last * entry_bits, word_bits)
    # a column: its position in each row is known only after decoding the row, so
    # every row is decoded: the whole layout is read once
    backward = np.full(table.n_post, sum(
        int(words_spanned(0, n_bits, word_bits))
        for n_bits in (block_starts.size * block_entry_bits, unary_bits,
                       table.size * entry_bits)), dtype=np.int64)
    encoded = Encoded("delta", segments, word_bits, forward_words=forward,
                      backward_words=backward, update_words=np.empty(table.size, np.int64))
    encoded.update_words[order] = forward[rows] + 1
    return encoded


def _decode_delta(encoded):
    n_pre, n_post, nnz, wb, db, k, multapses, pointer_bits, cell_bits = _read_header(encoded, 9)
    unary = encoded.segments["unary"]
    ends = np.flatnonzero(unary == 0)
    if ends.size != nnz:
        raise EncodingError(f"delta stream holds {ends.size} gaps, header says {nnz}")
    quotients = np.diff(np.concatenate([[-1], ends])) - 1
    widths = [k, wb, db] + ([1] if multapses else [])
    fields = unpack_entries(encoded.segments["entries"], widths, nnz)
    gaps = (quotients << k) + fields[0]
    step = gaps + 1
    if multapses:
        step = np.where(fields[3] == 1, 0, step)
    linear = np.cumsum(step) - 1
    return SynapseTable(linear // n_post, linear % n_post, fields[1], fields[2], n_pre,
                        n_post, wb, db)


# ----------------------------------------------------------------- functional
def _functional_structure(table):
    """("one_to_one" | "all_to_all" | "kernel", parameters) or None, for a table
    without multapses."""
    if table.size == 0:
        return None
    n = min(table.n_pre, table.n_post)
    shared = np.all(table.weight == table.weight[0]) and np.all(table.delay == table.delay[0])
    if table.size == n and np.array_equal(np.sort(table.pre), np.arange(n)) and \
            np.array_equal(table.pre, table.post):
        return "one_to_one", {}
    if shared:
        if table.size == table.n_pre * table.n_post:
            return "all_to_all", {"diagonal": 1}
        if table.n_pre == table.n_post and table.size == table.n_pre * (table.n_pre - 1) and \
                not np.any(table.pre == table.post):
            return "all_to_all", {"diagonal": 0}
    offsets = table.post - table.pre
    order = np.argsort(offsets, kind="stable")
    new = np.concatenate([[True], offsets[order][1:] != offsets[order][:-1]])
    kernel = offsets[order][new]
    inverse = np.empty(table.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    # every valid (pre, pre + offset) pair present, and one (weight, delay) per offset
    valid = np.minimum(table.n_pre, table.n_post - kernel) - np.maximum(0, -kernel)
    if kernel.size > table.size // 2 or np.bincount(inverse).tolist() != \
            np.maximum(valid, 0).tolist():
        return None
    first = np.zeros(kernel.size, dtype=np.int64)
    first[inverse[::-1]] = np.arange(table.size)[::-1]
    if np.all(table.weight == table.weight[first][inverse]) and \
            np.all(table.delay == table.delay[first][inverse]):
        return "kernel", {"offsets": kernel, "weight": table.weight[first],
                          "delay": table.delay[first]}
    return None


def _encode_functional(table, word_bits, layout):
    structure = _functional_structure(table)
    if structure is None:
        raise EncodingError(applicable(table)["functional"])
    kind, parameters = structure
    fields = [table.n_pre, table.n_post, table.size, table.weight_bits, table.delay_bits,
              FUNCTIONAL_KINDS.index(kind)]
    segments = _Segments(layout)
    if kind == "one_to_one":
        shared = bool(np.all(table.weight == table.weight[0]) and
                      np.all(table.delay == table.delay[0]))
        fields += [int(shared), int(table.weight[0]) if shared else 0,
                   int(table.delay[0]) if shared else 0]
        segments.header("functional", fields)
        if not shared:
            order = np.argsort(table.pre)
            segments.add("values", table.size * (table.weight_bits + table.delay_bits),
                         lambda: pack_entries([(table.weight[order], table.weight_bits),
                                               (table.delay[order], table.delay_bits)]))
        per_spike = np.full(table.n_pre, 0 if shared else 1, dtype=np.int64)
        per_column = np.full(table.n_post, 0 if shared else 1, dtype=np.int64)
    elif kind == "all_to_all":
        fields += [parameters["diagonal"], int(table.weight[0]), int(table.delay[0])]
        segments.header("functional", fields)
        per_spike = np.zeros(table.n_pre, dtype=np.int64)
        per_column = np.zeros(table.n_post, dtype=np.int64)
    else:
        span = bits_for(table.n_pre + table.n_post)
        kernel = parameters["offsets"]
        fields += [span, kernel.size, 0]
        segments.header("functional", fields)
        kernel_bits = kernel.size * (span + table.weight_bits + table.delay_bits)
        segments.add("kernel", kernel_bits, lambda: pack_entries(
            [(kernel + table.n_pre, span), (parameters["weight"], table.weight_bits),
             (parameters["delay"], table.delay_bits)]))
        kernel_words = int(words_spanned(0, kernel_bits, word_bits))
        per_spike = np.full(table.n_pre, kernel_words, dtype=np.int64)
        per_column = np.full(table.n_post, kernel_words, dtype=np.int64)
    # the generator's parameters sit in the header registers: no memory word is read
    # for shared weights; an update writes the one shared entry
    return Encoded("functional", segments, word_bits, forward_words=per_spike,
                   backward_words=per_column, update_words=np.full(table.size, 2, np.int64))


def _decode_functional(encoded):
    n_pre, n_post, nnz, wb, db, kind, a, b, c = _read_header(encoded, 9)
    kind = FUNCTIONAL_KINDS[kind]
    if kind == "one_to_one":
        n = min(n_pre, n_post)
        if a:   # one shared weight and delay, in the header
            weight, delay = np.full(n, b), np.full(n, c)
        else:
            weight, delay = unpack_entries(encoded.segments["values"], [wb, db], n)
        index = np.arange(n)
        return SynapseTable(index, index, weight, delay, n_pre, n_post, wb, db)
    if kind == "all_to_all":
        pre, post = np.divmod(np.arange(n_pre * n_post), n_post)
        if not a:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return SynapseTable(pre, post, np.full(pre.size, b), np.full(pre.size, c), n_pre,
                            n_post, wb, db)
    span, n_kernel = a, b
    shifted, weight, delay = unpack_entries(encoded.segments["kernel"], [span, wb, db],
                                            n_kernel)
    offsets = shifted - n_pre
    starts = np.maximum(0, -offsets)
    stops = np.minimum(n_pre, n_post - offsets)
    counts = np.maximum(stops - starts, 0)
    which = np.repeat(np.arange(n_kernel), counts)
    pre = starts[which] + np.arange(which.size) - np.repeat(np.cumsum(counts) - counts, counts)
    table = SynapseTable(pre, pre + offsets[which], weight[which], delay[which], n_pre,
                         n_post, wb, db)
    if table.size != nnz:
        raise EncodingError(f"kernel generates {table.size} synapses, header says {nnz}")
    return table


# -------------------------------------------------------------------- dispatch
_ENCODERS = {"dense": _encode_dense,
             "csr": lambda table, w, layout: _encode_index(table, w, layout, "pre"),
             "csc": lambda table, w, layout: _encode_index(table, w, layout, "post"),
             "bitmap": _encode_bitmap, "delta": _encode_delta,
             "functional": _encode_functional}
_DECODERS = {"dense": _decode_dense, "csr": _decode_index, "csc": _decode_index,
             "bitmap": _decode_bitmap, "delta": _decode_delta,
             "functional": _decode_functional}


def encode(table, encoding, word_bits=64, layout=True, reasons=None):
    """Lay `table` out in `encoding` with memory words of `word_bits` bits.

    With ``layout=False`` only the segment lengths and access counts are computed
    (they equal those of the layout: the bits are checked against these closed
    forms whenever a layout is built). `reasons`: a result of :func:`applicable`,
    to avoid computing it again."""
    if encoding not in ENCODINGS:
        raise EncodingError(f"unknown encoding '{encoding}'; available: {', '.join(ENCODINGS)}")
    reason = (reasons if reasons is not None else applicable(table, [encoding]))[encoding]
    if reason is not None:
        raise EncodingError(f"encoding '{encoding}' cannot hold this projection: {reason}")
    return _ENCODERS[encoding](table, int(word_bits), bool(layout))


def decode(encoded):
    """The :class:`SynapseTable` an :class:`Encoded` layout holds, read from its bits."""
    if not encoded.has_layout:
        raise EncodingError(f"this '{encoded.encoding}' encoding was made with layout=False "
                            f"(costs only); encode with layout=True to decode")
    return _DECODERS[encoded.encoding](encoded)
