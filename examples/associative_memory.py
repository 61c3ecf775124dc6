"""Spatially arranged sparse associative memory (after Tanaka et al. 2020, IEEE TNNLS
31(1)) on pyNN.sparsehw: `make associative-memory`.

Reproduces the shape of the paper's results on a grid of neurons and writes them as
figures (PNG) and numbers (JSON) to --out:

1. capacity.png: storage capacity and cost-performance ratio against connectivity
   (connections per neuron) for modular networks, modular networks with long-range
   links (added, and rewired at an equal connection count), trained with the
   perceptron-type rule, and optimised networks (the sparsity linear program);
2. tradeoff.png: wiring cost against recall performance of the optimised networks as
   the distance exponent gamma varies;
3. image.png: restoration of small gray-scale images (made in code, stored as bit
   planes) from corrupted cues, by the rate-free model and by the spiking network on
   the digital chip;
4. chip.png: recall as spiking networks on the ideal, digital and analog chips
   (uncalibrated) against the rate-free model, and the chip's hop cost after placement.

    python examples/associative_memory.py [--out results/associative_memory] [--quick]

--quick shrinks every part (a smoke test of the script, not the paper's shape).
Capacity: the largest number of random ±1 patterns, scanned upwards, before the first
at which recall from cues with 10 % flipped units (synchronous sign dynamics) ends
below a mean overlap of 0.95.
"""

import argparse
import json
import logging
import os
import sys
import time

import numpy as np

from pyNN_sparsehw.associative_memory import (capacity, chip_wiring_cost, corrupt, cost_performance,
                                  distances, full_wiring_length, grid_positions,
                                  mean_recall_overlap, modular, modular_long_range, overlap,
                                  perceptron, random_patterns, recall, recalls,
                                  sparsest_weights, spiking_recall, wiring_length)
from pyNN_sparsehw.associative_memory.images import (SHAPES, add_noise, from_bit_planes, gray_image,
                                         to_bit_planes)

FLIP = 0.10          # fraction of flipped units in a recall cue
THRESHOLD = 0.95     # mean overlap a recall must reach
KAPPA = 0.5          # perceptron margin


