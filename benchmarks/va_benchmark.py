"""Vogels-Abbott COBA benchmark: pyNN.sparsehw against the reference simulators.

Runs ``examples/vogels_abbott.py SIM --json FILE`` once per simulator, each in its
own subprocess (so that one backend's import, global state or crash cannot affect
another), and prints one table:

    simulator  synapses  build s  run s  total s  x nest  rate Hz  CV ISI

``x nest`` is total_s divided by nest's total_s. A simulator that is not installed
or whose run fails is shown as such in the table (its output is kept in
``benchmarks/results/va_<label>.log``). The results are also written to
``benchmarks/results/va_benchmark.json``.

sparsehw runs once per chip model of ``--chips`` (default ideal, analog, digital),
labelled ``sparsehw <chip>``. ``--repeat-warm`` runs it on the first chip a second
time: the first run is reported as ``(cold)``, the second as ``(warm)``, which shows what on-disk
caches (e.g. Brian2's compiled code) save. "Cold" is the first run of this
invocation: caches left by earlier invocations are not cleared.

Usage::

    python benchmarks/va_benchmark.py
    python benchmarks/va_benchmark.py --simulators sparsehw nest --n 1000 --tstop 500
    python benchmarks/va_benchmark.py --repeat-warm

Exit code: 0 if every installed simulator ran, 1 if a run failed.
"""

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EXAMPLE = REPO / "examples" / "vogels_abbott.py"
RESULTS_DIR = HERE / "results"
SIMULATOR_PACKAGES = ("nest", "neuron", "brian2")

COLUMNS = [  # (header, key, format)
    ("simulator", "label", "{}"),
    ("synapses", "n_synapses", "{:d}"),
    ("build s", "build_s", "{:.2f}"),
    ("run s", "run_s", "{:.2f}"),
    ("total s", "total_s", "{:.2f}"),
    ("x nest", "ratio_to_nest", "{:.2f}"),
    ("rate Hz", "rate_hz", "{:.2f}"),
    ("CV ISI", "cv_isi", "{:.3f}"),
]


def _classify_failure(sim, returncode, output):
    """("not installed" | "failed", last line of the output).

    "not installed": the run ended on ModuleNotFoundError for the backend module
    ``pyNN.<sim>`` or for the simulator package behind it; any other error,
    including an ImportError inside an installed backend, is a failure.
    """
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else f"exit code {returncode}"
    missing = re.search(r"ModuleNotFoundError: No module named '([\w.]+)'", last)
    if missing:
        name = missing.group(1)
        if name in (f"pyNN.{sim}", "pyNN", "pyNN_sparsehw", sim) or name in SIMULATOR_PACKAGES:
            return "not installed", last
    return "failed", last


def run_one(sim, label, n, tstop, timeout, extra_args):
    """Run the example for ``sim`` in a subprocess; return a result dict."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS_DIR / f"va_{label.replace(' ', '_').replace('(', '').replace(')', '')}.log"
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "result.json"
        cmd = [sys.executable, str(EXAMPLE), sim, "--n", str(n), "--tstop", str(tstop),
               "--json", str(json_path), *extra_args]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, text=True, timeout=timeout,
                                  cwd=tmp)
            output, returncode = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as exc:
            output = exc.stdout or ""
            if isinstance(output, bytes):
                output = output.decode(errors="replace")
            returncode = None
        wall = time.perf_counter() - t0
        log_path.write_text(" ".join(cmd) + "\n\n" + output)
        result = {"label": label, "simulator": sim, "wall_s": wall, "log": str(log_path)}
        if returncode is None:
            result.update(status="failed", error=f"timed out after {timeout:g} s")
        elif returncode == 0 and json_path.exists():
            result.update(json.loads(json_path.read_text()))
            result["status"] = "ok"
        else:
            status, error = _classify_failure(sim, returncode, output)
            result.update(status=status, error=error)
    return result


def _cell(value, fmt):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def format_table(results):
    rows = []
    for r in results:
        if r["status"] == "ok":
            rows.append([_cell(r.get(key), fmt) for _, key, fmt in COLUMNS])
        else:
            rows.append([r["label"]] + [""] * (len(COLUMNS) - 1))
    headers = [h for h, _, _ in COLUMNS]
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) if rows else len(headers[i])
              for i in range(len(COLUMNS))]
    # a failed row is "label  status: error", running over the empty cells
    lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in
                       enumerate(zip(headers, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for r, row in zip(results, rows):
        if r["status"] == "ok":
            lines.append("  ".join(c.rjust(w) if i else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))))
        else:
            lines.append(f"{row[0].ljust(widths[0])}  {r['status']}: {r.get('error', '')}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--simulators", nargs="+", default=["sparsehw", "nest", "brian2"],
                        metavar="SIM", help="PyNN backends (default: sparsehw nest brian2)")
    parser.add_argument("--n", type=int, default=4000, help="number of cells (default 4000)")
    parser.add_argument("--tstop", type=float, default=1000.0, help="ms (default 1000)")
    parser.add_argument("--chips", nargs="+", default=["ideal", "analog", "digital"],
                        metavar="CHIP", help="chip models for sparsehw, one run each "
                                             "(default: ideal analog digital)")
    parser.add_argument("--repeat-warm", action="store_true",
                        help="run sparsehw on the first chip twice, report cold and warm "
                             "figures")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds allowed per run (default 3600)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "va_benchmark.json",
                        help="JSON results file (default benchmarks/results/va_benchmark.json)")
    parser.add_argument("--example-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for vogels_abbott.py, repeatable "
                             "(e.g. --example-arg=--setup --example-arg=chip=digital)")
    args = parser.parse_args(argv)

    runs = []   # (simulator, label, extra arguments of the example)
    for sim in args.simulators:
        if sim != "sparsehw":
            runs.append((sim, sim, args.example_arg))
            continue
        for k, chip in enumerate(args.chips):
            chip_args = ["--setup", f"chip={chip}", *args.example_arg]
            if k == 0 and args.repeat_warm:
                runs += [(sim, f"sparsehw {chip} (cold)", chip_args),
                         (sim, f"sparsehw {chip} (warm)", chip_args)]
            else:
                runs.append((sim, f"sparsehw {chip}", chip_args))

    results = []
    for sim, label, extra in runs:
        print(f"running {label} (n={args.n}, tstop={args.tstop:g} ms)...", flush=True)
        r = run_one(sim, label, args.n, args.tstop, args.timeout, extra)
        if r["status"] == "ok":
            print(f"  done: total {r['total_s']:.2f} s (wall {r['wall_s']:.1f} s)", flush=True)
        else:
            print(f"  {r['status']}: {r.get('error', '')} (log: {r['log']})", flush=True)
        results.append(r)

    nest = next((r for r in results if r["simulator"] == "nest" and r["status"] == "ok"), None)
    for r in results:
        if r["status"] == "ok" and nest is not None and nest["total_s"] > 0:
            r["ratio_to_nest"] = r["total_s"] / nest["total_s"]
        else:
            r["ratio_to_nest"] = None

    print()
    print(f"Vogels-Abbott COBA, n={args.n}, tstop={args.tstop:g} ms")
    print(format_table(results))

    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "Vogels-Abbott COBA (examples/vogels_abbott.py)",
        "n": args.n,
        "tstop": args.tstop,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "results": results,
    }
    args.output.write_text(json.dumps(report, indent=2))
    print(f"\nresults written to {args.output}")
    return 1 if any(r["status"] == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
