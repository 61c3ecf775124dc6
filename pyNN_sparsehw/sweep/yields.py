"""Yield analysis: how each metric is distributed across chip instances, and what
fraction of instances meets a criterion.

Tasks are grouped by calibration and parameter point (:attr:`Task.group`), e.g.
"uncalibrated" against "calibrated". Per group and metric: n, mean, standard
deviation, min, 5th percentile, median, 95th percentile, max. Per group, with a
criterion (:mod:`.criterion`): the yield, the fraction of instances that meet it,
with its 95 % Wilson score interval. A task that failed to run (status "error")
counts as an instance that does not meet the criterion.
"""

import math

import numpy as np

from ..report.hardware import percent
from ..report.texttable import table
from .criterion import Criterion
from .metrics import flatten

Z95 = 1.959963984540054
STATISTICS = ("n", "mean", "std", "min", "p5", "median", "p95", "max")


def wilson_interval(met, n, z=Z95):
    """(low, high) Wilson score interval of the proportion `met` / `n` (None, None
    for n = 0)."""
    if n == 0:
        return None, None
    p = met / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def statistics(values):
    """n, mean, std (ddof 0), min, p5, median, p95, max of `values` (floats)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return dict(n=0)
    p5, median, p95 = np.percentile(values, [5, 50, 95])
    return dict(n=int(values.size), mean=float(values.mean()), std=float(values.std()),
                min=float(values.min()), p5=float(p5), median=float(median),
                p95=float(p95), max=float(values.max()))


def summarize(results, criterion=None):
    """The yield summary (a JSON-able dict) of stored task results (dicts as written
    by :class:`~.store.ResultStore`); `criterion` is an expression or a
    :class:`Criterion`."""
    if criterion is not None and not isinstance(criterion, Criterion):
        criterion = Criterion(criterion)
    grouped = {}
    for result in results:                                # groups in order of appearance
        grouped.setdefault(result["group"], []).append(result)
    groups = {}
    for name, members in grouped.items():
        members = sorted(members, key=lambda r: r["chip_seed"])
        ok = [r for r in members if r.get("status") == "ok"]
        samples = {}
        for r in ok:
            for metric, value in flatten(r.get("metrics", {})).items():
                samples.setdefault(metric, ([], []))
                samples[metric][0].append(value)
                samples[metric][1].append(r["chip_seed"])
        entry = dict(tasks=len(members), ok=len(ok), errors=len(members) - len(ok),
                     params=members[0].get("params", {}),
                     calibration=members[0].get("calibration"),
                     metrics={metric: dict(statistics(values), values=values, seeds=seeds)
                              for metric, (values, seeds) in sorted(samples.items())})
        if criterion is not None:
            met = [r["chip_seed"] for r in ok if criterion(r.get("metrics", {}),
                                                           r.get("params"))]
            low, high = wilson_interval(len(met), len(members))
            entry["yield"] = dict(met=len(met), instances=len(members),
                                  fraction=len(met) / len(members), low=low, high=high,
                                  seeds_met=met)
        groups[name] = entry
    return dict(criterion=criterion.expression if criterion else None, groups=groups)


def metric_names(summary):
    """Every metric of a summary, in a stable order (rates first)."""
    names = {m for g in summary["groups"].values() for m in g["metrics"]}
    return sorted(names, key=lambda m: (not m.startswith("rate["), m))


def yield_rows(summary):
    """Rows (header first) of the yield table: group, met / instances, yield, 95 %
    interval, tasks that failed to run."""
    rows = [["group", "met", "yield", "95 % interval", "failed to run"]]
    for name, group in summary["groups"].items():
        y = group.get("yield")
        if y is None:
            continue
        rows.append([name, f"{y['met']} / {y['instances']}", percent(y["fraction"]),
                     f"{percent(y['low'])} – {percent(y['high'])}", str(group["errors"])])
    return rows


def metric_rows(summary):
    """Rows (header first) of the distribution table: metric, group, statistics."""
    rows = [["metric", "group", *STATISTICS]]
    for metric in metric_names(summary):
        for name, group in summary["groups"].items():
            stats = group["metrics"].get(metric)
            if stats is None:
                continue
            rows.append([metric, name, str(stats["n"])]
                        + [format_value(stats[s]) for s in STATISTICS[1:]])
    return rows


def summary_text(summary):
    """The yield report as plain text (tables)."""
    lines = []
    if summary["criterion"]:
        lines += [f"yield: fraction of chip instances with {summary['criterion']}", "",
                  table(yield_rows(summary)), ""]
    lines += ["distribution of each metric across chip instances", ""]
    rows = metric_rows(summary)
    lines.append(table(rows) if len(rows) > 1 else "(no metric: no task succeeded)")
    failed = {name: g["errors"] for name, g in summary["groups"].items() if g["errors"]}
    if failed:
        lines += ["", "tasks that failed to run (see their files for the error): "
                  + ", ".join(f"{name}: {n}" for name, n in failed.items())]
    return "\n".join(lines)


def format_value(value):
    """A number in 4 significant digits."""
    return "-" if value is None else f"{value:.4g}"
