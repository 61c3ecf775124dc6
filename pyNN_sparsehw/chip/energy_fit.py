"""Fitting an energy profile to published per-pass energies of memory organisations.

The published figures (e.g. Schaefer et al. 2020, ISCAS: synthesized energies of a
700 -> 400 -> 250 network's fully connected layers, per weight width, for a dense
crossbar, PB-BMP and PB-CSR) give the energy of a forward pass (every row read once)
and of a backward pass (every column read once) over a layer. Our encodings give, for
the same layer, the memory words each pass reads and the memory size. The model::

    E_pass = sum_enc e_word[enc, pass] * words_pass * (memory_bits / 1e5) ** alpha
             + e_syn[pass] * synapses processed + e_out[pass] * n_out + e_in[pass] * n_in

has one word energy per encoding and pass, a synaptic-operation energy (a crossbar
processes every cell, the sparse encodings their synapses), per-neuron terms for the
layer's logic, and a shared size exponent `alpha` (SRAM access energy grows with the
memory's size). Coefficients are fitted by non-negative least squares in joules,
alpha by the smallest RMS error over a grid. Least squares in joules rather than on
relative errors: the published comparisons are of total energies, which the large
layer dominates (on relative errors the fit trades the large layer's accuracy for the
small one's). Pure numpy / scipy.
"""

import csv
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from . import encodings

#: the published names of the memory organisations -> our encodings
STRUCTURES = {"Crossbar": "dense", "PB-BMP": "bitmap", "PB-CSR": "csr"}
FIT_ENCODINGS = ("dense", "bitmap", "csr")
REFERENCE_BITS = 1e5
PASSES = ("forward", "backward")


@dataclass(frozen=True)
class LayerPass:
    """One published row: a layer (n_in -> n_out) with `density` non-zero weights of
    `weight_bits` bits, stored in `encoding`, and its energies per pass (J)."""
    encoding: str
    weight_bits: int
    n_in: int
    n_out: int
    density: float
    forward: float
    backward: float


def read_published(path, input_sizes):
    """LayerPass rows of a CSV in Schaefer et al.'s format; `input_sizes` maps the
    "Out Length" of each layer to its number of inputs (e.g. {400: 700, 250: 400})."""
    rows = []
    with open(path, newline="") as fh:
        for raw in csv.DictReader(fh):
            row = {key.strip(): value.strip() for key, value in raw.items()}
            n_out = int(row["Out Length"])
            rows.append(LayerPass(STRUCTURES[row["Data Structure"]],
                                  int(float(row["Weight Bits"])), input_sizes[n_out], n_out,
                                  float(row["Sparsity"]), float(row["Forward Energy"]),
                                  float(row["Backward Energy"])))
    return rows


def layer_table(n_in, n_out, density, weight_bits, seed=0):
    """A random layer with round(density * n_in * n_out) synapses, weights non-zero."""
    rng = np.random.default_rng(seed)
    count = int(round(density * n_in * n_out))
    cells = rng.choice(n_in * n_out, size=count, replace=False)
    weights = rng.integers(1, 2 ** weight_bits, size=count)
    return encodings.SynapseTable(cells // n_out, cells % n_out, weights,
                                  np.zeros(count, dtype=np.int64), n_in, n_out,
                                  weight_bits, 0)


def pass_counts(layer, word_bits=64, seed=0):
    """Words read by a forward and a backward pass over the layer, synapses processed
    and memory bits, from the real encoding of a random layer of its shape."""
    table = layer_table(layer.n_in, layer.n_out, layer.density, layer.weight_bits, seed)
    encoded = encodings.encode(table, layer.encoding, word_bits, layout=False)
    processed = layer.n_in * layer.n_out if layer.encoding == "dense" else table.size
    return dict(forward=float(encoded.forward_words.sum()),
                backward=float(encoded.backward_words.sum()),
                processed=float(processed), memory_bits=float(encoded.size_bits))


def _features(layer, counts, direction, alpha):
    words = np.zeros(len(FIT_ENCODINGS))
    words[FIT_ENCODINGS.index(layer.encoding)] = counts[direction] * \
        (counts["memory_bits"] / REFERENCE_BITS) ** alpha
    return np.concatenate([words, [counts["processed"], layer.n_out, layer.n_in]])


@dataclass
class PassEnergyFit:
    """The fitted model: `coefficients[pass]` (J per word for each of FIT_ENCODINGS,
    per synapse processed, per output, per input), `alpha`, the RMS error in joules
    over both passes, and the relative residual (model / published - 1) of each row
    and pass."""
    alpha: float
    coefficients: dict
    word_bits: int
    seed: int
    rms_joules: float
    residuals: dict

    def predict(self, layer, direction):
        """Energy (J) of one pass over `layer` (a LayerPass; its energies unused)."""
        counts = pass_counts(layer, self.word_bits, self.seed)
        return float(_features(layer, counts, direction, self.alpha) @
                     self.coefficients[direction])

    def total(self, layers):
        """Energy (J) of forward plus backward passes over several layers."""
        return sum(self.predict(layer, direction) for layer in layers for direction in PASSES)

    def rms_residual(self, direction):
        """RMS relative residual of one pass over the rows."""
        return float(np.sqrt(np.mean(np.square(self.residuals[direction]))))


def fit_pass_energies(layers, alphas=np.arange(0.0, 1.01, 0.05), word_bits=64, seed=0):
    """Fit the model (module docstring) to published LayerPass rows."""
    counts = [pass_counts(layer, word_bits, seed) for layer in layers]
    best = None
    for alpha in alphas:
        coefficients, residuals, squared = {}, {}, []
        for direction in PASSES:
            X = np.array([_features(layer, c, direction, alpha)
                          for layer, c in zip(layers, counts)])
            y = np.array([getattr(layer, direction) for layer in layers])
            coefficients[direction], _ = nnls(X, y)
            predicted = X @ coefficients[direction]
            residuals[direction] = predicted / y - 1.0
            squared.append(np.square(predicted - y))
        rms = float(np.sqrt(np.mean(np.concatenate(squared))))
        if best is None or rms < best.rms_joules:
            best = PassEnergyFit(float(alpha), coefficients, word_bits, seed, rms, residuals)
    return best
