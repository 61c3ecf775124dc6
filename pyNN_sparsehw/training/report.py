"""Reports of a training experiment: per iteration as CSV, JSON and a plot; a final
table of accuracies (software, ideal chip, each stage's naive transfer, after
in-the-loop training) as Markdown and JSON."""

import csv
import json
import os
from dataclasses import asdict, fields

from .trainer import IterationRecord


def write_history(records, folder):
    """history.csv and history.json (one row per iteration) in `folder`."""
    os.makedirs(folder, exist_ok=True)
    names = [f.name for f in fields(IterationRecord)]
    with open(os.path.join(folder, "history.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        writer.writerows(r.as_dict() for r in records)
    with open(os.path.join(folder, "history.json"), "w") as fh:
        json.dump([r.as_dict() for r in records], fh, indent=1)


def read_history(folder):
    """The records written by :func:`write_history` (from history.csv)."""
    with open(os.path.join(folder, "history.csv"), newline="") as fh:
        return [IterationRecord(int(row["iteration"]),
                                *(float(row[f.name]) for f in fields(IterationRecord)[1:]))
                for row in csv.DictReader(fh)]


def plot_history(result, software_accuracy, path):
    """Loss and accuracy per iteration, on the chip and in software (PNG at `path`),
    with the software model's, the naive transfer's and the final test accuracy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = result.history
    it = [r.iteration for r in records]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_loss.plot(it, [r.chip_loss for r in records], "o-", ms=3, label="chip (batch)")
    ax_loss.plot(it, [r.software_loss for r in records], "s--", ms=3,
                 label="twin alone (batch)")
    ax_loss.set(xlabel="iteration", ylabel="cross-entropy (nats)", yscale="log",
                title="loss")
    ax_loss.legend()
    percent = 100.0
    ax_acc.plot(it, [percent * r.chip_accuracy for r in records], "o-", ms=3,
                label="chip (batch)")
    ax_acc.plot(it, [percent * r.software_accuracy for r in records], "s--", ms=3,
                label="twin alone (batch)")
    for value, style, label in [(software_accuracy, "k-", "software-trained, software (test)"),
                                (result.transfer_accuracy, "r--", "naive transfer, chip (test)"),
                                (result.loop_accuracy, "g-.", "after training, chip (test)")]:
        ax_acc.axhline(percent * value, color=style[0], ls=style[1:], lw=1, label=label)
    ax_acc.set(xlabel="iteration", ylabel="accuracy (%)",
               title=f"{result.chip} seed {result.chip_seed}, {result.stage}")
    ax_acc.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(software, ideal, results):
    """Everything the final table shows, as a JSON-ready dict."""
    return {
        "config": _jsonable(asdict(software.config)),
        "test_samples": int(len(software.data.y_test) if software.config.test_samples is None
                            else software.config.test_samples),
        "software_accuracy": software.test_accuracy,
        "software_seconds": software.seconds,
        "ideal_chip_accuracy": ideal.transfer_accuracy,
        "stages": [_stage_dict(r) for r in results],
    }


def _stage_dict(result):
    d = {k: v for k, v in asdict(result).items() if k != "history"}
    d["weight_grid"] = {label: list(v) for label, v in result.weight_grid.items()}
    d["iterations"] = len(result.history)
    return _jsonable(d)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def format_table(report):
    """The final table (Markdown): one column per chip seed."""
    stages = report["stages"]
    seeds = sorted({s["chip_seed"] for s in stages})
    chip = stages[0]["chip"] if stages else "?"
    software = report["software_accuracy"]

    def cell(value):
        if value is None:
            return "n/a"
        return f"{100 * value:.2f} % ({100 * (value - software):+.2f})"

    rows = [("software model", [cell(software)] * len(seeds)),
            ("ideal chip, same weights", [cell(report["ideal_chip_accuracy"])] * len(seeds))]
    names = list(dict.fromkeys(s["stage"] for s in stages))
    notes = []
    for name in names:
        of_stage = {s["chip_seed"]: s for s in stages if s["stage"] == name}
        row = []
        for seed in seeds:
            s = of_stage.get(seed)
            row.append(cell(s["transfer_accuracy"]) if s and s["available"] else "not available")
            if s and not s["available"] and s["reason"] not in notes:
                notes.append(s["reason"])
        rows.append((f"{name}: naive transfer", row))
        if any(s["iterations"] for s in of_stage.values()):
            n = max(s["iterations"] for s in of_stage.values())
            rows.append((f"{name}: after in-the-loop training ({n} it.)",
                         [cell(of_stage[seed]["loop_accuracy"]) if seed in of_stage else "n/a"
                          for seed in seeds]))
            rows.append((f"{name}: wall time in the loop per sample",
                         [f"{1000 * of_stage[seed]['seconds_per_sample']:.0f} ms"
                          if of_stage.get(seed, {}).get("seconds_per_sample") else "n/a"
                          for seed in seeds]))
    header = ["test accuracy (difference to software, points)"] + \
        [f"{chip} seed {seed}" for seed in seeds]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([label] + values) + " |" for label, values in rows]
    lines.append("")
    lines.append(f"{report['test_samples']} test samples of the 8x8 digits.")
    lines += [f"not available: {note}" for note in notes]
    return "\n".join(lines)


def write_report(folder, software, ideal, results):
    """Write history files and plots of every trained stage, summary.json and
    summary.md to `folder`; returns the table."""
    os.makedirs(folder, exist_ok=True)
    for result in results:
        if result.history:
            run = os.path.join(folder, f"{result.chip}_seed{result.chip_seed}_{result.stage}")
            write_history(result.history, run)
            plot_history(result, software.test_accuracy, os.path.join(run, "history.png"))
    report = summary(software, ideal, results)
    with open(os.path.join(folder, "summary.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    table = format_table(report)
    with open(os.path.join(folder, "summary.md"), "w") as fh:
        fh.write(table + "\n")
    return table
