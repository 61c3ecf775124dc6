"""From snnTorch to the chip through NIR: the 8x8 digits.

1. Train a small spiking network in snnTorch (64 -> hidden Leaky -> 10 Leaky, rate
   coded input, surrogate gradients, cross-entropy on spike counts).
2. Export it with snnTorch's ``export_to_nir`` and write it as a NIR file.
3. Read the file with :func:`pyNN_sparsehw.nir.read` on the ``ideal`` chip, the
   ``digital`` chip, the ``analog`` chip uncalibrated (``setup(calibration=None)``)
   and calibrated (the default), present the test set, and report accuracy, synaptic
   memory and energy per inference
   (:class:`pyNN_sparsehw.report.hardware.HardwareReport`).

Fine-tuning with the chip in the loop is left out: it needs the training stack that
is being rewritten on PyTorch.

Run: ``make nir-demo`` (or ``python examples/nir_snntorch.py --help``). Results go to
``results/nir_demo/``: the NIR file, ``summary.json`` and each chip's hardware report.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import nir
import snntorch as snn
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from snntorch import utils as snn_utils
from snntorch.export_nir import export_to_nir

import pyNN_sparsehw as sim
from pyNN_sparsehw import nir as pnir

#: chip time step (ms) per NIR step; the analog chip integrates its AdEx circuits with
#: classic Runge-Kutta, which needs a step of at most ~2 of its shortest tau_syn (0.5 ms)
TIMESTEP_MS = 1.0
#: the network's voltages on the chip: threshold 1 -> 10 mV above a rest of -60 mV
VOLTAGE_SCALE, V_OFFSET = 10.0, -60.0
BETA = 0.9


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="NIR steps per sample")
    parser.add_argument("--gap", type=int, default=30,
                        help="silent steps between samples on the chip (the state decays "
                             "by beta**gap)")
    parser.add_argument("--hidden", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--rate", type=float, default=0.5,
                        help="spike probability per step of a white pixel")
    parser.add_argument("--test", type=int, default=0,
                        help="test samples shown to the chips (0: all 360)")
    parser.add_argument("--chip-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/nir_demo")
    return parser.parse_args()


def encode(images, steps, rate, generator):
    """Rate code: (samples, 64) intensities in [0, 1] -> (steps, samples, 64) spikes."""
    p = torch.as_tensor(images, dtype=torch.float32) * rate
    return (torch.rand((steps, *p.shape), generator=generator) < p).float()


def network(hidden):
    """64 -> Leaky -> 10 Leaky; per-neuron beta and threshold (NIR's type inference
    needs a parameter per neuron) and reset to zero (NIR's reset)."""
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden),
        snn.Leaky(beta=torch.full((hidden,), BETA), threshold=torch.ones(hidden),
                  reset_mechanism="zero", init_hidden=True),
        torch.nn.Linear(hidden, 10),
        snn.Leaky(beta=torch.full((10,), BETA), threshold=torch.ones(10),
                  reset_mechanism="zero", init_hidden=True, output=True))


def counts(net, spikes):
    """Output spike counts (samples, 10) of `spikes` (steps, samples, 64)."""
    snn_utils.reset(net)
    return torch.stack([net(spikes[t])[0] for t in range(spikes.shape[0])]).sum(0)


