"""The yield report as one self-contained HTML page (the style of
:mod:`pyNN_sparsehw.report.html`: tables, histograms as inline PNG, no script, no link
to any other file)."""

from ..report import plots
from ..report.html import STYLE, _e, _img, _na, _table
from .yields import metric_names, metric_rows, yield_rows

#: units of the built-in metrics, for the histograms' axes
UNITS = {"rate": "Hz", "energy": "J", "memory": "bits", "failed_circuits": "circuits"}


def metric_unit(metric):
    """Unit of a metric (None for metrics the script recorded)."""
    return UNITS.get(metric.split("[")[0])


def render_yield_html(summary, title=""):
    """The HTML page (a string) of a yield summary (:func:`.yields.summarize`)."""
    groups = summary["groups"]
    sections = [f"<h1>Yield report{': ' + _e(title) if title else ''}</h1>",
                _table(None, [("chip instances per group",
                               ", ".join(f"{name}: {g['tasks']}" for name, g in groups.items())),
                              ("criterion", summary["criterion"] or "none given")])]
    sections.append("<h2>Yield</h2>")
    rows = yield_rows(summary)
    if summary["criterion"] and len(rows) > 1:
        sections.append(f"<p>Fraction of chip instances with <code>"
                        f"{_e(summary['criterion'])}</code> (95 % Wilson interval; a task "
                        f"that failed to run does not meet it).</p>")
        sections.append(_table(rows[0], rows[1:]))
    else:
        sections.append(_na("no criterion given (sparsehw sweep --criterion EXPR)"))
    sections.append("<h2>Distribution of each metric across chip instances</h2>")
    rows = metric_rows(summary)
    sections.append(_table(rows[0], rows[1:]) if len(rows) > 1
                    else _na("no task succeeded: no metric to show"))
    sections.append("<h2>Histograms</h2>")
    names = metric_names(summary)
    if not names:
        sections.append(_na("no metric to plot"))
    for metric in names:
        values = {name: g["metrics"][metric]["values"] for name, g in groups.items()
                  if metric in g["metrics"]}
        figure = plots.value_histograms(values, metric, metric_unit(metric), title=metric)
        if figure is not None:
            sections.append(_img(plots.png_bytes(figure), metric,
                                 f"{metric}: one count per chip instance, per group"))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Yield report {_e(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(sections) + "\n</body></html>\n")
