"""Hardware-in-the-loop training of rate-coded spiking networks built with the PyNN
API on pyNN.sparsehw.

The forward pass runs on the (modelled) chip, the backward pass through a
differentiable software model evaluated at the activity the chip produced (Schmitt
et al. 2017; hxtorch), so training corrects mismatch and quantization that no model
knows. Pieces:

* :mod:`.architecture`: layers and projections (``Architecture``, ``NeuronParameters``);
* :mod:`.data`: the 8x8 digits with a fixed split (``load_digits``);
* :mod:`.encoding`: samples as rate-coded spike trains in time (``RateCode``);
* :mod:`.transfer`: the LIF rate model fitted to the ideal chip (``LIFTransfer``);
* :mod:`.model`: the software model and its gradients (``RateNetwork``);
* :mod:`.chip`: the network on a chip through PyNN (``ChipNetwork``);
* :mod:`.trainer`: offline and in-the-loop training (``InTheLoopTrainer``);
* :mod:`.experiment`, :mod:`.report`, :mod:`.demo`: the end-to-end demo and its reports.
"""

from .architecture import Architecture, NeuronParameters
from .chip import ChipNetwork, measure_transfer
from .data import Dataset, load_digits
from .encoding import RateCode
from .experiment import (Config, DEFAULT_STAGES, Stage, StageResult, StageUnavailable,
                         run_experiment, run_stage, train_offline)
from .model import RateNetwork, accuracy, cross_entropy
from .optim import Adam
from .trainer import IterationRecord, InTheLoopTrainer, evaluate_on_chip, train_software
from .transfer import LIFTransfer, fit_transfer

__all__ = ["Architecture", "NeuronParameters", "ChipNetwork", "measure_transfer", "Dataset",
           "load_digits", "RateCode", "Config", "DEFAULT_STAGES", "Stage", "StageResult",
           "StageUnavailable", "run_experiment", "run_stage", "train_offline", "RateNetwork",
           "accuracy", "cross_entropy", "Adam", "IterationRecord", "InTheLoopTrainer",
           "evaluate_on_chip", "train_software", "LIFTransfer", "fit_transfer"]
