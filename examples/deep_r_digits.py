"""DEEP R on the 8x8 digits: a 64-100-10 LIF network trained dense, then pruned to 10 %
of its synapses and trained on with DEEP R (Bellec et al. 2018), both run on the
digital chip through PyNN.

    python examples/deep_r_digits.py --fraction 0.1 --out results/deep_r

The dense network is trained in the nominal chip's twin with ``train_software`` (the
digits trainer's settings). DEEP R then starts from its weights: each projection keeps
its largest `fraction` of weights (magnitude pruning, one budget per projection), the
kept weights are multiplied by --rescale (they carry the input of ten times as many
synapses; the weight limit rises to --sparse-limit nA, within the chip's range) and
training goes on with Adam and :class:`~pyNN_sparsehw.training.deep_r.DeepR` after
every step, in smaller batches (more steps per epoch at the same cost). Each trained
network is then built on the ``digital`` chip with PyNN, only its nonzero synapses
(positive weights on the excitatory receptor, negative on the inhibitory one,
``FromListConnector``), the test set is shown once, and the chip's HardwareReport gives
the synaptic memory (bits, in the encoding the mapper chose and in each encoding) and
the energy per inference. Writes ``summary.json`` and ``summary.md`` to --out.
"""

import argparse
import json
import os
import time

import numpy as np
import torch
from pyNN.parameters import Sequence

import pyNN_sparsehw as sim
from pyNN_sparsehw.chip.capacity import synapse_capacity
from pyNN_sparsehw.training import (Architecture, RateCode, SpikingNetwork, accuracy,
                                    load_digits, predict, train_software)
from pyNN_sparsehw.training.deep_r import DeepR
from pyNN_sparsehw.training.model import ArchitectureTwin, one_thread
from pyNN_sparsehw.training.trainer import batches
from pyNN_sparsehw.engine.progress import progress_bar


