"""Mapping vocabulary: which circuit realises each PyNN type, and the names.

The tables and functions here say how PyNN's cell types, parameters, state
variables, receptors and projection options correspond to the chip's circuits;
:mod:`.mapper` uses them to map a whole network.

A cell type is realised by a *circuit*: a membrane plus a kinetics per receptor
(see :mod:`pyNN_sparsehw.engine.circuits`). A chip that lacks the native membrane
may embed it (LIF on an AdEx circuit with adaptation and the exponential term off);
otherwise the cell type is an error naming the type and the chip.
"""

import numpy as np

from ..chip import quantize
from ..chip.encodings import ENCODINGS
from ..engine.circuits import GIF_COMPONENTS, MEMBRANES

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
    "ALIF_curr_delta": ("alif", "voltage_jump"),
    "GIF_cond_exp": ("gif", "cond_exp"),
    "EGRU": ("egru", "graded"),
}
#: cell types whose receptors are not the standard excitatory/inhibitory pair
CELL_RECEPTORS = {
    "EGRU": ("update", "reset", "candidate_input", "candidate_recurrent"),
}
SOURCE_KINDS = {"SpikeSourcePoisson": "poisson", "SpikeSourceArray": "spike_array"}

#: neuron components of a composed PointNeuron -> membrane circuit
NEURON_COMPONENTS = {"LIF": "lif", "AdExp": "adex"}
#: post-synaptic response types -> receptor kinetics
RESPONSE_KINETICS = {
    "CurrExpPostSynapticResponse": "curr_exp",
    "CondExpPostSynapticResponse": "cond_exp",
    "CondAlphaPostSynapticResponse": "cond_alpha",
    "VoltageJumpPostSynapticResponse": "voltage_jump",
}

#: receptors of the standard cell types, as the circuits name them
RECEPTOR_NAMES = {"excitatory": "exc", "inhibitory": "inh"}

#: PyNN parameter names that the circuits call differently
PARAMETER_NAMES = {"cm": "c_m", "tau_syn_E": "tau_exc", "tau_syn_I": "tau_inh",
                   "e_rev_E": "e_exc", "e_rev_I": "e_inh"}

