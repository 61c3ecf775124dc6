"""Chip models: a neuromorphic chip described by a TOML file.

The shipped models live in ``models/*.toml`` (installed as package data of
``pyNN_sparsehw.models``); a user may pass the name of a shipped model, the path of
their own TOML file with the same keys, or a :class:`ChipModel` object.
"""

import copy
import hashlib
import json
import os
from importlib import resources

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

REQUIRED_KEYS = {
    "name": str,
    "description": str,
    "kind": str,
    "neurons": dict,
    "synapses": dict,
}
KINDS = ("ideal", "analog", "digital")


class ChipModelError(ValueError):
    """A chip model file is missing, unreadable or inconsistent."""


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
        cell_types = self.config["neurons"].get("cell_types", "all")
        if not (cell_types == "all" or isinstance(cell_types, list)):
            raise ChipModelError(
                f"chip model {self.source}: neurons.cell_types must be \"all\" or a list "
                f"of PyNN cell type names, got {cell_types!r}")

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

    def supports_cell_type(self, cell_type):
        """True if the chip can realise the PyNN cell type named `cell_type`."""
        cell_types = self.neurons.get("cell_types", "all")
        return cell_types == "all" or cell_type in cell_types

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
