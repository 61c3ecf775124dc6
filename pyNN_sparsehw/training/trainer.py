"""Training: offline in the software model, then with the chip in the loop.

In the loop (Schmitt et al. 2017; hxtorch), each iteration writes the current
weights to the chip (the mapping quantizes them), runs a batch on the engine,
records the spike counts of every layer, back-propagates through the software model
evaluated at those recorded counts, and updates the weights, which stay within the
chip's range.
"""

import time
from dataclasses import dataclass, asdict

import numpy as np

from ..engine.progress import progress_bar
from .optim import Adam


@dataclass(frozen=True)
class IterationRecord:
    """One training iteration.

    `chip_*`: loss (nats) and accuracy of the chip's output counts on the batch
    (before the update); `software_*`: the software model with the same weights on
    the same batch; `software_test_accuracy`: the model after the update on the test
    set; `seconds`: wall time of the iteration.
    """
    iteration: int
    chip_loss: float
    chip_accuracy: float
    software_loss: float
    software_accuracy: float
    software_test_accuracy: float
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


def train_software(model, code, x, y, epochs=40, batch_size=32, learning_rate=0.01, seed=0,
                   progress=True):
    """Train `model` offline on samples `x` (intensities) with labels `y`.

    Returns the (loss, accuracy) on the training set after each epoch.
    """
    counts = code.counts(x)
    stream = batches(len(y), batch_size, np.random.default_rng(seed))
    optimizer = Adam(learning_rate)
    history = []
    with progress_bar(epochs, "software training", "epochs",
                      mode=None if progress else "off") as bar:
        for _ in range(epochs):
            for _ in range(len(y) // batch_size):
                chosen = next(stream)
                gradients, _, _ = model.gradients(model.forward(counts[chosen]), y[chosen])
                optimizer.update(model.weights, gradients)
                model.clip()
            history.append(model.loss(model.forward(counts), y))
            bar.update(1)
    return history


def evaluate_on_chip(model, chip, x, y):
    """(loss, accuracy, output counts) of the model's weights run on `chip`."""
    chip.write_weights(model.weights)
    output = chip.run(x)[model.architecture.output]
    loss = model.loss({model.architecture.output: output}, y)
    return loss[0], loss[1], output


class InTheLoopTrainer:
    """Trains `model`'s weights with `chip` (a :class:`~.chip.ChipNetwork`) in the loop.

    Parameters
    ----------
    model : RateNetwork
        Holds the weights being trained (floats; the chip stores them quantized).
    chip : ChipNetwork
    x, y : arrays
        Training samples (intensities) and labels.
    x_test, y_test : arrays
        Test set, for the software model's accuracy per iteration.
    batch_size : int
    learning_rate : float
        Adam's step (nA).
    seed : int
        Order of the samples.
    """

    def __init__(self, model, chip, x, y, x_test, y_test, batch_size=50, learning_rate=0.005,
                 seed=0):
        self.model = model
        self.chip = chip
        self.x, self.y = np.asarray(x, dtype=float), np.asarray(y)
        self.test_counts = chip.code.counts(x_test)
        self.y_test = np.asarray(y_test)
        self.optimizer = Adam(learning_rate)
        self._batches = batches(len(self.y), int(batch_size), np.random.default_rng(seed))
        self.history = []

    def step(self):
        """One iteration; returns its :class:`IterationRecord`."""
        start = time.perf_counter()
        chosen = next(self._batches)
        x, y = self.x[chosen], self.y[chosen]
        self.chip.write_weights(self.model.weights)
        activity = self.chip.run(x)
        software_loss, software_accuracy = self.model.loss(
            self.model.forward(activity[self.model.architecture.input]), y)
        gradients, chip_loss, chip_accuracy = self.model.gradients(activity, y, recorded=True)
        self.optimizer.update(self.model.weights, gradients)
        self.model.clip()
        _, test_accuracy = self.model.loss(self.model.forward(self.test_counts), self.y_test)
        record = IterationRecord(len(self.history) + 1, chip_loss, chip_accuracy,
                                 software_loss, software_accuracy, test_accuracy,
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
