"""Training spiking networks built with the PyNN API on pyNN.sparsehw, in torch.

The backward pass runs through a differentiable twin of the chip's neurons in
discrete time (:mod:`.twin`: the engine's schedule, the chip's quantization, the
instance's mismatch); the forward pass runs either in the twin (offline) or on the
chip (in the loop: the recorded spikes replace the twin's, Schmitt et al. 2017;
hxtorch), so training corrects mismatch and quantization. Pieces:

* :mod:`.twin`: neuron steps, networks, quantization, parameters from the mapping;
* :mod:`.architecture`: layers and projections (``Architecture``, ``NeuronParameters``);
* :mod:`.data`: the 8x8 digits with a fixed split (``load_digits``);
* :mod:`.encoding`: samples as rate-coded spike trains in time (``RateCode``);
* :mod:`.model`: the trained weights and the chip's twin (``SpikingNetwork``,
  ``ArchitectureTwin``);
* :mod:`.chip`: the network on a chip through PyNN (``ChipNetwork``);
* :mod:`.trainer`: offline and in-the-loop training with torch.optim
  (``InTheLoopTrainer``);
* :mod:`.experiment`, :mod:`.report`, :mod:`.demo`: the end-to-end demo and its reports.
"""

from .architecture import Architecture, NeuronParameters
from .chip import ChipNetwork
from .data import Dataset, load_digits
from .encoding import RateCode
from .experiment import (Config, DEFAULT_STAGES, Stage, StageResult, StageUnavailable,
                         run_experiment, run_stage, train_offline)
from .model import ArchitectureTwin, SpikingNetwork, accuracy, cross_entropy, predict
from .trainer import IterationRecord, InTheLoopTrainer, evaluate_on_chip, train_software

__all__ = ["Architecture", "NeuronParameters", "ChipNetwork", "Dataset", "load_digits",
           "RateCode", "Config", "DEFAULT_STAGES", "Stage", "StageResult", "StageUnavailable",
           "run_experiment", "run_stage", "train_offline", "ArchitectureTwin",
           "SpikingNetwork", "accuracy", "cross_entropy", "predict", "IterationRecord",
           "InTheLoopTrainer", "evaluate_on_chip", "train_software"]
