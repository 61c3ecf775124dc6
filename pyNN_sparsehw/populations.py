"""Population, PopulationView and Assembly: PyNN's classes over the network description.

Parameters live in the population's :class:`~pyNN_sparsehw.description.PopulationDescription`
as per-neuron arrays in PyNN names and units; changes are forwarded to the engine
when the network has been compiled.
"""

import numbers

import numpy as np

from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify
from pyNN.standardmodels import StandardCellType

from .mapping import vocabulary as mapping
from . import simulator, validation
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
        self._check_current("get parameters of")
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

    def _check_current(self, action):
        """Refuse to act on a population of an earlier setup()."""
        validation.check_current(self, simulator.state.generation, action)

    @property
    def _owner(self):
        """How errors name this population: label and cell type."""
        return f"population '{self.label}' ({type(self.celltype).__name__})"

    def _get_parameters(self, *names):
        self._check_current("get parameters of")
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
        self._check_current("set parameters of")
        description = self.grandparent_description
        parameter_space.evaluate(simplify=False)
        updated = dict(description.parameters)
        for name, value in parameter_space.items():
            target = description.parameters[name].copy()
            if target.dtype == object:
                target[self._description_index] = _object_array(value)
            else:
                target[self._description_index] = value
            updated[name] = target
        # the whole population is checked: a new v_thresh must still lie above v_reset
        celltype = self.celltype
        validation.check_cell_parameters(self._owner, updated, _units(celltype),
                                         getattr(celltype, "default_parameters", {}))
        description.parameters.update(updated)
        simulator.state.push_population(description, names=list(parameter_space.keys()))

    def _set_initial_value_array(self, variable, initial_values):
        self._check_current("initialize")
        description = self.grandparent_description
        values = initial_values.evaluate(simplify=False) if hasattr(initial_values, "evaluate") \
            else np.asarray(initial_values, dtype=float)
        values = np.broadcast_to(np.asarray(values, dtype=float), (self.size,))
        validation.check_initial_values(self._owner, variable, values,
                                        _units(self.celltype).get(variable, ""))
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


def _units(celltype):
    """Units of a cell type's parameters and state variables (PyNN's strings)."""
    return getattr(celltype, "units", None) or {}


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

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values={},
                 label=None, hardware=None):
        """PyNN's Population, plus `hardware`: placement options, a dict (see
        ``mapping.POPULATION_HARDWARE_OPTIONS``), e.g. ``{"new_core": True}``."""
        self._hardware = mapping.check_population_hardware_options(label, hardware)
        if not isinstance(size, tuple):
            validation.check_population_size(label, size)
        # numbers and arrays are checked before the population exists (the rest, lazy
        # values, when initialize() evaluates them)
        owner = f"population '{label}' ({type(cellclass).__name__})" if label else \
            f"new population ({type(cellclass).__name__})"
        for variable, value in initial_values.items():
            if isinstance(value, (numbers.Real, list, np.ndarray)):
                validation.check_initial_values(owner, variable, value,
                                                _units(cellclass).get(variable, ""))
        super().__init__(size, cellclass, cellparams, structure, initial_values, label)

    def _create_cells(self):
        validation.check_population_size(self.label, self.size)
        if not isinstance(self.celltype, StandardCellType):
            raise TypeError(
                f"pyNN.sparsehw supports PyNN's standard cell types only; "
                f"{type(self.celltype).__name__} is not one")
        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        parameters = {}
        for name, value in parameter_space.items():
            if isinstance(value, np.ndarray) and value.dtype == object:
                parameters[name] = _object_array(value)
            else:
                parameters[name] = np.broadcast_to(np.asarray(value, dtype=float),
                                                   (self.size,)).copy()
        # checked before the population takes ids: a refused one leaves no trace
        validation.check_cell_parameters(self._owner, parameters, _units(self.celltype),
                                         getattr(self.celltype, "default_parameters", {}))

        state = simulator.state
        self._generation = state.generation
        self.first_id_value = state.id_counter
        ids = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.frompyfunc(simulator.ID, 1, 1)(ids).astype(object)
        self._mask_local = np.ones((self.size,), bool)
        state.id_counter += self.size
        state.register_population(self)
        self._description = state.description.add_population(
            label=self.label, cell_type=type(self.celltype).__name__, size=self.size,
            parameters=parameters, components=getattr(self.celltype, "components", {}),
            hardware=self._hardware)

    @property
    def grandparent_description(self):
        return self._description

    @property
    def _description_index(self):
        """Where this population's neurons sit in its arrays: everywhere."""
        return slice(None)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)
