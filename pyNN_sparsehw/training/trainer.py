"""Training with torch.optim: offline in the twin, then with the chip in the loop.

Offline, the twin of the nominal chip (:meth:`.model.ArchitectureTwin.nominal`)
runs forward and back-propagates through time with the pseudo-derivative of its
spikes. In the loop (Schmitt et al. 2017; hxtorch), each iteration writes the
current weights to the chip (the mapping quantizes them), runs a batch on the
engine, records the spikes of every layer, runs the twin of *this chip instance*
(:meth:`.model.ArchitectureTwin.from_chip`: its mismatch, its quantization) with the
recorded spikes substituted for its own (forward values from the chip, gradients
from the twin), and takes an Adam step; the weights stay within the chip's range.
"""

import time
from dataclasses import dataclass, asdict

import numpy as np
import torch

from ..engine.progress import progress_bar
from .model import ArchitectureTwin, accuracy, cross_entropy, one_thread


@dataclass(frozen=True)
class IterationRecord:
    """One training iteration.

    `chip_*`: loss (nats) and accuracy of the chip's output spikes on the batch
    (before the update); `software_*`: the chip's twin alone (its own spikes) with
    the same weights on the same batch; `seconds`: wall time of the iteration.
    """
    iteration: int
    chip_loss: float
    chip_accuracy: float
    software_loss: float
    software_accuracy: float
    seconds: float

    def as_dict(self):
        return asdict(self)


def batches(n_samples, batch_size, rng):
    """Endless sample indices, `batch_size` at a time, reshuffled every epoch (the
    last n_samples % batch_size of each epoch's order are left out)."""
    if not 1 <= int(batch_size) <= n_samples:
        raise ValueError(f"batch_size must lie in 1 .. {n_samples} (the training samples), "
                         f"got {batch_size}")
    batch_size = int(batch_size)

    def stream():
        while True:
            order = rng.permutation(n_samples)
            for start in range(0, n_samples - batch_size + 1, batch_size):
                yield order[start:start + batch_size]
    return stream()


def train_software(model, code, x, y, epochs=15, batch_size=128, learning_rate=0.01, seed=0,
                   progress=True, twins=None):
    """Train `model` (a :class:`~.model.SpikingNetwork`) offline on samples `x`
    (intensities) with labels `y`, with Adam and a cosine decay of its step over
    the epochs. `twins`: a callable giving the twin of each batch (e.g. a fresh
    draw of a chip's mismatch, :meth:`.model.ArchitectureTwin.sampled`); default:
    the nominal chip's twin.

    Returns the mean (loss, accuracy) over each epoch's batches.
    """
    if twins is None:
        nominal = ArchitectureTwin.nominal(model.architecture, code.dt, model.dtype)

        def twins():
            return nominal
    spikes = code.spike_tensor(x)
    y = np.asarray(y)
    stream = batches(len(y), batch_size, np.random.default_rng(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    # the step decays to 0 over the epochs (cosine), which settles the spiking twin
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    history = []
    with progress_bar(epochs, "software training", "epochs",
                      mode=None if progress else "off") as bar:
        for _ in range(epochs):
            losses, accuracies = [], []
            for _ in range(len(y) // batch_size):
                chosen = next(stream)
                with one_thread():
                    loss, acc = model.loss(model(spikes[:, chosen], twins()), y[chosen])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                model.clip_()
                losses.append(loss.item())
                accuracies.append(acc)
            schedule.step()
            history.append((float(np.mean(losses)), float(np.mean(accuracies))))
            bar.update(1)
    return history


def output_loss(model, counts, labels):
    """(cross-entropy, accuracy) of output spike counts (samples, outputs)."""
    logits = model.readout_scale * torch.as_tensor(counts, dtype=torch.float64)
    return float(cross_entropy(logits, labels)), accuracy(counts, labels)


def evaluate_on_chip(model, chip, x, y):
    """(loss, accuracy, output counts) of the model's weights run on `chip`."""
    chip.write_weights(model.numpy_weights())
    output = chip.run(x)[model.architecture.output]
    loss, acc = output_loss(model, output, y)
    return loss, acc, output


class InTheLoopTrainer:
    """Trains `model`'s weights with `chip` (a :class:`~.chip.ChipNetwork`) in the loop.

    Parameters
    ----------
    model : pyNN_sparsehw.training.model.SpikingNetwork
        Holds the weights being trained (floats; the chip stores them quantized).
    chip : ChipNetwork
    x, y : arrays
        Training samples (intensities) and labels.
    batch_size : int
    learning_rate : float
        Adam's step (nA).
    seed : int
        Order of the samples.
    """

    def __init__(self, model, chip, x, y, batch_size=50, learning_rate=0.005, seed=0):
        self.model = model
        self.chip = chip
        self.x, self.y = np.asarray(x, dtype=float), np.asarray(y)
        self.twin = ArchitectureTwin.from_chip(chip, model.dtype)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
        self._batches = batches(len(self.y), int(batch_size), np.random.default_rng(seed))
        self.history = []

    def step(self):
        """One iteration; returns its :class:`IterationRecord`."""
        start = time.perf_counter()
        chosen = next(self._batches)
        x, y = self.x[chosen], self.y[chosen]
        self.chip.write_weights(self.model.numpy_weights())
        recorded = self.chip.record(x)
        arch = self.model.architecture
        inputs = recorded.pop(arch.input)
        with one_thread():
            with torch.no_grad():
                software_loss, software_accuracy = self.model.loss(
                    self.model(inputs, self.twin), y)
            chip_loss, chip_accuracy = self.model.loss(
                self.model(inputs, self.twin, substitute=recorded), y)
            self.optimizer.zero_grad()
            chip_loss.backward()
            self.optimizer.step()
        self.model.clip_()
        record = IterationRecord(len(self.history) + 1, chip_loss.item(), chip_accuracy,
                                 software_loss.item(), software_accuracy,
                                 time.perf_counter() - start)
        self.history.append(record)
        return record

    def train(self, iterations, progress=True, description="in the loop"):
        """Run `iterations` steps with a progress bar; returns the new records."""
        records = []
        with progress_bar(int(iterations), description, "it",
                          mode=None if progress else "off") as bar:
            for _ in range(int(iterations)):
                record = self.step()
                records.append(record)
                bar.set_postfix(chip_acc=f"{record.chip_accuracy:.3f}",
                                loss=f"{record.chip_loss:.3f}")
                bar.update(1)
        return records
