"""CalibrationResult: the trim codes of every physical circuit of one chip instance.

A result belongs to one chip model (by content hash) and one chip instance
(`chip_seed`): trim codes only make sense for the circuits they were measured on.
It holds

- ``codes``: for each trim stream the mapper uses (the stream names of
  :func:`pyNN_sparsehw.mapping.vocabulary.parameter_key`: ``"v_rest"``, ``"tau_m"``,
  ``"tau_syn[0]"``, ``"gain_syn[1]"``...) an int array of shape
  (n_cores, neurons_per_core); streams without codes stay at the middle code;
- ``success``: for each calibrated quantity a bool array of the same shape, False
  where the routine could not reach its target (trim out of range or measurement
  invalid); a circuit is *usable* when every routine succeeded on it;
- the chip's name, hash and seed, the targets (PyNN parameter values) and settings
  the routines used, and what each routine measured (``info``).

Saved as one JSON file (:meth:`save`, :meth:`load`).
"""

import json
import os
from dataclasses import dataclass, field

import numpy as np

from ..engine.files import atomic_write_text

FORMAT = "pyNN_sparsehw.calibration"
FORMAT_VERSION = 1


class CalibrationError(ValueError):
    """A calibration result does not fit the chip it is used with, or is unreadable."""


@dataclass
class CalibrationResult:
    """Trim codes and success masks of every circuit of one chip instance (module
    docstring). `shape` is (n_cores, neurons_per_core)."""
    chip_name: str
    chip_hash: str
    chip_seed: int
    shape: tuple
    targets: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)
    success: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    #: where the result was read from ("'path' "), for error messages
    _source: str = field(default="", repr=False, compare=False)

    @classmethod
    def empty(cls, chip, chip_seed, targets=None, settings=None):
        """A result for `chip` (a ChipModel) with no codes: every trim at its middle."""
        topology = chip.topology
        return cls(chip.name, chip.hash, int(chip_seed),
                   (topology.n_cores, topology.neurons_per_core),
                   dict(targets or {}), dict(settings or {}))

    # ------------------------------------------------------------- circuits
    @property
    def usable(self):
        """Bool array (n_cores, neurons_per_core): circuits on which every routine
        succeeded (all of them when nothing was calibrated)."""
        usable = np.ones(self.shape, dtype=bool)
        for mask in self.success.values():
            usable &= mask
        return usable

    @property
    def failed(self):
        """(cores, circuits) of the unusable circuits, in circuit order."""
        return np.nonzero(~self.usable)

    def failures(self):
        """Number of circuits each calibrated quantity failed on."""
        return {name: int(np.count_nonzero(~mask)) for name, mask in self.success.items()}

    def check(self, chip, chip_seed):
        """Raise :class:`CalibrationError` unless this result belongs to `chip` (a
        ChipModel) with instance `chip_seed`: same model and seed, one code per
        circuit, every code within its trim DAC."""
        name = f"calibration result {self._source}"
        if self.chip_hash != chip.hash or self.chip_seed != int(chip_seed):
            raise CalibrationError(
                f"{name}for chip '{self.chip_name}' (model hash {self.chip_hash}, chip_seed "
                f"{self.chip_seed}) does not belong to chip '{chip.name}' (model hash "
                f"{chip.hash}, chip_seed {chip_seed}): trim codes only fit the circuits "
                f"they were measured on. Use calibration='auto' or run `sparsehw calibrate "
                f"--chip {chip.name} --seed {chip_seed}`.")
        topology = chip.topology
        circuits = (topology.n_cores, topology.neurons_per_core)
        if tuple(self.shape) != circuits:
            raise CalibrationError(
                f"{name}holds {self.shape[0]} x {self.shape[1]} circuits but chip "
                f"'{chip.name}' has {circuits[0]} x {circuits[1]} (cores x circuits per "
                f"core); calibrate again")
        for stream, codes in self.codes.items():
            trim = (chip.parameter(stream.split("[")[0]) or {}).get("trim")
            if not trim or not codes.size:
                continue
            top = 2 ** int(trim["bits"]) - 1
            if codes.min() < 0 or codes.max() > top:
                raise CalibrationError(
                    f"{name}has trim codes of '{stream}' from {codes.min()} to {codes.max()}, "
                    f"outside the {trim['bits']}-bit trim DAC of chip '{chip.name}' (0 to "
                    f"{top}); calibrate again")

    def summary(self, max_listed=20):
        """A few lines: chip, circuits usable, failures per quantity, failed circuits."""
        n = self.shape[0] * self.shape[1]
        cores, circuits = self.failed
        lines = [f"calibration of chip '{self.chip_name}' (seed {self.chip_seed}): "
                 f"{n - cores.size} of {n} circuits usable, {cores.size} failed"]
        failing = {name: count for name, count in self.failures().items() if count}
        if failing:
            lines.append("  failed per quantity: " +
                         ", ".join(f"{name} {count}" for name, count in failing.items()))
        if cores.size:
            listed = ", ".join(f"{c}:{k}" for c, k in
                               zip(cores[:max_listed], circuits[:max_listed]))
            more = f" ... (+{cores.size - max_listed})" if cores.size > max_listed else ""
            lines.append(f"  failed circuits (core:circuit), avoided by placement: {listed}{more}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ I/O
    def to_dict(self):
        return {
            "format": FORMAT, "version": FORMAT_VERSION,
            "chip": {"name": self.chip_name, "hash": self.chip_hash, "seed": self.chip_seed,
                     "shape": list(self.shape)},
            "targets": self.targets, "settings": self.settings,
            "codes": {name: codes.tolist() for name, codes in self.codes.items()},
            "success": {name: mask.astype(np.uint8).tolist()
                        for name, mask in self.success.items()},
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data, source="<dict>"):
        """The result held by `data` (as :meth:`to_dict` gives it); raises
        :class:`CalibrationError` naming `source` and what is wrong when `data` is
        not such a result (missing or mistyped fields, arrays of the wrong shape)."""
        def invalid(what):
            return CalibrationError(f"{source} is not a valid calibration result: {what}; "
                                    f"calibrate again (sparsehw calibrate)")

        if not isinstance(data, dict):
            raise invalid(f"it holds a JSON {type(data).__name__}, not an object")
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise CalibrationError(
                f"{source} is not a pyNN_sparsehw calibration result of format version "
                f"{FORMAT_VERSION} (format {data.get('format')!r}, version "
                f"{data.get('version')!r}); calibrate again")
        chip = data.get("chip")
        if not isinstance(chip, dict):
            raise invalid(f"'chip' is {chip!r}, not an object with name, hash, seed, shape")
        for key in ("name", "hash"):
            if not isinstance(chip.get(key), str):
                raise invalid(f"chip.{key} is {chip.get(key)!r}, not a string")
        if not _is_int(chip.get("seed")):
            raise invalid(f"chip.seed is {chip.get('seed')!r}, not an integer")
        shape = chip.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2
                and all(_is_int(n) and n > 0 for n in shape)):
            raise invalid(f"chip.shape is {shape!r}, not [cores, circuits per core]")
        shape = tuple(shape)
        for key in ("targets", "settings", "info", "codes", "success"):
            if not isinstance(data.get(key, {}), dict):
                raise invalid(f"'{key}' is a {type(data[key]).__name__}, not an object")
        for key in ("codes", "success"):
            if key not in data:
                raise invalid(f"'{key}' is missing")
        result = cls(chip["name"], chip["hash"], int(chip["seed"]), shape,
                     data.get("targets", {}), data.get("settings", {}), info=data.get("info", {}))
        for name, codes in data["codes"].items():
            result.codes[name] = _int_array(codes, shape, f"codes['{name}']", invalid)
        for name, mask in data["success"].items():
            mask = _int_array(mask, shape, f"success['{name}']", invalid)
            if np.any((mask != 0) & (mask != 1)):
                raise invalid(f"success['{name}'] holds values other than 0 and 1")
            result.success[name] = mask.astype(bool)
        result._source = f"{source} "
        return result

    def save(self, path):
        """Write the result as JSON to `path` (folders are created), atomically: a
        reader sees the previous file or this one, never part of one."""
        return atomic_write_text(path, json.dumps(self.to_dict(), separators=(",", ":")))

    @classmethod
    def load(cls, path):
        """Read a result written by :meth:`save`; :class:`CalibrationError` (naming
        the file and what is wrong) if it cannot be read or is not such a result."""
        path = os.fspath(path)
        try:
            with open(path) as fh:
                data = json.load(fh)
        except (OSError, ValueError) as err:
            raise CalibrationError(f"cannot read calibration result '{path}': {err}") from None
        return cls.from_dict(data, source=f"'{path}'")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _int_array(values, shape, name, invalid):
    """`values` (nested lists from JSON) as an int64 array of `shape`, or
    ``invalid(...)`` raised."""
    try:
        array = np.asarray(values)
    except ValueError:                    # ragged nested lists
        raise invalid(f"{name} is not a {shape[0]} x {shape[1]} array") from None
    if array.shape != shape:
        raise invalid(f"{name} has shape {array.shape}, not the chip's {shape} circuits")
    if array.dtype.kind not in "iu":
        raise invalid(f"{name} holds {array.dtype} values, not integers")
    return array.astype(np.int64)
