"""The mapped network: what the engine is asked to simulate.

Plain records of numpy arrays, produced by :mod:`pyNN_sparsehw.mapping.vocabulary` from the
network description and a chip model. The engine builds Brian2 objects from them
and knows nothing else. Units are PyNN's standard units (ms, mV, nA, nF, µS, Hz).
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class NeuronGroupSpec:
    """A group of identical circuits (one per population).

    `kind` is ``"neuron"`` (a membrane circuit with receptors), ``"poisson"`` or
    ``"spike_array"``. `receptors` maps receptor name to kinetics name (see
    :mod:`.circuits`). For neurons, `parameters` and `initial_values` map engine
    variable names (see :mod:`.circuits`) to per-neuron arrays. For Poisson
    sources, `parameters` holds ``rate`` (Hz), ``start`` and ``stop`` (ms).
    For spike arrays, `spike_times` is a list of per-neuron arrays in ms.
    `state_lsb` maps state variables held in fixed point to their resolution (same
    unit as the variable): they are rounded to it after every integration step.
    """
    key: int
    label: str
    size: int
    kind: str
    membrane: str = ""
    receptors: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    initial_values: dict = field(default_factory=dict)
    spike_times: list = field(default_factory=list)
    state_lsb: dict = field(default_factory=dict)


@dataclass
class SynapseGroupSpec:
    """A block of synapses between two neuron groups.

    `model` is ``"static"``, ``"tsodyks_markram"`` or ``"stdp"``; `receptor` names a
    receptor of the postsynaptic group. `weights` are in the receptor kinetics'
    weight unit; `delays` in ms, already multiples of dt. `gain` (per synapse, or
    None for 1) multiplies the weight at each event: the analog gain of the synapse
    circuit and of the neuron's input, which plasticity does not change.
    `parameters` holds per-synapse arrays (or scalars) of the plasticity model;
    for ``stdp`` the string entry ``weight_dependence`` names the rule
    (additive, multiplicative, additive_multiplicative, gutig).
    """
    key: int
    label: str
    pre: int
    post: int
    receptor: str
    model: str
    pre_index: np.ndarray
    post_index: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    gain: object = None
    parameters: dict = field(default_factory=dict)
    initial_values: dict = field(default_factory=dict)


@dataclass
class CurrentInjectionSpec:
    """A current source feeding some neurons of some groups.

    `amplitude_at` is a callable of time (ms, scalar) returning the current in nA;
    `targets` maps group key to neuron indices.
    """
    key: int
    amplitude_at: object
    targets: dict
