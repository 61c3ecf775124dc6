"""Every key of a chip model TOML file, with its unit, meaning and source.

The chip models (``models/*.toml``) cite the source of every number in a comment.
This module reads a model twice: with :mod:`tomllib` for the keys and values, and
line by line for the comments, which it attaches to the keys they annotate. The
documentation's key tables are generated from it at build time
(``chip_models_ext.py``), so they cannot drift from the files.

No Sphinx here: the parsing can be used and tested on its own.

Comment rules (how the shipped files are written):

* ``key = value  # comment``: the comment belongs to ``key``; for an inline table
  (``dac = { bits = 10, range = [...] }  # mV; ...``) to each of its entries;
* an indented comment-only line right after a key line continues that key's comment;
* comment lines directly above a key (no blank line between) belong to it as well;
  above a ``[table]`` header, or on its line, they describe the table;
* ``# [TAG] text`` starts a reference; the indented comment lines after it continue it.
"""

import fnmatch
import re
from dataclasses import dataclass, field

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

#: unit of each neuron parameter (PyNN's units; ``1`` is a dimensionless factor)
PARAMETER_UNITS = {
    "v_rest": "mV", "v_reset": "mV", "v_thresh": "mV", "v_spike": "mV", "e_syn": "mV",
    "delta_T": "mV", "tau_m": "ms", "tau_syn": "ms", "tau_refrac": "ms", "tau_w": "ms",
    "c_m": "nF", "i_offset": "nA", "a": "nS", "b": "nA", "gain_syn": "1 (factor)",
    "tau_a": "ms", "beta": "mV",
    "b_update": "1 (EGRU gate bias)", "b_reset": "1 (EGRU gate bias)",
    "b_candidate": "1 (EGRU candidate bias)", "b_candidate_recurrent": "1 (EGRU candidate bias)",
    "theta": "1 (EGRU event threshold)",
}
#: unit of each state variable of ``[neurons.state]``
STATE_UNITS = {"v": "mV", "b": "1 (threshold adaptation)", "c": "1 (EGRU internal state)",
               "y": "1 (EGRU event payload)"}

