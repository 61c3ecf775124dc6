"""Schaefer et al. 2020 (ISCAS, arXiv 2003.11639) end to end: `make schaefer`.

1. A 700 -> 400 -> 250 LIF network (the training twin, 1 ms steps) is trained to
   retain a fixed spatio-temporal pattern, then fine-tuned quantization-aware at
   2..6-bit signed weights, pruned to the paper's densities (the CSV's Sparsity
   column); its retention is the van Rossum distance to the target (elephant).
   For every width and memory organisation (crossbar, PB-BMP, PB-CSR; functional
   does not apply to trained fully connected weights) the synaptic memory bits and
   the energy of a forward pass, a backward pass (BPTT, transposed weights) and a
   weight update are counted on the `digital` chip's energy profile. Nothing is
   fitted here: the energies are predictions of our counts and constants.
2. The energy model of pyNN_sparsehw.chip.energy_fit is fitted to the published rows
   of one layer and predicts the other layer's rows (out of sample), beside the
   in-sample residuals of the fit to every row.
3. A weight-shared convolutional layer (1 x 8 x 8 -> 4 x 8 x 8, 3 x 3 kernels) driven
   by a digit: backward and weight-update energy of the functional encoding (the
   kernel stored once) against CSR (every synapse stored).

Writes table.txt, energy_vs_van_rossum.png and numbers.json to --out.

    python examples/schaefer.py [--out results/schaefer] [--quick]

--quick shrinks the network to 70 -> 40 -> 25 and the training (a smoke test).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from pyNN_sparsehw.chip import energy_fit
from pyNN_sparsehw.chip.model import load_chip
from pyNN_sparsehw.training.schaefer import conv, held_out, passes, retention

HERE = Path(__file__).resolve().parent
CSV = HERE.parent / "tests" / "data" / "schaefer2020_frontier.csv"
INPUTS = {400: 700, 250: 400}
STRUCTURE = {v: k for k, v in energy_fit.STRUCTURES.items()}
ENCODINGS = ("dense", "bitmap", "csr")
BITS = (2, 3, 4, 5, 6)
#: the densities of the paper's headline (PB-BMP at 2 bits); other widths take the
#: lower median of the CSV's densities of that width and layer
HEADLINE_DENSITY = {2: {400: 0.65, 250: 0.64}}
PASS_NAMES = ("forward", "backward", "update")


def paper_densities(rows):
    """{bits: (density of the 700 -> 400 layer, of the 400 -> 250 layer)}."""
    out = {}
    for bits in BITS:
        pair = []
        for n_out in (400, 250):
            listed = sorted({r.density for r in rows if r.weight_bits == bits and r.n_out == n_out})
            pair.append(HEADLINE_DENSITY.get(bits, {}).get(n_out, listed[(len(listed) - 1) // 2]))
        out[bits] = tuple(pair)
    return out


def paper_energy(rows, bits, encoding, densities):
    """Published forward + backward energy (J) of both layers at `densities`."""
    total = 0.0
    for n_out, density in zip((400, 250), densities):
        row, = [r for r in rows if r.weight_bits == bits and r.encoding == encoding and
                r.n_out == n_out and round(r.density, 2) == round(density, 2)]
        total += row.forward + row.backward
    return total


def progress(description):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    return lambda it: tqdm(it, desc=description, leave=False)


def measure(profile, weights, bits, densities, inputs, target, task):
    """Retention and per-encoding energies of one quantized network."""
    tables, values = zip(*[retention.synapse_table(w.numpy(), bits, d)
                           for w, d in zip(weights, densities)])
    with torch.no_grad():
        spikes, support = retention.simulate([torch.tensor(v, dtype=torch.float32)
                                              for v in values], inputs, task.dt,
                                             error_support=True)
    pre = [inputs.numpy()] + [s.numpy() for s in spikes[:-1]]
    result = {"bits": bits, "density": [t.size / (t.n_pre * t.n_post) for t in tables],
              "van_rossum": retention.van_rossum(spikes[-1].numpy(), target.numpy(),
                                                 task.tau_ms, task.dt),
              "error_fraction": [float(s.float().mean()) for s in support],
              "encodings": {}}
    for encoding in ENCODINGS:
        bits_total, categories = 0, {}
        for table, pre_spikes, sup in zip(tables, pre, support):
            size, layer = passes.layer_energies(profile, table, encoding, pre_spikes,
                                                sup.numpy())
            bits_total += size
            _accumulate(categories, layer)
        energy = {name: sum(categories[name].values()) for name in PASS_NAMES}
        result["encodings"][encoding] = {"memory_bits": bits_total, **energy,
                                         "total": sum(energy.values()),
                                         "categories": categories}
    return result


def retention_experiment(task, rows, profile, iterations, finetune):
    inputs, target = task.patterns()
    start = time.perf_counter()
    trained, losses = retention.train(task.initial_weights(), inputs, target, task, iterations,
                                      progress=progress("float training"))
    with torch.no_grad():
        spikes = retention.simulate(trained, inputs, task.dt)
    float_vr = retention.van_rossum(spikes[-1].numpy(), target.numpy(), task.tau_ms, task.dt)
    silent_vr = retention.van_rossum(np.zeros(target.shape), target.numpy(), task.tau_ms, task.dt)
    densities = paper_densities(rows)
    widths = []
    for bits in BITS:
        tuned, _ = retention.train(trained, inputs, target, task, finetune, bits=bits,
                                   densities=densities[bits],
                                   progress=progress(f"{bits}-bit fine-tuning"))
        widths.append(measure(profile, tuned, bits, densities[bits], inputs, target, task))
        widths[-1]["paper_densities"] = list(densities[bits])
        widths[-1]["paper_energy"] = {enc: paper_energy(rows, bits, enc, densities[bits])
                                      for enc in ENCODINGS}
    return {"sizes": list(task.sizes), "steps": task.steps, "iterations": iterations,
            "finetune_iterations": finetune, "final_loss": losses[-1],
            "float_van_rossum": float_vr, "silent_van_rossum": silent_vr,
            "widths": widths, "seconds": time.perf_counter() - start}


def headline(experiment):
    """Our and the paper's dense 5-bit / PB-BMP 2-bit ratio and the retention loss."""
    by_bits = {w["bits"]: w for w in experiment["widths"]}
    dense5, bitmap2 = by_bits[5]["encodings"]["dense"], by_bits[2]["encodings"]["bitmap"]
    vr5, vr2 = by_bits[5]["van_rossum"], by_bits[2]["van_rossum"]
    return {"ratio_forward_backward": (dense5["forward"] + dense5["backward"]) /
            (bitmap2["forward"] + bitmap2["backward"]),
            "ratio_with_update": dense5["total"] / bitmap2["total"],
            "paper_ratio": by_bits[5]["paper_energy"]["dense"] /
            by_bits[2]["paper_energy"]["bitmap"],
            "van_rossum_5bit": vr5, "van_rossum_2bit": vr2,
            "van_rossum_increase": vr2 / vr5 - 1.0}


