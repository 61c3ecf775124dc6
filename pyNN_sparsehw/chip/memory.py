"""Synaptic memory of a projection on the chip: blocks per core, encoding choice.

A projection's synapses are stored where their targets are: the synapses onto the
neurons of one core form a *block* (rows: every presynaptic neuron; columns: the
projection's target neurons on that core), encoded on its own (:mod:`.encodings`).

The encoding of a projection (the same for all its blocks) is chosen among those the
chip offers and that can hold every block, by the chip's objective:

``energy``
    least memory-read energy per second at the expected activity: each presynaptic
    neuron spikes at `expected_rate_hz` and reads its row; for plastic projections
    each postsynaptic neuron also reads its column and every synapse is updated at
    each spike of either neuron;
``memory``
    fewest bits.

A choice must fit: the first candidate, in the objective's order, whose blocks fit the
memory left on their cores is taken. Pure numpy.
"""

from dataclasses import dataclass, field

import numpy as np

from . import encodings
from .placement import ChipResourceError

OBJECTIVES = ("energy", "memory")


@dataclass
class Block:
    """The synapses of a projection onto the neurons of one core.

    `table` holds local indices (rows: presynaptic index, columns: rank of the target
    among the projection's targets on this core); `targets` are those targets' indices
    in the postsynaptic population, `synapses` the indices of the block's synapses in
    the projection's arrays."""
    core: int
    table: encodings.SynapseTable
    targets: np.ndarray
    synapses: np.ndarray


@dataclass
class ProjectionMemory:
    """How a projection is stored: the chosen `encoding`, its encoded `blocks` (list of
    (Block, Encoded) pairs), and the cost of every encoding the chip offers:
    `alternatives` maps name -> {"bits", "energy_per_s"} (None where it cannot hold the
    projection, with the reason in `unavailable`)."""
    encoding: str
    blocks: list
    alternatives: dict = field(default_factory=dict)
    unavailable: dict = field(default_factory=dict)

    @property
    def size_bits(self):
        return sum(encoded.size_bits for _, encoded in self.blocks)

    def bits_per_core(self):
        """{core: bits}."""
        out = {}
        for block, encoded in self.blocks:
            out[block.core] = out.get(block.core, 0) + encoded.size_bits
        return out

    def words_per_spike(self):
        """Mean memory words read per presynaptic spike (over rows with synapses)."""
        words, rows = 0.0, 0
        for block, encoded in self.blocks:
            used = np.bincount(block.table.pre, minlength=block.table.n_pre) > 0
            words += float(encoded.forward_words[used].sum())
            rows += int(used.sum())
        return words / rows if rows else 0.0


def split_blocks(pre_index, post_index, post_cores, post_circuits, n_pre, weight_codes,
                 delay_codes, weight_bits, delay_bits):
    """The projection's synapses split into one :class:`Block` per target core.

    `post_cores`/`post_circuits`: core and circuit of each synapse's target."""
    pre_index = np.asarray(pre_index, dtype=np.int64)
    post_index = np.asarray(post_index, dtype=np.int64)
    blocks = []
    order = np.argsort(post_cores, kind="stable")
    cores = post_cores[order]
    bounds = np.flatnonzero(np.diff(cores)) + 1
    for synapses in np.split(order, bounds):
        if synapses.size == 0:
            continue
        targets, local = np.unique(post_index[synapses], return_inverse=True)
        table = encodings.SynapseTable(pre_index[synapses], local, weight_codes[synapses],
                                       delay_codes[synapses], n_pre, targets.size,
                                       weight_bits, delay_bits)
        blocks.append(Block(int(post_cores[synapses[0]]), table, targets, synapses))
    return blocks


def memory_size(encoded, core_bits):
    """Bits of the memory an encoded block sits in: the core's synaptic memory when the
    chip fixes it, else the block itself."""
    return core_bits if np.isfinite(core_bits) else encoded.size_bits


def expected_read_energy(profile, blocks_encoded, rate_hz, plastic, core_bits):
    """J per second of memory reads (and writes) at `rate_hz` for every neuron."""
    total = 0.0
    for block, encoded in blocks_encoded:
        word = profile.word_energy(encoded.encoding, memory_size(encoded, core_bits))
        used = np.bincount(block.table.pre, minlength=block.table.n_pre) > 0
        words = float(encoded.forward_words[used].sum())
        if plastic:
            words += float(encoded.backward_words.sum())
            words += 2.0 * float(encoded.update_words.sum()) * profile.write_factor
        total += rate_hz * words * word
    return total


def choose(blocks, label, allowed, objective, profile, rate_hz, plastic, free_bits,
           word_bits, core_bits, forced=None, chip_name="chip"):
    """Encode `blocks` with the best allowed encoding that fits (module docstring).

    `free_bits`: synaptic memory left per core (array indexed by core; inf = no limit);
    `core_bits`: synaptic memory of one core (inf = not fixed).
    `forced`: the user's encoding for this projection. Raises ChipResourceError when
    nothing fits, naming the projection, the core and the sizes."""
    if objective not in OBJECTIVES:
        raise ValueError(f"memory objective must be one of {OBJECTIVES}, got {objective!r}")
    candidates = [forced] if forced else list(allowed)
    if forced and forced not in allowed:
        raise ValueError(f"projection '{label}': encoding '{forced}' is not available on the "
                         f"{chip_name} chip; it offers {', '.join(allowed)}")
    encoded, alternatives, unavailable = {}, {}, {}
    reasons = [encodings.applicable(b.table) for b in blocks]
    for name in candidates:
        reason = next((r[name] for r in reasons if r[name] is not None), None)
        if reason is not None:
            unavailable[name] = reason
            alternatives[name] = None
            continue
        pairs = [(b, encodings.encode(b.table, name, word_bits, layout=False, reasons=r))
                 for b, r in zip(blocks, reasons)]
        encoded[name] = pairs
        alternatives[name] = dict(
            bits=sum(e.size_bits for _, e in pairs),
            energy_per_s=expected_read_energy(profile, pairs, rate_hz, plastic, core_bits)
            if profile is not None else None)
    if forced and forced in unavailable:
        raise ValueError(f"projection '{label}': encoding '{forced}' cannot hold it: "
                         f"{unavailable[forced]}")
    key = "bits" if objective == "memory" or profile is None else "energy_per_s"
    ranked = sorted(encoded, key=lambda name: (alternatives[name][key],
                                               alternatives[name]["bits"]))
    for name in ranked:
        need = _bits_per_core(encoded[name], free_bits.size)
        if np.all(need <= free_bits):
            return ProjectionMemory(name, encoded[name], alternatives, unavailable)
    smallest = min(encoded, key=lambda name: alternatives[name]["bits"])
    need = _bits_per_core(encoded[smallest], free_bits.size)
    core = int(np.argmax(need - free_bits))
    raise ChipResourceError(
        f"projection '{label}' needs {need[core] / 8192:.1f} KiB of synaptic memory on core "
        f"{core} even with its smallest encoding ({smallest}); the core has "
        f"{free_bits[core] / 8192:.1f} KiB left on the {chip_name} chip. Use sparser "
        f"connectivity or smaller populations, or a chip model with more synaptic memory "
        f"per core.")


def _bits_per_core(pairs, n_cores):
    need = np.zeros(n_cores)
    for block, encoded in pairs:
        need[block.core] += encoded.size_bits
    return need
