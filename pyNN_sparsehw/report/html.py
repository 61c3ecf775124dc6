"""A saved hardware report as one self-contained HTML page.

``sparsehw run`` writes ``hardware_report.json`` (``HardwareReport.as_dict()``) to
its results folder; :func:`write_html` turns it into ``report.html``: tables and
plots, the plots embedded as base64 PNG (``data:`` URLs), the style inline, no
script and no link to any other file, so the page can be mailed or archived alone.

Sections: chip and totals; resources per core (heat maps of the mesh, table);
populations; memory per projection by encoding; energy; quantization; mismatch;
activity (the folder's ``rasters.png``, when ``run`` wrote one). Entries that the
report does not have (``memory`` per projection, ``energy``) are shown as "not
available".
"""

import base64
import html
import json
import re
from pathlib import Path

from . import plots
from .hardware import percent

REPORT_FILE = "hardware_report.json"
HTML_FILE = "report.html"
#: the cores table lists at most this many cores (the heat map shows all)
MAX_CORE_ROWS = 64
NOT_AVAILABLE = "not available"

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #eee; }
figure { margin: 0.5em 0; } figcaption { font-size: 0.85em; color: #555; }
p.na { color: #777; font-style: italic; }
"""


def load_report(results):
    """The report dict from a results folder or a JSON file."""
    path = Path(results)
    if path.is_dir():
        path = path / REPORT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no hardware report at {path}: run `sparsehw run SCRIPT "
                                f"--out {Path(results)}` first")
    with open(path) as fh:
        return json.load(fh)


def write_html(results, output=None):
    """Render the report saved in `results` (folder or JSON file) to `output`
    (default: ``report.html`` beside the JSON). Returns the path written."""
    results = Path(results)
    report = load_report(results)
    folder = results if results.is_dir() else results.parent
    output = Path(output) if output else folder / HTML_FILE
    images = {}
    raster = folder / "rasters.png"
    if raster.is_file():
        images["Recorded spikes"] = raster.read_bytes()
    output.write_text(render_html(report, title=folder.resolve().name, activity=images),
                      encoding="utf-8")
    return output


def render_html(report, title="", activity=None):
    """The HTML page (a string) of a report dict. `activity` maps captions to PNG
    bytes shown in the activity section."""
    chip = report.get("chip", {})
    sections = [
        f"<h1>Hardware report{': ' + _e(title) if title else ''}</h1>",
        _summary(report),
        "<h2>Resources per core</h2>", _cores(report),
        "<h2>Populations</h2>", _populations(report),
        "<h2>Memory per projection by encoding</h2>", _memory(report),
        "<h2>Energy</h2>", _energy(report),
        "<h2>Quantization</h2>", _quantization(report),
        "<h2>Mismatch</h2>", _mismatch(report),
        "<h2>Activity</h2>", _activity(activity or {}),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Hardware report {_e(title)} ({_e(chip.get('name', ''))})</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections) +
            "\n</body></html>\n")


# ---------------------------------------------------------------- sections
def _summary(report):
    chip = report.get("chip", {})
    totals = report.get("totals", {})
    rows = [("chip", f"{chip.get('name')} ({chip.get('kind')}), seed {chip.get('seed')}"),
            ("model", f"{chip.get('source')} (hash {chip.get('hash')})"),
            ("simulated time", f"{_num(report.get('simulated_time_ms'))} ms"),
            ("neurons", _num(totals.get("neurons"))),
            ("synapses", _num(totals.get("synapses"))),
            ("cores used", f"{_num(totals.get('cores_used'))} of "
                           f"{_num(report.get('cores', {}).get('available'))}"),
            ("wiring cost", f"{_num(totals.get('wiring_cost'))} synapse-hops")]
    calibration = chip.get("calibration")
    if calibration is not None:
        rows.insert(2, ("calibration", (
            f"{calibration['usable_circuits']} of {calibration['circuits']} circuits usable, "
            f"{calibration['failed_circuits']} failed" if calibration.get("calibrated")
            else "uncalibrated (every trim at its middle code)")))
    energy = report.get("energy")
    if energy:
        rows.append(("energy", f"{_si(energy.get('total_j'), 'J')} "
                               f"({_si(energy.get('per_second_w'), 'W')})"))
    return _table(None, rows)


def _cores(report):
    cores = report.get("cores", {})
    limits = cores.get("limits", {})
    parts = [_figure(plots.mesh_heatmap(report),
                     "Neurons, synapses, synaptic memory and input axons of each used core, "
                     "at its place on the mesh (grey: unused).")]
    parts.append(_table(["limit per core", "value"], [
        ("neurons", _limit(limits.get("neurons_per_core"))),
        ("synaptic memory", _limit_kib(limits.get("synaptic_memory_bits"))),
        ("input axons", _limit(limits.get("input_axons"))),
        ("fan-in per neuron", _limit(limits.get("fan_in")))]))
    per_core = cores.get("per_core") or []
    rows = [(c["core"], c["chip"], f"({c['x']}, {c['y']})", c["neurons"], c["synapses"],
             f"{c['memory_bits'] / 8192:.1f}", c["input_axons"])
            for c in per_core[:MAX_CORE_ROWS]]
    parts.append(_table(["core", "chip", "(x, y)", "neurons", "synapses", "memory (KiB)",
                         "input axons"], rows))
    if len(per_core) > MAX_CORE_ROWS:
        parts.append(f"<p>... and {len(per_core) - MAX_CORE_ROWS} more cores</p>")
    return "\n".join(parts)


def _populations(report):
    rows = [(p["label"], p["cell_type"], p.get("circuit") or "", p["size"],
             _span(p.get("cores")), _num(p.get("spikes")), _num(p.get("mean_rate_hz")))
            for p in report.get("populations", [])]
    return _table(["population", "cell type", "circuit", "neurons", "cores", "spikes",
                   "rate (Hz)"], rows)


def _memory(report):
    projections = report.get("projections", [])
    with_memory = [p for p in projections if p.get("memory")]
    if not with_memory:
        return _na("the report has no synaptic memory encodings per projection")
    rows = []
    for p in projections:
        memory = p.get("memory")
        if not memory:
            rows.append((p["label"], NOT_AVAILABLE, "", "", ""))
            continue
        alternatives = ", ".join(
            f"{name}: {bits / 8192:.2f}" if bits is not None else f"{name}: cannot hold it"
            for name, bits in (memory.get("alternatives") or {}).items())
        rows.append((p["label"], memory.get("encoding"), f"{memory.get('bits', 0) / 8192:.2f}",
                     alternatives, _num(memory.get("words_per_spike"))))
    return "\n".join([
        _figure(plots.memory_by_encoding(report),
                "Synaptic memory of each projection under each encoding; outlined: "
                "the encoding the mapper chose."),
        _table(["projection", "encoding", "memory (KiB)", "alternatives (KiB)",
                "words per spike"], rows)])


def _energy(report):
    energy = report.get("energy")
    if not energy:
        return _na("the report has no energy estimate")
    parts = [_figure(plots.energy_breakdown(report),
                     "Energy by category, by population and by projection.")]
    total = energy.get("total_j") or 0.0
    for title, key in (("category", "by_category"), ("population", "populations"),
                       ("projection", "projections")):
        values = energy.get(key) or {}
        if values:
            rows = [(name, _si(value), f"{100 * value / total:.1f} %" if total else "-")
                    for name, value in sorted(values.items(), key=lambda item: -item[1])]
            parts.append(_table([title, "energy", "share of total"], rows))
    return "\n".join(parts)


def _quantization(report):
    rows = []
    for p in report.get("projections", []):
        weights, delays = p.get("weights", {}), p.get("delays", {})
        step = "float" if weights.get("scale") is None \
            else f"{weights['scale']:.3g} {weights.get('unit', '')}"
        rows.append((p["label"], f"{p['pre']} → {p['post']}", p.get("synapses"),
                     _num(weights.get("bits")) if weights.get("bits") else "float", step,
                     _num(weights.get("clipped")), _num(weights.get("zeroed")),
                     percent(weights.get("rms_relative_error")),
                     _steps(delays.get("min_steps"), delays.get("max_steps")),
                     percent(delays.get("rms_relative_error")),
                     _num(p.get("wiring_cost")), _num(p.get("mean_hops"))))
    parts = ["<h3>Projections: weights and delays</h3>", _table(
        ["projection", "pre → post", "synapses", "weight bits", "step", "clipped", "zeroed",
         "weight RMS error", "delay steps", "delay RMS error", "wiring cost", "mean hops"],
        rows)]
    rows = [(p["label"], name, _num(q.get("clipped")), percent(q.get("rms_relative_error")))
            for p in report.get("populations", [])
            for name, q in (p.get("parameters") or {}).items()
            if "clipped" in q or "rms_relative_error" in q]
    parts.append("<h3>Neuron parameters: representation</h3>")
    parts.append(_table(["population", "parameter", "clipped", "RMS relative error"], rows)
                 if rows else _na("no parameter is quantized on this chip"))
    return "\n".join(parts)


def _mismatch(report):
    rows = [(p["label"], name,
             _sigma(q.get("mismatch_sigma"), q.get("mismatch_relative")),
             _num(q.get("noise_sigma")))
            for p in report.get("populations", [])
            for name, q in (p.get("parameters") or {}).items()
            if "mismatch_sigma" in q or "noise_sigma" in q]
    parts = ["<h3>Neuron parameters: frozen mismatch and trial-to-trial noise (measured "
             "sigma)</h3>",
             _table(["population", "parameter", "frozen mismatch", "trial noise sigma"], rows)
             if rows else _na("this chip has no neuron mismatch")]
    gains = [(p["label"], percent(p.get("gain_sigma")))
             for p in report.get("projections", []) if p.get("gain_sigma")]
    parts.append("<h3>Synapse gains (measured sigma)</h3>")
    parts.append(_table(["projection", "gain sigma"], gains) if gains
                 else _na("this chip has no synapse gain mismatch"))
    return "\n".join(parts)


def _activity(images):
    if not images:
        return _na("no spikes were recorded (or the results folder has no rasters.png)")
    return "\n".join(_img(png, caption, caption) for caption, png in images.items())


# ---------------------------------------------------------------- helpers
def _figure(figure, caption):
    if figure is None:
        return _na("nothing to plot")
    return _img(plots.png_bytes(figure), caption.split(":")[0].split(";")[0], caption)


def _img(png, alt, caption):
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _table(header, rows):
    """An HTML table; `header` None: no header row."""
    lines = ["<table>"]
    if header:
        lines.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        lines.append("<tr>" + "".join(_cell(value) for value in row) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?( %)?$")


def _cell(value):
    """A table cell; numbers (and percentages) right-aligned."""
    numeric = isinstance(value, (int, float)) or NUMBER.match(str(value)) is not None
    return f'<td class="num">{_e(value)}</td>' if numeric else f"<td>{_e(value)}</td>"


def _na(reason):
    return f'<p class="na">{NOT_AVAILABLE}: {_e(reason)}</p>'


def _e(value):
    return html.escape(str(value))


def _num(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _sigma(value, relative):
    if value is None:
        return "-"
    return f"{100 * value:.1f} %" if relative else f"{value:.3g} (abs.)"


def _si(value, unit="J"):
    if value is None:
        return "-"
    factor, unit = plots.si_scale([value], unit)
    return f"{value * factor:.4g} {unit}"


def _limit(value):
    return "unlimited" if not value else str(value)


def _limit_kib(bits):
    return "unlimited" if not bits else f"{bits / 8192:g} KiB"


def _span(cores):
    if not cores or min(cores) < 0:      # spike sources live on the host (core -1)
        return "host"
    return str(cores[0]) if len(cores) == 1 else f"{cores[0]}–{cores[-1]}"


def _steps(low, high):
    if low is None:
        return "-"
    return str(low) if low == high else f"{low}–{high}"
