"""Figures of a hardware report and of recorded spikes (matplotlib, no pyplot).

Every function returns a :class:`matplotlib.figure.Figure` (or None when the report
lacks the data); :func:`png_bytes` and :func:`save_png` turn one into a PNG. No
figure goes through pyplot, so nothing depends on a display or on the user's
matplotlib backend.
"""

import io

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 100
#: mesh heat maps print the value in every cell up to this many cells
ANNOTATE_CELLS = 64
#: bar charts of energy per population / projection show the largest this many
MAX_BARS = 20


def png_bytes(figure):
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def save_png(figure, path):
    """Write the figure to `path` as PNG; return the path."""
    figure.savefig(path, format="png", dpi=DPI)
    return path


def si_scale(values, unit="J"):
    """(factor, unit with SI prefix) that shows `values` with 1 to 3 digits before
    the point, e.g. (1e6, "µJ") for 4e-6 J."""
    magnitude = np.max(np.abs(values)) if np.size(values) else 0.0
    for factor, prefix in ((1.0, ""), (1e3, "m"), (1e6, "µ"), (1e9, "n"), (1e12, "p")):
        if magnitude * factor >= 1.0:
            return factor, prefix + unit
    return 1e15, "f" + unit


# --------------------------------------------------------------- hardware report
MESH_QUANTITIES = (
    ("neurons", "neurons", "neurons_per_core"),
    ("synapses", "synapses", None),
    ("memory_bits", "synaptic memory (KiB)", "synaptic_memory_bits"),
    ("input_axons", "input axons", "input_axons"),
)


def mesh_grid(per_core, key):
    """A (height, width) array of `key` of each core at its mesh position (x, y);
    NaN where no core is used."""
    x = np.array([c["x"] for c in per_core], dtype=int)
    y = np.array([c["y"] for c in per_core], dtype=int)
    grid = np.full((y.max() + 1, x.max() + 1), np.nan)
    grid[y, x] = [c[key] for c in per_core]
    return grid


def mesh_heatmap(report):
    """Neurons, synapses, synaptic memory and input axons of every used core, drawn
    at the core's place on the mesh (one panel each; grey: unused). Titles give the
    per-core limit of the chip. None when the report lists no core."""
    per_core = report.get("cores", {}).get("per_core") or []
    if not per_core:
        return None
    limits = report["cores"].get("limits", {})
    figure = Figure(layout="constrained", figsize=(12, 3.4))
    axes = figure.subplots(1, len(MESH_QUANTITIES))
    for ax, (key, title, limit_key) in zip(axes, MESH_QUANTITIES):
        grid = mesh_grid(per_core, key)
        limit = limits.get(limit_key) if limit_key else None
        if key == "memory_bits":
            grid = grid / 8192.0
            limit = limit / 8192.0 if limit else None
        shown = np.ma.masked_invalid(grid)
        cmap = _colormap()
        image = ax.imshow(shown, cmap=cmap, origin="lower", vmin=0,
                          vmax=limit if limit else None, interpolation="nearest")
        figure.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(f"{title}\nper core (limit {_limit_text(limit)})", fontsize=9)
        ax.set_xlabel("mesh x")
        ax.set_ylabel("mesh y")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if grid.size <= ANNOTATE_CELLS:
            for (row, col), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    ax.text(col, row, _short(value), ha="center", va="center", fontsize=7,
                            color="white" if limit and value > 0.6 * limit else "black")
    figure.suptitle(f"Resources per core on the mesh: {len(per_core)} core(s) used "
                    f"of {report['cores'].get('available', '?')}", fontsize=10)
    return figure


def _short(value):
    """A number in at most about five characters: 1024, 25k, 0.68."""
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    if value == int(value):
        return str(int(value))
    return f"{value:.3g}"


def _colormap():
    from matplotlib import colormaps
    cmap = colormaps["YlOrRd"].copy()
    cmap.set_bad("#dddddd")
    return cmap


def _limit_text(limit):
    if not limit:
        return "none"
    return f"{limit:.4g}"


def memory_by_encoding(report):
    """Synaptic memory (KiB) of each projection under each encoding the mapper
    considered; the chosen encoding is drawn outlined and labelled. None when no
    projection of the report has a ``memory`` entry."""
    projections = [p for p in report.get("projections", []) if p.get("memory")]
    if not projections:
        return None
    encodings = sorted({name for p in projections
                        for name in (p["memory"].get("alternatives") or {p["memory"]["encoding"]: 0})}
                       | {p["memory"]["encoding"] for p in projections})
    figure = Figure(layout="constrained",
                    figsize=(9, 1.5 + 0.25 * len(projections) * len(encodings)))
    ax = figure.subplots()
    height = 0.8 / len(encodings)
    colours = {name: _palette(k) for k, name in enumerate(encodings)}
    for row, projection in enumerate(projections):
        memory = projection["memory"]
        bits = dict(memory.get("alternatives") or {})
        bits.setdefault(memory["encoding"], memory["bits"])
        for k, name in enumerate(encodings):
            if name not in bits:
                continue
            chosen = name == memory["encoding"]
            position = row + (k - (len(encodings) - 1) / 2) * height
            kib = bits[name] / 8192.0
            ax.barh(position, kib, height=height * 0.9, color=colours[name],
                    alpha=1.0 if chosen else 0.45, edgecolor="black" if chosen else "none",
                    linewidth=1.2)
            ax.text(kib, position, f" {kib:.3g}", va="center", fontsize=7,
                    fontweight="bold" if chosen else "normal")
    ax.set_yticks(range(len(projections)))
    ax.set_yticklabels([f"{p['label']}\n(chosen: {p['memory']['encoding']})"
                        for p in projections], fontsize=8)
    ax.invert_yaxis()
    ax.margins(x=0.12)
    ax.set_xlabel("synaptic memory (KiB)")
    handles = [_patch(colours[name], name) for name in encodings]
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_title("Memory per projection by encoding (outlined: the encoding used)", fontsize=10)
    return figure


