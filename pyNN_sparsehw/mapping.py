"""Mapping: network description + chip model -> mapped network for the engine.

For each population, the PyNN cell type is realised by a circuit of the chip (a
membrane plus a synapse kinetics, see :mod:`pyNN_sparsehw.engine.circuits`); for
each projection, weights and delays become what the chip stores. On the `ideal`
chip this is a pass-through apart from renaming parameters and rounding delays to
whole time steps (as NEST does).
"""

import numpy as np

from .engine.specs import NeuronGroupSpec, SynapseGroupSpec

#: PyNN cell type -> (membrane circuit, kinetics of its two receptors)
CELL_CIRCUITS = {
    "IF_curr_exp": ("lif", "curr_exp"),
    "IF_curr_alpha": ("lif", "curr_alpha"),
    "IF_curr_delta": ("lif", "voltage_jump"),
    "IF_cond_exp": ("lif", "cond_exp"),
    "IF_cond_alpha": ("lif", "cond_alpha"),
    "IF_cond_exp_gsfa_grr": ("lif_sfa_rr", "cond_exp"),
    "EIF_cond_exp_isfa_ista": ("adex", "cond_exp"),
    "EIF_cond_alpha_isfa_ista": ("adex", "cond_alpha"),
    "Izhikevich": ("izhikevich", "voltage_jump"),
    "HH_cond_exp": ("hh", "cond_exp"),
}
SOURCE_KINDS = {"SpikeSourcePoisson": "poisson", "SpikeSourceArray": "spike_array"}

#: neuron components of a composed PointNeuron -> membrane circuit
NEURON_COMPONENTS = {"LIF": "lif", "AdExp": "adex"}
#: post-synaptic response types -> receptor kinetics
RESPONSE_KINETICS = {
    "CurrExpPostSynapticResponse": "curr_exp",
    "CondExpPostSynapticResponse": "cond_exp",
    "CondAlphaPostSynapticResponse": "cond_alpha",
}

#: receptors of the standard cell types, as the circuits name them
RECEPTOR_NAMES = {"excitatory": "exc", "inhibitory": "inh"}

#: PyNN parameter names that the circuits call differently
PARAMETER_NAMES = {"cm": "c_m", "tau_syn_E": "tau_exc", "tau_syn_I": "tau_inh",
                   "e_rev_E": "e_exc", "e_rev_I": "e_inh"}

#: PyNN state variable -> circuit state variable (same units)
STATE_NAMES = {
    "v": "v", "w": "w", "u": "u", "g_r": "g_r", "g_s": "g_s", "m": "m", "n": "n", "h": "h",
    "gsyn_exc": "g_exc", "gsyn_inh": "g_inh", "isyn_exc": "i_exc", "isyn_inh": "i_inh",
}
#: receptor variables of composed neurons: "<receptor>.<name>" -> "<prefix>_<receptor>"
RECEPTOR_VARIABLES = {"gsyn": "g", "isyn": "i", "tau_syn": "tau", "e_syn": "e"}

#: STDP weight dependences -> (mu_plus, mu_minus) of the Gütig et al. (2003) form
WEIGHT_DEPENDENCE_MU = {
    "AdditiveWeightDependence": (0.0, 0.0),
    "MultiplicativeWeightDependence": (1.0, 1.0),
    "AdditivePotentiationMultiplicativeDepression": (0.0, 1.0),
}


class MappingError(ValueError):
    """The chip cannot realise part of the network."""


def circuit_of(population, chip):
    """(membrane, {receptor: kinetics}) realising a population's cell type on `chip`."""
    cell_type = population.cell_type
    if cell_type == "PointNeuron":
        components = dict(population.components)
        neuron = components.pop("neuron")
        if neuron not in NEURON_COMPONENTS or not chip.supports_cell_type(cell_type):
            raise MappingError(
                f"population '{population.label}': the {chip.name} chip cannot realise a "
                f"PointNeuron with neuron model {neuron}; it supports "
                f"{', '.join(NEURON_COMPONENTS)}")
        unknown = [kind for kind in components.values() if kind not in RESPONSE_KINETICS]
        if unknown:
            raise MappingError(
                f"population '{population.label}': post-synaptic response(s) "
                f"{', '.join(unknown)} are not available; use "
                f"{', '.join(RESPONSE_KINETICS)}")
        return NEURON_COMPONENTS[neuron], {
            receptor: RESPONSE_KINETICS[kind] for receptor, kind in components.items()}
    if not chip.supports_cell_type(cell_type) or cell_type not in CELL_CIRCUITS:
        supported = [name for name in CELL_CIRCUITS if chip.supports_cell_type(name)]
        raise MappingError(
            f"population '{population.label}': the {chip.name} chip cannot realise cell "
            f"type {cell_type}; it supports {', '.join(supported)} and spike sources")
    membrane, kinetics = CELL_CIRCUITS[cell_type]
    return membrane, {receptor: kinetics for receptor in RECEPTOR_NAMES.values()}


