"""Standard cell types. Each is the PyNN class with identity translations.

Which circuit realises each type is decided by the chip mapping
(:data:`pyNN_sparsehw.mapping.vocabulary.CELL_CIRCUITS`), not here.
"""

from pyNN.standardmodels import cells, build_translations


def _identity_translations(cell_class):
    return build_translations(*[(name, name) for name in cell_class.default_parameters])


def _standard(cell_class, **extra):
    attributes = {
        "__doc__": cell_class.__doc__,
        "__module__": __name__,
        "translations": _identity_translations(cell_class),
    }
    attributes.update(extra)
    return type(cell_class.__name__, (cell_class,), attributes)


IF_curr_exp = _standard(cells.IF_curr_exp)
IF_curr_alpha = _standard(cells.IF_curr_alpha)
IF_curr_delta = _standard(cells.IF_curr_delta)
IF_cond_exp = _standard(cells.IF_cond_exp)
IF_cond_alpha = _standard(cells.IF_cond_alpha)
IF_cond_exp_gsfa_grr = _standard(cells.IF_cond_exp_gsfa_grr)
EIF_cond_exp_isfa_ista = _standard(cells.EIF_cond_exp_isfa_ista)
EIF_cond_alpha_isfa_ista = _standard(cells.EIF_cond_alpha_isfa_ista)
Izhikevich = _standard(cells.Izhikevich)
HH_cond_exp = _standard(cells.HH_cond_exp,
                        receptor_types=("excitatory", "inhibitory"),
                        recordable=["spikes", "v", "gsyn_exc", "gsyn_inh", "m", "n", "h"])
SpikeSourcePoisson = _standard(cells.SpikeSourcePoisson)
SpikeSourceArray = _standard(cells.SpikeSourceArray)

__all__ = ["IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", "IF_cond_exp", "IF_cond_alpha",
           "IF_cond_exp_gsfa_grr", "EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista",
           "Izhikevich", "HH_cond_exp", "SpikeSourcePoisson", "SpikeSourceArray"]


# ---------------------------------------------------------------- composed neurons
from pyNN.parameters import ParameterSpace                         # noqa: E402
from pyNN.standardmodels import receptors                          # noqa: E402
from pyNN.standardmodels.base import StandardPostSynapticResponse  # noqa: E402

LIF = _standard(cells.LIF)
AdExp = _standard(cells.AdExp)
CurrExpPostSynapticResponse = _standard(receptors.CurrExpPostSynapticResponse,
                                        recordable=["isyn"])
CondExpPostSynapticResponse = _standard(receptors.CondExpPostSynapticResponse,
                                        recordable=["gsyn"])
CondAlphaPostSynapticResponse = _standard(receptors.CondAlphaPostSynapticResponse,
                                          recordable=["gsyn"])
ExpPSR = CondExpPostSynapticResponse
AlphaPSR = CondAlphaPostSynapticResponse


class VoltageJumpPostSynapticResponse(StandardPostSynapticResponse):
    """Post-synaptic response that moves the membrane potential by the weight (mV),
    in the step the spike arrives, without synaptic state: ``IF_curr_delta``'s input,
    as a named receptor of a ``PointNeuron`` (e.g. next to exponential currents).
    pyNN.sparsehw's own; PyNN 0.13 has no such response."""
    default_parameters = {"locations": 0.5}
    default_initial_values = {}
    units = {}
    recordable = []
    conductance_based = False
    translations = build_translations(("locations", "locations"))


class PointNeuron(cells.PointNeuron):
    """A neuron model (LIF, AdExp) with any number of named receptors.

    Parameters and state variables of a receptor are named ``"<receptor>.<name>"``,
    e.g. ``"AMPA.tau_syn"`` or ``"AMPA.gsyn"``; all keep PyNN's units.
    """

    def __init__(self, neuron, **post_synaptic_receptors):
        super().__init__(neuron, **post_synaptic_receptors)
        names = list(self.get_schema())
        self.translations = build_translations(*[(name, name) for name in names])

    def _flat(self, nested):
        flat = {name: value for name, value in nested.items()
                if name not in self.post_synaptic_receptors}
        for receptor in self.post_synaptic_receptors:
            for name, value in nested[receptor].items():
                flat[f"{receptor}.{name}"] = value
        return flat

    def get_schema(self):
        schema = dict(self.neuron.get_schema())
        for receptor, response in self.post_synaptic_receptors.items():
            schema.update({f"{receptor}.{name}": kind
                           for name, kind in response.get_schema().items()})
        return schema

    @property
    def native_parameters(self):
        return ParameterSpace(self._flat(self.parameter_space), shape=self.parameter_space.shape)

    def translate(self, parameters, copy=True):
        return ParameterSpace(dict(parameters.items()), shape=parameters.shape)

    def reverse_translate(self, native_parameters):
        return ParameterSpace(dict(native_parameters.items()), shape=native_parameters.shape)

    def get_native_names(self, *names):
        return list(names) if names else list(self.get_schema())

    def get_parameter_names(self):
        return list(self.get_schema())

    def computed_parameters_include(self, parameter_names):
        return False

    @property
    def components(self):
        """Class names of the neuron model and of each receptor's response."""
        components = {"neuron": type(self.neuron).__name__}
        for receptor, response in self.post_synaptic_receptors.items():
            components[receptor] = type(response).__name__
        return components


