"""Differentiable twins of the chip's neurons in discrete time (torch): neuron steps
(:mod:`.neurons`), networks of them (:mod:`.network`), the chip's weight quantization
(:mod:`.quantize`) and the parameters of a chip instance (:mod:`.from_chip`)."""

from .from_chip import delay_steps, synapse_gains, twin_population
from .network import TwinPopulation, TwinProjection, signed_projections, simulate
from .neurons import (AdExParameters, AdExState, ALIFParameters, ALIFState, LIFParameters,
                      LIFState, SpikeFunction, adex_step, alif_step, lif_step, spike)
from .quantize import WeightQuantizer

__all__ = ["delay_steps", "synapse_gains", "twin_population", "TwinPopulation",
           "TwinProjection", "signed_projections", "simulate", "AdExParameters", "AdExState", "ALIFParameters",
           "ALIFState", "LIFParameters", "LIFState", "SpikeFunction", "adex_step", "alif_step",
           "lif_step", "spike", "WeightQuantizer"]
