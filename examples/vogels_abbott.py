"""Vogels-Abbott balanced network, conductance-based (COBA) version.

Benchmark 1 of Brette et al. (2007), J. Comput. Neurosci. 23:349-398, after
Vogels & Abbott (2005), J. Neurosci. 25:10786, with the parameters of PyNN's
``examples/VAbenchmarks.py`` (COBA):

* ``n`` = 4000 ``IF_cond_exp`` cells, 80 % excitatory, 20 % inhibitory;
  cm = 1 uF/cm2 x 20000 um2 = 0.2 nF, tau_m = 20 ms, v_rest = v_reset = -60 mV,
  v_thresh = -50 mV, tau_refrac = 5 ms, tau_syn_E/I = 5/10 ms,
  e_rev_E/I = 0/-80 mV;
* recurrent connections: ``FixedProbabilityConnector(0.02)`` for each of
  e->e, e->i, i->e, i->i, drawn from ``NumpyRNG(seed)``; weights 4 nS
  (excitatory) and 51 nS (inhibitory), delay 0.2 ms;
* external drive: 20 ``SpikeSourcePoisson`` cells at 100 Hz during the first
  50 ms, connected to every cell with probability 0.01, weight 0.1 uS;
* initial membrane potential uniform in [-60, -50] mV (``RandomDistribution``);
* dt = 0.1 ms, min_delay 0.2 ms, max_delay 1 ms, 1 s of biological time.

Two deliberate differences from ``VAbenchmarks.py``, both to make the *same*
network on every backend:

* Self-connections are excluded (``allow_self_connections=False``; the
  example keeps PyNN's default ``True``, which adds ~80 synapses at n = 4000).
  Pass ``allow_self_connections=True`` to build_network (``--allow-self`` on the
  command line) to get the example's exact connectivity rule.
* The initial potentials are drawn from their own ``NumpyRNG(seed + 1)``
  instead of sharing the connectivity generator. PyNN keeps the
  ``RandomDistribution`` inside a lazy array that a backend may evaluate again
  (e.g. when it records initial values), and each evaluation draws numbers:
  a shared generator would make the connectivity depend on the backend. The
  external projections use ``NumpyRNG(151985012)``, the generator PyNN gives a
  connector created without one, as the example does.

Weights are not rescaled with ``n``: networks much smaller than 4000 cells are
less excited and fire less (or not at all after the 50 ms drive).

Usage::

    python examples/vogels_abbott.py nest
    python examples/vogels_abbott.py sparsehw --n 1000 --tstop 500 --json out.json
    python examples/vogels_abbott.py sparsehw --setup chip=digital

As a module: ``build_network(sim, ...)`` builds the network on an imported
``pyNN.<backend>`` module, ``run_benchmark(sim_name, ...)`` builds, runs and
measures it.
"""

import argparse
import ast
import importlib
import json
import sys
import time

import numpy as np

# --- parameters (VAbenchmarks.py, COBA) ---------------------------------------

R_EI = 4.0                  # excitatory : inhibitory cells
DELAY = 0.2                 # ms, all synapses; also min_delay
MAX_DELAY = 1.0             # ms

AREA_CM2 = 20000.0 * 1e-8   # 20000 um2 in cm2
CM_NF = 1.0 * AREA_CM2 * 1000.0   # 1 uF/cm2 -> nF  (0.2 nF)

CELL_PARAMS = {
    "tau_m": 20.0,          # ms (= cm / g_leak, g_leak = 5e-5 S/cm2)
    "tau_syn_E": 5.0,       # ms
    "tau_syn_I": 10.0,      # ms
    "v_rest": -60.0,        # mV
    "v_reset": -60.0,       # mV
    "v_thresh": -50.0,      # mV
    "cm": CM_NF,            # nF
    "tau_refrac": 5.0,      # ms
    "e_rev_E": 0.0,         # mV
    "e_rev_I": -80.0,       # mV
}

G_EXC_NS = 4.0              # excitatory synaptic conductance, nS
G_INH_NS = 51.0             # inhibitory synaptic conductance, nS
W_EXC = G_EXC_NS * 1e-3     # PyNN weights of conductance synapses are in uS
W_INH = G_INH_NS * 1e-3

N_EXT = 20                  # external Poisson sources
EXT_RATE = 100.0            # Hz
EXT_DURATION = 50.0         # ms
EXT_P_CONNECT = 0.01
W_EXT = 0.1                 # uS
EXT_SEED = 151985012        # PyNN's seed for a connector created without an rng


