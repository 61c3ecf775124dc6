"""Sweep benchmark: many chip instances of a 1000-neuron Vogels-Abbott network, one
after another in one process, against ``run_sweep`` on a LocalCluster of 2 workers.

The network is ``examples/vogels_abbott.py`` with ``n`` cells and the connection
probability scaled to keep the in-degree of the full 4000-cell network
(``p_connect = 0.02 * 4000 / n``), on the uncalibrated analog chip (a calibrated sweep
adds one calibration per instance, see ``sparsehw calibrate --chip-seeds``).

* serial: every instance in this process, one after another (``setup()`` resets the
  simulator between them): wall time of the loop, the imports not counted;
* sweep: :func:`pyNN_sparsehw.sweep.run_sweep` with ``workers`` local worker processes:
  wall time of the call, cluster start, zygote imports and result files included.

speed-up = serial / sweep. Overhead per task = (workers x sweep - serial) / instances:
the core-seconds that the sweep machinery adds to each task (scheduling, forking,
results, cluster and zygote start-up spread over the tasks). Also reported: the median
time a task spends in the worker outside the script (fork, wait, result file) and the
time each worker takes to start its zygote (imports), once, against the time a fresh
interpreter would take to import the same for every task.
CPU time, which the load of other processes inflates far less than wall time: per
instance in the serial loop and per task in the sweep (each task's child process), and
the sweep's own: this process (scheduler, client, the workers, which are threads of
it, result files, report) and the zygotes (imports, forks) outside the tasks.
The load average (``os.getloadavg``) before and after is part of the result: the
machine's cores may be shared.

Usage::

    python benchmarks/sweep_benchmark.py [--instances 64] [--n 1000] [--tstop 200]
                                         [--workers 2] [--out benchmarks/results/sweep]
"""

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "vogels_abbott.py"


def script_arguments(n, tstop):
    return ["sparsehw", "--n", str(n), "--tstop", str(tstop), "--setup",
            f"p_connect={0.02 * 4000 / n:g}"]


def serial(seeds, args, chip):
    """Wall time (s) of running every instance in this process, and the results."""
    from pyNN_sparsehw.sweep.task import run_script_task
    results = []
    start = time.perf_counter()
    for seed in seeds:
        cpu = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            result = run_script_task(dict(script=str(SCRIPT), args=args, chip=chip,
                                          chip_seed=seed, calibration="none"))
        results.append(dict(result, cpu_s=time.process_time() - cpu))
    return time.perf_counter() - start, results


def cpu_seconds():
    """(CPU s of this process, CPU s of its children that have ended)."""
    own, ended = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime, ended.ru_utime + ended.ru_stime


def fresh_interpreter_s(repeat=3):
    """Median wall time (s) of starting Python and importing what a task needs: what
    a fresh interpreter per task would cost instead of a fork of the zygote."""
    import subprocess
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pyNN.sparsehw, pyNN.utility, brian2, "
                        "pyNN_sparsehw.sweep.task"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=64)
    parser.add_argument("--n", type=int, default=1000, help="cells (default 1000)")
    parser.add_argument("--tstop", type=float, default=200.0, help="ms (default 200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chip", default="analog")
    parser.add_argument("--out", default="benchmarks/results/sweep")
    options = parser.parse_args(argv)
    import logging
    logging.getLogger("brian2").setLevel(logging.ERROR)
    from pyNN_sparsehw.sweep import run_sweep
    out = Path(options.out)
    if (out / "tasks").exists():
        sys.exit(f"{out} holds an earlier run: delete it first (a sweep would resume)")
    seeds = list(range(options.instances))
    args = script_arguments(options.n, options.tstop)
    load = {"before": os.getloadavg()}
    print(f"serial: {len(seeds)} instances in this process...", flush=True)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)          # "runs uncalibrated"
        serial_s, serial_results = serial(seeds, args, options.chip)
    errors = [r["error"] for r in serial_results if r["status"] != "ok"]
    if errors:
        sys.exit(f"an instance failed:\n{errors[0]}")
    load["after_serial"] = os.getloadavg()
    print(f"  {serial_s:.1f} s; sweep on {options.workers} workers...", flush=True)
    start, cpu_start = time.perf_counter(), cpu_seconds()
    summary = run_sweep(SCRIPT, args, chip=options.chip, chip_seeds=seeds,
                        calibrations=("none",), out=out / "sweep", workers=options.workers,
                        criterion="rate['Excitatory_Cells'] > 1", progress=False)
    sweep_s = time.perf_counter() - start
    cpu_main, cpu_children = (b - a for a, b in zip(cpu_start, cpu_seconds()))
    load["after_sweep"] = os.getloadavg()
    fresh_s = fresh_interpreter_s()
    stored = [json.loads(p.read_text()) for p in sorted((out / "sweep" / "tasks").iterdir())]
    outside = [r["task_seconds"] - r["seconds"] - r.get("zygote_start_s", 0.0)
               for r in stored]
    zygotes = [r["zygote_start_s"] for r in stored if "zygote_start_s" in r]
    result = dict(
        instances=len(seeds), n=options.n, tstop_ms=options.tstop, chip=options.chip,
        workers=options.workers, cores=os.cpu_count(), serial_s=serial_s, sweep_s=sweep_s,
        speedup=serial_s / sweep_s,
        overhead_per_task_s=(options.workers * sweep_s - serial_s) / len(seeds),
        script_s_serial_mean=statistics.mean(r["seconds"] for r in serial_results),
        script_s_sweep_mean=statistics.mean(r["seconds"] for r in stored),
        outside_script_s_median=statistics.median(outside),
        script_cpu_s_serial_mean=statistics.mean(r["cpu_s"] for r in serial_results),
        task_cpu_s_sweep_mean=statistics.mean(r["task_cpu_s"] for r in stored),
        sweep_cpu_s_main=cpu_main,
        sweep_cpu_s_zygotes=cpu_children - sum(r["task_cpu_s"] for r in stored),
        zygote_start_s_mean=statistics.mean(zygotes) if zygotes else None,
        fresh_interpreter_s_median=fresh_s,
        counts=summary["counts"], load_average=load)
    (out / "benchmark.json").write_text(json.dumps(result, indent=1))
    for key, value in result.items():
        print(f"{key:<26} {value:.3f}" if isinstance(value, float) else f"{key:<26} {value}")
    print(f"\nyield report: {out / 'sweep' / 'yield.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
