"""Running a calibration: the routines in order, one search each, on every circuit.

:func:`calibrate` returns a :class:`~.result.CalibrationResult`. It runs its own
simulations (each routine calls ``setup()``), so call ``setup()`` again afterwards;
``setup(calibration="auto")`` does all of this and caches the result (:mod:`.cache`).
"""

import gc
import time
import zlib
from contextlib import contextmanager

import numpy as np

from ..chip import load_chip
from ..engine.progress import progress_bar
from .bench import Bench, needs_calibration
from .result import CalibrationResult
from .routines import DEFAULT_TARGETS, REFERENCE_INPUT, default_routines

#: changes whenever a protocol changes what it measures: part of the cache key
PROTOCOL_VERSION = 1


def default_settings(input_current=REFERENCE_INPUT):
    """Settings of a calibration besides its targets (part of the cache key)."""
    return {"protocol": PROTOCOL_VERSION, "input_current": float(input_current)}


def calibrate(chip, chip_seed, targets=None, routines=None, input_current=REFERENCE_INPUT,
              progress=True):
    """Calibrate every circuit of chip instance (`chip`, `chip_seed`).

    Parameters
    ----------
    chip : str, path or ChipModel
    chip_seed : int
    targets : dict, optional
        PyNN parameter values to calibrate at (IF_cond_exp names); missing ones are
        PyNN's defaults (:data:`~.routines.DEFAULT_TARGETS`).
    routines : list of Routine, optional
        Default: :func:`~.routines.default_routines` (all, in order).
    input_current : float
        Reference input (nA) of the end-to-end firing-rate routine.
    progress : bool
        Show a progress bar, one tick per measurement (unless
        ``PYNN_SPARSEHW_PROGRESS=off``; see :func:`~pyNN_sparsehw.engine.progress.progress_bar`).

    Returns
    -------
    CalibrationResult
    """
    chip = load_chip(chip)
    if not needs_calibration(chip):
        raise ValueError(f"chip '{chip.name}' has no parameter with both a trim DAC and a "
                         f"frozen mismatch: there is nothing to calibrate")
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    routines = default_routines(input_current) if routines is None else list(routines)
    result = CalibrationResult.empty(chip, chip_seed, targets, default_settings(input_current))
    result.info["routines"] = {}
    total = sum(routine.algorithm.calls(_bits(chip, routine)) for routine in routines)
    start = time.perf_counter()
    with _quick_garbage_collection(), \
            progress_bar(total, "calibrating", "measurements",
                         mode=None if progress else "off") as bar:
        for routine in routines:
            bar.set_description(f"calibrating {routine.name}")
            result.info["routines"][routine.name] = run_routine(
                routine, chip, chip_seed, result, targets, bar.update)
    result.info["seconds"] = round(time.perf_counter() - start, 2)
    return result


@contextmanager
def _quick_garbage_collection():
    """Brian2 runs a full garbage collection at every ``run()``: ~0.2 s with the ~200k
    objects a process with Brian2, sympy and PyNN holds, more than most calibration
    measurements take. Objects alive at the start of each routine (frozen with
    :func:`gc.freeze`) are left out of those collections until the calibration ends."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _bits(chip, routine):
    entry = chip.parameter(routine.key)
    if not entry or not entry.get("trim"):
        raise ValueError(f"routine '{routine.name}' sets the trim of '{routine.key}', which "
                         f"has no trim DAC on chip '{chip.name}'")
    return int(entry["trim"]["bits"])


def run_routine(routine, chip, chip_seed, result, targets, tick=lambda n: None):
    """Run one routine on every circuit, writing its codes and success masks into
    `result`; returns a record of what it measured (for ``result.info``)."""
    start = time.perf_counter()
    seed = zlib.crc32(f"{chip_seed}:{routine.name}".encode())
    reference = routine.reference(chip, targets, seed)
    tolerance = routine.tolerance(chip, reference, targets)
    bits = _bits(chip, routine)
    for stream in routine.streams:
        result.codes.setdefault(stream, np.full(result.shape, 2 ** (bits - 1), dtype=np.int64))
    bench = Bench(chip, chip_seed, result.codes, seed=seed)
    sim = bench.sim
    network = routine.build(sim, bench.size, targets)
    cores, circuits = bench.placement(network[0])
    gc.freeze()                           # see _quick_garbage_collection
    start_codes = np.stack([result.codes[stream][cores, circuits] for stream in routine.streams])

    def measure(codes):
        for k, stream in enumerate(routine.streams):
            result.codes[stream][cores, circuits] = codes[k]
        if routine.noisy:
            sim.reset()                   # a new trial: new trial-to-trial noise
        else:
            routine.refresh(network)      # realise the new codes in the running network
        values = np.asarray(routine.measure(sim, network, targets), dtype=float)
        tick(1)
        return values

    outcome = routine.algorithm(measure, reference[:, None], bits, tolerance[:, None],
                                start_codes)
    record = {"quantity": routine.quantity, "unit": routine.unit,
              "algorithm": routine.algorithm.name, "measurements": outcome.calls,
              "streams": {}}
    for k, stream in enumerate(routine.streams):
        result.codes[stream][cores, circuits] = outcome.codes[k]
        mask = np.zeros(result.shape, dtype=bool)
        mask[cores, circuits] = outcome.success[k]
        result.success[routine.success_key(stream)] = mask
        good = outcome.success[k]
        first_codes, first_values = outcome.history[0]
        record["streams"][stream] = {
            "target": float(reference[k]), "tolerance": float(tolerance[k]),
            "failed": int(np.count_nonzero(~good)),
            "residual_sd": float(np.std(outcome.error[k][good])) if good.any() else None,
            "residual_mean": float(np.mean(outcome.error[k][good])) if good.any() else None,
            "first_measurement_sd": float(np.nanstd(first_values[k])),
            "first_code": int(np.median(first_codes[k])),
        }
    record["seconds"] = round(time.perf_counter() - start, 2)
    return record
