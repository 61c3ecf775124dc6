"""The comparison's spiking rows: a recurrent LIF network and an LSNN
(:mod:`pyNN_sparsehw.training.recurrent`, Bellec et al. 2018) on the EGRU's task,
with the EGRU's parameter budget, measured on the chip as the EGRU is.

Budget: the recurrent layer's trainable numbers. The EGRU's are 3H(I + H) weights,
4H biases and H thresholds; a spiking network's are its input and recurrent weights,
N·I + N·(N - 1) (no autapses), and :func:`recurrent_size` picks the N that comes
closest. The readouts are apart: the EGRU's linear layer is computed on the host,
the spiking networks' leaky readout neurons (N x classes weights) run on the chip and
their costs are counted.

Task: the same samples and input code; every step is held for
``SETTINGS[task].hold`` time steps of 1 ms, and the networks are trained with that
setting's readout, learning rate and epochs (as ``recurrent.experiment.train_network``
does, at N neurons instead of the setting's),
so that the membranes (tau_m = 20 ms) integrate the input. Events per step are
therefore per 1 ms step of the held sequence; synaptic operations and energy are per
inference and compare directly.
"""

import numpy as np
import torch

from ... import simulator
from ..model import accuracy
from ..recurrent.chip import ChipLSNN
from ..recurrent.experiment import TaskSetting
from ..recurrent.network import RecurrentArchitecture, RecurrentSNN, RecurrentTwin
from ..recurrent.trainer import evaluate, train
from ..tasks import stretch
from .experiment import Measurement

#: the spiking rows' settings on the EGRU's tasks (the EGRU's thermometer-coded digits,
#: each step held 2 ms): fixed here, apart from the LSNN demo's own digits setting
#: (rate-coded rows, :data:`~pyNN_sparsehw.training.recurrent.experiment.SETTINGS`),
#: so that the comparison's numbers do not move when that demo is tuned
SETTINGS = {"digits": TaskSetting(hold=2, readout_steps=16, epochs=15, learning_rate=0.03,
                                  n_recurrent=100, tau_out=100.0, input_scale=2.0)}


def recurrent_size(inputs, budget):
    """Recurrent neurons N whose input and recurrent weights, N·inputs + N·(N - 1),
    come closest to `budget`."""
    n = np.arange(1, int(np.sqrt(budget)) + inputs + 2)
    return int(n[np.argmin(np.abs(n * inputs + n * (n - 1) - budget))])


def parameter_count(architecture):
    """Input and recurrent weights of a spiking network (the readout apart)."""
    n = architecture.n_recurrent
    return n * architecture.n_input + n * (n - 1)


def train_spiking(task_name, task, n_recurrent, n_alif, epochs=None, seed=1):
    """A :class:`~pyNN_sparsehw.training.recurrent.RecurrentSNN` of `n_recurrent`
    neurons (`n_alif` adaptive) trained on the (held) `task` with the settings of
    ``SETTINGS[task_name]`` (`epochs`: default the setting's)."""
    setting = SETTINGS[task_name]
    architecture = RecurrentArchitecture(task.x_train.shape[2], n_recurrent - n_alif, n_alif,
                                         task.n_classes, tau_out=setting.tau_out,
                                         readout_steps=setting.readout_steps)
    model = RecurrentSNN(architecture, seed=seed, input_scale=setting.input_scale)
    train(model, RecurrentTwin.nominal(architecture), task, epochs=epochs or setting.epochs,
          learning_rate=setting.learning_rate, seed=seed, batch_size=50,
          rate_weight=setting.rate_weight)
    return model


def one_copy_memory_bits(sim, model, chip):
    """Synaptic memory bits of one copy of the network on `chip`, mapped alone (in a
    batch, ChipLSNN's block-diagonal tables give every block rows for all copies)."""
    ChipLSNN(model.architecture, model.numpy_weights(), 1, dict(chip=chip, trial_noise=False))
    mapper = simulator.state.mapping()
    bits = sum(m.memory.size_bits for m in mapper.projections.values() if m.memory is not None)
    sim.end()
    return float(bits)


def measure_spiking(sim, name, task_name, task, n_recurrent, n_alif, chip="digital",
                    epochs=None, seed=1, batch=40):
    """Train a spiking network (`n_alif` of `n_recurrent` neurons adapt; 0: LIF only)
    on `task` held as :data:`SETTINGS` [`task_name`] says, run it on `chip` over the
    whole test set (`batch` copies per simulation: ChipLSNN puts them in one population
    with block-diagonal weights, whose tables grow with the batch; 40 copies of a
    62-neuron network fit the digital chip's synaptic memory per core, 100 do not)
    and return its :class:`~.experiment.Measurement`, the trained RecurrentSNN and
    the chip's recurrent spikes (steps, N samples, neurons)."""
    held = stretch(task, SETTINGS[task_name].hold)
    model = train_spiking(task_name, held, n_recurrent, n_alif, epochs, seed)
    twin_accuracy, _ = evaluate(model, RecurrentTwin.nominal(model.architecture),
                                held.x_test, held.y_test)
    weights = model.numpy_weights()
    logits, spikes, energy, synops = [], [], 0.0, 0.0
    for start in range(0, held.x_test.shape[1], batch):
        part = held.x_test[:, start:start + batch]
        network = ChipLSNN(model.architecture, weights, part.shape[1],
                           dict(chip=chip, trial_noise=False))
        recurrent, v, _ = network.run(part)
        report = sim.hardware_report(inferences=part.shape[1])
        sim.end()
        logits.append(model.logits(torch.as_tensor(v)).numpy())
        spikes.append(recurrent)
        energy += report.energy["total_j"]
        synops += sum(p["synaptic_events"] or 0 for p in report.projections)
    n = held.x_test.shape[1]
    spikes = np.concatenate(spikes, 1)
    memory = one_copy_memory_bits(sim, model, chip)
    measured = Measurement(name, twin_accuracy, float(spikes.sum(-1).mean()), synops / n,
                           memory, energy / n, float(1.0 - spikes.mean()), float("nan"),
                           accuracy(np.concatenate(logits), held.y_test))
    return measured, model, spikes


__all__ = ["recurrent_size", "parameter_count", "train_spiking", "one_copy_memory_bits",
           "measure_spiking"]
