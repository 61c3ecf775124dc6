"""Engine at scale: pyNN.sparsehw (chip ``ideal``) against pyNN.nest (1 thread).

Networks (each simulator builds and runs each in its own subprocess; the peak
resident memory of that subprocess comes from ``os.wait4``):

* ``va``: Vogels-Abbott COBA (``examples/vogels_abbott.py``) at 4,000 neurons
  (p = 0.02) and at 16,000 and 64,000 neurons with 80 inputs per neuron on average
  (p = 80/n) and the same weights;
* ``layered``: a layered cortical network after Potjans & Diesmann (2014): 8
  ``IF_curr_exp`` populations (L2/3, L4, L5, L6, excitatory and inhibitory, in the
  model's proportions), all 64 projections with normally distributed weights and
  delays, one Poisson source per neuron (see :func:`build_layered`).

Phases, wall-clock seconds (``time.perf_counter``):

* ``describe``: ``setup`` and the PyNN calls creating populations, projections and
  recordings (for NEST this is where nodes and connections are created);
* ``mapping`` and ``engine`` (sparsehw only): the mapping onto the chip and the
  creation of the Brian2 objects;
* ``prepare``: a first run of 10 ms (Brian2 generates its code, NEST prepares);
* ``run``: the run of ``--tstop`` ms after it, reported per biological second;
* ``report`` (sparsehw only): the hardware report (counts, energy).

``build`` = describe + mapping + engine; ``total`` = build + prepare + run (the
report is optional and shown apart). Ratios are sparsehw / nest of one invocation.

Usage::

    python benchmarks/scale_benchmark.py                      # everything
    python benchmarks/scale_benchmark.py --cases va4000 --tstop 200
    python benchmarks/scale_benchmark.py --figure docs/_static/engine_scaling.png
"""

import argparse
import importlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"

CASES = {  # name -> (network, number of neurons)
    "va4000": ("va", 4000),
    "va16000": ("va", 16000),
    "va64000": ("va", 64000),
    "layered8000": ("layered", 8000),
}

PREPARE_MS = 10.0


def case_of(name):
    """(network, neurons) of a case name: one of CASES, or e.g. ``layered2000``."""
    if name in CASES:
        return CASES[name]
    match = re.fullmatch(r"(va|layered)(\d+)", name)
    if match is None:
        raise ValueError(f"unknown case {name!r}: use one of {', '.join(CASES)} or "
                         f"va<neurons> / layered<neurons>")
    return match.group(1), int(match.group(2))

# --- the layered network (Potjans & Diesmann 2014, Table 5) -------------------
LAYERED_POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
LAYERED_FULL_SIZE = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
#: connection probability from column (source) to row (target)
LAYERED_P = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443]])
LAYERED_K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]
LAYERED_CELL = dict(cm=0.25, tau_m=10.0, tau_refrac=2.0, tau_syn_E=0.5, tau_syn_I=0.5,
                    v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0)
#: the model's probabilities give ~300 inputs per neuron at 8,000 neurons; this factor
#: thins them (and the weights grow by its inverse square root) to keep NEST's build short
LAYERED_THINNING = 0.25
LAYERED_MIN_P = 0.001     # the model's absent projections, present and sparse here


def _setup_options(sim):
    """sparsehw's setup: chip ``ideal`` (the NEST-equivalent model) and the code
    generation target of ``$SCALE_BENCHMARK_CODEGEN`` (default: sparsehw's own)."""
    if "sparsehw" not in sim.__name__:
        return {}
    options = {"chip": "ideal"}
    if os.environ.get("SCALE_BENCHMARK_CODEGEN"):
        options["codegen"] = os.environ["SCALE_BENCHMARK_CODEGEN"]
    return options


