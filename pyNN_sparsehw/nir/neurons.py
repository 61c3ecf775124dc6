"""Which PyNN cell type realises each NIR neuron node on a chip, with which parameters.

A NIR neuron node becomes one population (see docs/nir.rst for the table):

==========  ================================================================  ===========
NIR node    cell type                                                         records
==========  ================================================================  ===========
LIF         ``IF_curr_delta`` (``IF_curr_exp`` with the chip's shortest       spikes
            synaptic time constant on chips without voltage-jump synapses)
IF          as LIF, without leak                                              spikes
LI          as LIF, threshold at 1e12 mV (never reached)                      ``v``
CubaLIF     ``IF_curr_exp``; with a recurrent edge on chips that also have    spikes
            voltage jumps: ``PointNeuron`` of ``LIF``, two exponential
            currents and two voltage-jump receptors
            (:func:`with_voltage_jumps`)
CubaLI      ``IF_curr_exp``, threshold at 1e12 mV (never reached)             ``v``
Threshold   ``IF_curr_delta`` that forgets its state every step               spikes
==========  ================================================================  ===========

:class:`Realisation` holds the PyNN parameters and the factor that turns NIR input
weights (and biases) into PyNN weights (mV or nA).
"""

from dataclasses import dataclass, field, replace

import numpy as np
import nir

from pyNN_sparsehw.mapping.vocabulary import MappingError

from . import units

#: metadata keys of neuron nodes written by :mod:`.writer`: what NIR cannot hold
META_CELL_TYPE = "sparsehw_cell_type"
META_CM = "sparsehw_cm"                    # nF
META_TAU_REFRAC = "sparsehw_tau_refrac"    # ms
META_I_OFFSET = "sparsehw_i_offset"        # nA (also folded into v_leak)
META_TAU_SYN_I = "sparsehw_tau_syn_I"      # ms, of IF_curr_exp (NIR's tau_syn: tau_syn_E)
#: metadata key naming a neuron model that NIR has no node for (see docs/nir.rst)
META_MODEL = "sparsehw_model"

#: default membrane capacitance (nF) when a graph does not say (NIR's currents have
#: no unit, so any value gives the same spikes once the weights are scaled)
DEFAULT_CM = 1.0

NEURON_NODES = (nir.LIF, nir.IF, nir.LI, nir.CubaLIF, nir.CubaLI, nir.Threshold)

#: PyNN parameter -> key of the chip model's parameter table
CHIP_PARAMETER_KEYS = {"tau_m": "tau_m", "tau_syn_E": "tau_syn", "tau_syn_I": "tau_syn",
                       "v_rest": "v_rest", "v_reset": "v_reset", "v_thresh": "v_thresh",
                       "cm": "c_m", "tau_refrac": "tau_refrac", "i_offset": "i_offset"}


class NIRMappingError(MappingError):
    """A NIR graph, or one of its nodes, cannot be realised on the chip (a
    :class:`~pyNN_sparsehw.mapping.vocabulary.MappingError`)."""


@dataclass
class Realisation:
    """How one neuron node is realised.

    Attributes
    ----------
    cell_type : str
        PyNN cell type name.
    parameters : dict of arrays
        PyNN parameters per neuron, PyNN units.
    weight_factor : array
        PyNN weight (mV or nA) per NIR weight, per target neuron (also per unit of
        NIR bias, which the reader sends as spikes of a bias source every step).
    latency : int
        Steps the synaptic kinetics add between a spike's arrival and its first
        effect on the threshold decision (0 voltage jump, 1 exponential current).
    record : str
        ``"spikes"`` or ``"v"`` (leaky integrators without threshold).
    initial_v : array
        Initial membrane potential (mV).
    jump_factor : array or None
        Voltage jump (mV) per NIR weight, per target neuron, of the voltage-jump
        receptors ``jump_excitatory`` and ``jump_inhibitory`` (None: the neuron has
        none; see :func:`with_voltage_jumps`).
    """
    cell_type: str
    parameters: dict
    weight_factor: np.ndarray
    latency: int
    record: str
    initial_v: np.ndarray
    notes: list = field(default_factory=list)
    jump_factor: np.ndarray = None

    def current_decay(self, h):
        """Per-step decay of the excitatory and inhibitory synaptic currents,
        ``(alpha_E, alpha_I)`` per neuron, at the chip step `h` (ms)."""
        return (units.chip_decay(self.parameters["tau_syn_E"], h),
                units.chip_decay(self.parameters["tau_syn_I"], h))


