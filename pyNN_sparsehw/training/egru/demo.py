"""The EGRU demo: EGRU against a dense GRU of the same size on the digital chip, and
a sweep of the activity regulariser (table and figure in an output folder)."""

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ...report.texttable import table
from . import experiment as ex
from . import spiking
from ..tasks import evidence_accumulation, sequential_digits

TASKS = {"digits": sequential_digits, "evidence": evidence_accumulation}
#: tasks whose table has the spiking rows (recurrent LIF, LSNN): their held sequences
#: train within the demo's time
SPIKING_TASKS = ("digits",)


def run_demo(sim, out, task_name="digits", hidden=32, epochs=12,
             regularisers=(0.0, 0.003, 0.01, 0.03),
             table_regulariser=0.01, chip="digital", seed=0, spiking_epochs=None):
    """Train, measure (the chip runs the whole test set, one copy of the network per
    sample), and write ``table.txt``, ``results.json`` and ``energy_vs_sparsity.png``
    to `out`. Returns the measurements (dicts)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    task = TASKS[task_name](seed=seed)
    inputs, classes = task.x_train.shape[-1], task.n_classes
    rows = []
    for regulariser in regularisers:
        torch.manual_seed(seed)  # the readout's initial weights (torch's global generator)
        model = ex.EGRUClassifier(inputs, hidden, classes,
                                  generator=torch.Generator().manual_seed(seed))
        ex.train(model, task, epochs=epochs, regulariser=regulariser, seed=seed)
        measured, run = ex.measure_egru(sim, f"EGRU (lambda {regulariser:g})", model, task, chip)
        rows.append(dict(asdict(measured), regulariser=regulariser,
                         parameters=ex.parameter_count(model), **_placement(run)))
    torch.manual_seed(seed)
    gru = ex.GRUClassifier(inputs, hidden, classes)
    ex.train(gru, task, epochs=epochs, seed=seed)
    measured, run = ex.measure_dense_gru(sim, "GRU (torch.nn.GRU)", gru, task, chip)
    rows.append(dict(asdict(measured), regulariser=None, parameters=ex.parameter_count(gru),
                     **_placement(run)))
    if task_name in SPIKING_TASKS:
        rows += _spiking_rows(sim, task_name, task, rows[0]["parameters"], chip,
                              spiking_epochs)
    summary = dict(task=task.name, chip=chip, hidden=hidden, epochs=epochs,
                   test_samples=int(task.y_test.size),
                   seconds=time.time() - started, rows=rows)
    (out / "results.json").write_text(json.dumps(summary, indent=1))
    chosen = [r for r in rows if r["regulariser"] in (table_regulariser, None)]
    rows = [r for r in rows if not r.get("spiking")]
    (out / "table.txt").write_text(comparison_table(chosen, summary) + "\n\nsweep\n" +
                                   comparison_table(rows, summary) + "\n")
    plot_sweep([r for r in rows if r["regulariser"] is not None], out / "energy_vs_sparsity.png",
               rows[-1])
    return summary


def _spiking_rows(sim, task_name, task, budget, chip, epochs):
    """The recurrent LIF and LSNN rows (:mod:`.spiking`) at the parameter `budget`:
    N neurons, half of them adaptive in the LSNN."""
    inputs = task.x_train.shape[-1]
    n = spiking.recurrent_size(inputs, budget)
    rows = []
    for name, n_alif in ((f"recurrent LIF ({n})", 0), (f"LSNN ({n}, {n // 2} ALIF)", n // 2)):
        measured, trained, _ = spiking.measure_spiking(sim, name, task_name, task, n,
                                                       n_alif, chip, epochs)
        rows.append(dict(asdict(measured), regulariser=None, spiking=True,
                         parameters=spiking.parameter_count(trained.architecture),
                         copies_per_core=None, cores=None, peak_core_memory=None))
    return rows


def _placement(run):
    """How the copies of a :class:`~.experiment.ChipRun` sat on the chip."""
    return dict(copies_per_core=run.copies_per_core, cores=run.cores,
                peak_core_memory=run.peak_core_memory)


def comparison_table(rows, summary):
    header = ["model", "params", f"twin accuracy ({summary['test_samples']} test)",
              "chip accuracy (same)", "events/step", "synaptic ops/inference",
              "synaptic memory (KiB)", "energy/inference (nJ)", "copies/core (peak memory)",
              "activity sparsity", "backward sparsity"]
    body = [[r["model"], r["parameters"], f"{100 * r['accuracy']:.1f} %",
             f"{100 * r['chip_accuracy']:.1f} %",
             f"{r['events_per_step']:.2f}", f"{r['synaptic_ops']:.0f}",
             f"{r['memory_bits'] / 8192:.1f}", f"{r['energy_j'] * 1e9:.1f}",
             "-" if r["copies_per_core"] is None else
             f"{r['copies_per_core']} ({100 * r['peak_core_memory']:.0f} %)",
             f"{100 * r['activity_sparsity']:.1f} %",
             "-" if np.isnan(r["backward_sparsity"]) else f"{100 * r['backward_sparsity']:.1f} %"]
            for r in rows]
    return table([header] + body)


def plot_sweep(rows, path, dense):
    """Energy per inference against activity sparsity (EGRU sweep; the dense GRU as a
    line), chip accuracy on a second axis."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["activity_sparsity"])
    sparsity = [100 * r["activity_sparsity"] for r in rows]
    fig, energy_axis = plt.subplots(figsize=(5.5, 3.8))
    energy_axis.plot(sparsity, [r["energy_j"] * 1e9 for r in rows], "o-", color="C0",
                     label="EGRU energy")
    energy_axis.axhline(dense["energy_j"] * 1e9, color="C0", ls="--", label="dense GRU energy")
    for r, x in zip(rows, sparsity):
        energy_axis.annotate(f"λ={r['regulariser']:g}", (x, r["energy_j"] * 1e9),
                             textcoords="offset points", xytext=(4, 4), fontsize=8)
    energy_axis.set_xlabel("activity sparsity (% of unit-steps without an event)")
    energy_axis.set_ylabel("energy per inference (nJ)", color="C0")
    accuracy_axis = energy_axis.twinx()
    accuracy_axis.plot(sparsity, [100 * r["chip_accuracy"] for r in rows], "s-", color="C3",
                       label="EGRU chip accuracy")
    accuracy_axis.axhline(100 * dense["chip_accuracy"], color="C3", ls=":",
                          label="GRU accuracy")
    accuracy_axis.set_ylabel("accuracy (%)", color="C3")
    fig.legend(loc="upper right", bbox_to_anchor=(0.86, 0.9), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["run_demo", "comparison_table", "plot_sweep"]
