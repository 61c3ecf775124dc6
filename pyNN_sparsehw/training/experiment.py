"""The whole experiment: train in software (the twin, under drawn chip mismatch),
deploy to a chip (stage by stage: uncalibrated, calibrated...), train in the loop.

Each stage is a set of extra ``sim.setup`` keywords. A stage whose keywords this
version of pyNN.sparsehw does not know (e.g. ``calibration`` before calibration
exists) is reported as not available, with the reason, instead of failing.
"""

import logging
import multiprocessing
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..chip.model import load_chip
from .architecture import Architecture, NeuronParameters
from .chip import ChipNetwork
from .data import load_digits
from .encoding import RateCode
from .model import ArchitectureTwin, SpikingNetwork, predict
from .trainer import InTheLoopTrainer, evaluate_on_chip, output_loss, train_software


@dataclass(frozen=True)
class Stage:
    """A way to set up the chip: `setup` holds extra ``sim.setup`` keywords;
    `in_the_loop`: whether to train in the loop after the naive transfer."""
    name: str
    setup: dict = field(default_factory=dict)
    in_the_loop: bool = True


#: Uncalibrated: the chip as it comes (``calibration=None``), then trained in the
#: loop. Calibrated: the software-trained weights on the calibrated chip.
DEFAULT_STAGES = (Stage("uncalibrated", {"calibration": None}, True),
                  Stage("calibrated", {"calibration": "auto"}, False))


class StageUnavailable(RuntimeError):
    """This version of pyNN.sparsehw cannot set up the stage's chip."""


@dataclass(frozen=True)
class Config:
    """Everything that fixes the experiment's numbers (with the chip and its seed).

    hidden : neurons in the hidden layer; code : the presentation (:class:`RateCode`);
    neuron : parameters of every neuron; weight_limit : largest weight (nA);
    readout_scale : logit per output spike; init_weight : initial weights' standard
    deviation times sqrt(fan-in) (nA); test_fraction, data_seed : the split;
    software_epochs, software_batch, software_rate : offline training in the twin
    (Adam step, nA); robust_to, robust_spread : the chip model (name) whose
    mismatch the offline training draws afresh for every batch, and the fraction of
    its sigmas drawn (:meth:`ArchitectureTwin.sampled`; None: the nominal twin
    only); iterations, batch_size, loop_rate : in-the-loop training;
    model_seed : initial weights and sample order; rng_seed : the simulator's seed
    (trial-to-trial noise); test_samples : how many test samples to use (None: all).
    """
    hidden: int = 100
    code: RateCode = field(default_factory=RateCode)
    neuron: NeuronParameters = field(default_factory=NeuronParameters)
    weight_limit: float = 0.5
    readout_scale: float = 1.0
    init_weight: float = 3.0
    test_fraction: float = 0.2
    data_seed: int = 0
    software_epochs: int = 16
    software_batch: int = 32
    software_rate: float = 0.01
    robust_to: object = "analog"
    robust_spread: float = 0.75
    iterations: int = 30
    batch_size: int = 50
    loop_rate: float = 0.005
    model_seed: int = 0
    rng_seed: int = 1234
    test_samples: object = None


@dataclass
class SoftwareResult:
    """The software side: data, weights trained offline in the twin, and
    (loss, accuracy) per epoch."""
    config: Config
    data: object
    architecture: Architecture
    weights: dict
    history: list
    test_loss: float
    test_accuracy: float
    seconds: float

    #: Config fields that concern only the deployment (not the trained weights)
    DEPLOYMENT_FIELDS = ("iterations", "batch_size", "loop_rate", "test_samples", "rng_seed")

    def reconfigured(self, **changes):
        """A copy for other deployment settings (:attr:`DEPLOYMENT_FIELDS`), its test
        loss and accuracy evaluated on the new test samples."""
        wrong = set(changes) - set(self.DEPLOYMENT_FIELDS)
        if wrong:
            raise ValueError(f"{', '.join(sorted(wrong))} change(s) the trained network; "
                             f"train again with train_offline. Only "
                             f"{', '.join(self.DEPLOYMENT_FIELDS)} can change here")
        config = replace(self.config, **changes)
        x, y = evaluation_set(config, self.data)
        loss, acc = evaluate_in_twin(self.model(), config.code, x, y)
        return replace(self, config=config, test_loss=loss, test_accuracy=acc)

    def model(self):
        """A fresh :class:`~pyNN_sparsehw.training.model.SpikingNetwork` holding a copy of the trained weights."""
        c = self.config
        model = SpikingNetwork(self.architecture, c.weight_limit, c.readout_scale,
                               seed=c.model_seed, init_weight=c.init_weight)
        model.set_weights(self.weights)
        return model


@dataclass
class StageResult:
    """One stage on one chip instance; accuracies on the test set (fractions).

    `weight_grid`: largest distance (in code steps) of a realised weight from the
    chip's grid after training, and the code range used (see
    :meth:`ChipNetwork.weight_grid`); `seconds_per_sample`: wall time per sample of
    the chip runs in the loop (build included)."""
    stage: str
    chip: str
    chip_seed: int
    available: bool
    reason: str = ""
    transfer_loss: float = float("nan")
    transfer_accuracy: float = float("nan")
    loop_loss: float = float("nan")
    loop_accuracy: float = float("nan")
    history: list = field(default_factory=list)
    weight_grid: dict = field(default_factory=dict)
    seconds: float = 0.0
    seconds_per_sample: float = float("nan")


