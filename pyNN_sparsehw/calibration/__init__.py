"""Calibration of a modelled chip: trim codes per physical circuit.

On an analog chip every circuit deviates from its design by a frozen amount
(mismatch); each parameter has a small trim DAC that corrects it. A calibration
measures every circuit through the PyNN API on this backend, with the chip's
mismatch, finite trim resolution and trial-to-trial noise, and searches each trim
code (:mod:`.search`) so that the measurement meets its target (:mod:`.routines`).
It removes only the frozen part: trial-to-trial noise stays.

Use it through ``setup()``::

    sim.setup(chip="analog", chip_seed=3)                    # calibration="auto"
    sim.setup(chip="analog", chip_seed=3, calibration=None)  # uncalibrated
    sim.setup(chip="analog", chip_seed=3, calibration="my_calibration.json")

or directly: ``calibrate(chip, chip_seed)`` returns a :class:`CalibrationResult`
(``.save(path)``, ``CalibrationResult.load(path)``). From the command line:
``python -m pyNN_sparsehw.calibration --chip analog --seed 3 [--show]``.
"""

from .bench import needs_calibration, reference_chip
from .cache import cache_folder, cache_path, cached_or_calibrated, resolve
from .result import CalibrationError, CalibrationResult
from .routines import DEFAULT_TARGETS, default_routines
from .runner import calibrate

__all__ = ["CalibrationResult", "CalibrationError", "calibrate", "resolve",
           "cached_or_calibrated", "cache_folder", "cache_path", "needs_calibration",
           "reference_chip", "default_routines", "DEFAULT_TARGETS"]
