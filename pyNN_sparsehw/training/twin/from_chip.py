"""Twin parameters read from a network mapped onto a chip by pyNN.sparsehw.

The neurons' parameters are the values the chip realises for each circuit
(``Population.get(..., hardware=True)``: DAC or fixed-point representation, the
instance's frozen mismatch, trims, this run's trial noise); the synapses' gains
(synapse circuit and neuron input mismatch) and delays in whole steps come from the
mapping. The twin so describes *this* chip instance, not the nominal model.
"""

import numpy as np
import torch

from ... import simulator
from .neurons import AdExParameters, ALIFParameters, LIFParameters
from .network import TwinPopulation

#: PyNN names of the LIF parameters, in LIFParameters' order (v_lsb apart)
LIF_NAMES = ("tau_m", "cm", "v_rest", "v_reset", "v_thresh", "tau_refrac", "i_offset",
             "tau_syn_E", "tau_syn_I")
#: AdEx circuit parameters beyond the LIF's (circuit names)
ADEX_NAMES = ("a", "b", "delta_T", "tau_w", "v_spike")
#: PyNN names of the ALIF parameters (``ALIF_curr_delta``), in ALIFParameters' order
ALIF_NAMES = ("tau_m", "cm", "v_rest", "v_thresh", "tau_refrac", "i_offset", "tau_a", "beta")


def _mapped(population):
    """The mapped population (the whole population a view belongs to)."""
    return simulator.state.mapping().populations[population.grandparent_description.index]


def membrane_of(population):
    """The circuit realising `population` on the current chip ("lif", "adex", ...)."""
    return _mapped(population).spec.membrane


def _realised(population, names, dtype):
    values = population.get(list(names), hardware=True, simplify=False)
    return [torch.tensor(np.broadcast_to(np.asarray(v, dtype=float), (population.size,)),
                         dtype=dtype) for v in values]


def twin_population(population, name=None, dtype=torch.float64):
    """A :class:`~.network.TwinPopulation` of `population` (a Population or view)
    as the current chip realises it: ``IF_curr_exp`` as the LIF twin where the chip
    has LIF circuits and as the AdEx twin where it embeds LIF in AdEx circuits (the
    analog chip); ``ALIF_curr_delta`` as the ALIF twin."""
    mapped = _mapped(population)
    membrane = mapped.spec.membrane
    name = name or population.label

    def lsb(state):
        return torch.full((population.size,), float(mapped.spec.state_lsb.get(state, 0.0)),
                          dtype=dtype)

    if membrane == "alif":
        parameters = ALIFParameters(*_realised(population, ALIF_NAMES, dtype), lsb("v"),
                                    lsb("b"))
    elif membrane == "lif":
        parameters = LIFParameters(*_realised(population, LIF_NAMES, dtype), lsb("v"))
    elif membrane == "adex":
        parameters = AdExParameters(*_realised(population, LIF_NAMES, dtype),
                                    *_realised(population, ADEX_NAMES, dtype))
    else:
        raise ValueError(f"population '{population.label}': the twin has no model of the "
                         f"{membrane!r} circuit; it models lif, adex and alif")
    return TwinPopulation(name, membrane, parameters, population.size)


def synapse_gains(projection):
    """Gain of every synapse of `projection` as a dense (n_pre, n_post) array: the
    synapse circuit's mismatch times the target input's (1 where the chip has none,
    and for pairs that are not connected)."""
    gains = np.ones((projection.pre.size, projection.post.size))
    mapping = simulator.state.mapping()
    for description, selection in projection._parts:
        gain = mapping.projections[description.index].spec.gain
        if gain is not None:
            gains[projection._pre_index[selection], projection._post_index[selection]] = gain
    return gains


def delay_steps(projection):
    """The projection's delay in whole time steps (the twin needs one per projection)."""
    delays = np.asarray(projection.get("delay", format="list", with_address=False,
                                       hardware=True), dtype=float).ravel()
    steps = np.unique(np.rint(delays / simulator.state.dt).astype(np.int64))
    if steps.size > 1:
        raise ValueError(f"projection '{projection.label}' has delays of {steps.tolist()} "
                         f"steps; the twin needs one delay per projection: split it")
    return int(steps[0]) if steps.size else 1