#: PyNN state variable -> circuit state variable (same units)
STATE_NAMES = {
    "v": "v", "w": "w", "u": "u", "b": "b", "g_r": "g_r", "g_s": "g_s", "m": "m", "n": "n",
    "h": "h", "i_eta": "i_eta", "v_t": "v_t", "c": "c", "y": "y",
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


#: what a chip lacking a membrane circuit may realise instead (named in the error)
MEMBRANE_ALTERNATIVES = {
    "alif": "an adaptation it can realise is the AdEx adaptation current "
            "(EIF_cond_exp_isfa_ista with parameters a, b, tau_w): spike-frequency "
            "adaptation by a current rather than by the threshold",
    "gif": "stochastic (escape-noise) firing has no circuit; deterministic neurons with "
           "adaptation are ALIF_curr_delta (threshold) and EIF_cond_exp_isfa_ista "
           "(current), on chips that have them",
    "egru": "graded events and discrete-time gated units need a digital neuron update "
            "(chip='digital' or 'ideal'); spiking recurrent networks (ALIF_curr_delta, "
            "IF_curr_exp) run on analog circuits",
}

#: per-neuron array parameters (PyNN ArrayParameter) split into one circuit parameter
#: per component, "<name>1".."<name>N"; missing components get these (inert) values
COMPONENT_PADDING = {"tau_eta": 1.0, "a_eta": 0.0, "tau_gamma": 1.0, "a_gamma": 0.0}


#: how an LIF membrane is realised on a chip that only has AdEx circuits: adaptation
#: off (a = b = 0) and the exponential term off (delta_T = 0); then v_thresh is the
#: threshold and tau_w, v_spike play no part
LIF_ON_ADEX = {"a": 0.0, "b": 0.0, "delta_T": 0.0, "tau_w": 100.0}


def native_circuit(population):
    """(membrane, {receptor: kinetics}) that realises a population's cell type exactly."""
    cell_type = population.cell_type
    if cell_type == "PointNeuron":
        components = dict(population.components)
        neuron = components.pop("neuron")
        if neuron not in NEURON_COMPONENTS:
            raise MappingError(
                f"population '{population.label}': no circuit realises a PointNeuron with "
                f"neuron model {neuron}; available: {', '.join(NEURON_COMPONENTS)}")
        unknown = [kind for kind in components.values() if kind not in RESPONSE_KINETICS]
        if unknown:
            raise MappingError(
                f"population '{population.label}': post-synaptic response(s) "
                f"{', '.join(unknown)} are not available; use "
                f"{', '.join(RESPONSE_KINETICS)}")
        return NEURON_COMPONENTS[neuron], {
            receptor: RESPONSE_KINETICS[kind] for receptor, kind in components.items()}
    if cell_type not in CELL_CIRCUITS:
        raise MappingError(f"population '{population.label}': cell type {cell_type} has no "
                           f"circuit; available: {', '.join(CELL_CIRCUITS)}")
    membrane, kinetics = CELL_CIRCUITS[cell_type]
    receptors = CELL_RECEPTORS.get(cell_type, tuple(RECEPTOR_NAMES.values()))
    return membrane, {receptor: kinetics for receptor in receptors}


def check_graded_delays(label, pre_membrane, delay_steps):
    """Graded events (a membrane with a payload, e.g. egru) are delivered one time step
    after they are sent: the payload is held until the sender's next event. Raises
    :class:`MappingError` for any other delay."""
    if not pre_membrane or not MEMBRANES[pre_membrane].payload:
        return
    steps = np.unique(np.asarray(delay_steps)).astype(np.int64)
    if steps.size and not np.array_equal(steps, [1]):
        raise MappingError(
            f"projection '{label}': graded events of {pre_membrane} units are delivered "
            f"with a delay of one time step; it has delays of {steps.tolist()} steps. Set "
            f"delay=dt (the time step) on projections from {pre_membrane} populations.")


def realisable_cell_types(chip):
    """The standard cell types `chip` can realise."""
    return [name for name, (membrane, kinetics) in CELL_CIRCUITS.items()
            if chip_membrane(chip, membrane) and chip.has_kinetics(kinetics)]


def chip_membrane(chip, membrane):
    """The chip's membrane circuit realising `membrane`, or None."""
    if chip.has_membrane(membrane):
        return membrane
    if membrane == "lif" and chip.has_membrane("adex"):
        return "adex"
    return None


def circuit_of(population, chip):
    """(membrane, {receptor: kinetics}, fixed parameters) realising a population on
    `chip`; raises :class:`MappingError` naming the type and the chip when it cannot."""
    membrane, receptors = native_circuit(population)
    kind = population.cell_type
    if population.cell_type == "PointNeuron":
        kind = f"PointNeuron({population.components['neuron']}, " + ", ".join(
            f"{r}={k}" for r, k in population.components.items() if r != "neuron") + ")"
    realised = chip_membrane(chip, membrane)
    missing = sorted({k for k in receptors.values() if not chip.has_kinetics(k)})
    if realised is None or missing:
        reason = (f"it has no {membrane} neuron circuit" if realised is None else
                  f"its synaptic inputs have no {', '.join(missing)} kinetics")
        if realised is None and membrane in MEMBRANE_ALTERNATIVES:
            reason += f"; {MEMBRANE_ALTERNATIVES[membrane]}"
        raise MappingError(
            f"population '{population.label}': the {chip.name} chip cannot realise cell "
            f"type {kind}: {reason}. It realises "
            f"{', '.join(realisable_cell_types(chip)) or 'no standard cell type'}. Use one "
            f"of those, or chip='ideal'.")
    limit = chip.receptors_per_circuit
    if limit and len(receptors) > limit:
        raise MappingError(
            f"population '{population.label}': {kind} needs {len(receptors)} synaptic "
            f"inputs per neuron; the {chip.name} chip's circuits have {limit}.")
    fixed = LIF_ON_ADEX if (membrane, realised) == ("lif", "adex") else {}
    return realised, receptors, fixed


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
    """PyNN parameter arrays -> circuit parameter arrays (names change; array
    parameters are split into components, see :data:`COMPONENT_PADDING`)."""
    mapped = {}
    for name, value in parameters.items():
        if name.endswith("locations"):
            continue
        if name in COMPONENT_PADDING:
            mapped.update(component_parameters(name, value))
        else:
            mapped[circuit_name(name, PARAMETER_NAMES)] = np.asarray(value, dtype=float)
    return mapped


def component_parameters(name, values):
    """Split a per-neuron array parameter (e.g. GIF's ``tau_eta``) into
    ``{name}1 .. {name}N`` arrays, N = GIF_COMPONENTS, padding shorter arrays with
    inert components."""
    rows = [np.atleast_1d(np.asarray(getattr(v, "value", v), dtype=float)) for v in values]
    longest = max((row.size for row in rows), default=0)
    if longest > GIF_COMPONENTS:
        raise MappingError(f"parameter '{name}' has {longest} components; the circuits "
                           f"realise at most {GIF_COMPONENTS}. Combine or drop the "
                           f"smallest components.")
    table = np.full((len(rows), GIF_COMPONENTS), COMPONENT_PADDING[name])
    for i, row in enumerate(rows):
        table[i, :row.size] = row
    return {f"{name}{k + 1}": table[:, k] for k in range(GIF_COMPONENTS)}


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


#: receptor kinetics -> kind of weight (the chip's weight limits are per kind)
WEIGHT_KINDS = {"curr_exp": "current", "curr_alpha": "current", "cond_exp": "conductance",
                "cond_alpha": "conductance", "voltage_jump": "voltage",
                "graded": "dimensionless"}
#: receptor parameters and the chip-model key that describes them
RECEPTOR_PARAMETER_KEYS = {"tau": "tau_syn", "e": "e_syn", "gain": "gain_syn"}
#: per-projection hardware options (``Projection(..., hardware={...})``)
HARDWARE_OPTIONS = {
    "weight_scale": "weight of one weight-code step, in the weight's unit (nA, uS or mV); "
                    "default: the largest weight gets the largest code",
    "rounding": "'nearest' or 'stochastic'",
    "exponent_group": "'projection' or 'row': which weights share an exponent (chips with "
                      "weight exponents)",
    "encoding": "synaptic memory encoding: one of " + ", ".join(ENCODINGS) +
                " (default: the chip's choice)",
}


POPULATION_HARDWARE_OPTIONS = {
    "new_core": "True: the population starts on a core no earlier population uses "
                "(e.g. one copy of a network per core); default False",
}


def _known_options(kind, label, options, available):
    """``hardware={...}`` `options` of the `kind` ("population", "projection") `label`
    as a dict, after checking that every key is one of `available` ({key: help})."""
    options = dict(options or {})
    unknown = set(options) - set(available)
    if unknown:
        raise ValueError(
            f"{kind} '{label}': unknown hardware option(s) {', '.join(sorted(unknown))}; "
            f"available: " + "; ".join(f"{k}: {v}" for k, v in available.items()))
    return options


def check_population_hardware_options(label, options):
    """Validate a population's ``hardware={...}`` options; returns them as a dict."""
    options = _known_options("population", label, options, POPULATION_HARDWARE_OPTIONS)
    if not isinstance(options.get("new_core", False), bool):
        raise ValueError(f"population '{label}': hardware new_core must be True or False, "
                         f"got {options['new_core']!r}")
    return options


def check_hardware_options(label, options):
    """Validate a projection's ``hardware={...}`` options; returns them as a dict."""
    options = _known_options("projection", label, options, HARDWARE_OPTIONS)
    scale = options.get("weight_scale")
    if scale is not None and not float(scale) > 0:
        raise ValueError(f"projection '{label}': hardware weight_scale must be > 0, got {scale}")
    if options.get("rounding", "nearest") not in quantize.ROUNDING:
        raise ValueError(f"projection '{label}': hardware rounding must be one of "
                         f"{quantize.ROUNDING}, got {options['rounding']!r}")
    if options.get("encoding", "dense") not in ENCODINGS:
        raise ValueError(f"projection '{label}': hardware encoding must be one of "
                         f"{', '.join(ENCODINGS)}, got {options['encoding']!r}")
    if options.get("exponent_group", "projection") not in ("projection", "row"):
        raise ValueError(f"projection '{label}': hardware exponent_group must be 'projection' "
                         f"or 'row', got {options['exponent_group']!r}")
    return options


def parameter_key(name, membrane, receptors):
    """(chip-model key, mismatch stream name) of circuit parameter `name`.

    Receptor parameters share one key per kind (``tau_syn``...) and have one stream
    per physical synaptic input (``tau_syn[0]``, ``tau_syn[1]``...)."""
    if name not in MEMBRANES[membrane].parameters:
        for k, receptor in enumerate(receptors):
            for prefix, key in RECEPTOR_PARAMETER_KEYS.items():
                if name == f"{prefix}_{receptor}":
                    return key, f"{key}[{k}]"
    return name, name


def source_kind(population):
    """"poisson", "spike_array" or "neuron"."""
    return SOURCE_KINDS.get(population.cell_type, "neuron")


def synapse_parameters(projection):
    """Plasticity parameters of a projection as the engine wants them."""
    parameters = dict(projection.parameters)
    if projection.synapse_model == "stdp":
        dependence = parameters.pop("weight_dependence")
        if dependence in WEIGHT_DEPENDENCE_MU:
            parameters["mu_plus"], parameters["mu_minus"] = WEIGHT_DEPENDENCE_MU[dependence]
    return parameters