#: key pattern (fnmatch, dotted path) -> (unit, meaning). ``{unit}`` is replaced by the
#: unit of the parameter or state variable the key belongs to, ``{deviation}`` by that
#: unit or "fraction" when the entry is relative. The first matching pattern wins.
KEY_DOCS = [
    ("name", ("", "the name ``setup(chip=...)`` and ``sparsehw chips`` use")),
    ("description", ("", "one line shown by ``sparsehw chips``")),
    ("kind", ("", "``ideal``, ``analog`` or ``digital``: how parameters are represented")),
    ("topology.neurons_per_core", ("neuron circuits", "circuits per core; 0 = unlimited")),
    ("topology.cores_per_chip", ("cores", "cores per chip")),
    ("topology.core_grid", ("cores", "width, height of one chip's core mesh")),
    ("topology.max_chips", ("chips", "most chips a network may use")),
    ("topology.chip_grid", ("chips", "width, height of the chip mesh")),
    ("topology.fan_in", ("synapses", "most synapses onto one neuron circuit; 0 = unlimited")),
    ("topology.input_axons", ("neurons", "most distinct presynaptic neurons feeding one core; "
                                         "0 = unlimited")),
    ("topology.synaptic_memory_bits", ("bits", "synaptic memory per core; 0 = unlimited")),
    ("neurons.membranes", ("", "membrane circuits the chip has (``all``: every one the "
                               "engine simulates)")),
    ("neurons.kinetics", ("", "synaptic input circuits (post-synaptic responses)")),
    ("neurons.receptors_per_circuit", ("inputs", "synaptic inputs per neuron; 0 = unlimited")),
    ("neurons.parameters.*.dac.bits", ("bits", "resolution of the parameter's DAC")),
    ("neurons.parameters.*.dac.range", ("{unit}", "lowest and highest value of the DAC")),
    ("neurons.parameters.*.mismatch.sigma", ("{deviation}", "standard deviation of the frozen "
                                                            "per-circuit deviation")),
    ("neurons.parameters.*.mismatch.relative", ("", "true: factor 1 + sigma z; false: offset "
                                                    "sigma z")),
    ("neurons.parameters.*.trim.bits", ("bits", "resolution of the calibration trim DAC")),
    ("neurons.parameters.*.trim.span", ("{deviation}", "full correction range of the trim DAC, "
                                                       "centred on no correction")),
    ("neurons.parameters.*.noise.sigma", ("{deviation}", "trial-to-trial noise, redrawn at every "
                                                         "run")),
    ("neurons.parameters.*.noise.relative", ("", "true: factor 1 + sigma z; false: offset "
                                                 "sigma z")),
    ("neurons.parameters.*.decay_bits", ("bits", "the time constant is a decay factor "
                                                 "per time step of this width")),
    ("neurons.parameters.*.whole_steps", ("", "true: rounded to whole time steps")),
    ("neurons.state.*.bits", ("bits", "fixed-point width of the state variable")),
    ("neurons.state.*.range", ("{unit}", "range of the state variable")),
    ("synapses.weight_bits", ("bits", "weight magnitude code (sign from the receptor); "
                                      "0 = floating point")),
    ("synapses.exponent_bits", ("bits", "shared weight exponent; 0 = one scale per projection")),
    ("synapses.exponent_group", ("", "``projection`` or ``row``: what shares an exponent")),
    ("synapses.rounding", ("", "``nearest`` or ``stochastic`` weight rounding (default)")),
    ("synapses.gain_mismatch", ("fraction", "relative sigma of each synapse circuit's gain")),
    ("synapses.max_delay_steps", ("time steps", "longest delay; 0 = unlimited")),
    ("synapses.delay_bits", ("bits", "delay field of a stored synapse")),
    ("synapses.index_bits", ("bits", "address field of a stored synapse")),
    ("synapses.max_weight.current", ("nA", "weight at the largest code, current inputs")),
    ("synapses.max_weight.conductance", ("µS", "weight at the largest code, conductance "
                                               "inputs")),
    ("synapses.max_weight.voltage", ("mV", "weight at the largest code, voltage jumps")),
    ("memory.word_bits", ("bits", "width of one synaptic memory word")),
    ("memory.encodings", ("", "synaptic memory layouts the chip offers")),
    ("memory.objective", ("", "``energy`` or ``memory``: how the mapper picks a layout")),
    ("memory.expected_rate_hz", ("Hz", "activity assumed when choosing by energy")),
    ("memory.placement_fill", ("fraction", "placement fills a core's memory to this "
                                           "fraction")),
    ("energy.synaptic_event", ("J", "energy per synaptic event")),
    ("energy.neuron_update", ("J", "energy per neuron per time step")),
    ("energy.word_read.*", ("J", "energy per memory word read, per encoding, from a memory "
                                 "of ``reference_bits``")),
    ("energy.write_factor", ("1 (factor)", "a word write costs this many reads")),
    ("energy.size_exponent", ("1 (exponent)", "word energy scales as (memory bits / "
                                              "reference_bits) to this power")),
    ("energy.reference_bits", ("bits", "memory size at which ``word_read`` holds")),
    ("energy.spike_hop", ("J", "energy per spike per mesh hop (a binary spike: the "
                              "message's header)")),
    ("energy.payload_bit_hop", ("J", "energy per payload bit of a graded event per mesh "
                                     "hop, on top of ``spike_hop``; optional (needed to "
                                     "price graded events)")),
    ("energy.static_power_per_core", ("W", "static power per core in use")),
    ("energy.speedup", ("1 (factor)", "hardware time = biological time / speedup")),
]

_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=")
_HEADER_LINE = re.compile(r"^\s*\[([^\[\]]+)\]")
_REFERENCE = re.compile(r"^\[([A-Za-z0-9]+)\]\s+(.*)$")


class UnknownKeyError(KeyError):
    """A key of a chip model that :data:`KEY_DOCS` does not document."""


@dataclass
class KeyRow:
    """One leaf key of a chip model.

    Attributes
    ----------
    path : str
        Dotted key path, e.g. ``neurons.parameters.tau_m.dac.bits``.
    table : str
        The ``[table]`` of the file that holds the key ("" for the top level), e.g.
        ``neurons.parameters.tau_m``.
    value : object
        The value from the TOML file.
    unit : str
        Unit of the value (empty for names, flags and lists of names).
    meaning : str
        What the key sets.
    source : str
        The comment(s) of the TOML file that annotate the key, or of its table.
    """
    path: str
    table: str
    value: object
    unit: str
    meaning: str
    source: str


@dataclass
class ChipFile:
    """A chip model file read for documentation.

    Attributes
    ----------
    name : str
        The model's ``name``.
    description : str
        The model's ``description``.
    header : str
        The file's opening comment, references left out.
    references : dict
        Citation tag (``"P22"``) -> full reference, in order of appearance.
    rows : list of KeyRow
        Every leaf key, in file order.
    """
    name: str
    description: str
    header: str
    references: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)


