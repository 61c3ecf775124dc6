"""Train EGRU and dense GRU classifiers on a :class:`~.tasks.SequenceTask` and measure
them: accuracy in the twin and on a chip, activity, operations, memory and energy.

Both classifiers read out the mean over time of the recurrent layer's output (the
graded events y of the EGRU, the hidden state h of the GRU) with one linear layer
computed on the host. With the same hidden size they have the same parameters
(3H(I + H) weights; the EGRU's 4H biases and H thresholds against the GRU's 6H
biases).
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...chip.model import load_chip
from ..twin.quantize import WeightQuantizer
from .cell import EGRU, EGRUParameters, activity_regulariser
from .sparsity import count_operations
from . import deploy


class EGRUClassifier(nn.Module):
    """An EGRU layer and a linear readout of its time-averaged graded events."""

    def __init__(self, inputs, hidden, classes, generator=None):
        super().__init__()
        self.egru = EGRU(inputs, hidden, generator=generator)
        self.readout = nn.Linear(hidden, classes)

    def forward(self, x):
        """(logits, EGRUStep) for x of shape (T, B, I)."""
        step = self.egru(x)
        return self.readout(step.y.mean(0)), step


class GRUClassifier(nn.Module):
    """torch.nn.GRU (every unit sends its state every step) and a linear readout of
    the time-averaged hidden state."""

    def __init__(self, inputs, hidden, classes):
        super().__init__()
        self.gru = nn.GRU(inputs, hidden)
        self.readout = nn.Linear(hidden, classes)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.readout(h.mean(0)), None


def parameter_count(model):
    """Trainable numbers of the recurrent layer (the readout apart)."""
    layer = model.egru if isinstance(model, EGRUClassifier) else model.gru
    return sum(p.numel() for p in layer.parameters())


def train(model, task, epochs=30, batch=64, lr=0.01, regulariser=0.0, seed=0):
    """Adam on cross-entropy (+ `regulariser` x activity for an EGRU); returns the
    model."""
    x = torch.tensor(task.x_train, dtype=torch.float32)
    y = torch.tensor(task.y_train)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(y.numel(), generator=generator)
        for start in range(0, y.numel(), batch):
            chosen = order[start:start + batch]
            logits, step = model(x[:, chosen])
            loss = nn.functional.cross_entropy(logits, y[chosen])
            if step is not None and regulariser:
                loss = loss + regulariser * activity_regulariser(step.events)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def accuracy(logits, labels):
    return float((logits.argmax(1) == torch.as_tensor(labels)).double().mean())


@dataclass
class Measurement:
    """One model on one task: accuracy, activity and costs per inference (sample)."""
    model: str
    accuracy: float
    events_per_step: float
    synaptic_ops: float
    memory_bits: float
    energy_j: float
    activity_sparsity: float = float("nan")
    backward_sparsity: float = float("nan")
    chip_accuracy: float = float("nan")


def evaluate_twin(model, task):
    """(accuracy, EGRUStep or None) of the twin on the test set."""
    x = torch.tensor(task.x_test, dtype=torch.float32)
    with torch.no_grad():
        logits, step = model(x)
    return accuracy(logits, task.y_test), step


@dataclass
class ChipRun:
    """A layer run on a chip over a set of samples, one copy per sample.

    events : tensor (T, N, H) of the chip's events; y : its graded events
    energy_j : hardware report's energy per inference (J)
    synaptic_ops : synaptic events per inference
    memory_bits : synaptic memory bits of one copy of the network
    copies_per_core, cores : copies sharing a core, cores used (largest batch)
    peak_core_memory : the fullest core's share of its synaptic memory (0..1)
    """
    events: torch.Tensor
    y: torch.Tensor
    energy_j: float
    synaptic_ops: float
    memory_bits: float
    copies_per_core: int
    cores: int
    peak_core_memory: float


def run_on_chip(sim, parameters, x, chip="digital", batch=None):
    """Run an EGRU layer with `parameters` on `chip` over the samples of `x` (T, N, I):
    one copy of the network per sample, packed on cores by
    :func:`~.deploy.plan_copies` (the chip's neuron and synaptic-memory limits per
    core hold), `batch` copies per simulation (default: all N). Returns a
    :class:`ChipRun`; energies and operations are totals over all batches per
    inference."""
    plan = deploy.plan_copies(sim, parameters, chip)
    batch = batch or x.shape[1]
    events, graded, energy, synops, memory, cores, peak = [], [], 0.0, 0.0, None, 0, 0.0
    for start in range(0, x.shape[1], batch):
        part = x[:, start:start + batch]
        sim.setup(timestep=1.0, chip=chip)
        network = deploy.build_copies(sim, parameters, part.shape[1], plan)
        out = deploy.run(sim, network, part)
        report = sim.hardware_report(inferences=part.shape[1])
        sim.end()
        events.append(out.events)
        graded.append(out.y)
        energy += report.energy["total_j"]
        synops += sum(p["synaptic_events"] or 0 for p in report.projections)
        if memory is None:
            memory = sum(p["memory"]["bits"] for p in report.projections
                         if p["memory"]) / part.shape[1]
        cores = max(cores, report.cores["used"])
        capacity = report.cores["limits"]["synaptic_memory_bits"]
        if capacity:
            peak = max([peak] + [c["memory_bits"] / capacity for c in report.cores["per_core"]])
    n = x.shape[1]
    return ChipRun(torch.cat(events, 1), torch.cat(graded, 1), energy / n, synops / n,
                   memory, plan.per_core, cores, peak)


def evaluate_chip(sim, model, task, chip="digital", batch=None):
    """Run the EGRU layer of `model` on `chip` over the whole test set
    (:func:`run_on_chip`) and read out on the host. Returns (accuracy, ChipRun)."""
    run = run_on_chip(sim, model.egru.parameters_now(), task.x_test, chip, batch)
    with torch.no_grad():
        logits = model.readout(run.y.float().mean(0))
    return accuracy(logits, task.y_test), run


def measure_egru(sim, name, model, task, chip="digital"):
    """The :class:`Measurement` of an EGRU classifier over the whole test set: twin
    and chip accuracy, the chip's events, synaptic operations, memory and energy, twin
    sparsities; and the :class:`ChipRun`."""
    twin_accuracy, step = evaluate_twin(model, task)
    ops = count_operations(torch.tensor(task.x_test, dtype=torch.float32), step,
                           model.egru.threshold)
    chip_accuracy, run = evaluate_chip(sim, model, task, chip)
    return Measurement(name, twin_accuracy, float(run.events.sum(-1).mean()),
                       run.synaptic_ops, run.memory_bits, run.energy_j,
                       ops.activity_sparsity, ops.backward_sparsity, chip_accuracy), run


def gru_as_egru_parameters(gru, always_on=-7.9):
    """The weights of a one-layer ``torch.nn.GRU`` as :class:`~.cell.EGRUParameters`
    whose threshold `always_on` lies below any state: deployed, every unit sends an
    event every step, as a dense GRU communicates. Its dynamics are not the GRU's (the
    reset subtracts the threshold); its costs on the chip (events, synaptic
    operations, memory, energy) are those of the GRU, weight for weight. torch's gate
    order is (reset, update, new) and its update gate keeps the old state:
    u = 1 - z_torch."""
    w_r, w_z, w_n = gru.weight_ih_l0.detach().double().chunk(3)
    r_r, r_z, r_n = gru.weight_hh_l0.detach().double().chunk(3)
    b_r, b_z, b_n = gru.bias_ih_l0.detach().double().chunk(3)
    c_r, c_z, c_n = gru.bias_hh_l0.detach().double().chunk(3)
    return EGRUParameters(-w_z, w_r, w_n, -r_z, r_r, r_n, -(b_z + c_z), b_r + c_r, b_n, c_n,
                          torch.full_like(b_n, always_on))


def quantized_gru(model, chip_model):
    """A copy of a :class:`GRUClassifier` whose recurrent weights are those `chip_model`
    stores (per gate matrix, as one projection each: the twin's WeightQuantizer)."""
    copy = GRUClassifier(model.gru.input_size, model.gru.hidden_size,
                         model.readout.out_features)
    copy.load_state_dict(model.state_dict())
    quantize = WeightQuantizer.for_chip(chip_model)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0"):
            weights = getattr(copy.gru, name)
            weights.copy_(torch.cat([quantize.values(part) for part in weights.chunk(3)]))
    return copy


def measure_dense_gru(sim, name, model, task, chip="digital"):
    """The :class:`Measurement` of a GRU classifier over the whole test set: accuracy
    with the chip's weights (:func:`quantized_gru`), costs from the chip running its
    weights with every unit sending every step (:func:`gru_as_egru_parameters`); and
    the :class:`ChipRun`."""
    chip_model = load_chip(chip)
    twin_accuracy, _ = evaluate_twin(quantized_gru(model, chip_model), task)
    run = run_on_chip(sim, gru_as_egru_parameters(model.gru), task.x_test, chip)
    return Measurement(name, twin_accuracy, float(run.events.sum(-1).mean()),
                       run.synaptic_ops, run.memory_bits, run.energy_j, 0.0, float("nan"),
                       twin_accuracy), run


__all__ = ["EGRUClassifier", "GRUClassifier", "parameter_count", "train", "accuracy",
           "Measurement", "evaluate_twin", "ChipRun", "run_on_chip", "evaluate_chip", "measure_egru",
           "gru_as_egru_parameters", "quantized_gru", "measure_dense_gru"]