class Setting:
    """Sizes of every part; --quick shrinks them."""

    def __init__(self, quick):
        self.side = 8 if quick else 16
        self.module = 4
        self.max_patterns = 24 if quick else 64
        self.added_links = (4, 8) if quick else (4, 8, 16, 32)
        self.rewired_links = (8,) if quick else (4, 8, 12)
        self.large_module = None if quick else 8
        self.optimised_counts = (4, 8) if quick else (4, 8, 12, 16, 20, 24, 32, 40)
        self.optimised_gammas = (0.0, 1.0) if quick else (0.0, 0.5, 1.0)
        self.tradeoff_count = 8 if quick else 16
        self.tradeoff_gammas = (0.0, 1.0) if quick else (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
        self.image_shapes = SHAPES[:2] if quick else SHAPES
        self.image_bits = 3
        self.chip_side = 8 if quick else 10
        self.chip_patterns = 4 if quick else 16
        self.chip_flips = (0.10,) if quick else (0.10, 0.20)
        self.analog_seeds = (0,) if quick else (0, 1, 2)
        self.hop_side = 32
        self.hop_gammas = () if quick else (0.5,)
        self.seed = 2020


# ----------------------------------------------------------------- part 1
def capacity_versus_connectivity(setting):
    """Capacity, wiring and cost-performance of every network family."""
    positions = grid_positions(setting.side)
    distance = distances(positions)
    n = positions.shape[1]
    full_length = full_wiring_length(distance)
    full_count = n * (n - 1)
    patterns = random_patterns(setting.max_patterns, n, setting.seed)
    criterion = recalls(FLIP, THRESHOLD, setting.seed, trials=2)
    counts = range(1, setting.max_patterns + 1)

    def entry(family, label, mask, found):
        length = wiring_length(mask, distance)
        connections = int(np.count_nonzero(mask))
        return dict(family=family, label=label, connections_per_neuron=connections / n,
                    capacity=found, wiring_length=length,
                    cost_performance_length=cost_performance(found, n, length, full_length),
                    cost_performance_count=cost_performance(found, n, connections, full_count))

    def trained(mask):
        return capacity(lambda p: perceptron(p, mask, kappa=KAPPA).weights, patterns,
                        criterion, counts).capacity

    rows = []
    sides = [s for s in (2, setting.module, setting.large_module) if s]
    for side in sides:
        mask = modular(positions, side)
        rows.append(entry("modular", f"modules {side}x{side}", mask, trained(mask)))
    for links in setting.added_links:
        mask = modular_long_range(positions, setting.module, links, setting.seed)
        rows.append(entry("modular + long-range", f"{setting.module}x{setting.module} + {links}",
                          mask, trained(mask)))
    rewired = [(setting.module, k) for k in setting.rewired_links]
    if setting.large_module:
        rewired += [(setting.large_module, 16), (setting.large_module, 32)]
    for side, links in rewired:
        mask = modular_long_range(positions, side, links, setting.seed, replace=True)
        rows.append(entry("rewired (equal count)", f"{side}x{side}, {links} rewired", mask,
                          trained(mask)))
    for gamma in setting.optimised_gammas:
        for count in setting.optimised_counts:
            embedding = sparsest_weights(patterns[:count], distance, gamma)
            passed, value = criterion(embedding.weights, patterns[:count])
            row = entry(f"optimised, gamma={gamma:g}", f"P={count}", embedding.connections,
                        count if passed else 0)
            row.update(gamma=gamma, patterns=count, recall_overlap=value, stores=bool(passed))
            rows.append(row)
    return rows


# ----------------------------------------------------------------- part 2
def tradeoff(setting):
    """Wiring cost and recall of the optimised network for one pattern set, per gamma."""
    positions = grid_positions(setting.side)
    distance = distances(positions)
    n = positions.shape[1]
    patterns = random_patterns(setting.tradeoff_count, n, setting.seed + 1)
    rows = []
    for gamma in setting.tradeoff_gammas:
        embedding = sparsest_weights(patterns, distance, gamma)
        rows.append(dict(
            gamma=gamma, wiring_length=wiring_length(embedding.connections, distance),
            connections_per_neuron=float(np.count_nonzero(embedding.weights)) / n,
            recall_overlap={f"{f:g}": mean_recall_overlap(embedding.weights, patterns, f,
                                                          setting.seed, trials=4)
                            for f in (0.05, 0.10, 0.20)}))
    return rows


# ----------------------------------------------------------------- part 3
def image_restoration(setting):
    """Store the bit planes of gray-scale images (robust embedding: each plane and
    corrupted copies of it must map onto the plane), recall them from noisy images."""
    side, bits = setting.side, setting.image_bits
    distance = distances(grid_positions(side))
    images = [gray_image(shape, side, bits) for shape in setting.image_shapes]
    planes = np.vstack([to_bit_planes(image, bits) for image in images])
    copies = 5
    targets = np.tile(planes, (copies + 1, 1))
    inputs = np.vstack([planes] + [corrupt(planes, FLIP, setting.seed + 10 + k)
                                   for k in range(copies)])
    embedding = sparsest_weights(targets, distance, gamma=0.5, inputs=inputs)
    noisy = [add_noise(image, 0.2, bits, setting.seed + 20 + k)
             for k, image in enumerate(images)]
    cues = np.vstack([to_bit_planes(image, bits) for image in noisy])
    rate_free = recall(embedding.weights, cues)
    spiking = spiking_recall(embedding.weights, planes, cues, chip="digital")
    results = dict(images=images, noisy=noisy, rate_free=[], digital=[])
    for k in range(len(images)):
        rows = slice(k * bits, (k + 1) * bits)
        results["rate_free"].append(from_bit_planes(rate_free[rows], side))
        results["digital"].append(from_bit_planes(spiking.states[rows], side))
    results["pixel_error"] = {
        name: float(np.mean([np.mean(restored != image) for restored, image
                             in zip(results[name], images)]))
        for name in ("noisy", "rate_free", "digital")}
    results["connections_per_neuron"] = float(np.count_nonzero(embedding.weights)) / side ** 2
    return results


# ----------------------------------------------------------------- part 4
def chip_recall(setting):
    """One optimised network recalled from the same cues by the rate-free model and
    as a spiking network on the ideal, digital and analog chips."""
    positions = grid_positions(setting.chip_side)
    distance = distances(positions)
    n = positions.shape[1]
    patterns = random_patterns(setting.chip_patterns, n, setting.seed + 3)
    weights = sparsest_weights(patterns, distance, gamma=0.0).weights
    rows = []
    for flip in setting.chip_flips:
        cues = corrupt(patterns, flip, setting.seed + 4)
        reference = recall(weights, cues)
        row = dict(flip=flip, cue=float(np.mean(overlap(cues, patterns))),
                   rate_free=float(np.mean(overlap(reference, patterns))))
        runs = [("ideal", 0, None, "ideal"), ("digital", 0, None, "digital")]
        for s in setting.analog_seeds:
            runs += [("analog", s, None, f"analog (seed {s}, uncalibrated)"),
                     ("analog", s, "auto", f"analog (seed {s}, calibrated)")]
        for chip, seed, calibration, key in runs:
            result = spiking_recall(weights, patterns, cues, chip=chip, chip_seed=seed,
                                    setup_kwargs=dict(calibration=calibration))
            row[key] = float(np.mean(overlap(result.states, patterns)))
            row[key + " agreement"] = float(np.mean(result.states == reference))
        rows.append(row)
    return rows


def chip_hops(setting):
    """Grid wiring length and the analog chip's hop cost after placement (two chips)
    for networks of hop_side**2 neurons."""
    positions = grid_positions(setting.hop_side)
    distance = distances(positions)
    n = positions.shape[1]
    patterns = random_patterns(16, n, setting.seed + 5)
    networks = [("modular 4x4", modular(positions, 4).astype(float)),
                ("4x4, 8 rewired", modular_long_range(positions, 4, 8, setting.seed,
                                                      replace=True).astype(float))]
    for gamma in setting.hop_gammas:
        networks.append((f"optimised gamma={gamma:g} (P=16)",
                         sparsest_weights(patterns, distance, gamma).weights))
    rows = []
    for label, weights in networks:
        hops = chip_wiring_cost(weights, chip="analog", setup_kwargs=dict(calibration=None))
        rows.append(dict(network=label, connections=int(np.count_nonzero(weights)),
                         wiring_length=wiring_length(weights, distance),
                         chip_hops=hops["total"], chips_used=hops["cores_used"]))
    return rows


# ----------------------------------------------------------------- figures
def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_capacity(rows, path):
    plt = _pyplot()
    from matplotlib import ticker
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    families = list(dict.fromkeys(r["family"] for r in rows))
    markers = dict(zip(families, "osD^v<>p"))
    keys = ("capacity", "cost_performance_length", "cost_performance_count")
    titles = ("storage capacity", "cost-performance (wiring length)",
              "cost-performance (connection count)")
    for ax, key, title in zip(axes, keys, titles):
        for family in families:
            chosen = [r for r in rows if r["family"] == family and r["capacity"] > 0]
            if not chosen:
                continue
            ax.plot([r["connections_per_neuron"] for r in chosen], [r[key] for r in chosen],
                    marker=markers[family], linestyle="-" if "optimised" in family else "",
                    label=family)
        ax.set_xscale("log")
        ax.set_xticks([3, 5, 10, 20, 50])
        ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("connections per neuron")
        ax.set_title(title)
    axes[0].set_ylabel("patterns (recall overlap >= 0.95 from 10 % flips)")
    axes[1].set_ylabel("(P_c / N) / (L / L_full)")
    axes[2].set_ylabel("(P_c / N) / (K / (N - 1))")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_tradeoff(rows, path):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.4))
    cost = [r["wiring_length"] for r in rows]
    for flip in ("0.05", "0.1", "0.2"):
        ax.plot(cost, [r["recall_overlap"][flip] for r in rows], "o-",
                label=f"cues with {float(flip):.0%} flipped")
    for r in rows:
        ax.annotate(f"γ={r['gamma']:g}", (r["wiring_length"], r["recall_overlap"]["0.1"]),
                    fontsize=7, textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel("wiring cost (summed connection length, grid units)")
    ax.set_ylabel("mean recall overlap")
    ax.set_title("optimised networks: cost-performance trade-off")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_images(results, bits, path):
    plt = _pyplot()
    rows = ("images", "noisy", "rate_free", "digital")
    names = ("original", "corrupted cue", "restored (rate-free)", "restored (digital chip)")
    count = len(results["images"])
    fig, axes = plt.subplots(len(rows), count, figsize=(2.2 * count, 8.8), squeeze=False)
    for r, (row, name) in enumerate(zip(rows, names)):
        for k in range(count):
            ax = axes[r][k]
            ax.imshow(results[row][k], cmap="gray", vmin=0, vmax=2 ** bits - 1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(name, fontsize=8)
    fig.suptitle(f"{bits}-bit images as bit planes; pixel error: noisy "
                 f"{results['pixel_error']['noisy']:.1%}, rate-free "
                 f"{results['pixel_error']['rate_free']:.1%}, digital "
                 f"{results['pixel_error']['digital']:.1%}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_chip(recall_rows, hop_rows, path):
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    keys = [k for k in recall_rows[0] if k not in ("flip", "cue") and "agreement" not in k]
    width = 0.8 / len(recall_rows)
    for i, row in enumerate(recall_rows):
        left.bar(np.arange(len(keys)) + i * width, [row[k] for k in keys], width,
                 label=f"cues with {row['flip']:.0%} flipped")
    left.set_xticks(np.arange(len(keys)) + width * (len(recall_rows) - 1) / 2)
    left.set_xticklabels(keys, rotation=20, fontsize=8)
    left.set_ylabel("mean recall overlap")
    left.set_title("recall: rate-free model vs spiking on the chips")
    left.legend(fontsize=8)
    x = np.arange(len(hop_rows))
    right.bar(x - 0.2, [r["wiring_length"] for r in hop_rows], 0.4, label="grid length")
    right.bar(x + 0.2, [r["chip_hops"] for r in hop_rows], 0.4, label="analog chip hops")
    right.set_xticks(x)
    right.set_xticklabels([r["network"] for r in hop_rows], rotation=15, fontsize=8)
    right.set_yscale("symlog")
    right.set_title("wiring: grid length and chip hop cost (N = 1024, 2 chips)")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- main
def _print_table(title, rows, keys):
    print(f"\n{title}")
    print("  ".join(f"{k:>14}" for k in keys))
    for row in rows:
        print("  ".join(f"{_cell(row.get(k)):>14}" for k in keys))


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join("results", "associative_memory"))
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args(argv)
    logging.getLogger("brian2").setLevel(logging.ERROR)
    setting = Setting(args.quick)
    os.makedirs(args.out, exist_ok=True)
    timings = {}

    start = time.perf_counter()
    capacity_rows = capacity_versus_connectivity(setting)
    timings["capacity"] = time.perf_counter() - start
    _print_table(f"1. capacity vs connectivity (N = {setting.side ** 2}, perceptron kappa = "
                 f"{KAPPA}; optimised: capacity = P if the network built for P recalls)",
                 capacity_rows, ["family", "label", "connections_per_neuron", "capacity",
                                 "wiring_length", "cost_performance_length",
                                 "cost_performance_count"])
    plot_capacity(capacity_rows, os.path.join(args.out, "capacity.png"))

    start = time.perf_counter()
    tradeoff_rows = tradeoff(setting)
    timings["tradeoff"] = time.perf_counter() - start
    _print_table(f"2. trade-off (optimised, P = {setting.tradeoff_count}, N = "
                 f"{setting.side ** 2}): recall overlap from 5 / 10 / 20 % flips",
                 [dict(r, **{f"m({k})": v for k, v in r["recall_overlap"].items()})
                  for r in tradeoff_rows],
                 ["gamma", "connections_per_neuron", "wiring_length", "m(0.05)", "m(0.1)",
                  "m(0.2)"])
    plot_tradeoff(tradeoff_rows, os.path.join(args.out, "tradeoff.png"))

    start = time.perf_counter()
    images = image_restoration(setting)
    timings["image"] = time.perf_counter() - start
    print(f"\n3. image restoration ({len(images['images'])} images, {setting.image_bits} bit "
          f"planes, {images['connections_per_neuron']:.1f} connections per neuron): pixel "
          f"error noisy {images['pixel_error']['noisy']:.3f}, rate-free "
          f"{images['pixel_error']['rate_free']:.3f}, digital chip "
          f"{images['pixel_error']['digital']:.3f}")
    plot_images(images, setting.image_bits, os.path.join(args.out, "image.png"))

    start = time.perf_counter()
    recall_rows = chip_recall(setting)
    hop_rows = chip_hops(setting)
    timings["chip"] = time.perf_counter() - start
    _print_table(f"4. recall on the chips (N = {setting.chip_side ** 2}, "
                 f"{setting.chip_patterns} patterns, optimised gamma = 0)",
                 recall_rows, list(recall_rows[0]))
    _print_table("   wiring on the analog chip (N = 1024 over 2 chips)", hop_rows,
                 ["network", "connections", "wiring_length", "chip_hops", "chips_used"])
    plot_chip(recall_rows, hop_rows, os.path.join(args.out, "chip.png"))

    summary = dict(capacity=capacity_rows, tradeoff=tradeoff_rows,
                   image={k: v for k, v in images.items()
                          if k in ("pixel_error", "connections_per_neuron")},
                   chip_recall=recall_rows, chip_hops=hop_rows,
                   timings_s=timings)
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    print("\ntimings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    print(f"wrote capacity.png, tradeoff.png, image.png, chip.png and results.json to "
          f"{args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
