"""LSNN experiments: the tasks at the sizes of the demo, LSNN against a LIF-only
network of the same size, transfer to chips, DEEP R.

Every task element is held for several 1 ms steps (:func:`~..tasks.stretch`) so that
the memory a task needs spans many membrane time constants (tau_m = 20 ms): this is
what the adaptive thresholds (tau_a = 400 ms, 2000 ms for the evidence
accumulation, on the scale of its whole trial) add.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

import pyNN_sparsehw as sim

from ..deep_r import DeepR
from ..model import accuracy
from ..tasks import (evidence_accumulation, sequential_digits_rate, store_recall, stretch,
                     with_delay, with_recall_cue)
from .chip import ChipLSNN
from .network import RecurrentArchitecture, RecurrentSNN, RecurrentTwin
from .trainer import evaluate, train


@dataclass(frozen=True)
class TaskSetting:
    """How one task is generated and trained: steps per element (`hold`), silent
    steps before the answer (`delay`), steps of the recall cue that ends the sequence
    (`recall`, 0: none; :func:`~..tasks.with_recall_cue`), recurrent neurons, readout
    time constant and adaptation time constant (ms), initial input weight scale
    (:class:`~.network.RecurrentSNN`), the readout window (steps), epochs, learning
    rate (mV per Adam step), weight of the rate regulariser
    (:func:`~.trainer.regularised_loss`)."""
    hold: int
    readout_steps: int
    epochs: int
    learning_rate: float = 1e-2
    rate_weight: float = 1.0
    delay: int = 0
    n_recurrent: int = 40
    tau_out: float = 20.0
    input_scale: float = 1.0
    tau_a: float = 400.0
    recall: int = 0


#: the demo's settings per task
SETTINGS = {
    "store_recall": TaskSetting(hold=40, readout_steps=10, epochs=5, learning_rate=0.05,
                                rate_weight=300.0),
    # Bellec et al. 2020, scaled: 7 cues in 120 ms, a 500 ms delay (25 tau_m), then
    # the recall cue; tau_a on the scale of the whole trial
    "evidence": TaskSetting(hold=10, readout_steps=20, epochs=6, learning_rate=0.05,
                            rate_weight=300.0, delay=500, recall=20, tau_a=2000.0),
    # rows held 8 steps, grey levels as spike probabilities, 4 noisy copies per digit
    "digits": TaskSetting(hold=8, readout_steps=64, epochs=16, learning_rate=0.005,
                          n_recurrent=200, tau_out=100.0, input_scale=2.0),
}

#: independent spike draws of every training digit (:func:`~..tasks.sequential_digits_rate`)
DIGIT_COPIES = 4
#: digits run per chip simulation: 20 copies of 200 recurrent neurons stay within the
#: 4096 input axons of a digital core (the readout's core receives from all copies)
DIGIT_CHUNK = 20


@dataclass(frozen=True)
class DeepRSetting:
    """How DEEP R trains an LSNN under a budget of connections
    (:class:`~pyNN_sparsehw.training.deep_r.DeepR`): the budget as a fraction of the
    synapses of the weight matrices that count (`weights`; the readout stays dense, it
    needs its synapses: at 10 % it cost 13 points, docs/lsnn.rst), one budget per
    matrix (`scope` "tensor") or one for all ("global"), epochs of DEEP R from random
    initial weights (Bellec's: DEEP R from the start; None: as many as the dense
    network of the task, so that the two are compared at equal training), the L1 shrink
    (per unit learning rate) and the temperature of the noise (mV)."""
    connectivity: float = 0.1
    weights: tuple = ("input", "recurrent")
    scope: str = "tensor"
    epochs: object = None
    l1: float = 0.0
    temperature: float = 0.0


#: the demo's DEEP R setting (digits, 10 % of the input and recurrent synapses)
DEEP_R = DeepRSetting()


def make_task(name, n_train=1000, n_test=300, seed=0):
    """Task `name` (a key of :data:`SETTINGS`) with its elements held."""
    hold = SETTINGS[name].hold
    if name == "store_recall":
        task = store_recall(n_train, n_test, periods=8, seed=seed)
    elif name == "evidence":
        task = evidence_accumulation(n_train, n_test, steps=12, cues=7, seed=seed)
    elif name == "digits":
        return sequential_digits_rate(seed=seed, hold=hold, copies=DIGIT_COPIES)
    else:
        raise ValueError(f"unknown LSNN task {name!r}; the tasks are {sorted(SETTINGS)}")
    task = with_delay(stretch(task, hold), SETTINGS[name].delay)
    return with_recall_cue(task, SETTINGS[name].recall) if SETTINGS[name].recall else task


@dataclass
class Trained:
    """A trained network, its training history and its DEEP R rewiring (or None)."""
    name: str
    model: RecurrentSNN
    history: object
    rewiring: object = None
    test_accuracy: float = field(default=None)


def train_network(task_name, task, n_alif, seed=1, deep_r=None, epochs=None,
                  progress=True):
    """Train an LSNN (`n_alif` of the setting's recurrent neurons adapt; 0: LIF only)
    on the nominal twin (the ideal chip); with DEEP R from the start when `deep_r` (a
    :class:`DeepRSetting`) is given, for its epochs unless `epochs` is given."""
    setting = SETTINGS[task_name]
    architecture = RecurrentArchitecture(task.x_train.shape[2], setting.n_recurrent - n_alif,
                                         n_alif, task.n_classes, tau_out=setting.tau_out,
                                         tau_a=setting.tau_a,
                                         readout_steps=setting.readout_steps)
    model = RecurrentSNN(architecture, seed=seed, input_scale=setting.input_scale)
    rewiring = None
    if deep_r is not None:
        rewiring = DeepR({name: model.weights[name] for name in deep_r.weights},
                         fraction=deep_r.connectivity, scope=deep_r.scope, l1=deep_r.l1,
                         temperature=deep_r.temperature, lr=setting.learning_rate, seed=seed)
        epochs = epochs or deep_r.epochs
    history = train(model, RecurrentTwin.nominal(architecture), task,
                    epochs=epochs or setting.epochs, learning_rate=setting.learning_rate,
                    seed=seed, rewiring=rewiring, progress=progress, batch_size=50,
                    rate_weight=setting.rate_weight)
    label = "LSNN" if n_alif else "LIF only"
    return Trained(label, model, history, rewiring, history.test_accuracy[-1])


@dataclass
class ChipResult:
    """A trained network on one chip: accuracy of the chip's readout, of the twin
    read from that chip instance, the fraction of (step, neuron) spike entries where
    the two agree, synaptic memory (bits, one copy) and energy per inference (J; both
    NaN on a chip that models neither)."""
    chip: str
    accuracy: float
    twin_accuracy: float
    spike_agreement: float
    memory_bits: float
    energy_j: float
    raster: tuple = None


def chip_setup(chip, chip_seed=0, calibration=None):
    """``sim.setup`` keywords of `chip` without trial noise; `calibration` (analog:
    "auto", None for uncalibrated) only where given."""
    setup = dict(chip=chip, chip_seed=chip_seed, trial_noise=False)
    if calibration is not None or chip == "analog":
        setup["calibration"] = calibration
    return setup


def on_chip(model, task, chip, n_test=None, chip_seed=0, chunk=100, calibration=None):
    """Deploy `model` on `chip` (ideal, digital or analog, `calibration` as
    :func:`chip_setup`), run the test set in chunks of `chunk` samples; returns a
    :class:`ChipResult` (raster: spikes and adaptation of the first sample's network,
    for the figure)."""
    x, y = task.x_test[:, :n_test], task.y_test[:n_test]
    weights = model.numpy_weights()
    logits, twin_logits, agree, energy, memory, raster = [], [], [], [], None, None
    for start in range(0, x.shape[1], chunk):
        part = x[:, start:start + chunk]
        network = ChipLSNN(model.architecture, weights, part.shape[1],
                           chip_setup(chip, chip_seed, calibration))
        spikes, v, b = network.run(part)
        report = sim.hardware_report(inferences=part.shape[1])
        twin = network.twin()
        sim.end()
        logits.append(model.logits(torch.as_tensor(v)).numpy())
        with torch.no_grad():
            run = model(part, twin)
        twin_logits.append(model.logits(run.readout_v).numpy())
        agree.append(float((run.spikes.numpy() == spikes).mean()))
        # the ideal chip models neither memory nor energy
        energy.append(report.energy["per_inference_j"] if report.energy else np.nan)
        if raster is None:
            bits = [p["memory"]["bits"] for p in report.projections if p["memory"]]
            memory = sum(bits) / part.shape[1] if bits else np.nan
            raster = (spikes[:, 0], b)
    return ChipResult(chip, accuracy(np.concatenate(logits), y),
                      accuracy(np.concatenate(twin_logits), y), float(np.mean(agree)),
                      float(memory), float(np.mean(energy)), raster)


def copy_trained(trained, seed=2):
    """An independent copy of `trained`: the model's weights, and a new DEEP R over
    them (same budget; its gradient masks are those of the copy's weights)."""
    model = RecurrentSNN(trained.model.architecture, weight_limit=trained.model.weight_limit,
                         dtype=trained.model.dtype)
    model.load_state_dict(trained.model.state_dict())
    rewiring = None
    original = trained.rewiring
    if original is not None:
        budgets = original.budgets if original.scope == "tensor" else original.budgets[0]
        rewiring = DeepR({name: model.weights[name] for name in original.names},
                         connections=budgets, scope=original.scope, l1=original.l1,
                         temperature=original.temperature, lr=original.lr, seed=seed)
    return Trained(trained.name, model, trained.history, rewiring, trained.test_accuracy)


def chip_twin(model, chip, chip_seed=0, calibration=None):
    """The :class:`~.network.RecurrentTwin` of `model` mapped on `chip` (one copy):
    the chip's realised neuron parameters and weight quantizers (and synapse gains)."""
    network = ChipLSNN(model.architecture, model.numpy_weights(), 1,
                       chip_setup(chip, chip_seed, calibration))
    twin = network.twin()
    sim.end()
    return twin


def fine_tune(trained, task_name, task, chip, epochs=2, progress=True):
    """Go on training `trained` (a :class:`Trained`, in place) for `epochs` in the twin
    of `chip`, at a tenth of the task's learning rate (DEEP R's shrink and noise
    follow it): the network learns around the chip's quantization. Returns the
    :class:`~.trainer.History`."""
    setting = SETTINGS[task_name]
    learning_rate = setting.learning_rate / 10
    if trained.rewiring is not None:
        trained.rewiring.lr = learning_rate
    return train(trained.model, chip_twin(trained.model, chip), task, epochs=epochs,
                 learning_rate=learning_rate, seed=2, progress=progress,
                 batch_size=50, rate_weight=setting.rate_weight, rewiring=trained.rewiring)


def twin_accuracy(model, task):
    """Test accuracy of `model` in its nominal twin."""
    return evaluate(model, RecurrentTwin.nominal(model.architecture), task.x_test,
                    task.y_test)[0]


def in_the_loop(trained, task_name, task, chip="analog", epochs=2, chip_seed=0,
                calibration="auto", learning_rate=None, batch_size=50, progress=True):
    """Go on training `trained` (a :class:`Trained`, in place) for `epochs` with `chip`
    in the loop (hxtorch's rule): every batch runs on the chip through PyNN, the
    chip's recorded recurrent spikes replace the twin's in the forward pass and the
    gradients are those of the twin read from that chip instance (its first copy:
    neuron parameters, weight quantizers and synapse gains of the current weights).
    `learning_rate` (mV per Adam step; None: a tenth of the task's);
    `batch_size` samples per step: one chip run of as many copies, which must fit the
    chip's neurons. Returns the :class:`~.trainer.History`."""
    setting = SETTINGS[task_name]
    model = trained.model
    twin = chip_twin(model, chip, chip_seed, calibration)
    setup = chip_setup(chip, chip_seed, calibration)

    def chip_forward(weights, x):
        network = ChipLSNN(model.architecture, weights, x.shape[1], setup)
        spikes = network.run(x)[0]
        current = network.twin(dtype=model.dtype)
        sim.end()
        # the weight scales follow the weights: the twin follows this mapping
        twin.populations, twin.quantizers, twin.gains = \
            current.populations, current.quantizers, current.gains
        return spikes
    learning_rate = setting.learning_rate / 10 if learning_rate is None else learning_rate
    return train(model, twin, task, epochs=epochs, learning_rate=learning_rate,
                 seed=2, progress=progress, batch_size=batch_size,
                 rate_weight=setting.rate_weight, rewiring=trained.rewiring,
                 chip_forward=chip_forward)
