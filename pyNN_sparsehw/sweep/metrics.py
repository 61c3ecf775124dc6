"""What a sweep measures in each task.

From the hardware report of the network the script built (``pyNN.sparsehw``):

========================  ==============================================================
``rate[LABEL]``           mean firing rate of population LABEL, Hz (every neuron, spikes
                          counted by the engine, recorded or not)
``energy``                energy of the run on the chip, J (None on chips without an
                          energy model)
``memory``                synaptic memory used, bits
``failed_circuits``       circuits left out because calibration failed (calibrated
                          analog chips only)
========================  ==============================================================

and every metric the script records with :func:`record_metric` (a number, or a flat
dict of numbers, stored as ``NAME`` or ``NAME[KEY]``)::

    from pyNN_sparsehw.sweep import record_metric
    record_metric("accuracy", 0.97)

Outside a sweep :func:`record_metric` only keeps the value in :data:`RECORDED`, so a
script that calls it runs anywhere.
"""

import math
import numbers

#: metrics recorded by the script in this process (name -> float or dict of floats)
RECORDED = {}


def record_metric(name, value):
    """Record a metric of this run: `value` is a number or a dict of numbers (one
    entry per key, e.g. per population). Recording a name again replaces it."""
    if not isinstance(name, str) or not name or "[" in name:
        raise ValueError(f"record_metric: the name must be a non-empty string without "
                         f"'[', got {name!r}")
    if isinstance(value, dict):
        RECORDED[name] = {str(k): _number(f"{name}[{k}]", v) for k, v in value.items()}
    else:
        RECORDED[name] = _number(name, value)


def clear():
    """Forget the recorded metrics (at the start of each task)."""
    RECORDED.clear()


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            value = float(value)                       # numpy scalars, 0-d arrays
        except (TypeError, ValueError):
            raise TypeError(f"record_metric({name!r}, ...): the value must be a number, "
                            f"not {type(value).__name__}") from None
    return float(value)


def report_metrics(report):
    """Metrics (nested: ``rate`` is a dict) from a hardware report dict
    (:meth:`~pyNN_sparsehw.report.hardware.HardwareReport.as_dict`)."""
    rates = {p["label"]: p["mean_rate_hz"] for p in report.get("populations", [])
             if p.get("mean_rate_hz") is not None}
    metrics = {"rate": rates, "memory": report.get("totals", {}).get("memory_bits")}
    energy = report.get("energy")
    metrics["energy"] = energy.get("total_j") if energy else None
    calibration = (report.get("chip") or {}).get("calibration") or {}
    if calibration.get("calibrated"):
        metrics["failed_circuits"] = calibration["failed_circuits"]
    return {k: v for k, v in metrics.items() if v is not None}


def flatten(metrics):
    """``{"rate": {"exc": 5.0}, "energy": 1e-6}`` -> ``{"rate[exc]": 5.0, "energy": 1e-6}``;
    entries that are not finite numbers are left out."""
    flat = {}
    for name, value in metrics.items():
        items = [(f"{name}[{k}]", v) for k, v in value.items()] if isinstance(value, dict) \
            else [(name, value)]
        for key, number in items:
            if isinstance(number, numbers.Real) and math.isfinite(number):
                flat[key] = float(number)
    return flat
