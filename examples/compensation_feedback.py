"""Compensation by an auxiliary component: inhibitory feedback stabilises a recurrent
excitatory network against the mismatch of an uncalibrated analog chip.

The same excitatory network (200 LIF neurons, recurrent excitation p = 0.1, Poisson
background) runs on the ideal chip and on several instances (chip seeds) of the
uncalibrated analog chip, in three variants:

A. excitation only, weak background: the network is bistable. On the ideal chip it
   stays almost silent; on the analog chips the most excitable circuits decide
   whether it ignites and runs away (tens to hundreds of Hz) or dies out.
B. excitation only, the stronger background that C needs: it runs away everywhere.
C. B plus an inhibitory population driven by the excitatory one (E -> I -> E): the
   negative feedback holds the rate near its design value on every chip.

Prints the excitatory rate per chip and variant, and writes
``results/compensation/feedback.png``.

    python examples/compensation_feedback.py [--seeds 8] [--tstop 600] [--out DIR]
"""

import argparse
import os
import sys
import time

import numpy as np

CELL = dict(tau_m=20.0, cm=1.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, tau_refrac=2.0,
            tau_syn_E=5.0, tau_syn_I=5.0)
N_EXC, N_INH, N_BACKGROUND = 200, 50, 100
W_EE, W_EI, W_IE = 0.2, 0.5, -0.2              # nA
VARIANTS = {  # name: (background weight in nA, with inhibitory feedback)
    "A: excitation only, weak background": (0.185, False),
    "B: excitation only, strong background": (0.4, False),
    "C: B + inhibitory feedback": (0.4, True),
}
TRANSIENT = 200.0                               # ms left out of the rates
RUNAWAY = 30.0           # Hz: the recurrent loop ignited (3x the ~10 Hz design rate)
SILENT = 5.0             # Hz: the recurrent activity died out, background drive only


def excitatory_rate(sim, chip, seed, background_weight, feedback, tstop):
    """Mean rate (Hz) of the excitatory population after the transient, and its
    population rate in 10 ms bins."""
    sim.setup(timestep=0.1, chip=chip, chip_seed=seed, calibration=None, rng_seed=1)
    rng = sim.NumpyRNG(7)                       # the same connectivity on every chip
    exc = sim.Population(N_EXC, sim.IF_curr_exp(**CELL), label="exc")
    background = sim.Population(N_BACKGROUND, sim.SpikeSourcePoisson(rate=20.0))
    sim.Projection(background, exc, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=background_weight, delay=1.0),
                   receptor_type="excitatory")
    sim.Projection(exc, exc, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=W_EE, delay=1.0), receptor_type="excitatory")
    if feedback:
        inh = sim.Population(N_INH, sim.IF_curr_exp(**CELL), label="inh")
        sim.Projection(exc, inh, sim.FixedProbabilityConnector(0.2, rng=rng),
                       sim.StaticSynapse(weight=W_EI, delay=1.0), receptor_type="excitatory")
        sim.Projection(inh, exc, sim.FixedProbabilityConnector(0.4, rng=rng),
                       sim.StaticSynapse(weight=W_IE, delay=1.0), receptor_type="inhibitory")
    exc.record("spikes")
    sim.run(tstop)
    times = np.concatenate([np.asarray(st.magnitude)
                            for st in exc.get_data().segments[0].spiketrains])
    rate = np.count_nonzero(times > TRANSIENT) / N_EXC / ((tstop - TRANSIENT) / 1000.0)
    counts, _ = np.histogram(times, np.arange(0.0, tstop + 10.0, 10.0))
    return rate, counts / N_EXC / 0.010


