"""The network description: what the PyNN script asked for, as plain arrays.

PyNN calls fill these objects; nothing here knows about chips or Brian2. Units are
PyNN's standard units throughout: ms, mV, nA, nF, µS, Hz.

- :class:`PopulationDescription`: size, cell type and per-neuron parameter arrays.
- :class:`ProjectionDescription`: one block of synapses between two populations,
  as index arrays (pre, post) with per-synapse weight and delay arrays.
- :class:`CurrentSourceDescription`: a current source and the neurons it feeds.
- :class:`NetworkDescription`: the three lists.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PopulationDescription:
    """A population as the user described it.

    `parameters` maps PyNN parameter names to per-neuron float arrays (for
    SpikeSourceArray, ``spike_times`` is an object array of float arrays).
    `initial_values` maps PyNN state-variable names to per-neuron arrays.
    For a composed ``PointNeuron``, `components` maps ``"neuron"`` to the neuron
    model's class name and each receptor name to its post-synaptic response class
    name; receptor parameters and state variables are named ``"<receptor>.<name>"``.
    `hardware` holds the user's placement options (see
    ``mapping.POPULATION_HARDWARE_OPTIONS``).
    """
    index: int
    label: str
    cell_type: str
    size: int
    parameters: dict = field(default_factory=dict)
    initial_values: dict = field(default_factory=dict)
    components: dict = field(default_factory=dict)
    hardware: dict = field(default_factory=dict)


@dataclass
class ProjectionDescription:
    """A block of synapses from one population to another.

    `pre` and `post` are indices into :attr:`NetworkDescription.populations`;
    `pre_index`/`post_index` are neuron indices within those populations.
    `synapse_model` is ``"static"``, ``"tsodyks_markram"`` or ``"stdp"``;
    `parameters` holds per-synapse arrays of every other synapse parameter
    (``U``, ``tau_rec``, ``A_plus``...), `weights` in nA (current), µS
    (conductance) or mV (voltage-jump synapses), `delays` in ms. `hardware` holds
    the user's per-projection mapping options (see ``mapping.HARDWARE_OPTIONS``).
    """
    index: int
    label: str
    pre: int
    post: int
    receptor_type: str
    synapse_model: str
    pre_index: np.ndarray
    post_index: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    parameters: dict = field(default_factory=dict)
    initial_values: dict = field(default_factory=dict)
    hardware: dict = field(default_factory=dict)

    @property
    def size(self):
        """Number of synapses."""
        return self.pre_index.size


@dataclass
class CurrentSourceDescription:
    """A current source (`kind` is the PyNN class name) and its targets.

    `targets` maps population index to an array of neuron indices. The source's
    parameters stay on the PyNN object (`source`), which the engine queries for the
    waveform: they may change between runs.
    """
    index: int
    kind: str
    source: object
    targets: dict = field(default_factory=dict)


@dataclass
class NetworkDescription:
    """Everything the script has created since `setup()`."""
    populations: list = field(default_factory=list)
    projections: list = field(default_factory=list)
    current_sources: list = field(default_factory=list)

    def add_population(self, **kwargs):
        pop = PopulationDescription(index=len(self.populations), **kwargs)
        self.populations.append(pop)
        return pop

    def add_projection(self, **kwargs):
        prj = ProjectionDescription(index=len(self.projections), **kwargs)
        self.projections.append(prj)
        return prj

    def add_current_source(self, **kwargs):
        src = CurrentSourceDescription(index=len(self.current_sources), **kwargs)
        self.current_sources.append(src)
        return src
