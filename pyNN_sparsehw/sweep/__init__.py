"""Chip-instance sweeps on dask.distributed, with yield analysis.

One unchanged PyNN script runs on many instances of a chip (``chip_seed``: its frozen
mismatch), calibrated or not, at every point of a parameter grid; each run is a task
in its own process (:mod:`.isolate`) on a dask.distributed cluster (:mod:`.executor`);
results are written as they arrive, one file per task (:mod:`.store`), so a sweep
resumes where it stopped; the yield report (:mod:`.yields`) gives the distribution of
every metric (:mod:`.metrics`) across instances and the fraction of instances that
meet a criterion (:mod:`.criterion`). ``sparsehw sweep`` is the command
(:mod:`.command`); docs/sweeps.rst the guide.
"""

from .criterion import Criterion, CriterionError
from .grid import Task, expand, parameter, parse_param, parse_seeds
from .metrics import record_metric
from .run import run_calibrations, run_sweep, write_yield_report
from .yields import summarize, wilson_interval

__all__ = ["run_sweep", "run_calibrations", "write_yield_report", "record_metric",
           "parameter", "Criterion", "CriterionError", "Task", "expand", "parse_seeds",
           "parse_param", "summarize", "wilson_interval"]
