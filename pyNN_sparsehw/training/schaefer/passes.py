"""What a forward pass, a backward pass and a weight update read and compute, per
memory organisation, and what it costs on a chip.

Counts over one layer held by an :class:`pyNN_sparsehw.chip.encodings.Encoded` layout
(its word counts are the encoding's closed forms):

forward
    every presynaptic spike reads its row (``forward_words``) and delivers one
    synaptic operation per cell it reaches: every cell of the row for the dense
    crossbar (it accumulates all columns), the row's synapses for the others; every
    neuron is updated in every step.
backward (BPTT through the transposed weights)
    in every step the errors of the postsynaptic neurons that have one (their
    pseudo-derivative is non-zero) are sent back through the transposed weights:
    the memory reads either the column of each such neuron (``backward_words``) or,
    when that costs more words, every row once (``forward_words`` summed: a
    crossbar reads all its rows, each holding a cell of every column); each synapse
    of an erring neuron does one operation (the error sent back and the weight
    gradient accumulated); every neuron's error state is updated in every step.
update
    once per pass the accumulated gradient is applied: the stored weights are
    streamed, read and written back, word by word (a crossbar row is one word).

Energies use the categories of :mod:`pyNN_sparsehw.chip.energy`: memory reads and
writes (J per word, scaled by the memory's size), synaptic events, neuron updates.
Pure numpy.
"""

from dataclasses import dataclass

import numpy as np

from ...chip import encodings
from ...chip.encodings import words_spanned

#: segments holding weight values, written back by an update
VALUE_SEGMENTS = ("cells", "entries", "values", "kernel")


@dataclass(frozen=True)
class PassCounts:
    """Events of one pass over one layer: memory words read and written, synaptic
    operations, neuron (or error-state) updates."""
    reads: float = 0.0
    writes: float = 0.0
    synaptic_ops: float = 0.0
    neuron_updates: float = 0.0

    def __add__(self, other):
        return PassCounts(self.reads + other.reads, self.writes + other.writes,
                          self.synaptic_ops + other.synaptic_ops,
                          self.neuron_updates + other.neuron_updates)


def _cells_per_row(encoded, table):
    if encoded.encoding == "dense":
        return np.full(table.n_pre, table.n_post, dtype=float)
    return np.bincount(table.pre, minlength=table.n_pre).astype(float)


def _cells_per_column(encoded, table):
    if encoded.encoding == "dense":
        return np.full(table.n_post, table.n_pre, dtype=float)
    return np.bincount(table.post, minlength=table.n_post).astype(float)


def forward_counts(encoded, table, pre_spikes):
    """Counts of a forward pass; `pre_spikes`: (steps, n_pre) spike counts."""
    per_pre = np.asarray(pre_spikes, dtype=float).sum(axis=0)
    return PassCounts(reads=float(per_pre @ encoded.forward_words),
                      synaptic_ops=float(per_pre @ _cells_per_row(encoded, table)),
                      neuron_updates=float(np.shape(pre_spikes)[0] * table.n_post))


def backward_counts(encoded, table, error_support):
    """Counts of a backward pass; `error_support`: (steps, n_post) 0/1, the steps in
    which each postsynaptic neuron has an error. Per step the cheaper of the column
    reads and a sweep of all rows is counted."""
    support = np.asarray(error_support, dtype=float)
    by_column = support @ encoded.backward_words
    sweep = float(np.sum(encoded.forward_words))
    reads = np.where(support.any(axis=1), np.minimum(by_column, sweep), 0.0)
    per_post = support.sum(axis=0)
    return PassCounts(reads=float(reads.sum()),
                      synaptic_ops=float(per_post @ _cells_per_column(encoded, table)),
                      neuron_updates=float(np.shape(error_support)[0] * table.n_post))


def update_counts(encoded, table):
    """Counts of one weight update: every word of the layout but the header read,
    every word holding weights written (a dense crossbar: every row, read and
    written)."""
    if encoded.encoding == "dense":
        return PassCounts(reads=float(table.n_pre), writes=float(table.n_pre))
    words = {name: int(words_spanned(0, encoded.segment_bits(name), encoded.word_bits))
             for name in encoded.segments if name != "header"}
    return PassCounts(reads=float(sum(words.values())),
                      writes=float(sum(n for name, n in words.items() if name in VALUE_SEGMENTS)))


def energy(profile, encoded, counts):
    """{category: J} of `counts` over a layer held by `encoded`, on a chip's
    :class:`pyNN_sparsehw.chip.energy.EnergyProfile`."""
    word = profile.word_energy(encoded.encoding, encoded.size_bits)
    return {"memory_reads": counts.reads * word,
            "memory_writes": counts.writes * word * profile.write_factor,
            "synaptic_events": counts.synaptic_ops * profile.synaptic_event,
            "neuron_updates": counts.neuron_updates * profile.neuron_update}


def layer_energies(profile, table, encoding, pre_spikes, error_support, word_bits=64):
    """Memory bits and {pass: {category: J}} ("forward", "backward", "update") of a
    layer (`table`) held in `encoding`, driven by `pre_spikes` (steps, n_pre) and
    erring as `error_support` (steps, n_post)."""
    encoded = encodings.encode(table, encoding, word_bits, layout=False)
    counts = {"forward": forward_counts(encoded, table, pre_spikes),
              "backward": backward_counts(encoded, table, error_support),
              "update": update_counts(encoded, table)}
    return encoded.size_bits, {name: energy(profile, encoded, c) for name, c in counts.items()}
