"""The tasks of a sweep: chip instances x calibrations x parameter points.

A task is one run of the script on one chip instance (``chip_seed``), with one
calibration setting and one value of every swept parameter. Its identifier
(:attr:`Task.id`) is made of those values only, so the same task has the same name
in every run of the sweep: that is how an interrupted sweep knows what is done.

How a swept parameter reaches the script (both, always):

* ``{NAME}`` in the script's arguments is replaced by the value, e.g.
  ``--param p=0.06,0.08`` with the arguments ``--setup p_connect={p}``;
* the environment variable ``PYNN_SPARSEHW_PARAM_NAME`` holds the value (the name
  upper-cased), and ``PYNN_SPARSEHW_PARAMS`` all of them as JSON; a script reads them
  with :func:`pyNN_sparsehw.sweep.parameter`.
"""

import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass, field

PARAM_ENV_PREFIX = "PYNN_SPARSEHW_PARAM_"
PARAMS_ENV = "PYNN_SPARSEHW_PARAMS"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: calibration setting of every task on a chip that has nothing to calibrate
NOT_CALIBRATED = "n/a"
#: calibration settings and the names of their groups in the yield report
CALIBRATION_GROUPS = {"none": "uncalibrated", "auto": "calibrated", NOT_CALIBRATED: ""}


def parse_seeds(text):
    """Chip seeds from ``"0-99"``, ``"3"``, ``"0-3,10,12-13"`` (ranges inclusive),
    in the order given, without repeats."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"chip seeds {text!r}: {part!r} is neither a seed (e.g. 7) nor "
                             f"a range (e.g. 0-99)")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise ValueError(f"chip seeds {text!r}: the range {part!r} is empty; write "
                             f"{high}-{low}")
        seeds += [s for s in range(low, high + 1) if s not in seeds]
    return seeds


def parse_param(text):
    """``"NAME=V1,V2"`` -> (NAME, [V1, V2]) (values stay strings)."""
    name, sep, values = str(text).partition("=")
    name = name.strip()
    if not sep or not NAME.match(name) or not values.strip():
        raise ValueError(f"--param {text!r}: expected NAME=V1,V2,... with NAME a Python "
                         f"identifier, e.g. --param p=0.06,0.08")
    return name, [v.strip() for v in values.split(",")]


@dataclass(frozen=True)
class Task:
    """One run: `chip_seed`, `calibration` ("auto", "none" or a path) and the value
    of every swept parameter (`params`, name -> string)."""
    chip_seed: int
    calibration: str = "auto"
    params: tuple = field(default_factory=tuple)

    @property
    def params_dict(self):
        return dict(self.params)

    @property
    def group(self):
        """Name of the group of instances this task belongs to in the yield report
        (calibration and parameter point)."""
        calibration = CALIBRATION_GROUPS.get(self.calibration,
                                             f"calibration {os.path.basename(self.calibration)}")
        parts = [calibration] + [f"{k}={v}" for k, v in self.params]
        return ", ".join(part for part in parts if part) or "all instances"

    @property
    def id(self):
        """File-safe name, the same in every run of the sweep."""
        parts = [f"seed{self.chip_seed:04d}"]
        if self.calibration != NOT_CALIBRATED:
            parts.append(_safe(CALIBRATION_GROUPS.get(self.calibration,
                                                      "cal-" + _digest(self.calibration))))
        parts += [f"{k}-{_safe(v)}" for k, v in self.params]
        name = "_".join(parts)
        if len(name) > 120:
            name = name[:100] + "-" + _digest(name)
        return name

    def as_dict(self):
        return dict(id=self.id, chip_seed=self.chip_seed, calibration=self.calibration,
                    params=self.params_dict, group=self.group)

    def arguments(self, args):
        """The script's arguments with every ``{NAME}`` replaced by its value."""
        result = []
        for arg in args:
            for name, value in self.params:
                arg = arg.replace("{" + name + "}", value)
            result.append(arg)
        return result

    def environment(self):
        """Environment variables that give the parameters to the script."""
        env = {PARAM_ENV_PREFIX + name.upper(): value for name, value in self.params}
        env[PARAMS_ENV] = json.dumps(self.params_dict)
        return env


def expand(chip_seeds, calibrations=("auto",), params=None):
    """Every task: seeds x calibrations x the grid of `params` (dict name -> values)."""
    params = dict(params or {})
    names = list(params)
    points = list(itertools.product(*(params[n] for n in names))) if names else [()]
    return [Task(int(seed), str(calibration), tuple(zip(names, (str(v) for v in point))))
            for point in points for calibration in calibrations for seed in chip_seeds]


def parameter(name, default=None, type=str):
    """The value of the swept parameter `name` in this task (inside a script run by a
    sweep), converted with `type`; `default` outside a sweep or when not swept."""
    value = os.environ.get(PARAM_ENV_PREFIX + name.upper())
    return default if value is None else type(value)


def _safe(text):
    return re.sub(r"[^A-Za-z0-9.+-]", "_", str(text))


def _digest(text):
    return hashlib.sha256(str(text).encode()).hexdigest()[:8]