def plot(chips, rates, traces, tstop, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8),
                                      gridspec_kw={"width_ratios": [1.2, 1]})
    colours = dict(zip(rates, ("tab:blue", "tab:orange", "tab:green")))
    x = np.arange(len(chips))
    for (name, values), marker in zip(rates.items(), ("o", "s", "D")):
        left.plot(x, np.maximum(values, 0.05), marker, ms=7, color=colours[name], label=name)
    left.axhspan(RUNAWAY, 400, color="tab:red", alpha=0.08)
    left.axhspan(0.04, SILENT, color="0.5", alpha=0.12)
    left.text(len(chips) - 0.6, RUNAWAY * 1.2, "runs away", ha="right", color="tab:red")
    left.text(len(chips) - 0.6, 0.06, "dies out", ha="right", color="0.3")
    left.set_yscale("log")
    left.set_ylim(0.04, 400)
    left.set_xticks(x, chips, rotation=30)
    left.set_ylabel("excitatory rate (Hz)")
    left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    left.set_title("the same network on each chip (uncalibrated)")
    bins = np.arange(0.0, tstop, 10.0)
    for label, trace in traces.items():
        colour = colours[next(name for name in rates if name[0] == label[0])]
        right.plot(bins, trace, ":" if "silent" in label else "-", color=colour, label=label)
    right.set_xlabel("time (ms)")
    right.set_ylabel("population rate (Hz)")
    right.set_yscale("symlog", linthresh=1.0)
    right.legend(fontsize=8)
    right.set_title("population rate over time")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8, help="analog chip instances 0..N-1")
    parser.add_argument("--tstop", type=float, default=600.0, help="ms")
    parser.add_argument("--out", default=os.path.join("results", "compensation"))
    args = parser.parse_args(argv)

    import warnings
    import pyNN.sparsehw as sim
    warnings.filterwarnings("ignore", message=".*runs uncalibrated")   # on purpose

    start = time.perf_counter()
    chips = [("ideal", 0)] + [("analog", seed) for seed in range(args.seeds)]
    labels = ["ideal"] + [f"analog {seed}" for seed in range(args.seeds)]
    rates = {name: np.zeros(len(chips)) for name in VARIANTS}
    traces = {}
    for k, (chip, seed) in enumerate(chips):
        for name, (weight, feedback) in VARIANTS.items():
            rates[name][k], trace = excitatory_rate(sim, chip, seed, weight, feedback,
                                                    args.tstop)
            # time courses to plot: the first chip on which A runs away, the first on
            # which it stays silent, and C on analog chip 0
            if chip == "analog" and name.startswith("A"):
                kind = "runs away" if rates[name][k] > RUNAWAY else "stays silent"
                if not any(kind in key for key in traces):
                    traces[f"A {kind}: analog {seed}"] = trace
            if chip == "analog" and name.startswith("C") and seed == 0:
                traces[f"C: analog {seed}"] = trace

    print(f"excitatory rate (Hz) after {TRANSIENT:g} ms, {N_EXC} LIF neurons, "
          f"uncalibrated analog chips")
    print(f"{'chip':<11}" + "".join(f"{name[:2]:>8}" for name in VARIANTS))
    for k, label in enumerate(labels):
        print(f"{label:<11}" + "".join(f"{rates[name][k]:8.1f}" for name in VARIANTS))
    analog = slice(1, None)
    for name, values in rates.items():
        a = values[analog]
        print(f"{name}: analog chips {a.min():.1f} .. {a.max():.1f} Hz; "
              f"{np.count_nonzero(a > RUNAWAY)} run away (> {RUNAWAY:g} Hz), "
              f"{np.count_nonzero(a < SILENT)} die out (< {SILENT:g} Hz); ideal "
              f"{values[0]:.1f} Hz")
    c = rates["C: B + inhibitory feedback"]
    print(f"with feedback every analog chip is within "
          f"{100 * np.max(np.abs(c[analog] / c[0] - 1)):.0f} % of the ideal chip's "
          f"{c[0]:.1f} Hz (spread across chips: CV {np.std(c[analog]) / np.mean(c[analog]):.1%})")

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "feedback.png")
    plot(labels, rates, traces, args.tstop, path)
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