def train(net, x, y, args, generator):
    optimiser = torch.optim.Adam(net.parameters(), lr=5e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    labels = torch.as_tensor(y)
    for epoch in range(args.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            spikes = encode(x[batch.numpy()], args.steps, args.rate, generator)
            loss = loss_fn(counts(net, spikes), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()


def accuracy_of(count, y):
    """Accuracy of argmax over spike counts (ties: the first)."""
    return float(np.mean(np.argmax(count, axis=1) == y))


def stream(spikes, gap):
    """Samples (steps, samples, 64) one after another, `gap` silent steps after
    each: (samples * (steps + gap), 64)."""
    steps, samples, _ = spikes.shape
    shown = np.zeros((samples, steps + gap, 64))
    shown[:, :steps] = np.transpose(spikes, (1, 0, 2))
    return shown.reshape(-1, 64)


def stream_counts(output, samples, steps, gap):
    """Output spike counts per sample (samples, 10) of a stream's output."""
    return output.reshape(samples, steps + gap, -1)[:, :steps].sum(axis=1)


def on_chip(path, shown, args, chip, calibration):
    """Run the stream `shown` on `chip`; returns its output spikes (steps, 10) and the
    hardware report."""
    sim.setup(timestep=TIMESTEP_MS, chip=chip, chip_seed=args.chip_seed,
              calibration=calibration)
    network = pnir.read(path, voltage_scale=VOLTAGE_SCALE, v_offset=V_OFFSET)
    output = network.run(shown)[next(iter(network.outputs))]
    samples = shown.shape[0] // (args.steps + args.gap)
    return output, sim.hardware_report(inferences=samples)


def summary_of(report):
    data = report.as_dict()
    energy = data["energy"] or {}
    return {"synapses": data["totals"]["synapses"],
            "memory_kib": data["totals"]["memory_bits"] / 8192.0,
            "energy_per_inference_uj": (energy.get("per_inference_j") or 0.0) * 1e6}


def main():
    args = arguments()
    # a network this small gains nothing from threads; on a shared machine they only
    # wait for each other (one epoch: 5 s with one thread, 57 s with two, load ~15)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.2, random_state=args.seed,
        stratify=digits.target)
    if args.test:
        x_test, y_test = x_test[:args.test], y_test[:args.test]
    results = {}
    start = time.time()
    net = network(args.hidden)
    train(net, x_train, y_train, args, generator)
    test_spikes = encode(x_test, args.steps, args.rate, generator)
    with torch.no_grad():
        software = counts(net, test_spikes).numpy()
    results["snntorch"] = {"accuracy": accuracy_of(software, y_test),
                           "seconds": time.time() - start}
    print(f"snnTorch: test accuracy {results['snntorch']['accuracy']:.3f} "
          f"({results['snntorch']['seconds']:.0f} s to train)")

    graph = export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0])
    path = out / "digits.nir"
    nir.write(path, graph)
    shown = stream(test_spikes.numpy(), args.gap)
    with torch.no_grad():                 # snnTorch on the same stream, never reset
        snn_utils.reset(net)
        reference = torch.stack([net(torch.as_tensor(s[None], dtype=torch.float32))[0][0]
                                 for s in shown]).numpy()
    results["snntorch, stream"] = {"accuracy": accuracy_of(
        stream_counts(reference, len(y_test), args.steps, args.gap), y_test)}
    print(f"snnTorch on the stream of test samples (never reset): accuracy "
          f"{results['snntorch, stream']['accuracy']:.3f}")
    stages = [("ideal", "ideal", None), ("digital", "digital", None),
              ("analog, uncalibrated", "analog", None), ("analog, calibrated", "analog", "auto")]
    for name, chip, calibration in stages:
        start = time.time()
        output, report = on_chip(path, shown, args, chip, calibration)
        count = stream_counts(output, len(y_test), args.steps, args.gap)
        agreement = float(np.mean(np.argmax(count, 1) == np.argmax(software, 1)))
        same_spikes = float(np.sum(output * reference) / max(reference.sum(), output.sum()))
        results[name] = dict(accuracy=accuracy_of(count, y_test),
                             same_decision_as_snntorch=agreement,
                             spikes_as_snntorch_on_the_stream=same_spikes,
                             seconds=time.time() - start, **summary_of(report))
        (out / f"hardware_report_{name.replace(', ', '_')}.txt").write_text(str(report) + "\n")
        print(f"{name}: accuracy {results[name]['accuracy']:.3f}, same decision as snnTorch "
              f"{agreement:.3f}, output spikes as snnTorch's on the same stream "
              f"{same_spikes:.3f}, "
              f"memory {results[name]['memory_kib']:.1f} KiB, energy "
              f"{results[name]['energy_per_inference_uj']:.2f} uJ per inference "
              f"({results[name]['seconds']:.0f} s)")
    results["setup"] = dict(vars(args), timestep_ms=TIMESTEP_MS, voltage_scale=VOLTAGE_SCALE,
                            v_offset=V_OFFSET, beta=BETA, test_samples=len(y_test))
    (out / "summary.json").write_text(json.dumps(results, indent=2))
    print(f"written to {out}/")


if __name__ == "__main__":
    main()
