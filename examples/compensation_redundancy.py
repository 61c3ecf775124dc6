"""Compensation by architecture: redundancy and population coding against mismatch.

A value x in [0, 1] is represented by the firing rate of a population of N identical
LIF neurons driven by the current I = 1 + x nA, and read out from the population's
mean rate. On a chip with mismatch each neuron's tuning curve differs; averaging over
N neurons shrinks the random part of the error as 1/sqrt(N) but not the systematic
part (the mean tuning curve of mismatched neurons is not the ideal one). Two remedies
are compared:

- a decoder fitted to the chip: the mean tuning curve of other neurons of the same
  chip (half of them, in another trial), used to decode the populations made of the
  other half;
- calibration: the same with the calibrated chip.

Every population size comes from one simulation per chip and trial: 11 values x 384
neurons; per value, 256 neurons fit the chip's decoder and the other 128 are split
into disjoint populations of N. The squared error is split into a random part that
averages out and a systematic part that does not: err(N)**2 = s**2 / N + b**2.

Prints the RMS error of the decoded value against N and writes
``results/compensation/redundancy.png``.

    python examples/compensation_redundancy.py [--seeds 3] [--tstop 300] [--out DIR]
"""

import argparse
import os
import sys
import time

import numpy as np

VALUES = np.linspace(0.0, 1.0, 11)
NEURONS_PER_VALUE = 384
FIT = 256                                      # neurons per value fitting the decoder
SIZES = 2 ** np.arange(8)                      # 1 .. 128 neurons per population
I_ZERO, I_SPAN = 1.0, 1.0                      # nA: x = 0 and x = 1 -> 36 .. 106 Hz


def tuning(sim, chip, seed, calibration, tstop, trials):
    """Firing rate (Hz) of every neuron, (trials, values, neurons per value)."""
    sim.setup(timestep=0.1, chip=chip, chip_seed=seed, calibration=calibration, rng_seed=3)
    currents = np.repeat(I_ZERO + I_SPAN * VALUES, NEURONS_PER_VALUE)
    cells = sim.Population(currents.size, sim.IF_cond_exp(i_offset=currents))
    cells.record("spikes")
    rates = []
    for trial in range(trials):
        if trial:
            sim.reset()                          # a new trial: new trial-to-trial noise
        sim.run(tstop)
        trains = cells.get_data(clear=True).segments[-1].spiketrains
        rates.append([1000.0 * (len(t) - 1) / float(t[-1] - t[0]) if len(t) > 1 else 0.0
                      for t in trains])
    return np.asarray(rates).reshape(trials, VALUES.size, NEURONS_PER_VALUE)


def decode(rates, curve):
    """Values whose (monotonic) tuning `curve` (rate at VALUES) gives `rates`."""
    return np.interp(rates, curve, VALUES)


def errors(test, curve):
    """RMS decoding error for each population size: the test neurons of every value
    split into disjoint populations of N, each decoded from its mean rate."""
    result = []
    for n in SIZES:
        groups = test[:, : (test.shape[1] // n) * n].reshape(VALUES.size, -1, n)
        decoded = decode(groups.mean(axis=2), curve)
        result.append(np.sqrt(np.mean((decoded - VALUES[:, None]) ** 2)))
    return np.array(result)


def random_and_systematic(error, smallest=4):
    """(s, b) of err(N)**2 = s**2 / N + b**2, least squares of the relative error over
    the populations of at least `smallest` neurons (a single neuron's decoded value is
    bounded by the decoder's range, which the model does not describe)."""
    use = SIZES >= smallest
    design = np.stack([1.0 / SIZES[use], np.ones(use.sum())], axis=1) / error[use, None] ** 2
    (s2, b2), *_ = np.linalg.lstsq(design, np.ones(use.sum()), rcond=None)
    return np.sqrt(max(s2, 0.0)), np.sqrt(max(b2, 0.0))


def plot(table, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.6))
    styles = {"uncalibrated, ideal decoder": ("tab:red", "o-"),
              "uncalibrated, decoder fitted to the chip": ("tab:orange", "s--"),
              "calibrated, ideal decoder": ("tab:blue", "D-"),
              "calibrated, decoder fitted to the chip": ("tab:cyan", "^--")}
    for name, curves in table.items():
        colour, style = styles[name]
        curves = np.atleast_2d(curves)
        for k, curve in enumerate(curves):
            ax.plot(SIZES, curve, style, color=colour, alpha=0.9 if k == 0 else 0.35,
                    label=name if k == 0 else None)
    for name in ("uncalibrated, ideal decoder", "calibrated, ideal decoder"):
        first = np.atleast_2d(table[name])[:, 0].mean()
        ax.plot(SIZES, first / np.sqrt(SIZES), "k:",
                label="1/sqrt(N)" if name.startswith("un") else None)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("neurons per population N")
    ax.set_ylabel("RMS error of the decoded value (range 0..1)")
    ax.set_title("population coding on the analog chip (uncalibrated: 3 instances)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="analog chip instances 0..N-1")
    parser.add_argument("--tstop", type=float, default=300.0, help="ms per trial")
    parser.add_argument("--out", default=os.path.join("results", "compensation"))
    args = parser.parse_args(argv)

    import warnings
    import pyNN.sparsehw as sim
    warnings.filterwarnings("ignore", message=".*runs uncalibrated")   # on purpose

    start = time.perf_counter()
    ideal = tuning(sim, "ideal", 0, None, args.tstop, 1)[0].mean(axis=1)
    table = {name: [] for name in ("uncalibrated, ideal decoder",
                                   "uncalibrated, decoder fitted to the chip",
                                   "calibrated, ideal decoder",
                                   "calibrated, decoder fitted to the chip")}
    runs = [("uncalibrated", seed, None) for seed in range(args.seeds)]
    runs.append(("calibrated", 0, "auto"))      # chip 0, calibrated (cached after once)
    for state, seed, calibration in runs:
        first, second = tuning(sim, "analog", seed, calibration, args.tstop, 2)
        fitted, test = first[:, :FIT].mean(axis=1), second[:, FIT:]
        table[f"{state}, ideal decoder"].append(errors(test, ideal))
        table[f"{state}, decoder fitted to the chip"].append(errors(test, fitted))
    table = {name: np.array(rows) for name, rows in table.items()}

    print(f"RMS error of the decoded value (range 0..1) against population size N; "
          f"analog chips 0..{args.seeds - 1} uncalibrated (mean over chips), chip 0 calibrated")
    print(f"{'N':>4}" + "".join(f"{name:>28}" for name in (
        "uncal, ideal decoder", "uncal, fitted decoder", "cal, ideal decoder",
        "cal, fitted decoder")))
    for k, n in enumerate(SIZES):
        print(f"{n:>4}" + "".join(f"{rows[:, k].mean():28.4f}" for rows in table.values()))
    print("err(N)**2 = s**2/N + b**2: random part s (one neuron), systematic part b")
    for name, rows in table.items():
        s, b = random_and_systematic(rows.mean(axis=0))
        print(f"  {name:<42} s = {s:.4f}, b = {b:.4f}")
    uncal = table["uncalibrated, ideal decoder"].mean(axis=0)
    calibrated = table["calibrated, ideal decoder"].mean(axis=0)
    for goal in (0.05, 0.02):
        needed = [SIZES[np.argmax(curve <= goal)] if np.any(curve <= goal) else None
                  for curve in (uncal, calibrated)]
        print(f"  neurons needed for an error <= {goal}: uncalibrated "
              f"{needed[0] or f'more than {SIZES[-1]}'}, calibrated {needed[1]}")

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "redundancy.png")
    plot(table, path)
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
