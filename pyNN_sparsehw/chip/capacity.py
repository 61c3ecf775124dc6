"""How many synapses fit a chip's synaptic memory under one encoding: the budget of
connections "what fits the chip" (for DEEP R, :mod:`pyNN_sparsehw.training.deep_r`).

Given a chip model, a number of its cores, the (presynaptic, postsynaptic) sizes of each
projection and one of the encodings of :mod:`.encodings`, :func:`synapse_capacity`
finds the largest total number of synapses whose encoded tables fit the cores'
synaptic memory together (``n_cores * synaptic_memory_bits``). Sizes are those of
:func:`.encodings.encode` itself (headers, pointers, indices and values included), with
the chip's weight and delay bits, as the mapper encodes them.

Assumptions, stated where they decide the answer:

* the total is shared among the projections in proportion to their possible synapses
  (n_pre x n_post; the same connectivity in every projection, DEEP R's starting
  point), whole synapses by largest remainder (:func:`share`);
* each projection is one table; the mapper splits a projection over the cores of its
  targets into blocks, each with its own header (a few 32-bit fields) and pointers,
  so a projection spread over several cores needs slightly more;
* ``dense`` holds its connected bit (some weight code may be 0, as a new DEEP R synapse
  is); the size of ``delta`` depends on where the synapses are: it is measured with
  the synapses of each projection evenly spaced in row-major order;
* ``functional`` holds only structured connectivity (one-to-one, all-to-all, kernels),
  not a sparse table chosen by training: it has no capacity in synapses.

Pure numpy.
"""

from dataclasses import dataclass

import numpy as np

from . import encodings
from .model import load_chip


class CapacityError(ValueError):
    """The capacity cannot be computed for this chip, encoding or network."""


@dataclass(frozen=True)
class Capacity:
    """The largest budget that fits.

    synapses : total synapses that fit (0 when not even the empty tables fit)
    per_projection : synapses of each projection under that total
    bits : synaptic memory those synapses need (bits)
    available_bits : synaptic memory of the cores (bits)
    possible : n_pre x n_post summed over the projections
    encoding : the encoding
    """
    synapses: int
    per_projection: tuple
    bits: int
    available_bits: int
    possible: int
    encoding: str

    @property
    def fraction(self):
        """Synapses that fit as a fraction of all possible synapses."""
        return self.synapses / self.possible


def share(total, projections):
    """`total` synapses split among `projections` [(n_pre, n_post), ...] in proportion to
    n_pre x n_post, in whole synapses (largest remainder), each at most n_pre x n_post."""
    possible = np.array([int(a) * int(b) for a, b in projections], dtype=np.int64)
    exact = possible * (int(total) / possible.sum())
    counts = np.floor(exact).astype(np.int64)
    left = int(total) - int(counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:left]] += 1
    return np.minimum(counts, possible)


def evenly_spaced_table(n_pre, n_post, n_synapses, weight_bits, delay_bits):
    """A :class:`.encodings.SynapseTable` of `n_synapses` synapses evenly spaced in
    row-major order over an n_pre x n_post grid, all of weight and delay code 0."""
    cells = (np.arange(n_synapses, dtype=np.int64) * (n_pre * n_post)) // max(n_synapses, 1)
    zeros = np.zeros(n_synapses, dtype=np.int64)
    return encodings.SynapseTable(cells // n_post, cells % n_post, zeros, zeros, n_pre, n_post,
                                  weight_bits, delay_bits)


def _chip_memory(chip, n_cores, encoding):
    """(word_bits, weight_bits, delay_bits, available bits) of `n_cores` cores, checked."""
    chip = load_chip(chip)
    memory, topology = chip.memory, chip.topology
    if memory is None or not topology.synaptic_memory_bits or not chip.weight_bits:
        raise CapacityError(
            f"the {chip.name} chip sets no synaptic-memory size (synaptic_memory_bits = "
            f"{topology.synaptic_memory_bits}, weight_bits = {chip.weight_bits}"
            f"{', no [memory] table' if memory is None else ''}): its synapses are not limited "
            f"by an encoded memory. Give the budget as a number of connections instead")
    if encoding not in memory["encodings"]:
        raise CapacityError(f"encoding '{encoding}' is not offered by the {chip.name} chip; it "
                            f"offers {', '.join(memory['encodings'])}")
    if encoding == "functional":
        raise CapacityError("encoding 'functional' stores structured connectivity (one-to-one, "
                            "all-to-all, kernels) as a generator, not a sparse table: it has no "
                            "capacity in synapses. Choose csr, csc, bitmap, delta or dense")
    if isinstance(n_cores, bool) or int(n_cores) != n_cores or not \
            1 <= n_cores <= topology.n_cores:
        raise CapacityError(f"n_cores must be a whole number from 1 to the {chip.name} chip's "
                            f"{topology.n_cores} cores, got {n_cores!r}")
    return (int(memory["word_bits"]), chip.weight_bits, int(chip.synapses.get("delay_bits", 0)),
            int(n_cores) * topology.synaptic_memory_bits)


def _checked(projections):
    projections = [tuple(p) for p in projections]
    bad = [p for p in projections if len(p) != 2 or any(
        isinstance(v, bool) or int(v) != v or v < 1 for v in p)]
    if not projections or bad:
        raise CapacityError(f"projections must be a non-empty list of (n_pre, n_post) pairs "
                            f"of whole numbers >= 1; got {bad or projections}")
    return [(int(a), int(b)) for a, b in projections]


def table_bits(n_pre, n_post, n_synapses, encoding, word_bits, weight_bits, delay_bits):
    """Bits of one projection's table of `n_synapses` evenly spaced synapses."""
    table = evenly_spaced_table(n_pre, n_post, n_synapses, weight_bits, delay_bits)
    return encodings.encode(table, encoding, word_bits, layout=False).size_bits


def memory_bits(chip, projections, encoding, synapses):
    """Bits of synaptic memory that `synapses` (one count per projection) need on
    `chip` under `encoding`, projections given as [(n_pre, n_post), ...]."""
    word_bits, weight_bits, delay_bits, _ = _chip_memory(chip, 1, encoding)
    projections = _checked(projections)
    return sum(table_bits(a, b, int(n), encoding, word_bits, weight_bits, delay_bits)
               for (a, b), n in zip(projections, synapses))


def synapse_capacity(chip, n_cores, projections, encoding):
    """The largest total number of synapses of `projections` [(n_pre, n_post), ...],
    shared by :func:`share`, whose tables under `encoding` fit the synaptic memory of
    `n_cores` cores of `chip` (a chip name, TOML path or ChipModel): a
    :class:`Capacity`. Sizes grow with the number of synapses, so a bisection finds the
    boundary: that total fits and one more synapse does not (or every synapse fits)."""
    word_bits, weight_bits, delay_bits, available = _chip_memory(chip, n_cores, encoding)
    projections = _checked(projections)
    possible = sum(a * b for a, b in projections)

    def need(total):
        return sum(table_bits(a, b, int(n), encoding, word_bits, weight_bits, delay_bits)
                   for (a, b), n in zip(projections, share(total, projections)))

    if need(possible) <= available:
        low = possible
    elif need(0) > available:
        low = 0
    else:
        low, high = 0, possible            # need(low) fits, need(high) does not
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if need(middle) <= available else (low, middle)
    return Capacity(int(low), tuple(int(n) for n in share(low, projections)), int(need(low)),
                    available, possible, encoding)
