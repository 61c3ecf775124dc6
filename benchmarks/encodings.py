"""Synaptic memory encodings: the information bound, throughput, the Schaefer et al. fit.

    python benchmarks/encodings.py bounds       # bits per encoding vs the information limit
    python benchmarks/encodings.py throughput   # encode + decode 10 million synapses
    python benchmarks/encodings.py schaefer     # energy fit to Schaefer et al. 2020 and residuals
    python benchmarks/encodings.py all

``make encodings`` runs all three.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import gammaln

from pyNN_sparsehw.chip import encodings as enc
from pyNN_sparsehw.chip import energy_fit

HERE = Path(__file__).resolve().parent
SCHAEFER_CSV = HERE.parent / "tests" / "data" / "schaefer2020_frontier.csv"
SCHAEFER_INPUTS = {400: 700, 250: 400}


def information_bound(n_cells, synapses, weight_bits):
    """log2 C(n_cells, synapses) + synapses * weight_bits (bits)."""
    return (gammaln(n_cells + 1) - gammaln(synapses + 1) - gammaln(n_cells - synapses + 1)) \
        / np.log(2) + synapses * weight_bits


def random_table(n_pre, n_post, count, weight_bits, seed):
    rng = np.random.default_rng(seed)
    cells = rng.choice(n_pre * n_post, count, replace=False)
    return enc.SynapseTable(cells // n_post, cells % n_post,
                            rng.integers(1, 2 ** weight_bits, count), np.zeros(count, int),
                            n_pre, n_post, weight_bits, 0)


def bounds(n=1000, weight_bits=8):
    print(f"random {n} x {n} projections, {weight_bits}-bit weights, no delays: "
          f"bits per synapse (size / synapses)")
    names = ("dense", "csr", "csc", "bitmap", "delta")
    print(f"{'density':>8} {'synapses':>9} {'bound':>7} " +
          " ".join(f"{name:>7}" for name in names) + f" {'best':>7} {'best/bound':>10}")
    worst = 0.0
    for density in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5):
        count = int(density * n * n)
        table = random_table(n, n, count, weight_bits, seed=7)
        sizes = {name: enc.encode(table, name, 64, layout=False).size_bits for name in names}
        bound = information_bound(n * n, count, weight_bits)
        best = min(sizes, key=sizes.get)
        ratio = sizes[best] / bound
        worst = max(worst, ratio)
        print(f"{density:>8} {count:>9} {bound / count:>7.2f} " +
              " ".join(f"{sizes[name] / count:>7.2f}" for name in names) +
              f" {best:>7} {ratio:>10.3f}")
    print(f"largest best/bound: {worst:.3f} (limit 1.5)")


def throughput(synapses=10_000_000, n=10_000):
    table = random_table(n, n, synapses, 8, seed=1)
    print(f"{synapses:,} synapses, {n} x {n}, 8-bit weights")
    for name in ("csr", "csc", "bitmap", "delta"):
        start = time.perf_counter()
        encoded = enc.encode(table, name, 64)
        encoded_at = time.perf_counter()
        back = enc.decode(encoded)
        decoded_at = time.perf_counter()
        assert back.equals(table)
        print(f"  {name:>7}: encode {encoded_at - start:5.2f} s, decode "
              f"{decoded_at - encoded_at:5.2f} s, total {decoded_at - start:5.2f} s "
              f"({encoded.size_bits / 8 / 2 ** 20:.1f} MiB)")


def schaefer():
    layers = energy_fit.read_published(SCHAEFER_CSV, SCHAEFER_INPUTS)
    fit = energy_fit.fit_pass_energies(layers)
    print(f"fit to {len(layers)} published rows (x 2 passes): alpha = {fit.alpha:.2f}, "
          f"RMS error {fit.rms_joules:.3g} J; relative residuals RMS forward "
          f"{fit.rms_residual('forward'):.1%}, backward {fit.rms_residual('backward'):.1%}")
    names = ("dense", "bitmap", "csr", "synapse op", "per output", "per input")
    for direction in energy_fit.PASSES:
        print(f"  {direction:>8}: " + ", ".join(
            f"{name} {value:.3g}" for name, value in zip(names, fit.coefficients[direction])))
    print("rows (model / published - 1):")
    print(f"  {'encoding':>8} {'bits':>4} {'out':>4} {'density':>7} {'forward':>8} {'backward':>8}")
    for k, layer in enumerate(layers):
        print(f"  {layer.encoding:>8} {layer.weight_bits:>4} {layer.n_out:>4} "
              f"{layer.density:>7.2f} {fit.residuals['forward'][k]:>+8.1%} "
              f"{fit.residuals['backward'][k]:>+8.1%}")
    dense5, bitmap2 = headline_layers(layers)
    published = sum(l.forward + l.backward for l in dense5) / \
        sum(l.forward + l.backward for l in bitmap2)
    model = fit.total(dense5) / fit.total(bitmap2)
    print(f"headline (dense 5-bit / PB-BMP 2-bit, both layers, forward + backward): "
          f"published {published:.3f}, model {model:.3f} ({model / published - 1:+.1%})")
    for bits, (model_order, published_order) in orderings(fit, layers).items():
        print(f"  {bits}-bit ordering: model {' < '.join(model_order)}; published "
              f"{' < '.join(published_order)}")


def headline_layers(layers):
    """The rows of Schaefer et al.'s headline: dense 5-bit at density 0.96 and PB-BMP
    2-bit at densities 0.64 (400 -> 250) and 0.65 (700 -> 400)."""
    dense5 = [l for l in layers if l.encoding == "dense" and l.weight_bits == 5
              and round(l.density, 2) == 0.96]
    bitmap2 = [l for l in layers if l.encoding == "bitmap" and l.weight_bits == 2 and
               round(l.density, 2) == {250: 0.64, 400: 0.65}[l.n_out]]
    return dense5, bitmap2


def orderings(fit, layers):
    """{weight bits: (model order, published order)} of the encodings by total energy
    (both layers, forward + backward, each at its median published density)."""
    out = {}
    for bits in sorted({l.weight_bits for l in layers}):
        model, published = {}, {}
        for name in energy_fit.FIT_ENCODINGS:
            chosen = []
            for n_out in sorted(SCHAEFER_INPUTS):
                rows = sorted((l for l in layers if l.encoding == name and
                               l.weight_bits == bits and l.n_out == n_out),
                              key=lambda l: l.density)
                chosen.append(rows[len(rows) // 2])
            model[name] = fit.total(chosen)
            published[name] = sum(l.forward + l.backward for l in chosen)
        out[bits] = (sorted(model, key=model.get), sorted(published, key=published.get))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["bounds", "throughput", "schaefer", "all"])
    args = parser.parse_args(argv)
    for name, job in (("bounds", bounds), ("throughput", throughput), ("schaefer", schaefer)):
        if args.what in (name, "all"):
            job()
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