def build_layered(sim, n=8000, seed=4321):
    """Set up `sim` and build the layered network of about `n` neurons.

    Populations in Potjans & Diesmann's proportions; projection probabilities theirs
    times ``LAYERED_THINNING`` (at least ``LAYERED_MIN_P``), so all 64 exist;
    weights normal(w, 0.1 w) with w = 87.8 pA / sqrt(LAYERED_THINNING), inhibitory
    -4 w, L4E -> L2/3E 2 w; delays normal(1.5, 0.75) ms excitatory, (0.75, 0.375)
    inhibitory, clipped at dt; each neuron driven by its own Poisson source at
    K_ext x 8 Hz x 0.1 with weight 2.2 w (mean drive ~13 mV).
    Returns (populations, number of synapses)."""
    from pyNN.random import NumpyRNG, RandomDistribution
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=10.0, **_setup_options(sim))
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    scale = n / sum(LAYERED_FULL_SIZE)
    sizes = [max(1, int(round(s * scale))) for s in LAYERED_FULL_SIZE]
    populations = [sim.Population(size, sim.IF_curr_exp(**LAYERED_CELL), label=name)
                   for size, name in zip(sizes, LAYERED_POPULATIONS)]
    w = 0.0878 / np.sqrt(LAYERED_THINNING)   # nA
    n_synapses = 0
    for target, post in enumerate(populations):
        post.initialize(v=RandomDistribution("normal", (-58.0, 10.0), rng=rng))
        drive = sim.Population(post.size, sim.SpikeSourcePoisson(
            rate=LAYERED_K_EXT[target] * 8.0 * 0.1), label=f"{post.label}_drive")
        sim.Projection(drive, post, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=2.2 * w, delay=1.5), receptor_type="excitatory")
        n_synapses += post.size
        for source, pre in enumerate(populations):
            excitatory = source % 2 == 0
            mean = w * (2.0 if (source, target) == (2, 0) else 1.0) * (1 if excitatory else -4)
            low, high = (0.0, np.inf) if excitatory else (-np.inf, 0.0)
            weight = RandomDistribution("normal_clipped", (mean, abs(0.1 * mean), low, high),
                                        rng=rng)
            d_mean = 1.5 if excitatory else 0.75
            delay = RandomDistribution("normal_clipped", (d_mean, d_mean / 2, 0.1, np.inf),
                                       rng=rng)
            p = max(LAYERED_MIN_P, LAYERED_P[target, source] * LAYERED_THINNING)
            projection = sim.Projection(
                pre, post, sim.FixedProbabilityConnector(p, rng=rng),
                sim.StaticSynapse(weight=weight, delay=delay),
                receptor_type="excitatory" if excitatory else "inhibitory",
                label=f"{pre.label}->{post.label}")
            n_synapses += len(projection)
    for population in populations:
        population.record("spikes")
    return populations, n_synapses


def build_va(sim, n):
    """Vogels-Abbott COBA with 80 inputs per neuron on average (p = 0.02 at 4,000)."""
    sys.path.insert(0, str(REPO / "examples"))
    from vogels_abbott import build_network
    net = build_network(sim, n=n, p_connect=80.0 / n, **_setup_options(sim))
    return [net["exc"], net["inh"]], net["n_synapses"]


