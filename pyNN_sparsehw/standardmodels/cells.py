"""Standard cell types. Each is the PyNN class with identity translations.

Which circuit realises each type is decided by the chip mapping
(:data:`pyNN_sparsehw.mapping.CELL_CIRCUITS`), not here.
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
