"""What one task does, inside its own process (see :mod:`.isolate`).

Each function takes a JSON-able `spec` and returns a JSON-able dict with ``status``
"ok" or "error" (the error's traceback in ``error``). An exception of the script is
an "error" result, written like any other (a script that fails on one chip instance
fails the same way when run again); only the loss of the process makes dask run the
task again.
"""

import json
import os
import tempfile
import time
import traceback

from ..cli.scripts import CALIBRATION_ENV, CHIP_ENV, CHIP_SEED_ENV, environment, run_script
from ..engine.progress import PROGRESS_ENV
from . import metrics as metrics_module

#: calibration value of a task whose calibration result travels in the spec
CALIBRATION_IN_SPEC = "calibration_result"


def run_script_task(spec):
    """Run ``spec["script"]`` with ``spec["args"]`` on pyNN.sparsehw, on chip
    ``spec["chip"]`` instance ``spec["chip_seed"]``, calibration ``spec["calibration"]``
    ("auto", "none" or a path) or the result in ``spec["calibration_result"]`` (a dict,
    :meth:`CalibrationResult.to_dict`), with the environment variables
    ``spec["env"]``.

    Returns ``status``, ``seconds`` (wall time of the script, s) and ``metrics``
    (:mod:`.metrics`, nested), and ``chip`` (the chip entry of the hardware report).
    """
    metrics_module.clear()
    start = time.perf_counter()
    try:
        with _calibration_file(spec) as calibration:
            env = {CHIP_ENV: spec.get("chip"), CHIP_SEED_ENV: spec["chip_seed"],
                   CALIBRATION_ENV: calibration, PROGRESS_ENV: "off", **spec.get("env", {})}
            with environment(**env):
                module = run_script(spec["script"], spec.get("args", []), "sparsehw")
                report = None
                if module.simulator.state.description.populations:
                    report = json.loads(module.hardware_report().to_json())
    except BaseException:                                # SystemExit is a ScriptError
        return dict(status="error", seconds=time.perf_counter() - start,
                    error=traceback.format_exc(limit=20))
    seconds = time.perf_counter() - start
    measured = metrics_module.report_metrics(report) if report else {}
    clash = sorted(set(metrics_module.RECORDED) & set(measured))
    if clash:
        return dict(status="error", seconds=seconds,
                    error=f"record_metric: {', '.join(clash)} is also a metric of the "
                          f"hardware report; record it under another name")
    measured.update(metrics_module.RECORDED)
    return dict(status="ok", seconds=seconds, metrics=measured,
                chip=report["chip"] if report else None)


class _calibration_file:
    """The value of PYNN_SPARSEHW_CALIBRATION for the task: the calibration result
    of the spec written to a temporary file (removed afterwards), else the spec's
    ``calibration`` setting."""

    def __init__(self, spec):
        self.spec, self.path = spec, None

    def __enter__(self):
        data = self.spec.get(CALIBRATION_IN_SPEC)
        if data is None:
            return self.spec.get("calibration")
        handle, self.path = tempfile.mkstemp(prefix="sparsehw-calibration-", suffix=".json")
        with os.fdopen(handle, "w") as fh:
            json.dump(data, fh)
        return self.path

    def __exit__(self, *exc):
        if self.path:
            os.unlink(self.path)
        return False


def run_calibration_task(spec):
    """Calibrate chip ``spec["chip"]`` instance ``spec["chip_seed"]``, or read its
    cached calibration (``spec["force"]``: calibrate anew); the result goes to the
    calibration cache (:mod:`pyNN_sparsehw.calibration.cache`).

    Returns ``status``, ``seconds``, ``cache`` (path), ``circuits``,
    ``failed_circuits``, ``calibrated_now`` and, with ``spec["return_result"]``,
    ``result`` (:meth:`CalibrationResult.to_dict`).
    """
    from ..calibration import cache_path, cached_or_calibrated, calibrate, needs_calibration
    from ..chip import load_chip
    start = time.perf_counter()
    try:
        chip = load_chip(spec["chip"])
        seed = int(spec["chip_seed"])
        if not needs_calibration(chip):
            return dict(status="ok", seconds=0.0, needed=False)
        path = cache_path(chip, seed)
        calibrated_now = bool(spec.get("force")) or not path.is_file()
        if spec.get("force"):
            result = calibrate(chip, seed, progress=False)
            result.save(path)
        else:
            result = cached_or_calibrated(chip, seed, progress=False, report=False)
    except BaseException:
        return dict(status="error", seconds=time.perf_counter() - start,
                    error=traceback.format_exc(limit=20))
    usable = result.usable
    answer = dict(status="ok", seconds=time.perf_counter() - start, needed=True,
                  cache=str(path), circuits=int(usable.size),
                  failed_circuits=int(usable.size - usable.sum()),
                  calibrated_now=calibrated_now)
    if spec.get("return_result"):
        answer["result"] = result.to_dict()
    return answer