# --- one measurement (in its own process) -------------------------------------
def measure(simulator, case, tstop):
    """Build, run and time one network on ``pyNN.<simulator>``; a result dict."""
    network, n = case_of(case)
    sim = importlib.import_module(f"pyNN.{simulator}")
    if os.environ.get("SCALE_BENCHMARK_CYTHON_CACHE"):   # a cold cache: compile anew
        import brian2
        brian2.prefs.codegen.runtime.cython.cache_dir = os.environ["SCALE_BENCHMARK_CYTHON_CACHE"]
    phases = {}
    t0 = time.perf_counter()
    populations, n_synapses = (build_va if network == "va" else build_layered)(sim, n)
    phases["describe_s"] = time.perf_counter() - t0
    target = None
    if simulator == "sparsehw":
        from pyNN_sparsehw.simulator import state
        t = time.perf_counter()
        state.mapping()
        phases["mapping_s"] = time.perf_counter() - t
        t = time.perf_counter()
        state.compile()
        phases["engine_s"] = time.perf_counter() - t
        target = state.engine.target
    t = time.perf_counter()
    sim.run(PREPARE_MS)
    phases["prepare_s"] = time.perf_counter() - t
    t = time.perf_counter()
    sim.run(tstop)
    phases["run_s"] = time.perf_counter() - t
    if simulator == "sparsehw":
        t = time.perf_counter()
        str(sim.hardware_report())
        phases["report_s"] = time.perf_counter() - t
    spikes = sum(sum(len(st) for st in p.get_data("spikes").segments[-1].spiketrains)
                 for p in populations)
    n_neurons = sum(p.size for p in populations)
    sim.end()
    build = phases["describe_s"] + phases.get("mapping_s", 0.0) + phases.get("engine_s", 0.0)
    return dict(simulator=simulator, case=case, n=n_neurons, codegen=target, n_synapses=int(n_synapses),
                tstop_ms=tstop, **phases, build_s=build,
                run_per_bio_s=phases["run_s"] / (tstop / 1000.0),
                total_s=build + phases["prepare_s"] + phases["run_s"],
                rate_hz=spikes / n_neurons / ((PREPARE_MS + tstop) / 1000.0))