def held_out_experiment(rows):
    full = energy_fit.fit_pass_energies(rows)
    out = {"in_sample_all_rows": {d: full.rms_residual(d) for d in energy_fit.PASSES}}
    for fitted in (400, 250):
        result = held_out.fit_one_layer(rows, fitted)
        out[f"fit_on_{fitted}"] = {
            "fitted_rows": len(result.fitted_rows), "predicted_rows": len(result.predicted_rows),
            "in_sample": {d: result.rms("in_sample", d) for d in energy_fit.PASSES},
            "out_of_sample": {d: result.rms("out_of_sample", d) for d in energy_fit.PASSES},
            "worst_out_of_sample": {d: float(np.max(np.abs(result.out_of_sample[d])))
                                    for d in energy_fit.PASSES}}
    return out


def conv_experiment(profile, steps, bits=4, channels=4, side=8, seed=0):
    rng = np.random.default_rng(seed)
    kernels = rng.normal(0.3, 0.3, (channels, 3, 3))
    tables, matrix = conv.conv_layer(kernels, side, bits)
    inputs = conv.digit_spikes(steps, seed=seed)
    with torch.no_grad():
        spikes, support = retention.simulate([torch.tensor(matrix, dtype=torch.float32)],
                                             torch.tensor(inputs, dtype=torch.float32),
                                             error_support=True)
    n = side * side
    out = {"bits": bits, "channels": channels, "side": side,
           "synapses": int(sum(t.size for t in tables)),
           "output_rate_hz": float(spikes[0].mean()) * 1000.0,
           "error_fraction": float(support[0].float().mean()), "encodings": {}}
    for encoding in ("dense", "bitmap", "csr", "functional"):
        categories, size = {}, 0
        for c, table in enumerate(tables):
            sup = support[0][:, c * n:(c + 1) * n].numpy()
            bits_c, energy = passes.layer_energies(profile, table, encoding, inputs, sup)
            size += bits_c
            _accumulate(categories, energy)
        out["encodings"][encoding] = {"memory_bits": size, "categories": categories,
                                      **{name: sum(categories[name].values())
                                         for name in PASS_NAMES}}
    f, c = out["encodings"]["functional"], out["encodings"]["csr"]
    out["saving_backward_update"] = 1.0 - (f["backward"] + f["update"]) / \
        (c["backward"] + c["update"])
    out["saving_backward_update_memory"] = 1.0 - _memory(f) / _memory(c)
    return out


