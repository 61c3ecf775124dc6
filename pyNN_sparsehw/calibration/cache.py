"""The calibration cache, and what ``setup(calibration=...)`` makes of its argument.

Results are cached as JSON in ``$PYNN_SPARSEHW_CACHE/calibration`` (or
``~/.cache/pyNN_sparsehw/calibration``), one file per chip model (content hash),
chip instance (chip_seed), targets and protocol settings, so that a second
``setup()`` of the same chip reads its codes back in well under a second and a
different chip instance is calibrated anew. Entries are written atomically; an
entry that cannot be used is replaced (with a warning); processes calibrating the
same chip instance at once share one calibration (:func:`cached_or_calibrated`).
"""

import hashlib
import json
import logging
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:                       # not POSIX: calibrations are not locked
    fcntl = None

from .bench import needs_calibration
from .result import CalibrationError, CalibrationResult
from .routines import DEFAULT_TARGETS
from .runner import calibrate, default_settings

logger = logging.getLogger("pyNN_sparsehw")


def cache_folder():
    """Folder of cached calibration results."""
    root = os.environ.get("PYNN_SPARSEHW_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "pyNN_sparsehw"
    return base / "calibration"


def cache_path(chip, chip_seed, targets=None, settings=None):
    """File of the cached result of (chip model, chip_seed, targets, settings)."""
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    settings = settings or default_settings()
    key = json.dumps({"chip": chip.hash, "seed": int(chip_seed), "targets": targets,
                      "settings": settings}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_folder() / f"{chip.name}-seed{int(chip_seed)}-{digest}.json"


def cached_or_calibrated(chip, chip_seed, targets=None, progress=True, report=True,
                         force=False):
    """The cached result of this chip instance, or a new calibration (then cached;
    with `report`, its summary, failed circuits included, goes to stderr).

    A cache entry that cannot be used (unreadable, not a calibration result, another
    chip) is ignored with a warning naming its file, and replaced by a new
    calibration. Processes calibrating the same chip instance at the same time take
    turns (a lock file beside the entry): the first calibrates, the others wait and
    read its result. An interrupted calibration (Ctrl-C) writes nothing. With
    `force`, the chip is calibrated anew even if a result is cached.
    """
    path = cache_path(chip, chip_seed, targets)
    result = None if force else _read_cache_entry(path, chip, chip_seed)
    if result is not None:
        return result
    with _calibration_lock(path, chip, chip_seed):
        # another process may have calibrated this chip while we waited for the lock
        result = None if force else _read_cache_entry(path, chip, chip_seed)
        if result is not None:
            return result
        if progress:
            print(f"pyNN.sparsehw: calibrating chip '{chip.name}' (chip_seed {chip_seed}) "
                  f"once; the result is cached in {path.parent}", file=sys.stderr)
        result = calibrate(chip, chip_seed, targets, progress=progress)
        try:
            result.save(path)
        except OSError as err:
            warnings.warn(f"could not cache the calibration in {path}: {err}")
    if report:
        print(result.summary(), file=sys.stderr)
    return result


def _read_cache_entry(path, chip, chip_seed):
    """The result cached at `path` for (chip, chip_seed), or None when there is none
    or it is unusable (then with a warning naming the file)."""
    if not path.is_file():
        return None
    try:
        result = CalibrationResult.load(path)
        result.check(chip, chip_seed)
    except CalibrationError as err:
        warnings.warn(f"ignoring the cached calibration {path}: {err}. Calibrating chip "
                      f"'{chip.name}' (chip_seed {chip_seed}) again; the new result "
                      f"replaces that file.", UserWarning, stacklevel=4)
        return None
    logger.info("calibration of chip '%s' (seed %d) read from %s", chip.name, chip_seed, path)
    return result


@contextmanager
def _calibration_lock(path, chip, chip_seed):
    """Hold the lock of cache entry `path` (an exclusive ``flock`` on the file
    ``<entry>.lock`` beside it) while the context lasts; if another process holds it
    (it is calibrating the same chip instance), say so and wait. Without a lock
    (no ``fcntl``, or a cache folder that cannot be written) the context runs
    unlocked."""
    lock_path = path.with_suffix(".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "a") if fcntl is not None else None
    except OSError:
        lock = None
    if lock is None:
        yield
        return
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"pyNN.sparsehw: another process is calibrating chip '{chip.name}' "
                  f"(chip_seed {chip_seed}); waiting for its result ({lock_path})",
                  file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def resolve(calibration, chip, chip_seed):
    """What ``setup(calibration=...)`` uses: a CalibrationResult, or None.

    `calibration` is ``"auto"`` (cached or calibrated now), None (uncalibrated: a
    warning says how to calibrate), the path of a saved result, or a
    CalibrationResult. On chips with nothing to calibrate (no trim DAC with a
    mismatch to correct: ``ideal``, ``digital``) it is None, silently.
    """
    if not needs_calibration(chip):
        return None
    if calibration is None:
        warnings.warn(
            f"chip '{chip.name}' (chip_seed {chip_seed}) runs uncalibrated: every trim DAC "
            f"sits at its middle code and the full frozen mismatch shows. Calibrate with "
            f"setup(..., calibration='auto') (the default; cached after the first time) or "
            f"`python -m pyNN_sparsehw.calibration --chip {chip.name} --seed {chip_seed}`.",
            UserWarning, stacklevel=3)
        return None
    if isinstance(calibration, str) and calibration == "auto":
        return cached_or_calibrated(chip, chip_seed)
    if isinstance(calibration, CalibrationResult):
        result = calibration
    elif isinstance(calibration, (str, os.PathLike)):
        result = CalibrationResult.load(calibration)
    else:
        raise TypeError(f"calibration must be 'auto', None, the path of a saved calibration "
                        f"or a CalibrationResult, not {type(calibration).__name__}")
    result.check(chip, chip_seed)
    return result
