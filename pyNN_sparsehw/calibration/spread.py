"""What calibration does to the circuits: the spread of each parameter before and after.

The values are what every circuit of the chip realises (``get(..., hardware=True)``
on a population filling the chip, trial-to-trial noise off: the frozen part), with
every trim at its middle code (before) and at the calibrated codes (after). The
input gains are the circuit's gain times the mean gain of the synapse rows the
calibration drove, the quantity it calibrates.
"""

import numpy as np

from ..chip.mismatch import frozen_deviation
from .result import CalibrationResult
from .routines import DEFAULT_TARGETS, SynapticGains

#: (PyNN name, unit) of the parameters shown, in calibration order
SHOWN = (("v_rest", "mV"), ("v_reset", "mV"), ("tau_m", "ms"), ("cm", "nF"),
         ("i_offset", "nA"), ("v_thresh", "mV"), ("tau_refrac", "ms"), ("tau_syn_E", "ms"),
         ("tau_syn_I", "ms"), ("gain_exc", "1"), ("gain_inh", "1"))


def realised_parameters(chip, chip_seed, codes=None, targets=None):
    """{PyNN name: value of every circuit (in circuit order)} at the `targets` with
    trim `codes` (None: all at the middle code), without trial-to-trial noise."""
    import pyNN_sparsehw as sim

    targets = {**DEFAULT_TARGETS, **(targets or {})}
    trims = CalibrationResult.empty(chip, chip_seed)
    trims.codes = dict(codes or {})
    sim.setup(chip=chip, chip_seed=chip_seed, calibration=trims, trial_noise=False)
    topology = chip.topology
    size = topology.n_cores * topology.neurons_per_core
    cells = sim.Population(size, sim.IF_curr_exp(**targets))
    names = [name for name, _ in SHOWN]
    values = dict(zip(names, (np.broadcast_to(v, (size,)).astype(float)
                              for v in cells.get(names, hardware=True, simplify=False))))
    mapped = sim.simulator.state.mapping().populations[cells.grandparent_description.index]
    for name, rows in zip(("gain_exc", "gain_inh"), SynapticGains.rows_used(chip)):
        values[name] = values[name] * column_gain(chip, chip_seed, mapped.cores,
                                                  mapped.circuits, rows)
    return values


def column_gain(chip, chip_seed, cores, circuits, rows):
    """Mean frozen gain of synapse rows `rows` in the columns of the given circuits."""
    sigma = float(chip.synapses.get("gain_mismatch", 0.0))
    if sigma == 0 or len(rows) == 0:
        return np.ones(len(cores))
    npc = chip.topology.neurons_per_core
    depth = chip.topology.fan_in or max(rows) + 1
    total = np.zeros(len(cores))
    for row in rows:   # one row of every column at a time: vectorized over circuits
        total += frozen_deviation(chip_seed, cores, row * npc + np.asarray(circuits),
                                  "synapse_gain", sigma, npc * depth, relative=True)
    return total / len(rows)


def spread_table(before, after, usable):
    """Rows (name, unit, before (mean, sd, cv), after (mean, sd, cv)); after over the
    usable circuits only (the others are not used by placement)."""
    rows = []
    for name, unit in SHOWN:
        stats = []
        for values in (before[name], after[name][usable]):
            mean, sd = float(np.mean(values)), float(np.std(values))
            stats.append((mean, sd, sd / abs(mean) if mean else float("nan")))
        rows.append((name, unit, stats[0], stats[1]))
    return rows


def format_table(rows, failed, total):
    lines = [f"{'parameter':<11} {'unit':<4} {'before: mean':>13} {'sigma':>9} {'CV':>7}   "
             f"{'after: mean':>12} {'sigma':>9} {'CV':>7}   {'sigma ratio':>11}"]
    for name, unit, (m0, s0, c0), (m1, s1, c1) in rows:
        ratio = s0 / s1 if s1 > 0 else float("inf")
        lines.append(f"{name:<11} {unit:<4} {m0:13.4g} {s0:9.3g} {c0:7.2%}   {m1:12.4g} "
                     f"{s1:9.3g} {c1:7.2%}   {ratio:11.1f}")
    lines.append(f"failed circuits: {failed} of {total} (not used by placement; 'after' "
                 f"statistics over the {total - failed} usable ones). Frozen part only: "
                 f"trial-to-trial noise is not calibrated away. cm is refined end to end "
                 f"(firing_rate): its spread after is what compensates the rest of the rate "
                 f"error at the reference input.")
    return "\n".join(lines)


def plot_spread(before, after, usable, title, path):
    """Histograms before (grey) and after (colour) of every parameter, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 4
    rows = -(-len(SHOWN) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows))
    for ax, (name, unit) in zip(axes.flat, SHOWN):
        first, last = before[name], after[name][usable]
        low, high = np.percentile(first, [0.5, 99.5])
        low, high = min(low, last.min()), max(high, last.max())
        bins = np.linspace(low, high, 60) if high > low else 10
        ax.hist(first, bins=bins, color="0.7", label=f"before, sd {np.std(first):.3g}")
        ax.hist(last, bins=bins, color="tab:blue", alpha=0.8,
                label=f"after, sd {np.std(last):.3g}")
        ax.set_xlabel(f"{name} ({unit})")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(SHOWN):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
