"""``sparsehw sweep``.

::

    sparsehw sweep SCRIPT [ARGS...] --chip-seeds 0-99 [--chip analog]
                   [--param NAME=V1,V2 ...] [--calibration auto|none|PATH]
                   [--compare-calibration] [--criterion EXPR]
                   [--scheduler ADDRESS | --workers N] [--out DIR] [--retries N]
                   [--timeout S] [--report-only]

``sparsehw calibrate --chip-seeds`` is :mod:`.calibrate`.
"""

import argparse
import os
import sys
from pathlib import Path

from ..cli.commands import split_script_arguments
from .criterion import Criterion, CriterionError
from .grid import parse_param, parse_seeds
from .run import run_sweep, write_yield_report
from .store import SweepMismatch


def cluster_options(parser):
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running dask scheduler, e.g. tcp://host:8786 "
                            "(default: a local cluster)")
    where.add_argument("--workers", type=int, metavar="N",
                       help="workers of the local cluster, i.e. tasks run at once, each in a "
                            "process of its own (default: one per core)")


SWEEP_PARSER = argparse.ArgumentParser(
    prog="sparsehw sweep",
    usage="sparsehw sweep SCRIPT [ARGS...] --chip-seeds SEEDS [options] [-- ARGS...]",
    description="Run an unchanged PyNN script on many chip instances (and parameter "
                "points), each in its own process on dask.distributed; write one result "
                "file per task and the yield report (text, JSON, HTML).",
    epilog="Every argument that is not an option above goes to the script; {NAME} in "
           "them is replaced by the value of --param NAME. Running again with the same "
           "--out resumes the sweep.")
SWEEP_PARSER.add_argument("--chip", default=os.environ.get("PYNN_SPARSEHW_CHIP") or "analog",
                          help="chip model: a name (sparsehw chips) or a TOML file "
                               "(default: analog)")
SWEEP_PARSER.add_argument("--chip-seeds", default="0-3", metavar="SEEDS",
                          help="chip instances, e.g. 0-99 or 0-9,20 (default 0-3)")
SWEEP_PARSER.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2",
                          help="swept parameter, repeatable (the grid is the product); the "
                               "script gets it as {NAME} in its arguments and as "
                               "$PYNN_SPARSEHW_PARAM_NAME")
SWEEP_PARSER.add_argument("--calibration", default="auto", metavar="auto|none|PATH",
                          help="calibration of every instance (default auto: calibrated "
                               "once per instance, or read from the cache)")
SWEEP_PARSER.add_argument("--compare-calibration", action="store_true",
                          help="run every task uncalibrated and calibrated, and compare")
SWEEP_PARSER.add_argument("--criterion", metavar="EXPR",
                          help="pass/fail expression for the yield, e.g. "
                               "\"rate['exc'] > 5 and rate['exc'] < 20\"")
SWEEP_PARSER.add_argument("--out", metavar="DIR",
                          help="results folder (default results/sweep/SCRIPT_NAME)")
SWEEP_PARSER.add_argument("--retries", type=int, default=2, metavar="N",
                          help="resubmissions of a task whose execution failed (default 2)")
SWEEP_PARSER.add_argument("--timeout", type=float, metavar="S",
                          help="seconds a task may take (default: no limit)")
SWEEP_PARSER.add_argument("--report-only", action="store_true",
                          help="run nothing: write the yield report of the results in --out "
                               "(e.g. with another --criterion)")
SWEEP_PARSER.add_argument("--no-progress", action="store_true", help="no progress bar")
cluster_options(SWEEP_PARSER)


def command_sweep(argv):
    """``sparsehw sweep``; exit status 0, 1 when tasks got no result, 2 on bad input."""
    argv = list(argv)
    if "--report-only" in argv:
        options, rest = SWEEP_PARSER.parse_known_args(argv)
        if not options.out and not rest:
            SWEEP_PARSER.error("--report-only needs --out DIR (or the SCRIPT of the sweep)")
        script, args = (rest[0] if rest else ""), rest[1:]
    else:
        options, script, args = split_script_arguments(SWEEP_PARSER, argv)
    out = Path(options.out) if options.out else Path("results") / "sweep" / Path(script).stem
    try:
        if options.criterion:
            Criterion(options.criterion)
        if options.report_only:
            summary = write_yield_report(out, options.criterion)
            print(summary["text"])
            print("report: " + ", ".join(summary["files"].values()))
            return 0
        if not Path(script).is_file():
            SWEEP_PARSER.error(f"no script at {script}")
        seeds = parse_seeds(options.chip_seeds)
        params = dict(parse_param(p) for p in options.param)
    except (ValueError, CriterionError, FileNotFoundError) as error:
        print(f"sparsehw sweep: {error}", file=sys.stderr)
        return 2
    calibrations = ("none", "auto") if options.compare_calibration else (options.calibration,)
    try:
        summary = run_sweep(script, args, chip=options.chip, chip_seeds=seeds, params=params,
                            calibrations=calibrations, criterion=options.criterion, out=out,
                            scheduler=options.scheduler, workers=options.workers,
                            retries=options.retries, timeout=options.timeout,
                            progress=False if options.no_progress else None)
    except SweepMismatch as error:
        print(f"sparsehw sweep: {error}", file=sys.stderr)
        return 2
    print(summary["text"])
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary["counts"].items()))
    print(f"tasks: {counts}; results in {out}/tasks, index {out}/index.json")
    print("report: " + ", ".join(summary["files"].values()))
    if summary["lost"]:
        print(f"sparsehw sweep: {len(summary['lost'])} task(s) got no result (e.g. "
              f"{next(iter(summary['lost'].values()))}); run the same command again to "
              f"run them", file=sys.stderr)
        return 1
    return 0


main = command_sweep