def energy_breakdown(report):
    """Energy by category, by population and by projection (bars). None when the
    report has no ``energy`` entry."""
    energy = report.get("energy")
    if not energy:
        return None
    groups = [("by category", energy.get("by_category") or {}),
              ("by population", energy.get("populations") or {}),
              ("by projection", energy.get("projections") or {})]
    groups = [(title, values) for title, values in groups if values]
    if not groups:
        return None
    everything = np.concatenate([np.fromiter(v.values(), dtype=float) for _, v in groups])
    factor, unit = si_scale(everything)
    figure = Figure(layout="constrained", figsize=(4 * len(groups), 3.6))
    axes = np.atleast_1d(figure.subplots(1, len(groups)))
    for k, (ax, (title, values)) in enumerate(zip(axes, groups)):
        items = sorted(values.items(), key=lambda item: -item[1])[:MAX_BARS]
        names = [name for name, _ in items]
        ax.barh(range(len(items)), [factor * value for _, value in items], color=_palette(k))
        ax.set_yticks(range(len(items)))
        ax.set_yticklabels(names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(f"energy ({unit})")
        ax.set_title(title, fontsize=9)
    total = energy.get("total_j")
    power = energy.get("per_second_w")
    summary = []
    if total is not None:
        total_factor, total_unit = si_scale([total])
        summary.append(f"total {total * total_factor:.3g} {total_unit}")
    if power is not None:
        power_factor, power_unit = si_scale([power], "W")
        summary.append(f"{power * power_factor:.3g} {power_unit}")
    figure.suptitle("Energy" + (": " + ", ".join(summary) if summary else ""), fontsize=10)
    return figure


def _palette(k):
    from matplotlib import colormaps
    return colormaps["tab10"](k % 10)


def _patch(colour, label):
    from matplotlib.patches import Patch
    return Patch(facecolor=colour, label=label)


# ------------------------------------------------------------------------ spikes
def rasters(columns, title=None):
    """Raster plots: one row per population, one column per simulation.

    `columns` is a dict ``{simulation name: [PopulationSpikes, ...]}``; populations
    are matched by label, in the order of the first column. None without spikes.
    """
    names = list(columns)
    labels = _labels(columns)
    if not labels:
        return None
    figure = Figure(layout="constrained", figsize=(4.2 * len(names), 1.0 + 2.0 * len(labels)))
    axes = np.array(figure.subplots(len(labels), len(names), squeeze=False))
    for col, name in enumerate(names):
        by_label = {p.label: p for p in columns[name]}
        for row, label in enumerate(labels):
            ax = axes[row, col]
            spikes = by_label.get(label)
            if spikes is None:
                ax.text(0.5, 0.5, "not recorded", ha="center", va="center",
                        transform=ax.transAxes)
            else:
                ax.plot(spikes.times, spikes.neuron, ".", markersize=1.5, color="black",
                        rasterized=True)
                ax.set_xlim(spikes.t_start, spikes.t_stop)
                ax.set_ylim(-0.5, spikes.size - 0.5)
            if row == 0:
                ax.set_title(name, fontsize=10)
            if col == 0:
                ax.set_ylabel(f"{label}\nneuron", fontsize=8)
            if row == len(labels) - 1:
                ax.set_xlabel("time (ms)")
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def rate_histograms(columns, title=None):
    """Distribution of the firing rates (Hz) of the recorded neurons of each
    population, one histogram per simulation (overlaid, same bins). None without
    spikes."""
    from .spiketrains import spike_counts
    labels = _labels(columns)
    if not labels:
        return None
    figure = Figure(layout="constrained", figsize=(4.2 * len(labels), 3.2))
    axes = np.atleast_1d(figure.subplots(1, len(labels)))
    for ax, label in zip(axes, labels):
        rates = {}
        for name, populations in columns.items():
            for p in populations:
                if p.label == label and p.duration_ms > 0:
                    counts = spike_counts(p.neuron, p.size)[p.recorded]
                    rates[name] = 1000.0 * counts / p.duration_ms
        top = max((r.max() for r in rates.values() if r.size), default=1.0)
        bins = np.linspace(0.0, max(top, 1e-9) * 1.0001, 31)
        for k, (name, values) in enumerate(rates.items()):
            ax.hist(values, bins=bins, histtype="step", linewidth=1.5, color=_palette(k),
                    label=f"{name} (mean {values.mean():.3g} Hz)")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("firing rate (Hz)")
        ax.set_ylabel("neurons")
        ax.legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def _labels(columns):
    labels = []
    for populations in columns.values():
        for p in populations:
            if p.label not in labels:
                labels.append(p.label)
    return labels
