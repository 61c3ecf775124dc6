"""The main job on the default chip: `make demo`.

Builds the Vogels-Abbott COBA network (4000 conductance-based LIF neurons, ~320k
synapses) with the PyNN API on pyNN.sparsehw, runs one second, prints the hardware
report and the network's statistics, and writes plots and the report to
``results/demo/``.

    python examples/demo.py [--n 4000] [--tstop 1000] [--chip analog] [--chip-seed 0]
                            [--out results/demo]

Without --chip the backend's default chip is used (``analog``, or the chip named by
the environment variable PYNN_SPARSEHW_CHIP).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vogels_abbott  # noqa: E402  (example module beside this file)


def plot_activity(exc_trains, inh_trains, tstop, path):
    """Raster of 200 cells and the population rate, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (raster, rate) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                       gridspec_kw={"height_ratios": [3, 1]})
    for k, train in enumerate(exc_trains[:160]):
        raster.plot(train, np.full(train.size, k), "|", color="tab:blue", markersize=2)
    for k, train in enumerate(inh_trains[:40]):
        raster.plot(train, np.full(train.size, 160 + k), "|", color="tab:red", markersize=2)
    raster.set_ylabel("cell (160 exc, 40 inh)")
    all_spikes = np.concatenate(exc_trains + inh_trains)
    bins = np.arange(0.0, tstop + 5.0, 5.0)
    counts, _ = np.histogram(all_spikes, bins)
    rate.plot(bins[:-1], counts / (len(exc_trains) + len(inh_trains)) / 0.005, color="k")
    rate.set_xlabel("time (ms)")
    rate.set_ylabel("rate (Hz)")
    fig.suptitle("Vogels-Abbott COBA on pyNN.sparsehw")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_chip(population, trains, tstop, report, path):
    """What the chip made of the excitatory cells: the effective membrane time
    constant and threshold of every circuit (target marked) and the firing rates."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, name, unit in zip(axes[:2], ("tau_m", "v_thresh"), ("ms", "mV")):
        realised = np.atleast_1d(population.get(name, hardware=True))
        target = population.get(name)
        ax.hist(np.broadcast_to(realised, (population.size,)), bins=40, color="tab:gray")
        ax.axvline(target, color="tab:red", label=f"target {target:g} {unit}")
        ax.set_xlabel(f"effective {name} ({unit})")
        ax.legend(fontsize=8)
    rates = np.array([train.size for train in trains]) / (tstop / 1000.0)
    axes[2].hist(rates, bins=40, color="tab:blue")
    axes[2].set_xlabel("firing rate (Hz)")
    axes[0].set_ylabel("cells")
    chip = report.chip
    fig.suptitle(f"excitatory cells on chip '{chip['name']}' (seed {chip['seed']}), "
                 f"{report.cores['used']} core(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--chip", default=None, help="chip model (default: the backend's)")
    parser.add_argument("--chip-seed", type=int, default=0, help="chip instance")
    parser.add_argument("--out", default=os.path.join("results", "demo"))
    args = parser.parse_args(argv)

    import pyNN.sparsehw as sim

    start = time.perf_counter()
    network = vogels_abbott.build_network(sim, n=args.n, chip=args.chip,
                                          chip_seed=args.chip_seed)
    built = time.perf_counter()
    sim.run(args.tstop)
    ran = time.perf_counter()

    exc_trains = vogels_abbott._spike_trains(network["exc"])
    inh_trains = vogels_abbott._spike_trains(network["inh"])
    stats = vogels_abbott.spike_statistics(exc_trains + inh_trains, args.tstop)
    report = sim.hardware_report()

    os.makedirs(args.out, exist_ok=True)
    report.to_json(os.path.join(args.out, "hardware_report.json"))
    plot_path = os.path.join(args.out, "activity.png")
    plot_activity(exc_trains, inh_trains, args.tstop, plot_path)
    chip_path = os.path.join(args.out, "chip.png")
    plot_chip(network["exc"], exc_trains, args.tstop, report, chip_path)

    print(report)
    print()
    print(f"network: {args.n} cells, {network['n_synapses']} synapses; "
          f"build {built - start:.2f} s, run {ran - built:.2f} s")
    print(f"activity: mean rate {stats['rate_hz']:.2f} Hz, "
          f"mean ISI CV {stats['cv_isi']:.3f}")
    print(f"wrote {plot_path}, {chip_path} and "
          f"{os.path.join(args.out, 'hardware_report.json')}")
    sim.end()
    return 0


if __name__ == "__main__":
    sys.exit(main())
