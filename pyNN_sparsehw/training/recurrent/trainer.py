"""Back-propagation through time of an LSNN (:class:`~.network.RecurrentSNN`) with
torch.optim.Adam.

The loss is the softmax cross-entropy of the readout's logits plus a firing-rate
regulariser (Bellec et al. 2018): ``rate_weight * mean((rate - rate_target)^2)``
over the recurrent neurons, rates in spikes per time step. Gradients flow through
the twin's pseudo-derivative and through the adaptive thresholds. A chip in the
loop (``chip_forward``) supplies the recorded recurrent spikes of each batch; the
twin then follows the chip's spike history and only its gradients are used.
"""

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..model import accuracy, cross_entropy, one_thread


@dataclass
class History:
    """Per epoch: mean training loss, training accuracy (of the batches as trained),
    test accuracy (fractions) and mean recurrent rate (spikes per step)."""
    loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    rate: list = field(default_factory=list)


def regularised_loss(model, run, labels, rate_target, rate_weight):
    """(loss tensor, logits) of one forward :class:`~.network.Run`."""
    logits = model.logits(run.readout_v)
    rate = run.spikes.mean(dim=(0, 1))
    loss = cross_entropy(logits, labels) + rate_weight * ((rate - rate_target) ** 2).mean()
    return loss, logits


@torch.no_grad()
def evaluate(model, twin, x, y, batch_size=250):
    """(accuracy, logits (N, n_output)) of the model in `twin` on inputs `x`
    (steps, N, n_input) and labels `y`."""
    logits = []
    with one_thread():
        for start in range(0, x.shape[1], batch_size):
            run = model(x[:, start:start + batch_size], twin)
            logits.append(model.logits(run.readout_v))
    logits = torch.cat(logits).numpy()
    return accuracy(logits, y), logits


def train(model, twin, task, epochs=10, batch_size=64, learning_rate=3e-3,
          rate_target=0.01, rate_weight=1.0, seed=0, rewiring=None, chip_forward=None,
          progress=True):
    """Train `model` on `task` (:class:`~pyNN_sparsehw.training.tasks.SequenceTask`)
    through `twin` with Adam (learning rate in mV per step); returns a
    :class:`History`.

    rewiring : optional object whose ``after_step()`` is called right after every
        optimiser step (DEEP R, :mod:`pyNN_sparsehw.training.deep_r`).
    chip_forward : optional callable (weights as numpy dict, x) -> recorded
        recurrent spikes (steps, batch, n): the chip in the loop.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    rng = np.random.default_rng(seed)
    history = History()
    n = task.x_train.shape[1]
    with one_thread(), tqdm(total=epochs, desc=f"{task.name}", disable=not progress,
                            leave=False) as bar:
        for _ in range(epochs):
            order = rng.permutation(n)
            losses, correct, rates = [], [], []
            for start in range(0, n, batch_size):
                batch = order[start:start + batch_size]
                x = task.x_train[:, batch]
                recorded = None if chip_forward is None else \
                    chip_forward(model.numpy_weights(), x)
                run = model(x, twin, substitute=recorded)
                loss, logits = regularised_loss(model, run, task.y_train[batch],
                                                rate_target, rate_weight)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if rewiring is not None:
                    rewiring.after_step()
                model.clip_()
                losses.append(float(loss.detach()))
                correct.append(accuracy(logits.detach().numpy(), task.y_train[batch])
                               * len(batch))
                rates.append(float(run.spikes.detach().mean()))
            history.loss.append(float(np.mean(losses)))
            history.train_accuracy.append(float(np.sum(correct) / n))
            history.rate.append(float(np.mean(rates)))
            history.test_accuracy.append(evaluate(model, twin, task.x_test, task.y_test)[0])
            bar.set_postfix(loss=f"{history.loss[-1]:.3f}",
                            test=f"{history.test_accuracy[-1]:.3f}")
            bar.update()
    return history