#: receptors a CubaLIF gets for a same-step recurrence (:func:`with_voltage_jumps`)
JUMP_RECEPTORS = ("jump_excitatory", "jump_inhibitory")


def with_voltage_jumps(realisation, h):
    """The :class:`Realisation` of a CubaLIF (``IF_curr_exp``) that also takes
    voltage jumps, for a recurrent edge NIR carries to the next step.

    NIR adds the recurrent input ``V s[t]`` to the synaptic current of step t + 1,
    which moves the membrane in that very step; a chip's exponential current moves
    it one step after its arrival, and a synapse needs at least one step, so the
    edge would be one step late. Split, it is not: a voltage jump of ``g V`` (mV,
    ``g`` the gain of one NIR input on the membrane) arriving in step t + 1 is the
    step's effect, and an exponential current of ``alpha V`` (times the weight
    factor) arriving in step t + 1 too moves the membrane from t + 2 on by
    ``alpha^k g V`` thereafter, exactly the decaying rest of NIR's current. The
    neuron becomes a ``PointNeuron(LIF, excitatory=, inhibitory=`` exponential
    currents ``, jump_excitatory=, jump_inhibitory=`` voltage jumps ``)``.
    """
    if realisation.cell_type != "IF_curr_exp":
        raise NIRMappingError(f"voltage jumps are added to IF_curr_exp realisations, not "
                              f"to {realisation.cell_type}")
    p = realisation.parameters
    per_nA = units.current_to_voltage(p["tau_m"], p["tau_syn_E"], p["cm"], h)
    return replace(realisation, cell_type="PointNeuron",
                   jump_factor=realisation.weight_factor * per_nA)


def _array(value, size, name, label):
    value = np.asarray(value, dtype=float)
    if value.size == 1:
        return np.full(size, float(value.ravel()[0]))
    if value.size != size:
        raise NIRMappingError(f"node '{label}': parameter {name} has {value.size} values "
                              f"for {size} neurons")
    return value.ravel().copy()


def _decay(node_label, kind, tau, dt, discretisation, what="tau"):
    decay, gain = units.decay_and_gain(tau, dt, discretisation)
    if np.any(~(decay > 0.0)) or np.any(decay > 1.0):
        worst = float(np.min(tau))
        raise NIRMappingError(
            f"node '{node_label}' ({kind}): {what} = {worst:g} s gives a decay of "
            f"{float(np.min(decay)):g} per step of dt = {dt:g} s with the "
            f"{discretisation} discretisation; a chip neuron needs a decay in (0, 1]. "
            f"Pass the dt the graph was exported with, or discretisation='exact'.")
    return decay, gain


def _metadata(node, key, size, default, label):
    value = node.metadata.get(key) if isinstance(node.metadata, dict) else None
    return _array(default if value is None else value, size, key, label)


def rest_shift(tau_m, cm, i_offset, leaky):
    """Shift (mV) of the resting potential equivalent to the constant current
    `i_offset` (nA): ``tau_m i_offset / c_m`` for a leaky membrane, 0 without leak
    (where a constant current has no equivalent rest)."""
    return np.where(leaky, np.asarray(i_offset) * np.asarray(tau_m) / np.asarray(cm), 0.0)


def default_cm(chip):
    """Membrane capacitance (nF) for nodes whose metadata does not give one: the
    smallest the chip holds (the least synaptic current for a given voltage step),
    :data:`DEFAULT_CM` on chips without a range."""
    dac = (chip.parameter("c_m") or {}).get("dac")
    return float(dac["range"][0]) if dac else DEFAULT_CM


