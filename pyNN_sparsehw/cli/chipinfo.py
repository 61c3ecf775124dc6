"""Chip models as text: a table of their key figures, or one model in full.

Used by ``sparsehw chips`` and ``sparsehw chips show NAME``. Only the model's TOML
content is read (:class:`~pyNN_sparsehw.chip.ChipModel`); nothing is mapped.
"""

from ..chip import available_chips, load_chip
from ..report.texttable import table

COLUMNS = ("chip", "kind", "neurons/core", "cores/chip", "chips", "weight bits", "fan-in",
           "memory/core", "mismatch")


def key_figures(model):
    """The figures ``sparsehw chips`` lists for one ChipModel (strings, in COLUMNS
    order). 0 in the model means unlimited."""
    topology = model.topology
    bits = model.weight_bits
    exponent = int(model.synapses.get("exponent_bits", 0))
    weights = "float" if not bits else f"{bits}" + (f" + {exponent}-bit exp." if exponent else "")
    return (model.name, model.kind, _unlimited(topology.neurons_per_core),
            str(topology.cores_per_chip), _unlimited(topology.max_chips), weights,
            _unlimited(topology.fan_in), memory_text(topology.synaptic_memory_bits),
            mismatch_summary(model))


def memory_text(bits):
    """Synaptic memory per core: KiB, or 'unlimited' for 0."""
    if not bits:
        return "unlimited"
    return f"{bits / 8192:g} KiB"


#: the parameters whose frozen mismatch ``sparsehw chips`` lists, with the unit of an
#: absolute sigma
KEY_MISMATCH = (("tau_m", "ms"), ("v_thresh", "mV"))


def mismatch_summary(model):
    """Frozen mismatch (sigma) of the membrane time constant, the threshold and the
    synapse gains, e.g. 'tau_m 15 %, v_thresh 2 mV, synapse gain 10 %'; 'none'."""
    parts = []
    for name, unit in KEY_MISMATCH:
        mismatch = (model.parameter(name) or {}).get("mismatch")
        if mismatch and mismatch["sigma"]:
            sigma = mismatch["sigma"]
            parts.append(f"{name} {100 * sigma:g} %" if mismatch.get("relative")
                         else f"{name} {sigma:g} {unit}")
    gain = float(model.synapses.get("gain_mismatch", 0.0))
    if gain:
        parts.append(f"synapse gain {100 * gain:g} %")
    return ", ".join(parts) if parts else "none"


def chips_table(names=None):
    """Text table of the key figures of the shipped chip models (or of `names`)."""
    rows = [COLUMNS] + [key_figures(load_chip(name)) for name in (names or available_chips())]
    return table(rows)


def chip_text(model):
    """Everything a chip model says, as text: identity, topology, neuron circuits,
    each parameter's representation, mismatch, trim and noise, synapses, and any
    further tables of the model."""
    lines = [f"{model.name}: {model.description}",
             f"kind {model.kind}; source {model.source}; hash {model.hash}", ""]
    topology = model.topology
    lines.append("Topology")
    lines.append(table([("neurons per core", _unlimited(topology.neurons_per_core)),
                        ("cores per chip", str(topology.cores_per_chip)),
                        ("core grid", _grid(topology.core_grid)),
                        ("chips (max)", _unlimited(topology.max_chips)),
                        ("chip grid", _grid(topology.chip_grid)),
                        ("fan-in per neuron", _unlimited(topology.fan_in)),
                        ("input axons per core", _unlimited(topology.input_axons)),
                        ("synaptic memory per core",
                         memory_text(topology.synaptic_memory_bits))], header=False))
    neurons = model.neurons
    lines += ["", "Neuron circuits"]
    lines.append(table([("membranes", _listing(neurons.get("membranes", "all"))),
                        ("synaptic kinetics", _listing(neurons.get("kinetics", "all"))),
                        ("synaptic inputs per circuit",
                         _unlimited(model.receptors_per_circuit))], header=False))
    parameters = neurons.get("parameters", {})
    if parameters:
        lines += ["", "Neuron parameters"]
        lines.append(table([("parameter", "representation", "frozen mismatch", "trim",
                             "trial noise")]
                           + [(name, _representation(entry), _spread(entry.get("mismatch")),
                               _trim(entry.get("trim")), _spread(entry.get("noise")))
                              for name, entry in parameters.items()]))
    if model.state_resolution:
        lines += ["", "Neuron state"]
        lines.append(table([(name, f"{entry['bits']}-bit over {_range(entry['range'])}")
                            for name, entry in model.state_resolution.items()], header=False))
    lines += ["", "Synapses"]
    lines.append(table([(key, _value(value)) for key, value in model.synapses.items()],
                       header=False))
    known = {"name", "description", "kind", "topology", "neurons", "synapses"}
    for key, value in model.config.items():
        if key in known:
            continue
        lines += ["", key.replace("_", " ").capitalize()]
        if isinstance(value, dict):
            lines.append(table([(k, _value(v)) for k, v in _flatten(value)], header=False))
        else:
            lines.append(_value(value))
    return "\n".join(lines)


def _flatten(table_, prefix=""):
    for key, value in table_.items():
        if isinstance(value, dict) and not _is_leaf(value):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _is_leaf(value):
    return all(not isinstance(v, dict) for v in value.values()) and len(value) <= 4


def _unlimited(value):
    return "unlimited" if not value else str(value)


def _grid(grid):
    return f"{grid[0]} x {grid[1]}"


def _listing(value):
    return "all" if value == "all" else ", ".join(value)


def _range(values):
    return f"[{values[0]:g}, {values[1]:g}]"


def _representation(entry):
    if "dac" in entry:
        return f"DAC {entry['dac']['bits']}-bit over {_range(entry['dac']['range'])}"
    if "decay_bits" in entry:
        return f"{entry['decay_bits']}-bit decay factor"
    if entry.get("whole_steps"):
        return "whole time steps"
    return "exact"


def _spread(entry):
    if not entry:
        return "-"
    sigma = entry["sigma"]
    return f"sigma {100 * sigma:g} %" if entry.get("relative") else f"sigma {sigma:g} (abs.)"


def _trim(entry):
    if not entry:
        return "-"
    return f"{entry['bits']}-bit, span {entry['span']:g}"


def _value(value):
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
