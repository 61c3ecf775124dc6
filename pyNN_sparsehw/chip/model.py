"""Chip models: a neuromorphic chip described by a TOML file.

The shipped models live in ``models/*.toml`` (installed as package data of
``pyNN_sparsehw.models``); a user may pass the name of a shipped model, the path of
their own TOML file with the same keys, or a :class:`ChipModel` object.
"""

import copy
import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources

import math
import numbers

from .energy import EnergyProfile, OPTIONAL_PROFILE_KEYS, PROFILE_KEYS
from .encodings import ENCODINGS
from .quantize import ROUNDING

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

REQUIRED_KEYS = {
    "name": str,
    "description": str,
    "kind": str,
    "topology": dict,
    "neurons": dict,
    "synapses": dict,
}
KINDS = ("ideal", "analog", "digital")
TOPOLOGY_KEYS = ("neurons_per_core", "cores_per_chip", "core_grid", "max_chips", "chip_grid",
                 "fan_in", "input_axons", "synaptic_memory_bits")
PARAMETER_KEYS = {"dac", "mismatch", "trim", "noise", "decay_bits", "whole_steps"}
WEIGHT_KINDS = ("current", "conductance", "voltage")
MEMORY_KEYS = ("word_bits", "encodings", "objective", "expected_rate_hz", "placement_fill")


@dataclass(frozen=True)
class Topology:
    """Sizes and limits of a chip; 0 means unlimited.

    Cores are arranged in a `core_grid` (width, height) on each chip and chips in a
    `chip_grid`; together they form one 2-D mesh. `fan_in` is the largest number of
    synapses onto one neuron circuit, `input_axons` the largest number of distinct
    presynaptic neurons feeding one core, `synaptic_memory_bits` the synaptic memory
    of one core.
    """
    neurons_per_core: int
    cores_per_chip: int
    core_grid: tuple
    max_chips: int
    chip_grid: tuple
    fan_in: int
    input_axons: int
    synaptic_memory_bits: int

    @property
    def n_cores(self):
        return self.cores_per_chip * self.max_chips


class ChipModelError(ValueError):
    """A chip model file is missing, unreadable or inconsistent."""


# ------------------------------------------------------------------- key checks
# Each check takes (value) and returns None when the value is fine, else the allowed
# range in words; ChipModel._validate names the key, the file and the value.
def _integer(minimum):
    def check(value):
        whole = isinstance(value, numbers.Integral) or (
            isinstance(value, float) and math.isfinite(value) and value.is_integer())
        if isinstance(value, bool) or not whole or value < minimum:
            return f"a whole number >= {minimum}"
    return check


def _number(minimum=None, above=None, maximum=None, infinite=False):
    def check(value):
        words = "a number" + (" (inf allowed)" if infinite else "")
        bounds = [f"> {above:g}" if above is not None else "",
                  f">= {minimum:g}" if minimum is not None else "",
                  f"<= {maximum:g}" if maximum is not None else ""]
        words = " ".join([words, " and ".join(b for b in bounds if b)]).strip()
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                math.isnan(value) or (math.isinf(value) and not infinite):
            return words
        if (above is not None and not value > above) or \
                (minimum is not None and value < minimum) or \
                (maximum is not None and value > maximum):
            return words
    return check


def _boolean(value):
    if not isinstance(value, bool):
        return "true or false"


def _choice(*options):
    def check(value):
        if value not in options:
            return "one of " + ", ".join(repr(o) for o in options)
    return check


def _pair(item, words):
    def check(value):
        if not isinstance(value, list) or len(value) != 2 or any(item(v) for v in value):
            return f"a list of two values, each {words}"
    return check


def _interval(value):
    """[low, high] with finite numbers, high > low."""
    if not isinstance(value, list) or len(value) != 2 or \
            any(_number()(v) for v in value) or not value[1] > value[0]:
        return "[low, high]: two finite numbers with high > low"


def _table(**checks):
    """A table whose listed keys (all optional) pass their checks."""
    def check(value):
        if not isinstance(value, dict):
            return "a table {" + ", ".join(checks) + "}"
    check.keys = checks
    return check


