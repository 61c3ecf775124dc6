"""Population, PopulationView and Assembly: PyNN's classes over the network description.

Parameters live in the population's :class:`~pyNN_sparsehw.description.PopulationDescription`
as per-neuron arrays in PyNN names and units; changes are forwarded to the engine
when the network has been compiled.
"""

import numpy as np

from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify
from pyNN.standardmodels import StandardCellType

from .mapping import vocabulary as mapping
from . import simulator
from .recording import Recorder


class Assembly(common.Assembly):
    _simulator = simulator


class _ParameterAccess:
    """get/set of parameters for populations and views, through the description."""

    def get(self, parameter_names, gather=False, simplify=True, hardware=False):
        """Parameter values (see PyNN's Population.get).

        With ``hardware=True``, the values the chip really realises for these neurons
        (DAC or fixed-point representation, frozen mismatch of their circuits, trims),
        in PyNN's names and units. Parameters the chip stores exactly (and those of
        spike sources) are returned as set.
        """
        if not hardware:
            return super().get(parameter_names, gather=gather, simplify=simplify)
        names = [parameter_names] if isinstance(parameter_names, str) else parameter_names
        description = self.grandparent_description
        mapped = simulator.state.mapping().populations[description.index]
        values = []
        for name in names:
            native = self.celltype.get_native_names(name)[0] \
                if name in self.celltype.get_parameter_names() else name
            try:
                value = mapped.effective(mapping.circuit_name(native, mapping.PARAMETER_NAMES))
            except KeyError:
                if native not in description.parameters:
                    raise errors.NonExistentParameterError(
                        name, type(self.celltype).__name__,
                        self.celltype.get_parameter_names()) from None
                value = description.parameters[native]
            value = np.asarray(value)[self._description_index]
            values.append(simplify_values(value) if simplify else value)
        return values[0] if isinstance(parameter_names, str) else values

    def _get_parameters(self, *names):
        celltype = self.celltype
        if isinstance(celltype, StandardCellType) and celltype.computed_parameters_include(names):
            names = celltype.get_parameter_names()
        native = self._get_native_parameters(*celltype.get_native_names(*names))
        return celltype.reverse_translate(native)

    def _get_native_parameters(self, *names):
        description = self.grandparent_description
        values = {}
        for name in names:
            value = description.parameters[name]
            values[name] = simplify(value[self._description_index])
        return ParameterSpace(values, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        description = self.grandparent_description
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            target = description.parameters[name]
            if target.dtype == object:
                target[self._description_index] = _object_array(value)
            else:
                target[self._description_index] = value
        _check_spike_times(self.label, description.parameters)
        simulator.state.push_population(description, names=list(parameter_space.keys()))

    def _set_initial_value_array(self, variable, initial_values):
        description = self.grandparent_description
        values = initial_values.evaluate(simplify=False) if hasattr(initial_values, "evaluate") \
            else np.asarray(initial_values, dtype=float)
        values = np.broadcast_to(np.asarray(values, dtype=float), (self.size,))
        description.initial_values.setdefault(variable, np.zeros(description.size))
        description.initial_values[variable][self._description_index] = values
        simulator.state.push_state(description, variable, values,
                                   indices=self._description_index)


def simplify_values(values):
    """A single value when all are equal (as PyNN's get(simplify=True)), else the array."""
    values = np.asarray(values)
    if values.size and values.dtype != object and np.all(values == values.flat[0]):
        return values.flat[0].item()
    return values


def _check_spike_times(label, parameters):
    """Spike times must increase within each neuron's sequence."""
    if "spike_times" not in parameters:
        return
    sequences = [np.asarray(getattr(seq, "value", seq), dtype=float).ravel()
                 for seq in parameters["spike_times"]]
    if not sequences:
        return
    owner = np.repeat(np.arange(len(sequences)), [seq.size for seq in sequences])
    # only differences between spikes of the same neuron count
    bad = np.nonzero((np.diff(np.concatenate(sequences)) < 0) & (owner[1:] == owner[:-1]))[0]
    if bad.size:
        neuron = int(owner[bad[0]])
        raise errors.InvalidParameterValueError(
            f"population '{label}', neuron {neuron}: spike times must be in increasing "
            f"order, got {sequences[neuron]}")


def _object_array(values):
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def resolve_cells(cells, indices):
    """Map indices within a Population/View/Assembly to (population description
    index, index within that population) arrays."""
    indices = np.asarray(indices, dtype=np.int64)
    if isinstance(cells, common.Population):
        return np.full(indices.shape, cells._description.index), indices
    if isinstance(cells, common.PopulationView):
        population = cells.grandparent
        return (np.full(indices.shape, population._description.index),
                np.asarray(cells.index_in_grandparent(indices), dtype=np.int64))
    if isinstance(cells, common.Assembly):
        boundaries = np.cumsum([0] + [p.size for p in cells.populations])
        component = np.searchsorted(boundaries, indices, side="right") - 1
        populations = np.empty(indices.shape, dtype=np.int64)
        local = np.empty(indices.shape, dtype=np.int64)
        for k, part in enumerate(cells.populations):
            selected = component == k
            populations[selected], local[selected] = resolve_cells(
                part, indices[selected] - boundaries[k])
        return populations, local
    raise TypeError(f"cannot resolve cells of a {type(cells).__name__}")


class PopulationView(_ParameterAccess, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    @property
    def grandparent_description(self):
        return self.grandparent._description

    @property
    def _description_index(self):
        """Where this view's neurons sit in the population's arrays."""
        return self.index_in_grandparent(np.arange(self.size))

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(_ParameterAccess, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        state = simulator.state
        self.first_id_value = state.id_counter
        ids = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.frompyfunc(simulator.ID, 1, 1)(ids).astype(object)
        self._mask_local = np.ones((self.size,), bool)
        state.id_counter += self.size
        state.register_population(self)

        if isinstance(self.celltype, StandardCellType):
            parameter_space = self.celltype.native_parameters
        else:
            raise TypeError(
                f"pyNN.sparsehw supports PyNN's standard cell types only; "
                f"{type(self.celltype).__name__} is not one")
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        parameters = {}
        for name, value in parameter_space.items():
            if isinstance(value, np.ndarray) and value.dtype == object:
                parameters[name] = _object_array(value)
            else:
                parameters[name] = np.broadcast_to(np.asarray(value, dtype=float),
                                                   (self.size,)).copy()
        _check_spike_times(self.label, parameters)
        self._description = state.description.add_population(
            label=self.label, cell_type=type(self.celltype).__name__, size=self.size,
            parameters=parameters, components=getattr(self.celltype, "components", {}))

    @property
    def grandparent_description(self):
        return self._description

    @property
    def _description_index(self):
        """Where this population's neurons sit in its arrays: everywhere."""
        return slice(None)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)
