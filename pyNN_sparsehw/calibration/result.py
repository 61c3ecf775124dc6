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
        ChipModel) with instance `chip_seed`."""
        if self.chip_hash != chip.hash or self.chip_seed != int(chip_seed):
            raise CalibrationError(
                f"calibration result for chip '{self.chip_name}' (model hash {self.chip_hash}, "
                f"chip_seed {self.chip_seed}) does not belong to chip '{chip.name}' (model "
                f"hash {chip.hash}, chip_seed {chip_seed}): trim codes only fit the circuits "
                f"they were measured on. Use calibration='auto' or run `sparsehw calibrate "
                f"--chip {chip.name} --seed {chip_seed}`.")

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
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise CalibrationError(
                f"{source} is not a pyNN_sparsehw calibration result of format version "
                f"{FORMAT_VERSION} (format {data.get('format')!r}, version "
                f"{data.get('version')!r}); calibrate again")
        chip = data["chip"]
        shape = tuple(chip["shape"])
        result = cls(chip["name"], chip["hash"], int(chip["seed"]), shape,
                     data.get("targets", {}), data.get("settings", {}), info=data.get("info", {}))
        for name, codes in data["codes"].items():
            result.codes[name] = np.asarray(codes, dtype=np.int64).reshape(shape)
        for name, mask in data["success"].items():
            result.success[name] = np.asarray(mask, dtype=bool).reshape(shape)
        return result

    def save(self, path):
        """Write the result as JSON to `path` (folders are created)."""
        path = os.fspath(path)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w") as fh:
            json.dump(self.to_dict(), fh, separators=(",", ":"))
        os.replace(temporary, path)   # readers never see a half-written file
        return path

    @classmethod
    def load(cls, path):
        """Read a result written by :meth:`save`."""
        path = os.fspath(path)
        try:
            with open(path) as fh:
                data = json.load(fh)
        except (OSError, ValueError) as err:
            raise CalibrationError(f"cannot read calibration result '{path}': {err}") from None
        return cls.from_dict(data, source=f"'{path}'")
