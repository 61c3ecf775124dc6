"""Projection: PyNN's class over whole connection arrays.

A projection keeps its connections as arrays indexed like ``projection.pre`` and
``projection.post`` (which may be views or assemblies), in PyNN's order (by
postsynaptic index). For the network description they are split into one
:class:`~pyNN_sparsehw.description.ProjectionDescription` per pair of underlying
populations, each holding population-level indices.
"""

import numpy as np

from pyNN import common, errors
from pyNN.parameters import ParameterSpace
from pyNN.space import Space
from pyNN.standardmodels import StandardSynapseType

from . import simulator, validation
from .populations import resolve_cells
from .connectivity import build, evaluate_at
from .mapping.vocabulary import check_hardware_options
from .standardmodels.synapses import StaticSynapse

AGGREGATE = {"sum": np.add.at, "min": np.minimum.at, "max": np.maximum.at}
AGGREGATE_FILL = {"sum": 0.0, "min": np.inf, "max": -np.inf}


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None, hardware=None):
        """PyNN's Projection, plus `hardware`: per-projection mapping options, a dict
        with any of ``weight_scale`` (weight of one weight-code step, nA/uS/mV),
        ``rounding`` ("nearest" or "stochastic") and ``exponent_group``
        ("projection" or "row"), see ``pyNN_sparsehw.mapping.vocabulary.HARDWARE_OPTIONS``."""
        state = simulator.state
        for cells, side in ((presynaptic_population, "presynaptic"),
                            (postsynaptic_population, "postsynaptic")):
            validation.check_current(cells, state.generation,
                                     f"connect a Projection to the {side} cells")
        super().__init__(presynaptic_population, postsynaptic_population, connector,
                         synapse_type, source, receptor_type, space, label)
        self._generation = state.generation
        self._hardware_view = False
        if not isinstance(self.synapse_type, StandardSynapseType):
            raise TypeError(f"pyNN.sparsehw supports PyNN's standard synapse types only; "
                            f"{type(self.synapse_type).__name__} is not one")
        self.label = self.label or f"projection{common.Projection._nProj}"
        self.hardware = check_hardware_options(self.label, hardware)
        connections = build(connector, self)
        self._pre_index = connections.pre
        self._post_index = connections.post
        n = connections.pre.size
        self._values = {name: np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
                        for name, value in connections.parameters.items()}
        for name, values in self._values.items():
            self._check_values(name, values)
        self._describe()

    def _check_values(self, name, values):
        """Weights finite, delays finite and >= the minimum delay, other synapse
        parameters within their ranges (see :mod:`pyNN_sparsehw.validation`)."""
        owner = f"projection '{self.label}'"
        if name == "weight":
            validation.check_weights(owner, values)
        elif name == "delay":
            state = simulator.state
            explicit = state._min_delay if state._min_delay != "auto" else state.dt
            validation.check_delays(owner, values, max(float(explicit), state.dt), state.dt)
        else:
            validation.check_synapse_parameter(owner, name, values)

    # ---------------------------------------------------------- description
    def _describe(self):
        """Split the connections into one description per population pair."""
        pre_population, pre_local = resolve_cells(self.pre, self._pre_index)
        post_population, post_local = resolve_cells(self.post, self._post_index)
        self._pre_local, self._post_local = pre_local, post_local
        n_populations = len(simulator.state.description.populations)
        pair = pre_population * n_populations + post_population
        pairs = np.unique(pair)
        if pairs.size == 0:
            pairs = np.array([_first_pair(self.pre, self.post, n_populations)])
        self._parts = []
        synapse_model = self.synapse_type.synapse_model
        for p in pairs:
            selection = np.nonzero(pair == p)[0]
            parameters = {name: value[selection] for name, value in self._values.items()
                          if name not in ("weight", "delay")}
            if synapse_model == "stdp":
                parameters["weight_dependence"] = type(
                    self.synapse_type.weight_dependence).__name__
            initial = {name: np.full(selection.size, float(value))
                       for name, value in self.synapse_type.default_initial_values.items()}
            description = simulator.state.description.add_projection(
                label=self.label if pairs.size == 1 else f"{self.label}[{len(self._parts)}]",
                pre=int(p // n_populations), post=int(p % n_populations),
                receptor_type=self.receptor_type, synapse_model=synapse_model,
                pre_index=pre_local[selection], post_index=post_local[selection],
                weights=self._values["weight"][selection],
                delays=self._values["delay"][selection],
                parameters=parameters, initial_values=initial, hardware=self.hardware)
            self._parts.append((description, selection))

    def _update_parts(self, names):
        state = simulator.state
        for description, selection in self._parts:
            for name in names:
                value = self._values[name][selection]
                if name == "weight":
                    description.weights = value
                elif name == "delay":
                    description.delays = value
                else:
                    description.parameters[name] = value
            state.push_projection(description, weights="weight" in names,
                                  delays="delay" in names,
                                  parameters=bool(set(names) - {"weight", "delay"}))

    # ------------------------------------------------------------- access
    def __len__(self):
        return self._pre_index.size

    def __getitem__(self, i):
        """The i-th connection (in the order of ``get(..., format='list')``)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"projection '{self.label}' has {len(self)} connections, "
                             f"index {i} is out of range")
        return Connection(self, i % len(self))

    @property
    def connections(self):
        """Iterator over the connections, as :class:`Connection` objects."""
        return (Connection(self, k) for k in range(len(self)))

    def set(self, **attributes):
        """Set connection attributes (see PyNN's Projection.set).

        Functions of distance are evaluated at the connected pairs only.
        """
        validation.check_current(self, simulator.state.generation, "set attributes of")
        attributes = self._value_list_to_array(attributes)
        parameter_space = ParameterSpace(attributes, self.synapse_type.get_schema(),
                                         self.shape)
        self._set_attributes(self.synapse_type.translate(parameter_space))

    def _set_connection_value(self, index, name, value):
        validation.check_current(self, simulator.state.generation, "set a connection of")
        values = self._current_values(name).copy()
        values[index] = value
        self._check_values(name, values[index:index + 1])
        self._values[name] = values
        self._update_parts([name])

    def get(self, attribute_names, format, gather=True, with_address=True,
            multiple_synapses="sum", hardware=False):
        """Connection attributes (see PyNN's Projection.get).

        With ``hardware=True``, weights and delays as the chip realises them: weight
        codes times their step, times the gain of each synapse circuit and of the
        target's input (mismatch), and delays in whole time steps of the chip.
        """
        validation.check_current(self, simulator.state.generation, "get attributes of")
        self._hardware_view = bool(hardware)
        try:
            return super().get(attribute_names, format, gather, with_address,
                               multiple_synapses)
        finally:
            self._hardware_view = False

    def _realised_values(self, name):
        """Weights or delays as the chip realises them (see get)."""
        state = simulator.state
        mapper = state.mapping()
        values = self._current_values(name).copy()
        for description, selection in self._parts:
            spec = mapper.projections[description.index].spec
            if name == "delay":
                values[selection] = spec.delays
                continue
            weights = spec.weights
            if self.synapse_type.synapse_model == "stdp" and state.engine is not None \
                    and description.index in state.engine.synapses:
                weights = state.engine.get_weights(description.index)
            values[selection] = weights if spec.gain is None else weights * spec.gain
        return values

    def _current_values(self, name):
        """Values of a native attribute, with plastic weights read from the engine."""
        if self._hardware_view and name in ("weight", "delay"):
            self._hardware_view = False
            try:
                return self._realised_values(name)
            finally:
                self._hardware_view = True
        if name == "weight" and self.synapse_type.synapse_model == "stdp":
            engine = simulator.state.engine
            if engine is not None:
                weights = self._values["weight"].copy()
                for description, selection in self._parts:
                    if description.index in engine.synapses:
                        weights[selection] = engine.get_weights(description.index)
                return weights
        if name not in self._values:
            raise errors.NonExistentParameterError(
                name, type(self.synapse_type).__name__,
                self.synapse_type.get_parameter_names())
        return self._values[name]

    def _get_attributes_as_list(self, names):
        columns = []
        for name in names:
            if name == "presynaptic_index":
                columns.append(self._pre_index)
            elif name == "postsynaptic_index":
                columns.append(self._post_index)
            else:
                columns.append(self._current_values(name))
        if not columns:
            return []
        table = np.column_stack([np.asarray(c, dtype=float) for c in columns])
        return [tuple(row) for row in table.tolist()]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        arrays = []
        for name in names:
            values = np.asarray(self._current_values(name), dtype=float)
            array = np.full(self.shape, np.nan)
            if multiple_synapses in AGGREGATE:
                accumulated = np.full(self.shape, AGGREGATE_FILL[multiple_synapses])
                AGGREGATE[multiple_synapses](accumulated, (self._pre_index, self._post_index),
                                             values)
                connected = np.zeros(self.shape, dtype=bool)
                connected[self._pre_index, self._post_index] = True
                array[connected] = accumulated[connected]
            elif multiple_synapses == "last":
                array[self._pre_index, self._post_index] = values
            elif multiple_synapses == "first":
                array[self._pre_index[::-1], self._post_index[::-1]] = values[::-1]
            else:
                raise ValueError(f"multiple_synapses must be one of sum, min, max, first, "
                                 f"last; got {multiple_synapses!r}")
            arrays.append(array)
        return arrays

    def _set_attributes(self, parameter_space):
        names, updated = [], {}
        for name, lazy in parameter_space.items():
            value = evaluate_at(lazy, self, self._pre_index, self._post_index)
            value = np.broadcast_to(np.asarray(value, dtype=float), self._pre_index.shape)
            if name not in self._values:
                raise errors.NonExistentParameterError(
                    name, type(self.synapse_type).__name__,
                    self.synapse_type.get_parameter_names())
            self._check_values(name, value)
            updated[name] = value.copy()
            names.append(name)
        self._values.update(updated)
        self._update_parts(names)

    def _set_initial_value_array(self, variable, initial_value):
        raise NotImplementedError(
            f"pyNN.sparsehw cannot initialise synaptic state variable '{variable}' yet")

    # ------------------------------------------------- fallback connectors
    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        """Collect connections from connectors that only know PyNN's per-column API."""
        if location_selector is not None:
            raise NotImplementedError("pyNN.sparsehw has point neurons only")
        pre = np.asarray(presynaptic_indices, dtype=np.int64)
        post = np.full(pre.shape, int(postsynaptic_index), dtype=np.int64)
        self._collected.append((pre, post, connection_parameters))


class Connection(common.Connection):
    """One connection of a projection: a view onto the projection's arrays."""

    def __init__(self, projection, index):
        self.projection = projection
        self.index = index

    @property
    def presynaptic_index(self):
        return int(self.projection._pre_index[self.index])

    @property
    def postsynaptic_index(self):
        return int(self.projection._post_index[self.index])

    def _get(self, name):
        native = self.projection.synapse_type.translations[name]["translated_name"]
        return float(self.projection._current_values(native)[self.index])

    def _set(self, name, value):
        native = self.projection.synapse_type.translations[name]["translated_name"]
        self.projection._set_connection_value(self.index, native, float(value))

    weight = property(lambda self: self._get("weight"),
                      lambda self, value: self._set("weight", value))
    delay = property(lambda self: self._get("delay"),
                     lambda self, value: self._set("delay", value))

    def __getattr__(self, name):
        if name != "projection" and name in self.projection.synapse_type.translations:
            return self._get(name)
        raise AttributeError(name)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


def _first_pair(pre, post, n_populations):
    """Population pair of an empty projection (so it still exists in the description)."""
    pre_population, _ = resolve_cells(pre, np.zeros(1, dtype=np.int64))
    post_population, _ = resolve_cells(post, np.zeros(1, dtype=np.int64))
    return pre_population[0] * n_populations + post_population[0]