def build_network(sim, n=4000, p_connect=0.02, seed=98765, dt=0.1, record_v=False,
                  allow_self_connections=False, **setup_kwargs):
    """Set up ``sim`` and build the COBA network on it.

    ``sim`` is an imported PyNN backend module (``pyNN.nest``, ``pyNN.sparsehw``...).
    Calls ``sim.setup(timestep=dt, min_delay=0.2, max_delay=1.0, **setup_kwargs)``,
    creates the populations and projections and records the spikes of every
    excitatory and inhibitory cell (and ``v`` of two excitatory cells if
    ``record_v``).

    Returns a dict with ``exc``, ``inh``, ``ext`` (populations), ``projections``
    (list, in creation order), ``projections_by_name`` (dict e2e, e2i, i2e,
    i2i, ext2e, ext2i), ``n_synapses`` (sum of ``len(prj)``), ``n_exc``,
    ``n_inh``.
    """
    from pyNN.random import NumpyRNG, RandomDistribution

    sim.setup(timestep=dt, min_delay=DELAY, max_delay=MAX_DELAY, **setup_kwargs)

    n_exc = int(round(n * R_EI / (1.0 + R_EI)))
    n_inh = n - n_exc
    celltype = sim.IF_cond_exp(**CELL_PARAMS)
    exc = sim.Population(n_exc, celltype, label="Excitatory_Cells")
    inh = sim.Population(n_inh, celltype, label="Inhibitory_Cells")
    ext = sim.Population(N_EXT, sim.SpikeSourcePoisson(rate=EXT_RATE, duration=EXT_DURATION),
                         label="expoisson")

    v_init = RandomDistribution("uniform", low=CELL_PARAMS["v_reset"],
                                high=CELL_PARAMS["v_thresh"],
                                rng=NumpyRNG(seed=seed + 1, parallel_safe=True))
    exc.initialize(v=v_init)
    inh.initialize(v=v_init)

    rng = NumpyRNG(seed=seed, parallel_safe=True)
    connector = sim.FixedProbabilityConnector(p_connect, rng=rng,
                                              allow_self_connections=allow_self_connections)
    exc_syn = sim.StaticSynapse(weight=W_EXC, delay=DELAY)
    inh_syn = sim.StaticSynapse(weight=W_INH, delay=DELAY)
    ext_connector = sim.FixedProbabilityConnector(EXT_P_CONNECT, rng=NumpyRNG(seed=EXT_SEED))
    ext_syn = sim.StaticSynapse(weight=W_EXT, delay=DELAY)

    named = {}
    named["e2e"] = sim.Projection(exc, exc, connector, exc_syn, receptor_type="excitatory",
                                  label="e2e")
    named["e2i"] = sim.Projection(exc, inh, connector, exc_syn, receptor_type="excitatory",
                                  label="e2i")
    named["i2e"] = sim.Projection(inh, exc, connector, inh_syn, receptor_type="inhibitory",
                                  label="i2e")
    named["i2i"] = sim.Projection(inh, inh, connector, inh_syn, receptor_type="inhibitory",
                                  label="i2i")
    named["ext2e"] = sim.Projection(ext, exc, ext_connector, ext_syn,
                                    receptor_type="excitatory", label="ext2e")
    named["ext2i"] = sim.Projection(ext, inh, ext_connector, ext_syn,
                                    receptor_type="excitatory", label="ext2i")

    exc.record("spikes")
    inh.record("spikes")
    if record_v:
        exc[0:2].record("v")

    projections = list(named.values())
    return {
        "exc": exc,
        "inh": inh,
        "ext": ext,
        "projections": projections,
        "projections_by_name": named,
        "n_synapses": int(sum(len(prj) for prj in projections)),
        "n_exc": n_exc,
        "n_inh": n_inh,
    }


def spike_statistics(spike_trains, tstop):
    """Firing rate and ISI irregularity of a list of spike-time arrays (ms).

    * ``rate_hz``: total number of spikes / (number of trains x tstop in s),
      i.e. the mean firing rate over all cells, silent ones included.
    * ``cv_isi``: for every train with at least 2 inter-spike intervals (>= 3
      spikes), CV = std(ISI) / mean(ISI) (population std, ddof=0); the mean of
      these CVs over those trains. ``None`` if no train has 2 intervals.
    * ``n_cv``: number of trains that entered ``cv_isi``.
    """
    counts = np.array([len(st) for st in spike_trains], dtype=float)
    n_trains = len(spike_trains)
    rate = float(counts.sum() / (n_trains * tstop / 1000.0)) if n_trains else 0.0
    cvs = []
    for st in spike_trains:
        if len(st) >= 3:
            isi = np.diff(np.sort(np.asarray(st, dtype=float)))
            mean = isi.mean()
            if mean > 0:
                cvs.append(isi.std() / mean)
    cv = float(np.mean(cvs)) if cvs else None
    return {"rate_hz": rate, "cv_isi": cv, "n_cv": len(cvs), "n_spikes": int(counts.sum())}