def _accumulate(total, energies):
    """Add {pass: {category: J}} `energies` into `total`."""
    for name, categories in energies.items():
        for category, joules in categories.items():
            total.setdefault(name, {}).setdefault(category, 0.0)
            total[name][category] += joules


def _memory(result):
    """Memory read + write energy (J) of the backward pass and the update."""
    return sum(result["categories"][p][k] for p in ("backward", "update")
               for k in ("memory_reads", "memory_writes"))


def write_table(path, experiment, head, held, conv_result):
    lines = [f"Retention network {' -> '.join(map(str, experiment['sizes']))}, "
             f"{experiment['steps']} steps of 1 ms; van Rossum distance (tau 10 ms, mean per "
             f"output neuron): float {experiment['float_van_rossum']:.3f}, silent output "
             f"{experiment['silent_van_rossum']:.3f}",
             "Energies (J, both layers, digital chip, predicted from counts, nothing fitted); "
             "paper: forward + backward from the CSV",
             f"{'bits':>4} {'dens400':>7} {'dens250':>7} {'vR':>6} {'encoding':>8} "
             f"{'mem bits':>9} {'forward':>9} {'backward':>9} {'update':>9} {'total':>9} "
             f"{'paper f+b':>9}"]
    for w in experiment["widths"]:
        for enc, e in w["encodings"].items():
            lines.append(f"{w['bits']:>4} {w['density'][0]:>7.3f} {w['density'][1]:>7.3f} "
                         f"{w['van_rossum']:>6.3f} {STRUCTURE[enc]:>8} {e['memory_bits']:>9d} "
                         f"{e['forward']:>9.3e} {e['backward']:>9.3e} {e['update']:>9.3e} "
                         f"{e['total']:>9.3e} {w['paper_energy'][enc]:>9.3e}")
    lines += ["", "Headline: crossbar 5-bit / PB-BMP 2-bit energy",
              f"  ours, forward + backward: {head['ratio_forward_backward']:.3f}; with the "
              f"weight update: {head['ratio_with_update']:.3f}; paper: {head['paper_ratio']:.3f}",
              f"  van Rossum 5-bit {head['van_rossum_5bit']:.3f}, 2-bit "
              f"{head['van_rossum_2bit']:.3f} ({head['van_rossum_increase']:+.1%}); paper: 4 % "
              f"loss in retention accuracy", "",
              "Energy model of chip/energy_fit.py on the published rows: RMS relative error",
              f"  fitted on all rows (in sample): forward "
              f"{held['in_sample_all_rows']['forward']:.1%}, backward "
              f"{held['in_sample_all_rows']['backward']:.1%}"]
    for fitted, other in ((400, 250), (250, 400)):
        h = held[f"fit_on_{fitted}"]
        lines.append(f"  fitted on the {fitted}-output layer ({h['fitted_rows']} rows): in sample "
                     f"forward {h['in_sample']['forward']:.1%}, backward "
                     f"{h['in_sample']['backward']:.1%}; PREDICTED {other}-output layer "
                     f"({h['predicted_rows']} rows): forward {h['out_of_sample']['forward']:.1%}, "
                     f"backward {h['out_of_sample']['backward']:.1%} (worst "
                     f"{h['worst_out_of_sample']['forward']:.1%}, "
                     f"{h['worst_out_of_sample']['backward']:.1%})")
    c = conv_result
    lines += ["", f"Convolutional layer 1x{c['side']}x{c['side']} -> {c['channels']}x{c['side']}x"
              f"{c['side']}, 3x3, {c['bits']}-bit, {c['synapses']} synapses, output "
              f"{c['output_rate_hz']:.1f} Hz, errors in {c['error_fraction']:.0%} of the steps",
              f"{'encoding':>10} {'mem bits':>9} {'forward':>9} {'backward':>9} {'update':>9}"]
    for enc, e in c["encodings"].items():
        lines.append(f"{enc:>10} {e['memory_bits']:>9d} {e['forward']:>9.3e} "
                     f"{e['backward']:>9.3e} {e['update']:>9.3e}")
    lines.append(f"  functional vs CSR, backward + update: saves "
                 f"{c['saving_backward_update']:.1%} of the energy "
                 f"({c['saving_backward_update_memory']:.1%} of its memory part); paper: 58 %")
    path.write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