def train_deep_r(model, code, x, y, epochs, batch_size, learning_rate, seed, fraction, l1,
                 temperature, rescale):
    """`train_software`'s loop (Adam, cosine decay) with DEEP R after every step, from
    `model`'s weights pruned to `fraction` per projection and multiplied by `rescale`."""
    twin = ArchitectureTwin.nominal(model.architecture, code.dt, model.dtype)
    spikes = code.spike_tensor(x)
    stream = batches(len(y), batch_size, np.random.default_rng(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    rewiring = DeepR(dict(model.weights.items()), fraction=fraction, scope="tensor", l1=l1,
                     temperature=temperature, lr=learning_rate, seed=seed, optimizer=optimizer)
    with torch.no_grad():
        for w in model.weights.values():
            w.mul_(rescale)
    model.clip_()
    rewired = 0
    with progress_bar(epochs, "DEEP R training", "epochs") as bar:
        for _ in range(epochs):
            for _ in range(len(y) // batch_size):
                chosen = next(stream)
                with one_thread():
                    loss, _ = model.loss(model(spikes[:, chosen], twin), y[chosen])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                model.clip_()
                rewiring.lr = optimizer.param_groups[0]["lr"]
                rewiring.after_step()
                rewired += rewiring.rewired
            schedule.step()
            bar.update(1)
    return rewiring, rewired


def on_chip(architecture, weights, code, x, y, chip):
    """(accuracy, HardwareReport dict) of signed `weights` (nA) built on `chip` with
    only their nonzero synapses, the samples `x` shown once."""
    sim.setup(timestep=code.dt, min_delay=code.dt, chip=chip, chip_seed=0, rng_seed=1234)
    names = architecture.names
    n_input = architecture.size(names[0])
    source = sim.Population(n_input, sim.SpikeSourceArray(
        spike_times=[Sequence(t) for t in code.spike_trains(x)]), label=names[0])
    sizes = [architecture.size(name) for name in names[1:]]
    neurons = sim.Population(sum(sizes), sim.IF_curr_exp(**architecture.neuron.pynn()),
                             label="neurons")
    neurons.record("spikes")
    bounds = np.cumsum([0] + sizes)
    layers = {names[0]: source}
    layers.update({name: neurons[int(bounds[k]):int(bounds[k + 1])]
                   for k, name in enumerate(names[1:])})
    for (pre, post), w in weights.items():
        for receptor, keep in (("excitatory", w > 0), ("inhibitory", w < 0)):
            i, j = np.nonzero(keep)
            if i.size:
                connections = np.column_stack([i, j, w[i, j], np.full(i.size, code.dt)])
                sim.Projection(layers[pre], layers[post], sim.FromListConnector(connections),
                               sim.StaticSynapse(), receptor_type=receptor,
                               label=f"{pre}->{post} {receptor[:3]}")
    sim.run(code.duration(len(x)))
    trains = neurons.get_data("spikes").segments[-1].spiketrains
    senders = np.repeat([st.annotations["source_index"] for st in trains],
                        [len(st) for st in trains]).astype(np.int64)
    times = np.concatenate([np.asarray(st.magnitude, dtype=float) for st in trains]
                           + [np.zeros(0)])
    counts = code.window_counts(senders, times, neurons.size, len(x))[:, int(bounds[-2]):]
    report = sim.hardware_report(inferences=len(x)).as_dict()
    sim.end()
    return accuracy(counts, y), report


def summarise(name, model, code, x_test, y_test, chip, seconds):
    twin = ArchitectureTwin.nominal(model.architecture, code.dt, model.dtype)
    _, counts = predict(model, twin, code, x_test)
    weights = model.numpy_weights()
    synapses = int(sum(np.count_nonzero(w) for w in weights.values()))
    chip_accuracy, report = on_chip(model.architecture, weights, code, x_test, y_test, chip)
    memory = {p["label"]: p["memory"] for p in report["projections"]}
    alternatives = {}          # total bits per encoding (None: some projection cannot)
    for entry in memory.values():
        for encoding, bits in entry["alternatives"].items():
            so_far = alternatives.get(encoding, 0)
            alternatives[encoding] = None if bits is None or so_far is None else so_far + bits
    return dict(network=name, synapses=synapses, twin_accuracy=accuracy(counts, y_test),
                chip=chip, chip_accuracy=chip_accuracy,
                memory_bits=report["totals"]["memory_bits"],
                encodings={label: m["encoding"] for label, m in memory.items()},
                memory_bits_by_encoding=alternatives,
                energy_per_inference_j=report["energy"]["per_inference_j"],
                energy_by_category_j=report["energy"]["by_category"],
                training_seconds=seconds)


def markdown(rows):
    head = ("| network | synapses | accuracy (twin) | accuracy (digital) | synaptic memory "
            "(bits, chosen) | csr bits | bitmap bits | energy per inference |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
    return head + "".join(
        f"| {r['network']} | {r['synapses']} | {100 * r['twin_accuracy']:.1f} % | "
        f"{100 * r['chip_accuracy']:.1f} % | {r['memory_bits']} | "
        f"{r['memory_bits_by_encoding'].get('csr', '-')} | "
        f"{r['memory_bits_by_encoding'].get('bitmap', '-')} | "
        f"{1e6 * r['energy_per_inference_j']:.2f} uJ |\n" for r in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=15, help="dense training")
    parser.add_argument("--deep-r-epochs", type=int, default=10)
    parser.add_argument("--deep-r-batch", type=int, default=32)
    parser.add_argument("--l1", type=float, default=0.1)
    parser.add_argument("--temperature", type=float, default=1e-6)
    parser.add_argument("--rescale", type=float, default=2.0)
    parser.add_argument("--sparse-limit", type=float, default=2.0, help="nA")
    parser.add_argument("--rate", type=float, default=0.01, help="Adam step (nA)")
    parser.add_argument("--test-samples", type=int, default=None)
    parser.add_argument("--chip", default="digital")
    parser.add_argument("--out", default="results/deep_r")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    data = load_digits()
    code = RateCode()
    architecture = Architecture.feed_forward(64, 100, 10)
    n = len(data.y_test) if args.test_samples is None else args.test_samples
    x_test, y_test = data.x_test[:n], data.y_test[:n]
    rows = []
    torch.manual_seed(0)
    dense = SpikingNetwork(architecture, 0.5, 1.0, seed=0, init_weight=3.0)
    start = time.perf_counter()
    train_software(dense, code, data.x_train, data.y_train, args.epochs, 128, args.rate, 0)
    rows.append(summarise("dense", dense, code, x_test, y_test, args.chip,
                          time.perf_counter() - start))
    sparse = SpikingNetwork(architecture, args.sparse_limit, 1.0, seed=0, init_weight=3.0)
    sparse.set_weights(dense.numpy_weights())
    start = time.perf_counter()
    rewiring, rewired = train_deep_r(sparse, code, data.x_train, np.asarray(data.y_train),
                                     args.deep_r_epochs, args.deep_r_batch, args.rate, 0,
                                     args.fraction, args.l1, args.temperature, args.rescale)
    row = summarise(f"DEEP R {100 * args.fraction:g} %", sparse, code, x_test, y_test,
                    args.chip, time.perf_counter() - start)
    row.update(rewired=rewired, active=rewiring.active)
    rows.append(row)
    projections = [(64, 100), (100, 10)]
    capacity = {encoding: synapse_capacity("digital", 1, projections, encoding).synapses
                for encoding in ("csr", "bitmap")}
    summary = dict(rows=rows, settings=vars(args), test_samples=n,
                   digital_one_core_capacity=capacity)
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2, default=float)
    table = markdown(rows)
    with open(os.path.join(args.out, "summary.md"), "w") as fh:
        fh.write(table)
    print(table)
    print(json.dumps({r["network"]: r["memory_bits_by_encoding"] for r in rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
