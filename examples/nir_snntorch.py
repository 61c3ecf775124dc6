"""From snnTorch to the chip through NIR, and fine-tuning there: the 8x8 digits.

1. Train a small spiking network in snnTorch (64 -> hidden Leaky -> 10 Leaky, no
   biases, rate coded input, surrogate gradients, cross-entropy on spike counts).
2. Export it with snnTorch's ``export_to_nir`` and write it as a NIR file.
3. Read the file with :func:`pyNN_sparsehw.nir.read` on the ``ideal`` chip, the
   ``digital`` chip, the ``analog`` chip uncalibrated (``setup(calibration=None)``)
   and calibrated (the default), present the test set, and report accuracy, synaptic
   memory and energy per inference
   (:class:`pyNN_sparsehw.report.hardware.HardwareReport`).
4. On both analog chips, fine-tune the weights with the chip in the loop
   (:class:`pyNN_sparsehw.training.InTheLoopTrainer` over the populations and
   projections that ``read`` created, :mod:`pyNN_sparsehw.nir.loop`): forward on the
   chip, backward through the twin of this chip instance with the chip's spikes
   substituted; then present the test set again.

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
from pyNN_sparsehw.nir.loop import NIRChip, Presentation, SignedWeights
from pyNN_sparsehw.training import InTheLoopTrainer

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
    parser.add_argument("--loop-iterations", type=int, default=40,
                        help="in-the-loop iterations on each analog chip")
    parser.add_argument("--loop-batch", type=int, default=40,
                        help="training samples per in-the-loop iteration")
    parser.add_argument("--loop-rate", type=float, default=0.005,
                        help="Adam's step in the loop (nA)")
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
    needs a parameter per neuron), reset to zero (NIR's reset), no biases (the
    in-the-loop trainer's architecture has none)."""
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden, bias=False),
        snn.Leaky(beta=torch.full((hidden,), BETA), threshold=torch.ones(hidden),
                  reset_mechanism="zero", init_hidden=True),
        torch.nn.Linear(hidden, 10, bias=False),
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


def read_onto(path, args, chip, calibration):
    """The NIR file read onto a new simulation of `chip`."""
    sim.setup(timestep=TIMESTEP_MS, chip=chip, chip_seed=args.chip_seed,
              calibration=calibration)
    return pnir.read(path, voltage_scale=VOLTAGE_SCALE, v_offset=V_OFFSET)


def test_on_chip(network, shown, samples):
    """Run the stream `shown` (NIR steps, 64); returns the output spikes (steps, 10)
    and the hardware report of the run."""
    output = network.run(shown)[next(iter(network.outputs))]
    return output, sim.hardware_report(inferences=samples)


def fine_tune(chip, train_spikes, y_train, args):
    """In-the-loop training of the read network's weights; returns the trainer."""
    trainer = InTheLoopTrainer(SignedWeights(chip), chip, train_spikes, y_train,
                               batch_size=args.loop_batch, learning_rate=args.loop_rate,
                               seed=args.seed)
    trainer.train(args.loop_iterations, description="in the loop")
    chip.write_weights(trainer.model.numpy_weights())
    return trainer


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
    presentation = Presentation(args.steps, args.gap, TIMESTEP_MS)
    shown = presentation.stream(test_spikes.numpy().transpose(1, 0, 2))
    samples = len(y_test)
    with torch.no_grad():                 # snnTorch on the same stream, never reset
        snn_utils.reset(net)
        reference = torch.stack([net(torch.as_tensor(s[None], dtype=torch.float32))[0][0]
                                 for s in shown]).numpy()
    results["snntorch, stream"] = {"accuracy": accuracy_of(
        presentation.counts(reference, samples), y_test)}
    print(f"snnTorch on the stream of test samples (never reset): accuracy "
          f"{results['snntorch, stream']['accuracy']:.3f}")
    train_spikes = encode(x_train, args.steps, args.rate, generator).numpy().transpose(1, 0, 2)

    def evaluate(name, realised, start):
        output, report = test_on_chip(realised, shown, samples)
        count = presentation.counts(output, samples)
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

    stages = [("ideal", "ideal", None, False), ("digital", "digital", None, False),
              ("analog, uncalibrated", "analog", None, True),
              ("analog, calibrated", "analog", "auto", True)]
    for name, chip, calibration, loop in stages:
        start = time.time()
        realised = read_onto(path, args, chip, calibration)
        # the trainer's view of the network records every layer: made before any run
        in_the_loop = NIRChip(realised, presentation) if loop else None
        evaluate(name, realised, start)
        if loop:
            start = time.time()
            trainer = fine_tune(in_the_loop, train_spikes, y_train, args)
            tuned = f"{name}, fine-tuned in the loop"
            evaluate(tuned, realised, start)
            results[tuned]["training"] = [r.as_dict() for r in trainer.history]
    results["setup"] = dict(vars(args), timestep_ms=TIMESTEP_MS, voltage_scale=VOLTAGE_SCALE,
                            v_offset=V_OFFSET, beta=BETA, test_samples=samples)
    (out / "summary.json").write_text(json.dumps(results, indent=2))
    print(f"written to {out}/")


if __name__ == "__main__":
    main()
