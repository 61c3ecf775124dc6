"""A weight-shared convolutional layer as synapse tables.

One input channel of ``side x side`` neurons (row-major) feeds ``channels`` output
channels of the same size through a 3 x 3 kernel per channel (correlation, no
flipping). Each output channel is one block of synapses (``side**2 -> side**2``):
output neuron p receives input p + 8 dy + dx (for side 8) with the kernel weight of
(dy, dx). On the row-major index this is a kernel of index offsets, the structure
the functional encoding stores once and generates addresses from
(:mod:`pyNN_sparsehw.chip.encodings`); neighbours across a row's edge are the next
row's, as the generator makes them (the image's left and right edges touch), and
only the top and bottom edges are zero-padded. CSR, bitmap and the crossbar store
every one of the expanded synapses. Weights: ``bits``-bit signed codes (sign bit on
top), the magnitude by :func:`pyNN_sparsehw.chip.quantize.quantize_weights`; kernel
entries whose code is 0 have no synapses.
"""

import numpy as np

from ...chip import encodings
from ...chip.quantize import quantize_weights


def kernel_offsets(side):
    """(9,) index offsets ``dy * side + dx`` of a 3 x 3 kernel, dy and dx in -1..1,
    row-major over (dy, dx)."""
    dy, dx = np.meshgrid(np.arange(-1, 2), np.arange(-1, 2), indexing="ij")
    return (dy * side + dx).ravel()


def channel_table(codes, side, bits):
    """The :class:`pyNN_sparsehw.chip.encodings.SynapseTable` of one output channel:
    `codes` (9,) signed weight codes of the kernel (0: no synapse)."""
    n = side * side
    pre, post, weight = [], [], []
    for offset, code in zip(kernel_offsets(side), np.asarray(codes)):
        if code == 0:
            continue
        outputs = np.arange(max(0, -offset), min(n, n - offset))
        pre.append(outputs + offset)
        post.append(outputs)
        weight.append(np.full(outputs.size, code))
    pre, post, weight = (np.concatenate(a) for a in (pre, post, weight))
    return encodings.SynapseTable(pre, post, weight, np.zeros(pre.size, np.int64), n, n,
                                  bits, 0)


def conv_layer(kernels, side, bits):
    """Quantize `kernels` (channels, 3, 3) (nA) to `bits`-bit signed codes; returns a
    table per output channel and the (side**2, channels * side**2) weight matrix
    (nA) the layer computes with (output channel c in columns c * side**2 ...)."""
    kernels = np.asarray(kernels, dtype=float).reshape(len(kernels), 9)
    q = quantize_weights(kernels, bits - 1)
    signed = q.codes + (kernels < 0) * (q.codes > 0) * 2 ** (bits - 1)
    tables = [channel_table(codes, side, bits) for codes in signed]
    n = side * side
    matrix = np.zeros((n, len(tables) * n))
    for c, table in enumerate(tables):
        magnitude = table.weight % 2 ** (bits - 1)
        sign = np.where(table.weight >= 2 ** (bits - 1), -1.0, 1.0)
        matrix[table.pre, c * n + table.post] = sign * magnitude * q.scale
    return tables, matrix


def digit_spikes(steps, max_rate_hz=100.0, dt=1.0, seed=0, image=0):
    """Poisson spikes (steps, 64) of an 8 x 8 digit of scikit-learn's bundled set,
    each pixel at ``max_rate_hz * intensity / 16``."""
    from sklearn.datasets import load_digits
    pixels = load_digits().images[image].ravel() / 16.0
    rng = np.random.default_rng(seed)
    return (rng.random((steps, pixels.size)) < pixels * max_rate_hz * dt / 1000.0).astype(float)