def circuit_name(name, table):
    """Circuit name of a PyNN parameter or state variable (`table`: the renames)."""
    if "." in name:
        receptor, variable = name.split(".", 1)
        return f"{RECEPTOR_VARIABLES.get(variable, variable)}_{receptor}"
    return table.get(name, name)


def circuit_state_name(variable):
    """Circuit state variable recorded for the PyNN variable `variable`."""
    if "." not in variable and variable not in STATE_NAMES:
        raise MappingError(f"no circuit variable corresponds to PyNN variable '{variable}'")
    return circuit_name(variable, STATE_NAMES)


def engine_receptor(population, receptor_type):
    """The circuit receptor that PyNN's `receptor_type` of `population` designates."""
    if population.cell_type == "PointNeuron":
        return receptor_type
    return RECEPTOR_NAMES.get(receptor_type, receptor_type)


def circuit_parameters(parameters):
    """PyNN parameter arrays -> circuit parameter arrays (names only change)."""
    return {circuit_name(name, PARAMETER_NAMES): np.asarray(value, dtype=float)
            for name, value in parameters.items() if not name.endswith("locations")}


def circuit_initial_values(initial_values):
    return {circuit_state_name(name): np.asarray(value, dtype=float)
            for name, value in initial_values.items()}


def source_parameters(parameters):
    """SpikeSourcePoisson parameters -> engine Poisson parameters (ms, Hz)."""
    mapped = {}
    if "rate" in parameters:
        mapped["rate"] = np.asarray(parameters["rate"], dtype=float)
    if "start" in parameters:
        mapped["start"] = np.asarray(parameters["start"], dtype=float)
    if "start" in parameters and "duration" in parameters:
        mapped["stop"] = mapped["start"] + np.asarray(parameters["duration"], dtype=float)
    return mapped


def map_population(population, chip):
    """A :class:`PopulationDescription` -> :class:`NeuronGroupSpec`."""
    kind = SOURCE_KINDS.get(population.cell_type, "neuron")
    spec = NeuronGroupSpec(key=population.index, label=population.label,
                           size=population.size, kind=kind)
    if kind == "poisson":
        spec.parameters = source_parameters(population.parameters)
    elif kind == "spike_array":
        spec.spike_times = [np.asarray(seq.value if hasattr(seq, "value") else seq, dtype=float)
                            for seq in population.parameters["spike_times"]]
    else:
        spec.membrane, spec.receptors = circuit_of(population, chip)
        spec.parameters = circuit_parameters(population.parameters)
        spec.initial_values = circuit_initial_values(population.initial_values)
    return spec


def delay_steps(delays, dt):
    """Delays in ms -> whole time steps (nearest, at least one)."""
    return np.maximum(np.rint(np.asarray(delays, dtype=float) / dt), 1).astype(np.int64)


def synapse_parameters(projection):
    """Plasticity parameters of a projection as the engine wants them."""
    parameters = dict(projection.parameters)
    if projection.synapse_model == "stdp":
        dependence = parameters.pop("weight_dependence")
        if dependence in WEIGHT_DEPENDENCE_MU:
            parameters["mu_plus"], parameters["mu_minus"] = WEIGHT_DEPENDENCE_MU[dependence]
    return parameters


def map_projection(projection, description, dt):
    """A :class:`ProjectionDescription` -> :class:`SynapseGroupSpec`."""
    initial = {}
    if projection.synapse_model == "tsodyks_markram" and "u" in projection.initial_values:
        initial["u_tm"] = np.asarray(projection.initial_values["u"], dtype=float)
    return SynapseGroupSpec(
        key=projection.index, label=projection.label,
        pre=projection.pre, post=projection.post,
        receptor=engine_receptor(description.populations[projection.post],
                                 projection.receptor_type),
        model=projection.synapse_model,
        pre_index=projection.pre_index, post_index=projection.post_index,
        weights=np.asarray(projection.weights, dtype=float),
        delays=delay_steps(projection.delays, dt) * dt,
        parameters=synapse_parameters(projection),
        initial_values=initial)