def realise(label, node, size, dt, discretisation, h, chip, voltage=(1.0, 0.0)):
    """The :class:`Realisation` of neuron node `node` (named `label`) of `size`
    neurons, at `dt` seconds per NIR step and `h` ms per chip step on `chip`.

    `voltage`: (scale in mV per NIR voltage unit, offset in mV): a NIR voltage u is
    ``offset + scale * u`` mV on the chip, and weights scale with it."""
    model = node.metadata.get(META_MODEL) if isinstance(node.metadata, dict) else None
    if model is not None:
        model = model.decode() if isinstance(model, bytes) else str(model)
        raise NIRMappingError(
            f"node '{label}' carries a {model} neuron (metadata {META_MODEL!r}), which "
            f"NIR has no node for and pyNN_sparsehw.nir cannot realise yet; its "
            f"parameters are in the node's metadata")
    kind = type(node).__name__
    cm = _metadata(node, META_CM, size, default_cm(chip), label)
    tau_refrac = _metadata(node, META_TAU_REFRAC, size, 0.0, label)
    i_offset = _metadata(node, META_I_OFFSET, size, 0.0, label)
    common = dict(cm=cm, tau_refrac=tau_refrac, i_offset=i_offset, voltage=voltage)
    delta = chip.has_kinetics("voltage_jump")
    if isinstance(node, nir.Threshold):
        if not delta:
            raise NIRMappingError(
                f"node '{label}' (Threshold): a threshold without memory needs "
                f"voltage-jump synapses, which the {chip.name} chip has not; use a LIF "
                f"node or chip='ideal'")
        parameters = dict(tau_m=np.full(size, h / units.FORGET_ALL_DECAY_EXPONENT),
                          v_rest=np.zeros(size), v_reset=np.zeros(size),
                          v_thresh=_array(node.threshold, size, "threshold", label))
        return _finish(label, kind, "IF_curr_delta", parameters, common, np.ones(size), 0,
                       "spikes", np.zeros(size), chip)
    if isinstance(node, (nir.CubaLIF, nir.CubaLI)):
        return _realise_cuba(label, node, size, dt, discretisation, h, chip, common)
    if isinstance(node, nir.IF):
        v_reset = _array(node.v_reset, size, "v_reset", label)
        decay, per_step = np.ones(size), dt * _array(node.r, size, "r", label)
        v_rest = v_reset.copy()
        v_thresh = _array(node.v_threshold, size, "v_threshold", label)
        record, initial = "spikes", v_reset.copy()
    elif isinstance(node, (nir.LIF, nir.LI)):
        tau = _array(node.tau, size, "tau", label)
        decay, gain = _decay(label, kind, tau, dt, discretisation)
        per_step = gain * _array(node.r, size, "r", label)
        v_rest = _array(node.v_leak, size, "v_leak", label)
        initial = v_rest.copy()
        if isinstance(node, nir.LIF):
            v_thresh = _array(node.v_threshold, size, "v_threshold", label)
            v_reset = _array(node.v_reset, size, "v_reset", label)
            record = "spikes"
        else:
            v_thresh, v_reset = np.full(size, units.NO_THRESHOLD_MV), v_rest.copy()
            record = "v"
    else:
        raise NIRMappingError(f"node '{label}': {kind} is not a neuron node")
    tau_m = units.chip_tau(decay, h)
    parameters = dict(tau_m=tau_m, v_rest=v_rest, v_reset=v_reset, v_thresh=v_thresh)
    if delta:
        return _finish(label, kind, "IF_curr_delta", parameters, common, per_step, 0, record,
                       initial, chip)
    tau_syn = _shortest_tau_syn(chip, h)
    parameters.update(tau_syn_E=np.full(size, tau_syn), tau_syn_I=np.full(size, tau_syn))
    factor = per_step / units.current_to_voltage(tau_m, tau_syn, cm, h)
    return _finish(label, kind, "IF_curr_exp", parameters, common, factor, 1, record, initial,
                   chip,
                   notes=[f"node '{label}' ({kind}): the {chip.name} chip has no "
                          f"voltage-jump synapses; realised with exponential currents of "
                          f"tau_syn = {tau_syn:g} ms (one more step of latency; "
                          f"{np.exp(-h / tau_syn):.2g} of the current is left for the "
                          f"next step)"])


