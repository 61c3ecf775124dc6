"""Recurrent spiking networks trained through time (LSNN, Bellec et al. 2018): the
network in torch (:mod:`.network`), BPTT with Adam (:mod:`.trainer`), deployment on
a chip through PyNN (:mod:`.chip`), the experiments (:mod:`.experiment`) and
``make lsnn-demo`` (:mod:`.demo`)."""

from .chip import ChipLSNN
from .network import RecurrentArchitecture, RecurrentSNN, RecurrentTwin, Run
from .trainer import History, evaluate, train

__all__ = ["ChipLSNN", "RecurrentArchitecture", "RecurrentSNN", "RecurrentTwin", "Run",
           "History", "evaluate", "train"]
