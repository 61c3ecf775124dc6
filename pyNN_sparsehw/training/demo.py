"""Train the 8x8 digits with the chip in the loop, end to end (``sparsehw
train-demo``, ``examples/train_digits.py``).

Trains the network in the twin of the nominal chip (torch), deploys it to the
chip (each seed is one chip instance: its frozen mismatch), trains in the loop, and
writes to --out: summary.md and summary.json (the final table), and per chip seed
and stage history.csv, history.json and history.png.
"""

import argparse
import logging
import os
import sys
import time
from dataclasses import replace

from .experiment import Config, run_experiment, train_offline, with_changes
from .report import write_report


def parser():
    p = argparse.ArgumentParser(prog="sparsehw train-demo", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--chip", default="analog", help="chip model to train on")
    p.add_argument("--chip-seed", type=int, nargs="+", default=[0, 1],
                   help="chip instances (frozen mismatch) to train on")
    p.add_argument("--iterations", type=int, default=Config.iterations,
                   help="in-the-loop iterations")
    p.add_argument("--out", default=os.path.join("results", "train_digits"),
                   help="folder for the reports")
    p.add_argument("--batch-size", type=int, default=Config.batch_size,
                   help="samples per in-the-loop iteration")
    p.add_argument("--test-samples", type=int, default=None,
                   help="use only the first N samples of the test split (default: all)")
    p.add_argument("--software-epochs", type=int, default=Config.software_epochs,
                   help="epochs of offline training")
    p.add_argument("--software-batch", type=int, default=Config.software_batch,
                   help="samples per batch of offline training")
    p.add_argument("--hidden", type=int, default=Config.hidden, help="hidden neurons")
    p.add_argument("--robust-to", default=Config.robust_to,
                   help="chip model whose mismatch the offline training draws for every "
                        "batch ('none': the nominal twin only)")
    p.add_argument("--jobs", type=int, default=1,
                   help="processes running chip seeds in parallel (same numbers as 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv=None):
    """Run the demo; returns the exit status (0)."""
    args = parser().parse_args(argv)
    logging.getLogger("brian2").setLevel(logging.ERROR)
    start = time.perf_counter()
    progress = not args.quiet
    config = with_changes(Config(), iterations=args.iterations, batch_size=args.batch_size,
                          test_samples=args.test_samples, software_epochs=args.software_epochs,
                          software_batch=args.software_batch,
                          hidden=args.hidden)
    config = replace(config, robust_to=None if args.robust_to.lower() == "none"
                     else args.robust_to)
    software = train_offline(config, progress)
    drawn = "the nominal twin" if config.robust_to is None else \
        f"{config.robust_to} mismatch drawn per batch"
    print(f"trained offline ({drawn}): software test accuracy in the nominal twin "
          f"{100 * software.test_accuracy:.2f} % ({software.seconds:.1f} s)")
    software, ideal, results = run_experiment(chip=args.chip, chip_seeds=args.chip_seed,
                                              progress=progress, software=software,
                                              jobs=args.jobs)
    table = write_report(args.out, software, ideal, results)
    print(table)
    print(f"\nreports in {args.out}; total wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
