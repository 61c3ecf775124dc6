"""``make lsnn-demo``: LSNN against LIF-only networks on store-recall and evidence
accumulation, sequential digits on the ideal and digital chips, with and without
DEEP R at 10 % connectivity, and the dense LSNN on the calibrated analog chip (its
adaptive neurons AdEx-adapting) before and after training with the chip in the loop.
Writes to results/lsnn: training curves, a raster with the adaptive thresholds,
accuracy per chip, summary.md and summary.json."""

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import matplotlib
import numpy as np

from .experiment import (DEEP_R, DIGIT_CHUNK, DIGIT_COPIES, SETTINGS, copy_trained, fine_tune, in_the_loop,
                         make_task, on_chip,
                         train_network)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _curves(trained, path):
    fig, axes = plt.subplots(1, len(trained), figsize=(4 * len(trained), 3), squeeze=False)
    for ax, (task, runs) in zip(axes[0], trained.items()):
        for run in runs:
            ax.plot(np.arange(1, len(run.history.test_accuracy) + 1),
                    run.history.test_accuracy, marker="o", label=run.name)
        ax.set(title=task, xlabel="epoch", ylabel="test accuracy", ylim=(0, 1.02))
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _raster(result, model, path):
    spikes, b = result.raster
    arch = model.architecture
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    steps, neurons = np.nonzero(spikes)
    top.scatter(steps * arch.dt, neurons, s=3, c=np.where(neurons < arch.n_lif, "C0", "C3"))
    top.set(ylabel="neuron (blue LIF, red ALIF)", title=f"recurrent spikes on {result.chip}")
    threshold = arch.v_thresh + arch.betas()[arch.n_lif:] * b[:, arch.n_lif:]
    bottom.plot(np.arange(len(b)) * arch.dt, threshold[:, :8], lw=1)
    bottom.set(xlabel="time (ms)", ylabel="adaptive threshold (mV)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _per_chip(rows, path):
    fig, ax = plt.subplots(figsize=(6, 3))
    labels = [f"{r['network']}\n{r['chip']}" for r in rows]
    ax.bar(labels, [r["accuracy"] for r in rows], color="C2")
    ax.set(ylabel="test accuracy", ylim=(0, 1), title="sequential digits per chip")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(out="results/lsnn", n_train=1000, n_test=300, n_chip=200, progress=True):
    """The whole demo; returns the summary dict (also written as summary.json).
    `n_chip`: test samples run on each chip. Each digits network is fine-tuned for two
    epochs in the twin of each chip (a copy per chip), then run on that chip."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"comparison": [], "chips": []}
    trained = {}
    for name in ("store_recall", "evidence"):
        task = make_task(name, n_train, n_test)
        trained[name] = [train_network(name, task, n_alif, progress=progress)
                         for n_alif in (SETTINGS[name].n_recurrent // 2, 0)]
        for run_ in trained[name]:
            summary["comparison"].append(dict(task=name, network=run_.name,
                                              accuracy=run_.test_accuracy,
                                              error=1 - run_.test_accuracy))
        if name == "store_recall":
            lsnn = trained[name][0]
            result = on_chip(lsnn.model, task, "ideal", n_test=100)
            _raster(result, lsnn.model, out / "raster_store_recall.png")
            summary["store_recall_ideal_chip"] = dict(
                accuracy=result.accuracy, twin_accuracy=result.twin_accuracy,
                spike_agreement=result.spike_agreement)
    digits = make_task("digits")
    half = SETTINGS["digits"].n_recurrent // 2
    dense = train_network("digits", digits, half, progress=progress)
    sparse = train_network("digits", digits, half, deep_r=DEEP_R, progress=progress)
    trained["digits"] = [dense, sparse]
    sparse.name = f"LSNN, DEEP R {DEEP_R.connectivity * 100:.0f} %"
    for run_ in (dense, sparse):
        for chip in ("ideal", "digital"):
            tuned = copy_trained(run_)
            fine_tune(tuned, "digits", digits, chip, progress=progress)
            r = on_chip(tuned.model, digits, chip, n_test=n_chip, chunk=DIGIT_CHUNK)
            summary["chips"].append(dict(network=run_.name, chip=chip, accuracy=r.accuracy,
                                         twin_accuracy=r.twin_accuracy,
                                         spike_agreement=r.spike_agreement,
                                         memory_kib=r.memory_bits / 8192,
                                         energy_uj=r.energy_j * 1e6,
                                         trained_accuracy=run_.test_accuracy))
    summary["chips"] += analog_rows(dense, digits, n_chip, progress)
    summary["deep_r_connectivity"] = float(sparse.rewiring.connectivity)
    summary["deep_r"] = dict(asdict(DEEP_R), budgets=sparse.rewiring.budgets)
    _curves(trained, out / "training_curves.png")
    _per_chip(summary["chips"], out / "accuracy_per_chip.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(summary_table(summary))
    return summary


#: copies of the digits LSNN per analog run (210 neurons each; the chip set has 8192)
ANALOG_CHUNK = 20
#: epochs with the analog chip in the loop (at the task's learning rate), over one spike
#: draw of every training digit (the first of the DIGIT_COPIES), to keep the demo's time
LOOP_EPOCHS = 1


def analog_rows(trained, digits, n_chip, progress=True):
    """Summary rows of `trained` on the calibrated analog chip: transferred as it is
    ("no loop"), then after LOOP_EPOCHS epochs with the chip in the loop at the task's
    learning rate."""
    rows = []
    tuned = copy_trained(trained)
    one_draw = digits.x_train.shape[1] // DIGIT_COPIES
    loop_task = replace(digits, x_train=digits.x_train[:, :one_draw],
                        y_train=digits.y_train[:one_draw])
    for label in ("no loop", "in the loop"):
        if label == "in the loop":
            in_the_loop(tuned, "digits", loop_task, epochs=LOOP_EPOCHS, progress=progress,
                        batch_size=ANALOG_CHUNK,
                        learning_rate=SETTINGS["digits"].learning_rate)
        r = on_chip(tuned.model, digits, "analog", n_test=n_chip, chunk=ANALOG_CHUNK,
                    calibration="auto")
        rows.append(dict(network=f"{trained.name} ({label})", chip="analog",
                         accuracy=r.accuracy, twin_accuracy=r.twin_accuracy,
                         spike_agreement=r.spike_agreement,
                         memory_kib=r.memory_bits / 8192, energy_uj=r.energy_j * 1e6,
                         trained_accuracy=trained.test_accuracy))
    return rows


def summary_table(summary):
    """The summary as Markdown tables."""
    lines = ["| task | network | test accuracy | recall error |", "| --- | --- | ---: | ---: |"]
    lines += [f"| {r['task']} | {r['network']} | {r['accuracy']:.3f} | {r['error']:.3f} |"
              for r in summary["comparison"]]
    lines += ["", "| digits network | chip | chip accuracy | twin of the chip | spikes agree "
              "| synaptic memory (KiB) | energy per inference (uJ) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['network']} | {r['chip']} | {r['accuracy']:.3f} | {r['twin_accuracy']:.3f} "
              f"| {r['spike_agreement']:.4f} | {r['memory_kib']:.2f} | {r['energy_uj']:.3g} |"
              for r in summary["chips"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="results/lsnn")
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--n-chip", type=int, default=200,
                        help="test samples of the digits run on each chip")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    summary = run(args.out, args.n_train, args.n_test, args.n_chip)
    summary["seconds"] = time.perf_counter() - start
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=2))
    print(summary_table(summary))
