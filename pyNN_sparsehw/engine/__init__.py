"""Simulation engine: builds Brian2 objects from a mapped network and runs them."""

from .brian2_logging import quiet_brian2_logging
from .core import Engine
from .specs import NeuronGroupSpec, SynapseGroupSpec, CurrentInjectionSpec
from .circuits import MEMBRANES, KINETICS

quiet_brian2_logging()

__all__ = ["Engine", "NeuronGroupSpec", "SynapseGroupSpec", "CurrentInjectionSpec",
           "MEMBRANES", "KINETICS"]
