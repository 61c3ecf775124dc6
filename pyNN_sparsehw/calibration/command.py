"""``sparsehw calibrate`` (also ``python -m pyNN_sparsehw.calibration``).

    calibrate [--chip analog] [--seed N] [--out DIR] [--force]
        calibrate chip instance N, or reuse its cached calibration; with --out also
        write the result to DIR/<chip>-seed<N>.json
    calibrate --show [--chip ...] [--seed ...] [--result FILE] [--out DIR]
        print the spread of every calibrated parameter before and after calibration
        (mean, sigma, CV) and the failed circuits, and write DIR/<chip>-seed<N>-spread.png
        (histograms before/after; DIR defaults to results/calibration)
"""

import argparse
import os
import sys
import time

from ..chip import load_chip
from ..chip.model import ChipModelError
from .bench import needs_calibration
from .cache import cached_or_calibrated
from .result import CalibrationError, CalibrationResult
from .spread import format_table, plot_spread, realised_parameters, spread_table

DEFAULT_SHOW_FOLDER = os.path.join("results", "calibration")


def parser():
    p = argparse.ArgumentParser(
        prog="sparsehw calibrate",
        description="Calibrate a chip instance (trim codes of every circuit), or show what "
                    "calibration does to its parameters.")
    p.add_argument("--chip", default=os.environ.get("PYNN_SPARSEHW_CHIP") or "analog",
                   help="chip model: a shipped name or a TOML file (default: analog)")
    p.add_argument("--seed", type=int,
                   default=int(os.environ.get("PYNN_SPARSEHW_CHIP_SEED") or 0),
                   help="chip_seed: which instance of the chip (default 0)")
    p.add_argument("--out", help="folder for the result (JSON) and, with --show, the plot")
    p.add_argument("--show", action="store_true",
                   help="print the spread before/after per parameter and plot it")
    p.add_argument("--result", help="with --show: a saved result instead of the cached one")
    p.add_argument("--force", action="store_true",
                   help="calibrate anew even if a cached result exists (and cache it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None):
    """Run the command; returns the exit status (0: success)."""
    args = parser().parse_args(argv)
    try:
        chip = load_chip(args.chip)
    except (ChipModelError, TypeError) as err:
        print(f"sparsehw calibrate: {err}", file=sys.stderr)
        return 2
    if not needs_calibration(chip):
        print(f"chip '{chip.name}' has no trim DAC with a mismatch to correct: nothing to "
              f"calibrate")
        return 0
    start = time.perf_counter()
    try:
        result = _result(chip, args)
    except CalibrationError as err:
        print(f"sparsehw calibrate: {err}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    print(result.summary())
    seconds = result.info.get("seconds")
    print(f"{elapsed:.1f} s" + (f" (calibration itself took {seconds} s when it ran)"
                               if seconds is not None else ""))
    stem = f"{chip.name}-seed{args.seed}"
    if args.out:
        print(f"wrote {result.save(os.path.join(args.out, stem + '.json'))}")
    if args.show:
        before = realised_parameters(chip, args.seed, None, result.targets)
        after = realised_parameters(chip, args.seed, result.codes, result.targets)
        usable = result.usable.reshape(-1)
        failed = int(usable.size - usable.sum())
        print(format_table(spread_table(before, after, usable), failed, usable.size))
        folder = args.out or DEFAULT_SHOW_FOLDER
        os.makedirs(folder, exist_ok=True)
        path = plot_spread(before, after, usable,
                           f"chip '{chip.name}', seed {args.seed}: before (grey) and after "
                           f"calibration, {failed} failed circuits left out",
                           os.path.join(folder, stem + "-spread.png"))
        print(f"wrote {path}")
    return 0


def _result(chip, args):
    """The result to report: a given file, a new calibration (--force) or the cache."""
    if args.result:
        result = CalibrationResult.load(args.result)
        result.check(chip, args.seed)
        return result
    return cached_or_calibrated(chip, args.seed, progress=not args.quiet, report=False,
                                force=args.force)


if __name__ == "__main__":
    sys.exit(main())