def plot(path, experiment):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    colours = {"dense": "C0", "bitmap": "C1", "csr": "C2"}
    widths = experiment["widths"]
    vr = [w["van_rossum"] for w in widths]
    for enc in ENCODINGS:
        ax.plot(vr, [w["encodings"][enc]["forward"] + w["encodings"][enc]["backward"]
                     for w in widths], "o-", color=colours[enc], label=f"{STRUCTURE[enc]} (ours)")
        ax.plot(vr, [w["paper_energy"][enc] for w in widths], "s--", mfc="none",
                color=colours[enc], label=f"{STRUCTURE[enc]} (paper, at our vR)")
    for w in widths:
        ax.annotate(f"{w['bits']} b", (w["van_rossum"], w["encodings"]["dense"]["forward"] +
                                       w["encodings"]["dense"]["backward"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("van Rossum distance to the target (mean per neuron)")
    ax.set_ylabel("forward + backward energy, both layers (J)")
    ax.set_title("Retention network: energy against accuracy per memory organisation",
                 fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="results/schaefer")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--finetune", type=int, default=40)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = energy_fit.read_published(CSV, INPUTS)
    profile = load_chip("digital").energy_profile
    if args.quick:
        task = retention.RetentionTask(sizes=(70, 40, 25), steps=50)
        iterations, finetune = 5, 2
    else:
        task = retention.RetentionTask(steps=100)
        iterations, finetune = args.iterations, args.finetune
    experiment = retention_experiment(task, rows, profile, iterations, finetune)
    head = headline(experiment)
    held = held_out_experiment(rows)
    conv_result = conv_experiment(profile, task.steps)
    print(write_table(out / "table.txt", experiment, head, held, conv_result))
    plot(out / "energy_vs_van_rossum.png", experiment)
    (out / "numbers.json").write_text(json.dumps(
        {"retention": experiment, "headline": head, "held_out": held, "conv": conv_result},
        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