__all__ += ["LIF", "AdExp", "PointNeuron", "CurrExpPostSynapticResponse",
            "CondExpPostSynapticResponse", "CondAlphaPostSynapticResponse", "ExpPSR",
            "AlphaPSR", "VoltageJumpPostSynapticResponse"]


# ---------------------------------------------------------------- adaptive threshold
from pyNN.standardmodels import StandardCellType                   # noqa: E402


class ALIF_curr_delta(StandardCellType):
    """Leaky integrate-and-fire neuron with an adaptive threshold (LSNN, Bellec et al.
    2018): NEST's ``eprop_iaf_adapt`` without its plasticity (see docs/alif.rst).

    Synaptic inputs are voltage jumps (mV). The threshold is ``v_thresh + beta*b``;
    ``b`` (dimensionless) decays with ``tau_a`` and grows by 1 with each spike, one
    time step after it. A spike subtracts ``v_thresh - v_rest`` from ``v``; for
    ``tau_refrac`` after it the neuron cannot spike, but ``v`` keeps integrating.
    """

    default_parameters = {
        'v_rest': -65.0,      # resting (leak) potential, mV
        'cm': 1.0,            # membrane capacitance, nF
        'tau_m': 20.0,        # membrane time constant, ms
        'tau_refrac': 2.0,    # refractory period, ms
        'i_offset': 0.0,      # constant input current, nA
        'v_thresh': -50.0,    # base threshold, mV
        'tau_a': 200.0,       # time constant of the threshold adaptation, ms
        'beta': 1.7,          # threshold increase per unit of b, mV
    }
    recordable = ['spikes', 'v', 'b']
    conductance_based = False
    voltage_based_synapses = True
    default_initial_values = {'v': -65.0, 'b': 0.0}
    units = {
        'v': 'mV', 'b': 'dimensionless', 'v_rest': 'mV', 'cm': 'nF', 'tau_m': 'ms',
        'tau_refrac': 'ms', 'i_offset': 'nA', 'v_thresh': 'mV', 'tau_a': 'ms', 'beta': 'mV',
    }
    translations = build_translations(*[(name, name) for name in default_parameters])


__all__ += ["ALIF_curr_delta"]

GIF_cond_exp = _standard(cells.GIF_cond_exp)
__all__ += ["GIF_cond_exp"]


# ---------------------------------------------------------------- event-based GRU
class EGRU(StandardCellType):
    """Event-based gated recurrent unit (Subramoney et al. 2023), updated once per time
    step (see docs/egru.rst).

    Four synaptic inputs, one per gate input: ``update``, ``reset``,
    ``candidate_input`` and ``candidate_recurrent`` (the reset gate multiplies only
    the last). Each step, with the sums a_* of the events received:
    ``u = sigmoid(a_update + b_update)``, ``r = sigmoid(a_reset + b_reset)``,
    ``c = u tanh(a_candidate_input + b_candidate + r (a_candidate_recurrent +
    b_candidate_recurrent)) + (1 - u) c``. A unit emits an event when ``c >= theta``;
    the event is *graded*: it carries the value ``y = c`` (a target adds weight * y),
    as Loihi 2's graded spikes carry a payload (Orchard et al. 2021). The reset
    subtracts ``theta``. A spike from a spike source carries 1. Everything is
    dimensionless; weights too.
    """

    default_parameters = {
        'b_update': 0.0,                # update gate bias
        'b_reset': 0.0,                 # reset gate bias
        'b_candidate': 0.0,             # candidate bias (input part)
        'b_candidate_recurrent': 0.0,   # candidate bias (recurrent part, reset-gated)
        'theta': 0.3,                   # event threshold
    }
    recordable = ['spikes', 'c', 'y']
    receptor_types = ("update", "reset", "candidate_input", "candidate_recurrent")
    conductance_based = False
    default_initial_values = {'c': 0.0, 'y': 0.0}
    units = {name: 'dimensionless' for name in
             list(default_parameters) + list(default_initial_values)}
    translations = build_translations(*[(name, name) for name in default_parameters])


__all__ += ["EGRU"]