def _spike_trains(population):
    """Spike times (ms, plain float arrays) of every cell of ``population``."""
    block = population.get_data("spikes", clear=False)
    trains = block.segments[-1].spiketrains
    return [np.asarray(st.rescale("ms").magnitude, dtype=float) for st in trains]


def run_benchmark(sim_name, n=4000, tstop=1000.0, seed=98765, **setup_kwargs):
    """Build and run the network on ``pyNN.<sim_name>`` and measure it.

    ``build_s``: wall time (``time.perf_counter``) from just before ``sim.setup``
    to the end of ``build_network`` (populations, projections, recording set
    up; the import of the backend is not counted). ``run_s``: wall time of
    ``sim.run(tstop)``. ``total_s`` = build_s + run_s. Retrieving the data and
    the statistics are not timed.

    ``rate_hz`` and ``cv_isi`` are over all excitatory and inhibitory cells, as
    defined in :func:`spike_statistics` (ISI CV: mean over cells with >= 3
    spikes of std/mean of their intervals). ``rate_exc_hz``/``rate_inh_hz``
    are per population.

    Extra keyword arguments go to ``build_network`` (``p_connect``, ``dt``,
    ``allow_self_connections``, ``record_v``) or else to ``sim.setup``.
    """
    sim = importlib.import_module(f"pyNN.{sim_name}")
    build_keys = ("p_connect", "dt", "record_v", "allow_self_connections")
    build_kwargs = {k: setup_kwargs.pop(k) for k in build_keys if k in setup_kwargs}

    t0 = time.perf_counter()
    net = build_network(sim, n=n, seed=seed, **build_kwargs, **setup_kwargs)
    t1 = time.perf_counter()
    sim.run(tstop)
    t2 = time.perf_counter()

    exc_trains = _spike_trains(net["exc"])
    inh_trains = _spike_trains(net["inh"])
    both = spike_statistics(exc_trains + inh_trains, tstop)
    result = {
        "simulator": sim_name,
        "n": n,
        "n_synapses": net["n_synapses"],
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "total_s": t2 - t0,
        "rate_hz": both["rate_hz"],
        "cv_isi": both["cv_isi"],
        "rate_exc_hz": spike_statistics(exc_trains, tstop)["rate_hz"],
        "rate_inh_hz": spike_statistics(inh_trains, tstop)["rate_hz"],
        "n_cv_cells": both["n_cv"],
        "n_spikes": both["n_spikes"],
        "tstop": tstop,
        "seed": seed,
        "synapses_by_projection": {name: len(prj)
                                   for name, prj in net["projections_by_name"].items()},
    }
    if hasattr(sim, "hardware_report"):   # pyNN.sparsehw: what the chip used and lost
        report = sim.hardware_report()
        result["hardware_report"] = json.loads(report.to_json())
        result["hardware_report_text"] = str(report)
    sim.end()
    return result


def _parse_setup(items):
    """``["chip=digital", "seed=3"]`` -> ``{"chip": "digital", "seed": 3}``."""
    kwargs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"--setup expects KEY=VALUE, got {item!r}")
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("simulator", help="PyNN backend: sparsehw, nest, brian2, neuron...")
    parser.add_argument("--n", type=int, default=4000, help="number of cells (default 4000)")
    parser.add_argument("--tstop", type=float, default=1000.0, help="ms (default 1000)")
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument("--allow-self", action="store_true",
                        help="allow self-connections, as VAbenchmarks.py does")
    parser.add_argument("--setup", action="append", default=[], metavar="KEY=VALUE",
                        help="extra keyword for sim.setup (repeatable), e.g. chip=digital")
    parser.add_argument("--json", metavar="FILE", help="also write the result dict as JSON")
    args = parser.parse_args(argv)

    kwargs = _parse_setup(args.setup)
    if args.allow_self:
        kwargs["allow_self_connections"] = True
    result = run_benchmark(args.simulator, n=args.n, tstop=args.tstop, seed=args.seed,
                           **kwargs)
    report_text = result.pop("hardware_report_text", None)
    printed = {k: v for k, v in result.items() if k != "hardware_report"}
    width = max(len(k) for k in printed)
    for key, value in printed.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        print(f"{key:<{width}} : {value}")
    if report_text:
        print()
        print(report_text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