def evaluation_set(config, data):
    """The test samples used (the first `test_samples` of the split, or all)."""
    n = len(data.y_test) if config.test_samples is None else int(config.test_samples)
    return data.x_test[:n], data.y_test[:n]


def evaluate_in_twin(model, code, x, y):
    """(loss, accuracy) of `model` in the nominal chip's twin on samples `x`."""
    twin = ArchitectureTwin.nominal(model.architecture, code.dt, model.dtype)
    _, counts = predict(model, twin, code, x)
    return output_loss(model, counts, y)


def train_offline(config, progress=True):
    """Train the network offline (torch, Adam) in twins with fresh draws of the
    `robust_to` chip model's mismatch (or the nominal twin), test it in the nominal
    twin."""
    start = time.perf_counter()
    torch.manual_seed(config.model_seed)
    data = load_digits(config.test_fraction, config.data_seed)
    architecture = Architecture.feed_forward(data.x_train.shape[1], config.hidden,
                                             data.n_classes, neuron=config.neuron)
    model = SpikingNetwork(architecture, config.weight_limit, config.readout_scale,
                           seed=config.model_seed, init_weight=config.init_weight)
    twins = None
    if config.robust_to is not None:
        chip_model = load_chip(config.robust_to)
        generator = torch.Generator().manual_seed(config.model_seed)

        def twins():
            return ArchitectureTwin.sampled(architecture, config.code.dt, chip_model,
                                            generator, config.weight_limit,
                                            config.robust_spread, model.dtype)
    history = train_software(model, config.code, data.x_train, data.y_train,
                             config.software_epochs, config.software_batch,
                             config.software_rate, config.model_seed, progress, twins)
    x_test, y_test = evaluation_set(config, data)
    loss, acc = evaluate_in_twin(model, config.code, x_test, y_test)
    return SoftwareResult(config, data, architecture, model.numpy_weights(), history, loss,
                          acc, time.perf_counter() - start)


def open_chip(software, setup_kwargs):
    """A :class:`ChipNetwork` for the software result's architecture, or
    :class:`StageUnavailable` when ``sim.setup`` does not know a keyword."""
    c = software.config
    with warnings.catch_warnings():
        # pyNN.sparsehw's setup() warns about keywords it ignores: here that means
        # the stage cannot be set up as asked
        warnings.filterwarnings("error", message=r".*ignores unknown keyword")
        try:
            return ChipNetwork(software.architecture, c.code, c.weight_limit,
                               {"rng_seed": c.rng_seed, **setup_kwargs})
        except UserWarning as err:
            raise StageUnavailable(str(err)) from None
        except TypeError as err:
            if "keyword" not in str(err):
                raise
            raise StageUnavailable(str(err)) from None


def run_stage(software, stage, chip="analog", chip_seed=0, progress=True):
    """Deploy the software-trained weights on one chip instance set up as `stage`
    says, measure the naive transfer and, if asked, train in the loop."""
    c = software.config
    start = time.perf_counter()
    try:
        network = open_chip(software, {"chip": chip, "chip_seed": chip_seed, **stage.setup})
    except StageUnavailable as err:
        return StageResult(stage.name, chip, chip_seed, False, reason=str(err))
    x_test, y_test = evaluation_set(c, software.data)
    model = software.model()
    result = StageResult(stage.name, network.chip.name, network.chip_seed, True)
    result.transfer_loss, result.transfer_accuracy, _ = evaluate_on_chip(
        model, network, x_test, y_test)
    if stage.in_the_loop and c.iterations > 0:
        trainer = InTheLoopTrainer(model, network, software.data.x_train,
                                   software.data.y_train, c.batch_size, c.loop_rate,
                                   seed=c.model_seed)
        result.history = trainer.train(
            c.iterations, progress,
            description=f"{network.chip.name} seed {network.chip_seed} {stage.name}")
        result.seconds_per_sample = float(
            np.mean([r.seconds for r in result.history]) / c.batch_size)
        result.loop_loss, result.loop_accuracy, _ = evaluate_on_chip(
            model, network, x_test, y_test)
        result.weight_grid = network.weight_grid()
    result.seconds = time.perf_counter() - start
    return result


def run_experiment(config=None, chip="analog", chip_seeds=(0,), stages=DEFAULT_STAGES,
                   progress=True, software=None, jobs=1, executor=None):
    """Offline training (unless `software` is given), the ideal chip as a reference,
    then every stage on every chip seed, in `jobs` processes, or on `executor` (a
    concurrent.futures.Executor, e.g. a dask cluster's ``Client.get_executor()``).

    Returns (software result, ideal-chip :class:`StageResult`, [StageResult] in the
    order seeds x stages). Each stage builds its own chip from its seeds, so the
    numbers do not depend on `jobs`.
    """
    software = software or train_offline(config or Config(), progress)
    ideal = run_stage(software, Stage("ideal", {}, False), "ideal", 0, progress)
    tasks = [(software, stage, chip, seed, progress and jobs == 1 and executor is None)
             for seed in chip_seeds for stage in stages]
    if executor is not None:
        results = list(executor.map(_run_stage_task, tasks))
    elif jobs > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            results = list(pool.map(_run_stage_task, tasks))
    else:
        results = [run_stage(*task) for task in tasks]
    return software, ideal, results


def _run_stage_task(task):
    """run_stage in a worker process (which has Brian2's default logging)."""
    logging.getLogger("brian2").setLevel(logging.ERROR)
    return run_stage(*task)


def with_changes(config, **changes):
    """A copy of `config` with some fields changed (None values are ignored)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