_POSITIVE_GRID = _pair(_integer(1), "a whole number >= 1")
#: per-key checks of each table (keys absent from a table are not required here)
KEY_CHECKS = {
    "topology": {
        "neurons_per_core": _integer(0), "cores_per_chip": _integer(1),
        "core_grid": _POSITIVE_GRID, "max_chips": _integer(1), "chip_grid": _POSITIVE_GRID,
        "fan_in": _integer(0), "input_axons": _integer(0),
        "synaptic_memory_bits": _integer(0),
    },
    "neurons": {"receptors_per_circuit": _integer(0)},
    "synapses": {
        "weight_bits": _integer(0), "exponent_bits": _integer(0),
        "exponent_group": _choice("projection", "row"), "rounding": _choice(*ROUNDING),
        "gain_mismatch": _number(minimum=0), "max_delay_steps": _integer(0),
        "delay_bits": _integer(0), "index_bits": _integer(0),
        "max_weight": _table(current=_number(above=0, infinite=True),
                             conductance=_number(above=0, infinite=True),
                             voltage=_number(above=0, infinite=True)),
    },
    "memory": {
        "word_bits": _integer(1), "expected_rate_hz": _number(minimum=0),
        "placement_fill": _number(above=0, maximum=1),
    },
    "energy": dict({key: _number(minimum=0) for key in (*PROFILE_KEYS, *OPTIONAL_PROFILE_KEYS)},
                   speedup=_number(above=0), reference_bits=_number(above=0),
                   word_read=_table(**{name: _number(minimum=0) for name in ENCODINGS})),
}
#: checks of one entry of [neurons.parameters.<name>]
PARAMETER_CHECKS = {
    "dac": _table(bits=_integer(1), range=_interval),
    "mismatch": _table(sigma=_number(minimum=0), relative=_boolean),
    "trim": _table(bits=_integer(1), span=_number(above=0)),
    "noise": _table(sigma=_number(minimum=0), relative=_boolean),
    "decay_bits": _integer(1),
    "whole_steps": _boolean,
}
#: keys a table entry must have
REQUIRED_ENTRY_KEYS = {"dac": ("bits", "range"), "trim": ("bits", "span"),
                       "mismatch": ("sigma",), "noise": ("sigma",)}
#: checks of one entry of [neurons.state.<name>]
STATE_CHECKS = {"bits": _integer(1), "range": _interval}


