"""Standard synapse types: static, Tsodyks-Markram, and STDP (pair rule with the
additive, multiplicative, mixed and Gütig weight dependences).

`synapse_model` names the engine's synapse model (see
:func:`pyNN_sparsehw.engine.blocks._synapse_equations`).
"""

from pyNN.standardmodels import synapses, build_translations

from ..simulator import state


def _identity(*names):
    return build_translations(*[(name, name) for name in names])


class _MinimumDelay:
    def _get_minimum_delay(self):
        return state.min_delay


class StaticSynapse(_MinimumDelay, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = _identity("weight", "delay")
    synapse_model = "static"


class TsodyksMarkramSynapse(_MinimumDelay, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = _identity("weight", "delay", "U", "tau_rec", "tau_facil")
    synapse_model = "tsodyks_markram"


class STDPMechanism(_MinimumDelay, synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = _identity("weight", "delay", "dendritic_delay_fraction")
    synapse_model = "stdp"

    def _build_translations(self):
        # a fresh dict per instance: PyNN's base class would update the shared one
        self.translations = dict(self.base_translations)
        for component in (self.timing_dependence, self.weight_dependence):
            if component:
                self.translations.update(component.translations)


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = _identity("w_max", "w_min")


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = _identity("w_max", "w_min")


class AdditivePotentiationMultiplicativeDepression(
        synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = synapses.AdditivePotentiationMultiplicativeDepression.__doc__
    translations = _identity("w_max", "w_min")


class GutigWeightDependence(synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__
    translations = _identity("w_max", "w_min", "mu_plus", "mu_minus")


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _identity("tau_plus", "tau_minus", "A_plus", "A_minus")


__all__ = ["StaticSynapse", "TsodyksMarkramSynapse", "STDPMechanism",
           "AdditiveWeightDependence", "MultiplicativeWeightDependence",
           "AdditivePotentiationMultiplicativeDepression", "GutigWeightDependence",
           "SpikePairRule"]