def _realise_cuba(label, node, size, dt, discretisation, h, chip, common):
    kind = type(node).__name__
    if not chip.has_kinetics("curr_exp"):
        raise NIRMappingError(f"node '{label}' ({kind}) needs exponential current synapses, "
                              f"which the {chip.name} chip has not")
    tau_syn = _array(node.tau_syn, size, "tau_syn", label)
    tau_mem = _array(node.tau_mem, size, "tau_mem", label)
    alpha, gain_syn = _decay(label, kind, tau_syn, dt, discretisation, "tau_syn")
    beta, gain_mem = _decay(label, kind, tau_mem, dt, discretisation, "tau_mem")
    if np.any(alpha >= 1.0):
        raise NIRMappingError(f"node '{label}' ({kind}): a synaptic current without decay "
                              f"has no chip counterpart")
    w_in = _array(node.w_in, size, "w_in", label)
    r = _array(node.r, size, "r", label)
    v_leak = _array(node.v_leak, size, "v_leak", label)
    tau_m, tau_s = units.chip_tau(beta, h), units.chip_tau(alpha, h)
    if np.any(np.isclose(tau_m, tau_s, rtol=1e-9)):
        raise NIRMappingError(
            f"node '{label}' ({kind}): equal membrane and synaptic time constants "
            f"({float(tau_m[np.isclose(tau_m, tau_s)][0]):g} ms) make the exact "
            f"integration singular; perturb one of them")
    per_step = gain_syn * w_in * gain_mem * r           # mV per step per NIR input
    factor = per_step / units.current_to_voltage(tau_m, tau_s, common["cm"], h)
    if isinstance(node, nir.CubaLIF):
        v_thresh = _array(node.v_threshold, size, "v_threshold", label)
        v_reset = _array(node.v_reset, size, "v_reset", label)
        record = "spikes"
    else:
        v_thresh, v_reset, record = np.full(size, units.NO_THRESHOLD_MV), v_leak.copy(), "v"
    tau_s_inh = _metadata(node, META_TAU_SYN_I, size, tau_s, label)
    parameters = dict(tau_m=tau_m, tau_syn_E=tau_s, tau_syn_I=tau_s_inh, v_rest=v_leak,
                      v_reset=v_reset, v_thresh=v_thresh)
    return _finish(label, kind, "IF_curr_exp", parameters, common, factor, 1, record,
                   v_leak.copy(), chip)


def _shortest_tau_syn(chip, h):
    """The shortest synaptic time constant (ms) the chip holds; on chips without a
    range, one that leaves exp(-50) of the current for the next step."""
    dac = (chip.parameter("tau_syn") or {}).get("dac")
    if dac:
        return float(dac["range"][0])
    return h / units.FORGET_ALL_DECAY_EXPONENT


def _finish(label, kind, cell_type, parameters, common, weight_factor, latency, record,
            initial, chip, notes=()):
    """Voltages (NIR units) to mV, the i_offset of our writer taken out of v_leak,
    the parameters checked against the chip."""
    scale, offset = common["voltage"]
    parameters = dict(parameters, cm=common["cm"], tau_refrac=common["tau_refrac"],
                      i_offset=common["i_offset"])
    for name in ("v_rest", "v_reset", "v_thresh"):
        parameters[name] = offset + scale * parameters[name]
    # an i_offset written by our writer is also folded into v_leak: take it out
    parameters["v_rest"] = parameters["v_rest"] - rest_shift(
        parameters["tau_m"], parameters["cm"], parameters["i_offset"],
        parameters["tau_m"] < units.NO_LEAK_TAU_MS)
    _check_chip(label, kind, parameters, chip)
    return Realisation(cell_type, parameters, scale * np.asarray(weight_factor, dtype=float),
                       latency, record, offset + scale * np.asarray(initial, dtype=float),
                       list(notes))


def _check_chip(label, kind, parameters, chip):
    """Every parameter within the range the chip's DACs hold, else an error naming
    the node."""
    for name, values in parameters.items():
        entry = chip.parameter(CHIP_PARAMETER_KEYS.get(name, name)) or {}
        dac = entry.get("dac")
        if not dac:
            continue
        low, high = (float(v) for v in dac["range"])
        bad = (values < low - 1e-9 * abs(low)) | (values > high + 1e-9 * abs(high)) | \
            np.isnan(values)
        if np.any(bad):
            worst = values[bad][0]
            raise NIRMappingError(
                f"node '{label}' ({kind}): {name} = {worst:g} is outside the range "
                f"[{low:g}, {high:g}] the {chip.name} chip holds. Choose a chip time step "
                f"(sim.setup(timestep=...)) that brings time constants into range, "
                f"rescale the graph's voltages, or use chip='ideal'.")
