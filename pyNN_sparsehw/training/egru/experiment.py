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


def evaluate_chip(sim, model, task, chip="digital", chunk=2):
    """Run the EGRU layer of `model` on `chip` (PyNN, one chunk of test samples per
    simulation: the copies of a chunk share cores, whose synaptic memory bounds it)
    and read out on the host. Returns (accuracy, chip events (T, N, H),
    mean over chunks of the hardware report's energy per inference (J), synaptic
    events per inference, synaptic memory bits of one copy of the network)."""
    x = task.x_test
    parameters = model.egru.parameters_now()
    logits, events, energy, synops, memory = [], [], [], [], None
    for start in range(0, x.shape[1], chunk):
        part = x[:, start:start + chunk]
        sim.setup(timestep=1.0, chip=chip)
        network = deploy.build(sim, parameters, part.shape[1])
        out = deploy.run(sim, network, part)
        report = sim.hardware_report(inferences=part.shape[1])
        sim.end()
        with torch.no_grad():
            logits.append(model.readout(out.y.float().mean(0)))
        events.append(out.events)
        energy.append(report.energy["per_inference_j"])
        synops.append(sum(p["synaptic_events"] or 0 for p in report.projections) /
                      part.shape[1])
        memory = memory if memory is not None else sum(
            p["memory"]["bits"] for p in report.projections if p["memory"]) / part.shape[1]
    return (accuracy(torch.cat(logits), task.y_test), torch.cat(events, 1),
            float(np.mean(energy)), float(np.mean(synops)), memory)


def measure_egru(sim, name, model, task, chip="digital"):
    """The :class:`Measurement` of an EGRU classifier: twin and chip accuracy, the
    chip's events, synaptic operations, memory and energy, twin sparsities."""
    twin_accuracy, step = evaluate_twin(model, task)
    ops = count_operations(torch.tensor(task.x_test, dtype=torch.float32), step,
                           model.egru.threshold)
    chip_accuracy, events, energy, synops, memory = evaluate_chip(sim, model, task, chip)
    return Measurement(name, twin_accuracy, float(events.sum(-1).mean()), synops, memory,
                       energy, ops.activity_sparsity, ops.backward_sparsity, chip_accuracy)


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


def measure_dense_gru(sim, name, model, task, chip="digital", chunk=2):
    """The :class:`Measurement` of a GRU classifier: accuracy with the chip's weights
    (:func:`quantized_gru`), costs from the chip running its weights with every unit
    sending every step (:func:`gru_as_egru_parameters`)."""
    chip_model = load_chip(chip)
    twin_accuracy, _ = evaluate_twin(quantized_gru(model, chip_model), task)
    parameters = gru_as_egru_parameters(model.gru)
    x = task.x_test[:, :chunk]
    sim.setup(timestep=1.0, chip=chip)
    network = deploy.build(sim, parameters, x.shape[1])
    out = deploy.run(sim, network, x)
    report = sim.hardware_report(inferences=x.shape[1])
    sim.end()
    synops = sum(p["synaptic_events"] or 0 for p in report.projections) / x.shape[1]
    memory = sum(p["memory"]["bits"] for p in report.projections if p["memory"]) / x.shape[1]
    return Measurement(name, twin_accuracy, float(out.events.sum(-1).mean()), synops,
                       memory, report.energy["per_inference_j"], 0.0, float("nan"),
                       twin_accuracy)


__all__ = ["EGRUClassifier", "GRUClassifier", "parameter_count", "train", "accuracy",
           "Measurement", "evaluate_twin", "evaluate_chip", "measure_egru",
           "gru_as_egru_parameters", "quantized_gru", "measure_dense_gru"]