def split_comment(line):
    """Split a TOML line into its code and its comment (a ``#`` outside strings).

    Returns
    -------
    (str, str)
        The code, right-stripped, and the comment text without ``#`` (empty if none).
    """
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def scan_comments(text):
    """Attach the comments of a TOML text to the keys and tables they annotate.

    Parameters
    ----------
    text : str
        The TOML file's text.

    Returns
    -------
    key_comments : dict
        Dotted path of a key (as written: an inline table's key, not its entries)
        -> comment text.
    table_comments : dict
        Dotted path of a table ("" for the top level) -> comment text.
    header : str
        The file's opening comment block without references.
    references : dict
        Citation tag -> reference text.
    tables : list of str
        The ``[table]`` headers, in file order.
    """
    key_comments, table_comments, references, tables = {}, {}, {}, []
    table, pending, last_key, reference = "", [], None, None
    header_lines, in_header = [], True

    def attach(mapping, path, texts):
        texts = [t for t in texts if t]
        if texts:
            mapping[path] = " ".join(filter(None, [mapping.get(path, "")] + texts))

    for raw in text.splitlines():
        code, comment = split_comment(raw)
        stripped = raw.strip()
        if not stripped:
            if in_header and header_lines:
                in_header = False
            attach(table_comments, table, pending)
            pending, last_key, reference = [], None, None
            continue
        if not code:                                   # a comment-only line
            match = _REFERENCE.match(comment)
            if match:
                reference = match.group(1)
                references[reference] = match.group(2)
                continue
            if reference and raw.startswith("#") and raw[1:].startswith("  "):
                references[reference] += " " + comment
                continue
            reference = None
            if last_key and raw[0].isspace():          # indented: continues the key above
                attach(key_comments, last_key, [comment])
                continue
            if in_header:
                if comment != "Sources:":
                    header_lines.append(comment)
            else:
                pending.append(comment)
            continue
        in_header, reference = False, None
        header = _HEADER_LINE.match(code)
        if header:
            table = header.group(1).strip()
            tables.append(table)
            attach(table_comments, table, pending + [comment])
            pending, last_key = [], None
            continue
        key = _KEY_LINE.match(code)
        if key:
            last_key = f"{table}.{key.group(1)}" if table else key.group(1)
            attach(key_comments, last_key, pending + [comment])
            pending = []
    return key_comments, table_comments, " ".join(filter(None, header_lines)), references, tables


def leaves(table, prefix=""):
    """Yield ``(dotted path, value)`` for every leaf of a parsed TOML table, in order.

    Lists are leaves; nested tables and inline tables are walked.
    """
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            yield from leaves(value, path)
        else:
            yield path, value


def describe_key(path, config):
    """Unit and meaning of one leaf key.

    Parameters
    ----------
    path : str
        Dotted path of the key.
    config : dict
        The whole parsed model (a relative mismatch makes a deviation a fraction).

    Returns
    -------
    (str, str)
        Unit and meaning.

    Raises
    ------
    UnknownKeyError
        When no pattern of :data:`KEY_DOCS` matches the key: add it there.
    """
    for pattern, (unit, meaning) in KEY_DOCS:
        if fnmatch.fnmatchcase(path, pattern):
            break
    else:
        raise UnknownKeyError(f"chip model key {path!r} is not documented: add it to "
                              f"KEY_DOCS in docs/_ext/chip_keys.py")
    parts = path.split(".")
    if "{" in unit:
        group, name = parts[1], parts[2]
        units = PARAMETER_UNITS if group == "parameters" else STATE_UNITS
        if name not in units:
            raise UnknownKeyError(f"chip model {group} entry {name!r} (key {path!r}) has no "
                                  f"unit: add it to docs/_ext/chip_keys.py")
        entry = config["neurons"][group][name]
        part = parts[3]
        relative = entry.get(part if part == "noise" else "mismatch", {}).get("relative", True)
        deviation = "fraction" if relative else units[name]
        unit = unit.format(unit=units[name], deviation=deviation)
    return unit, meaning


def read_chip_file(path):
    """Read a chip model TOML file for documentation.

    Parameters
    ----------
    path : str or os.PathLike
        The TOML file.

    Returns
    -------
    ChipFile
        Every leaf key with its value, unit, meaning and source comment.

    Raises
    ------
    UnknownKeyError
        When a key has no documented unit and meaning.
    """
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    config = tomllib.loads(text)
    key_comments, table_comments, header, references, tables = scan_comments(text)
    chip = ChipFile(name=config["name"], description=config["description"], header=header,
                    references=references)
    for leaf, value in leaves(config):
        unit, meaning = describe_key(leaf, config)
        source = _source_of(leaf, key_comments, table_comments)
        table = max((t for t in tables if leaf.startswith(t + ".")), key=len, default="")
        chip.rows.append(KeyRow(leaf, table, value, unit, meaning, source))
    return chip


def _source_of(path, key_comments, table_comments):
    """The comment of the key (or of the inline table holding it), else its table's."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in key_comments:
            return key_comments[prefix]
    for end in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in table_comments:
            return table_comments[prefix]
    return ""
