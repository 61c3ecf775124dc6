"""``sparsehw calibrate``: many chip instances in parallel on dask.distributed.

::

    sparsehw calibrate --chip-seeds 0-31 [--chip analog] [--scheduler ADDRESS |
                       --workers N] [--force] [--timeout S]
    sparsehw calibrate [--chip ...] [--seed N] ...   (one instance, in this process:
                                                       pyNN_sparsehw.calibration.command)

Each instance is calibrated in its own process (:mod:`.isolate`) and written to the
calibration cache (:mod:`pyNN_sparsehw.calibration.cache`); an instance already in the
cache is read, not calibrated again (unless --force). Different instances are
different cache files; writes of the same file (two sweeps calibrating the same
instance at once) are left to the cache, whose writes are atomic.
"""

import argparse
import os
import sys

from ..report.texttable import table
from .command import cluster_options
from .grid import parse_seeds
from .run import run_calibrations

CALIBRATE_PARSER = argparse.ArgumentParser(
    prog="sparsehw calibrate",
    description="Calibrate many chip instances in parallel on dask.distributed (or read "
                "them from the calibration cache); each instance in its own process.")
CALIBRATE_PARSER.add_argument("--chip", default=os.environ.get("PYNN_SPARSEHW_CHIP") or "analog",
                              help="chip model (default: analog)")
CALIBRATE_PARSER.add_argument("--chip-seeds", required=True, metavar="SEEDS",
                              help="chip instances, e.g. 0-31")
CALIBRATE_PARSER.add_argument("--force", action="store_true",
                              help="calibrate anew even if the cache holds a result")
CALIBRATE_PARSER.add_argument("--timeout", type=float, metavar="S",
                              help="seconds one calibration may take")
CALIBRATE_PARSER.add_argument("--no-progress", action="store_true", help="no progress bar")
cluster_options(CALIBRATE_PARSER)


def calibrate_main(argv=None):
    """``sparsehw calibrate``: with --chip-seeds, in parallel; otherwise the
    one-instance command (:mod:`pyNN_sparsehw.calibration.command`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not any(a == "--chip-seeds" or a.startswith("--chip-seeds=") for a in argv):
        from ..calibration.command import main
        if "-h" in argv or "--help" in argv:
            print(CALIBRATE_PARSER.format_help() + "\nOne instance, in this process:\n")
        return main(argv)
    options = CALIBRATE_PARSER.parse_args(argv)
    try:
        seeds = parse_seeds(options.chip_seeds)
    except ValueError as error:
        CALIBRATE_PARSER.error(str(error))
    results = run_calibrations(options.chip, seeds, options.scheduler, options.workers,
                               options.force, timeout=options.timeout,
                               progress=False if options.no_progress else None)
    rows = [["seed", "status", "failed circuits", "seconds", "cache"]]
    for seed, r in results.items():
        if r["status"] == "ok" and not r.get("needed", True):
            print(f"chip '{options.chip}' has no trim DAC with a mismatch to correct: "
                  f"nothing to calibrate")
            return 0
        status = r["status"] if r["status"] != "ok" else \
            ("calibrated" if r.get("calibrated_now") else "cached")
        rows.append([seed, status,
                     f"{r['failed_circuits']} of {r['circuits']}" if "circuits" in r else "-",
                     f"{r.get('seconds', 0):.1f}", r.get("cache", "-")])
    print(table(rows))
    failed = [(seed, r) for seed, r in results.items() if r["status"] != "ok"]
    for seed, r in failed:
        print(f"\nchip seed {seed}: {r.get('error', '').strip()}", file=sys.stderr)
    return 1 if failed else 0



main = calibrate_main
