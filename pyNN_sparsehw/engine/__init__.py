"""Simulation engine: builds Brian2 objects from a mapped network and runs them."""

from .core import Engine
from .specs import NeuronGroupSpec, SynapseGroupSpec, CurrentInjectionSpec
from .circuits import MEMBRANES, KINETICS

__all__ = ["Engine", "NeuronGroupSpec", "SynapseGroupSpec", "CurrentInjectionSpec",
           "MEMBRANES", "KINETICS"]
