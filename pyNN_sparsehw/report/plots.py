"""Figures of a hardware report and of recorded spikes (matplotlib, no pyplot).

Every function returns a :class:`matplotlib.figure.Figure` (or None when the report
lacks the data); :func:`png_bytes` and :func:`save_png` turn one into a PNG. No
figure goes through pyplot, so nothing depends on a display or on the user's
matplotlib backend.
"""

import io

import numpy as np
from matplotlib.figure import Figure

DPI = 100
#: mesh heat maps print the value in every cell up to this many cells
ANNOTATE_CELLS = 64
#: bar charts of energy per population / projection show the largest this many
MAX_BARS = 20
#: raster plots show the spikes of at most this many neurons per population
MAX_RASTER_NEURONS = 200


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
    height, width = mesh_grid(per_core, "neurons").shape
    if width > 2 * height:            # a strip of cores: one panel above the other
        shape, size = (4, 1), (min(12.0, 3.0 + 0.8 * width), 4 * (1.6 + 0.5 * height))
    elif height > 2 * width:          # a column of cores: panels side by side
        shape, size = (1, 4), (4 * (2.2 + 0.5 * width), min(10.0, 2.0 + 0.6 * height))
    else:
        shape, size = (2, 2), (10.0, 8.0)
    figure = Figure(layout="constrained", figsize=size)
    axes = figure.subplots(*shape).ravel()
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
        ax.set_title(f"{title}\nper core" + (f" (limit {limit:.4g})" if limit else ""),
                     fontsize=9)
        ax.set_xlabel("mesh x")
        ax.set_ylabel("mesh y")
        ax.set_xticks(_integer_ticks(width))
        ax.set_yticks(_integer_ticks(height))
        if grid.size <= ANNOTATE_CELLS:
            top = limit or np.nanmax(grid) or 1.0
            for (row, col), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    ax.text(col, row, _short(value), ha="center", va="center", fontsize=7,
                            color="white" if value > 0.6 * top else "black")
    figure.suptitle(f"Resources per core on the mesh: {len(per_core)} core(s) used "
                    f"of {report['cores'].get('available', '?')}", fontsize=10)
    return figure


def _integer_ticks(n):
    """At most about ten whole-number ticks over 0..n-1."""
    return np.arange(0, n, max(1, int(np.ceil(n / 10))))


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


def memory_by_encoding(report):
    """Synaptic memory (KiB) of each projection under each encoding the mapper
    considered; the chosen encoding is drawn outlined and labelled. None when no
    projection of the report has a ``memory`` entry."""
    projections = [p for p in report.get("projections", []) if p.get("memory")]
    if not projections:
        return None
    encodings = sorted({name for p in projections for name in p["memory"].get("alternatives")
                        or {}} | {p["memory"]["encoding"] for p in projections})
    figure = Figure(layout="constrained",
                    figsize=(9, 1.5 + 0.25 * len(projections) * len(encodings)))
    ax = figure.subplots()
    height = 0.8 / len(encodings)
    colours = {name: _palette(k) for k, name in enumerate(encodings)}
    for row, projection in enumerate(projections):
        memory = projection["memory"]
        bits = {name: value for name, value in (memory.get("alternatives") or {}).items()
                if value is not None}       # None: the encoding cannot hold it
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
    """Raster plots: one row per population, one column per simulation; at most
    :data:`MAX_RASTER_NEURONS` neurons (the first recorded) per population.

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
                shown = spikes.recorded[:MAX_RASTER_NEURONS]
                keep = np.isin(spikes.neuron, shown)
                ax.plot(spikes.times[keep], spikes.neuron[keep], ".", markersize=1.5,
                        color="black", rasterized=True)
                ax.set_xlim(spikes.t_start, spikes.t_stop)
                ax.set_ylim(shown.min() - 0.5 if shown.size else -0.5,
                            shown.max() + 0.5 if shown.size else 0.5)
            if row == 0:
                ax.set_title(name, fontsize=10)
            if col == 0:
                recorded = spikes.recorded.size if spikes is not None else 0
                subset = f" (first {MAX_RASTER_NEURONS} of {recorded})" \
                    if recorded > MAX_RASTER_NEURONS else ""
                ax.set_ylabel(f"{label}\nneuron{subset}", fontsize=8)
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


# ------------------------------------------------------------------ distributions
def value_histograms(groups, label, unit=None, title=None, bins=20):
    """Histogram of one quantity across instances, one step outline per group
    (overlaid, same bins), each with its mean in the legend.

    `groups` maps a group name (e.g. "uncalibrated", "calibrated") to the values,
    one per instance, in `unit` ("J" and "W" get an SI prefix). None when no group
    has a value.
    """
    groups = {name: np.asarray(values, dtype=float) for name, values in groups.items()
              if np.size(values)}
    if not groups:
        return None
    every = np.concatenate(list(groups.values()))
    factor = 1.0
    if unit in ("J", "W"):
        factor, unit = si_scale(every, unit)
    groups = {name: values * factor for name, values in groups.items()}
    every = every * factor
    low, high = float(every.min()), float(every.max())
    if high <= low:
        low, high = low - 0.5 * (abs(low) or 1.0), high + 0.5 * (abs(high) or 1.0)
    edges = np.linspace(low, high, bins + 1)
    figure = Figure(layout="constrained", figsize=(5.6, 3.0))
    ax = figure.subplots()
    for k, (name, values) in enumerate(groups.items()):
        ax.hist(values, bins=edges, histtype="step", linewidth=1.6, color=_palette(k),
                label=f"{name} (n={values.size}, mean {values.mean():.4g})")
    ax.set_xlabel(f"{label} ({unit})" if unit else label)
    ax.set_ylabel("instances")
    ax.yaxis.set_major_locator(_integer_locator())
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return figure


def _integer_locator():
    from matplotlib.ticker import MaxNLocator
    return MaxNLocator(integer=True)