class ChipModel:
    """A chip model: the parsed TOML plus its identity.

    Parameters
    ----------
    config : dict
        The parsed TOML tables.
    source : str
        Where the model came from (a file path or ``"<object>"``).
    """

    def __init__(self, config, source="<object>"):
        self.config = copy.deepcopy(config)
        self.source = source
        self._validate()

    def _validate(self):
        for key, kind in REQUIRED_KEYS.items():
            if key not in self.config:
                raise ChipModelError(
                    f"chip model {self.source}: missing key '{key}' "
                    f"(every chip model needs {', '.join(REQUIRED_KEYS)})")
            if not isinstance(self.config[key], kind):
                raise ChipModelError(
                    f"chip model {self.source}: key '{key}' should be a {kind.__name__}, "
                    f"got {type(self.config[key]).__name__}")
        if self.kind not in KINDS:
            raise ChipModelError(
                f"chip model {self.source}: kind '{self.kind}' is not one of {KINDS}")
        self._check_keys()
        for key in ("membranes", "kinetics"):
            value = self.neurons.get(key, "all")
            if not (value == "all" or isinstance(value, list)):
                raise ChipModelError(
                    f"chip model {self.source}: neurons.{key} must be \"all\" or a list of "
                    f"circuit names, got {value!r}")
        missing = [key for key in TOPOLOGY_KEYS if key not in self.config["topology"]]
        if missing:
            raise ChipModelError(
                f"chip model {self.source}: [topology] lacks {', '.join(missing)}")
        topology = self.topology
        if topology.core_grid[0] * topology.core_grid[1] != topology.cores_per_chip:
            raise ChipModelError(
                f"chip model {self.source}: core_grid {list(topology.core_grid)} holds "
                f"{topology.core_grid[0] * topology.core_grid[1]} cores, but cores_per_chip "
                f"is {topology.cores_per_chip}")
        if topology.chip_grid[0] * topology.chip_grid[1] < topology.max_chips:
            raise ChipModelError(
                f"chip model {self.source}: chip_grid {list(topology.chip_grid)} has room "
                f"for fewer than max_chips = {topology.max_chips} chips")
        for name, entry in self.neurons.get("parameters", {}).items():
            unknown = set(entry) - PARAMETER_KEYS
            if unknown:
                raise ChipModelError(
                    f"chip model {self.source}: neurons.parameters.{name} has unknown "
                    f"key(s) {', '.join(sorted(unknown))}; allowed: "
                    f"{', '.join(sorted(PARAMETER_KEYS))}")
        memory = self.config.get("memory")
        if memory is not None:
            missing = [key for key in MEMORY_KEYS if key not in memory]
            unknown = [name for name in memory.get("encodings", []) if name not in ENCODINGS]
            if missing or unknown or memory.get("objective") not in ("energy", "memory"):
                raise ChipModelError(
                    f"chip model {self.source}: [memory] needs {', '.join(MEMORY_KEYS)} with "
                    f"encodings among {', '.join(ENCODINGS)} and objective 'energy' or "
                    f"'memory'; missing {missing or '-'}, unknown encodings {unknown or '-'}")
        if "energy" in self.config:
            profile = self.energy_profile
            if memory is not None:
                lacking = [n for n in memory["encodings"] if n not in profile.word_read]
                if lacking:
                    raise ChipModelError(f"chip model {self.source}: [energy] word_read lacks "
                                         f"{', '.join(lacking)}")
        bits = self.synapses.get("weight_bits", 0)
        if int(bits) != bits or bits < 0:
            raise ChipModelError(
                f"chip model {self.source}: synapses.weight_bits must be a whole number >= 0 "
                f"(0 = floating point), got {bits}")

    def _check_keys(self):
        """Type, sign and range of every known key (see KEY_CHECKS)."""
        for table, checks in KEY_CHECKS.items():
            self._check_table(table, self.config.get(table, {}), checks)
        parameters = self.neurons.get("parameters", {})
        self._require_table("neurons.parameters", parameters)
        for name, entry in parameters.items():
            path = f"neurons.parameters.{name}"
            self._require_table(path, entry)
            self._check_table(path, entry, PARAMETER_CHECKS)
        states = self.neurons.get("state", {})
        self._require_table("neurons.state", states)
        for name, entry in states.items():
            self._require_table(f"neurons.state.{name}", entry)
            self._check_table(f"neurons.state.{name}", entry, STATE_CHECKS)
            self._require_keys(f"neurons.state.{name}", entry, ("bits", "range"))

    def _check_table(self, path, table, checks):
        for key, check in checks.items():
            if key not in table:
                continue
            self._check_value(f"{path}.{key}", table[key], check)
            for inner, inner_check in getattr(check, "keys", {}).items():
                if inner in table[key]:
                    self._check_value(f"{path}.{key}.{inner}", table[key][inner], inner_check)
            if key in REQUIRED_ENTRY_KEYS and path.startswith("neurons.parameters."):
                self._require_keys(f"{path}.{key}", table[key], REQUIRED_ENTRY_KEYS[key])

    def _check_value(self, path, value, check):
        wanted = check(value)
        if wanted:
            raise ChipModelError(
                f"chip model {self.source}: {path} = {value!r}; it must be {wanted}. "
                f"Correct it in the chip model file.")

    def _require_table(self, path, value):
        if not isinstance(value, dict):
            raise ChipModelError(f"chip model {self.source}: {path} = {value!r}; it must be a "
                                 f"table. Correct it in the chip model file.")

    def _require_keys(self, path, table, keys):
        missing = [key for key in keys if key not in table]
        if missing:
            raise ChipModelError(f"chip model {self.source}: {path} lacks "
                                 f"{', '.join(missing)}. Add it to the chip model file.")

    @property
    def name(self):
        return self.config["name"]

    @property
    def kind(self):
        return self.config["kind"]

    @property
    def description(self):
        return self.config["description"]

    @property
    def neurons(self):
        return self.config["neurons"]

    @property
    def synapses(self):
        return self.config["synapses"]

    @property
    def topology(self):
        """The chip's :class:`Topology` (sizes and limits)."""
        t = self.config["topology"]
        return Topology(**{key: tuple(int(v) for v in t[key]) if key.endswith("grid")
                           else int(t[key]) for key in TOPOLOGY_KEYS})

    def has_membrane(self, membrane):
        """True if the chip has neuron circuits with this membrane (see engine.circuits)."""
        membranes = self.neurons.get("membranes", "all")
        return membranes == "all" or membrane in membranes

    def has_kinetics(self, kinetics):
        """True if the chip's synaptic inputs can have this kinetics."""
        available = self.neurons.get("kinetics", "all")
        return available == "all" or kinetics in available

    @property
    def receptors_per_circuit(self):
        """Synaptic inputs per neuron circuit (0 = unlimited)."""
        return int(self.neurons.get("receptors_per_circuit", 0))

    def parameter(self, key):
        """How the chip realises circuit parameter `key` (a dict with optional dac,
        mismatch, trim, noise, decay_bits, whole_steps), or None when exactly."""
        return self.neurons.get("parameters", {}).get(key)

    @property
    def state_resolution(self):
        """Fixed-point state variables: name -> {bits, range}."""
        return self.neurons.get("state", {})

    @property
    def weight_bits(self):
        """Bits of a weight (mantissa) code; 0 = floating point."""
        return int(self.synapses.get("weight_bits", 0))

    @property
    def synapse_entry_bits(self):
        """Bits of one synapse in an index-based synaptic memory: weight code, delay
        code and target index (0 on a floating-point chip). The memory encodings of
        each projection refine this."""
        synapses = self.synapses
        if not self.weight_bits:
            return 0
        return self.weight_bits + int(synapses.get("delay_bits", 0)) + \
            int(synapses.get("index_bits", 0))

    @property
    def memory(self):
        """The ``[memory]`` table (word_bits, encodings, objective, expected_rate_hz,
        placement_fill), or None when the chip has no synaptic-memory model."""
        return self.config.get("memory")

    @property
    def energy_profile(self):
        """The chip's :class:`~.energy.EnergyProfile`, or None without ``[energy]``."""
        table = self.config.get("energy")
        return None if table is None else EnergyProfile.from_config(table, self.source)

    def max_weight(self, kind):
        """Largest weight magnitude of one synapse (`kind`: current nA, conductance
        µS, voltage mV); inf when the chip sets no limit."""
        return float(self.synapses.get("max_weight", {}).get(kind, float("inf")))

    @property
    def hash(self):
        """A digest of the model's content: identifies it in caches and reports."""
        text = json.dumps(self.config, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __repr__(self):
        return f"ChipModel(name={self.name!r}, kind={self.kind!r}, source={self.source!r})"


def available_chips():
    """Names of the chip models shipped with the package."""
    folder = resources.files("pyNN_sparsehw.models")
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".toml"))


def load_chip(chip):
    """Return a :class:`ChipModel` from a shipped name, a TOML path or a ChipModel."""
    if isinstance(chip, ChipModel):
        return chip
    if isinstance(chip, dict):
        return ChipModel(chip)
    if not isinstance(chip, (str, os.PathLike)):
        raise TypeError(f"chip must be a chip name, a path to a TOML file or a ChipModel, "
                        f"not {type(chip).__name__}")
    chip = os.fspath(chip)
    if chip.endswith(".toml") or os.sep in chip:
        if not os.path.isfile(chip):
            raise ChipModelError(f"chip model file '{chip}' does not exist")
        with open(chip, "rb") as fh:
            try:
                return ChipModel(tomllib.load(fh), source=chip)
            except tomllib.TOMLDecodeError as err:
                raise ChipModelError(f"chip model file '{chip}' is not valid TOML: {err}")
    names = available_chips()
    if chip not in names:
        raise ChipModelError(
            f"unknown chip '{chip}': the shipped chip models are {', '.join(names)}; "
            f"or pass the path of your own .toml file")
    entry = resources.files("pyNN_sparsehw.models") / f"{chip}.toml"
    return ChipModel(tomllib.loads(entry.read_text()), source=f"models/{chip}.toml")