def run_child(simulator, case, tstop, timeout, codegen=None, cold=False):
    """Run :func:`measure` in a subprocess; its result plus peak RSS (MB).

    `codegen` forces sparsehw's code generation target; `cold` gives Brian2 an
    empty cython cache (so everything is compiled anew)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    tag = f"{case}_{simulator}" + (f"_{codegen}" if codegen else "") + ("_cold" if cold else "")
    out = RESULTS_DIR / f"scale_{tag}.json"
    log = RESULTS_DIR / f"scale_{tag}.log"
    out.unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYNN_SPARSEHW_PROGRESS="off")
    if codegen:
        env["SCALE_BENCHMARK_CODEGEN"] = codegen
    if cold:
        cache = RESULTS_DIR / f"cold_cython_cache_{tag}"
        shutil.rmtree(cache, ignore_errors=True)
        env["SCALE_BENCHMARK_CYTHON_CACHE"] = str(cache)
    with open(log, "w") as fh:
        child = subprocess.Popen([sys.executable, __file__, "--worker", simulator, case,
                                  "--tstop", str(tstop), "--json", str(out)],
                                 stdout=fh, stderr=subprocess.STDOUT, env=env)
        start = time.monotonic()
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.2)
    result = dict(simulator=simulator, case=case, status="failed", log=str(log), cold=cold)
    if os.waitstatus_to_exitcode(status) == 0 and out.exists():
        result.update(json.loads(out.read_text()), status="ok")
    result["peak_rss_mb"] = usage.ru_maxrss / 1024.0   # Linux: kB
    return result


# --- summary --------------------------------------------------------------------
COLUMNS = [("case", "case", "{}"), ("simulator", "simulator", "{}"), ("neurons", "n", "{:d}"),
           ("synapses", "n_synapses", "{:,d}"), ("describe s", "describe_s", "{:.2f}"),
           ("mapping s", "mapping_s", "{:.2f}"), ("engine s", "engine_s", "{:.2f}"),
           ("build s", "build_s", "{:.2f}"), ("prepare s", "prepare_s", "{:.2f}"),
           ("run s/bio s", "run_per_bio_s", "{:.2f}"), ("report s", "report_s", "{:.2f}"),
           ("total s", "total_s", "{:.2f}"), ("peak MB", "peak_rss_mb", "{:.0f}"),
           ("rate Hz", "rate_hz", "{:.1f}")]
RATIOS = [("build", "build_s"), ("run/bio s", "run_per_bio_s"), ("total", "total_s"),
          ("memory", "peak_rss_mb")]


def ratios(results):
    """Per case: sparsehw / nest of build, run per biological second, total, memory."""
    table = {}
    for case in dict.fromkeys(r["case"] for r in results):
        pair = {r["simulator"]: r for r in results if r["case"] == case and r["status"] == "ok"}
        if {"sparsehw", "nest"} <= set(pair):
            table[case] = {name: pair["sparsehw"][key] / pair["nest"][key]
                           for name, key in RATIOS if pair["nest"].get(key)}
    return table


def format_table(results, ratio_table):
    rows = [[h for h, _, _ in COLUMNS]]
    for r in results:
        if r["status"] != "ok":
            rows.append([r["case"], r["simulator"], f"failed (see {r['log']})"] +
                        [""] * (len(COLUMNS) - 3))
            continue
        rows.append([fmt.format(r[key]) if r.get(key) is not None else "-"
                     for _, key, fmt in COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", "sparsehw / nest:  " + "  ".join(f"{name:>10}" for name, _ in RATIOS)]
    for case, values in ratio_table.items():
        lines.append(f"{case:>16}  " + "  ".join(
            f"{values[name]:10.3f}" if name in values else f"{'-':>10}" for name, _ in RATIOS))
    return "\n".join(lines)


def plot(results, path):
    """Total time and run time per biological second against neurons, log-log."""
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    styles = {"sparsehw": ("C0", "o"), "nest": ("C1", "s")}
    for ax, key, title in zip(axes, ["build_s", "run_per_bio_s", "total_s"],
                              ["build (s)", "run (s per biological s)", "total (s)"]):
        for simulator, (color, marker) in styles.items():
            for network, fill in (("va", color), ("layered", "none")):
                points = sorted((r["n"], r[key]) for r in results if r["status"] == "ok"
                                and r["simulator"] == simulator
                                and case_of(r["case"])[0] == network)
                if points:
                    x, y = zip(*points)
                    ax.loglog(x, y, marker=marker, color=color, mfc=fill, ls="-"
                              if network == "va" else "none",
                              label=f"{simulator} {'Vogels-Abbott' if network == 'va' else 'layered'}")
        ax.set_xlabel("neurons")
        ax.set_xticks([4000, 8000, 16000, 64000], ["4k", "8k", "16k", "64k"])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs=2, metavar=("SIMULATOR", "CASE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cases", nargs="+", default=list(CASES),
                        help=f"networks (default: {' '.join(CASES)}; also va<n>, layered<n>)")
    parser.add_argument("--simulators", nargs="+", default=["sparsehw", "nest"])
    parser.add_argument("--tstop", type=float, default=200.0,
                        help="biological ms of the timed run (after a 10 ms first run)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--figure", type=Path, default=RESULTS_DIR / "engine_scaling.png")
    parser.add_argument("--replot", type=Path, metavar="JSON",
                        help="only draw the figure (and print the table) of a results file")
    args = parser.parse_args(argv)
    if args.replot:
        saved = json.loads(args.replot.read_text())
        print(format_table(saved["results"], saved["ratios"]))
        plot(saved["results"], args.figure)
        return 0
    if args.worker:
        args.json.write_text(json.dumps(measure(*args.worker, args.tstop)))
        return 0
    results = []
    for case in args.cases:
        for simulator in args.simulators:
            print(f"{case} on {simulator} ({args.tstop:g} ms)...", flush=True)
            result = run_child(simulator, case, args.tstop, args.timeout)
            print(f"  {result['status']}: total {result.get('total_s', float('nan')):.1f} s, "
                  f"peak {result['peak_rss_mb']:.0f} MB", flush=True)
            results.append(result)
    ratio_table = ratios(results)
    load = os.getloadavg()
    text = format_table(results, ratio_table)
    print(f"\nload average at the end (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} on {os.cpu_count()} cores\n{text}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "scale_benchmark.json").write_text(json.dumps(dict(
        date=time.strftime("%Y-%m-%dT%H:%M:%S"), load_average=load,
        machine=dict(platform=platform.platform(), cpus=os.cpu_count()),
        tstop_ms=args.tstop, results=results, ratios=ratio_table), indent=2))
    plot(results, args.figure)
    print(f"\nresults: {RESULTS_DIR / 'scale_benchmark.json'}, figure: {args.figure}")
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
