"""Run one PyNN script on pyNN.sparsehw and on reference simulators; compare spikes.

Each simulator runs the unchanged script in its own process (``python -m
pyNN_sparsehw.cli.compare --worker SIM OUT SCRIPT ARGS``; see :mod:`.scripts` for how the
script is pointed at the simulator): the references first, then pyNN.sparsehw (not
at all when no reference could run the script). After the script, the worker takes the spikes
of every population that recorded spikes from the backend's recorders
(:func:`~pyNN_sparsehw.cli.scripts.recorded_spikes`) and writes them to
``OUT/SIM/spikes.npz``, with ``run.json`` (status, wall time, what makes the network
stochastic) and, for sparsehw, ``hardware_report.json``.

Then, per reference simulator and per population (matched by label, in order of
creation), :func:`compare_populations` measures

* the mean rate (Hz) of each simulator and their relative difference;
* the correlation across neurons of their spike counts ("rate correlation");
* the ISI CV of each (mean over neurons with >= 3 spikes) and the difference;
* the van Rossum distance between the trains of each neuron (time constant
  ``van_rossum_tau_ms``), as a mean per neuron and per spike (sum of squared
  distances / spikes: 0 for identical trains, about 1 for unrelated sparse ones);
* the spike agreement: fraction of spikes with a one-to-one partner within
  ``match_window_ms`` in the other simulator;

and checks them against :class:`Tolerances`. Spike agreement and van Rossum distance
are checked only for deterministic networks (no Poisson or Gamma source, no noisy
current, no stochastic synapse): with random inputs two simulators draw different
spikes, and only the statistics can agree; the rate check then also allows for
counting noise, and the rate correlation is checked only where rates differ across
neurons well beyond counting noise.

:func:`compare` runs everything and writes ``comparison.json`` (every number),
``rasters.png`` (side by side) and ``rates.png`` (rate histograms) to the output
folder.
"""

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from ..report import plots
from .scripts import (CALIBRATION_ENV, CHIP_ENV, CHIP_SEED_ENV, load_spikes, recorded_spikes, run_script,
                      save_spikes, script_arguments)
from ..report.texttable import table
from ..report.spiketrains import (isi_cv, mean_rate_hz, rate_correlation, spike_agreement,
                          spike_counts, van_rossum_distances)

CANDIDATE = "sparsehw"
#: worker exit status when ``pyNN.<simulator>`` cannot be imported
UNAVAILABLE = 3
#: cell types and current sources whose spikes or currents are random
STOCHASTIC_CELL_TYPES = {"SpikeSourcePoisson", "SpikeSourcePoissonRefractory",
                         "SpikeSourceGamma", "SpikeSourceInhGamma"}
STOCHASTIC_SOURCES = {"NoisyCurrentSource"}


@dataclasses.dataclass
class Tolerances:
    """Pass/fail limits of a comparison (``--tolerance KEY=VALUE``).

    The defaults are about 2.5 times the spread between two NEST runs of the
    Vogels-Abbott network that differ only in their Poisson seed (4000 cells, 1 s:
    rates within 4 %, ISI CVs within 0.1, rate correlation 0.86-0.88; see
    README.md): the `ideal` chip passes them, an uncalibrated `analog` chip does not
    (rates 16-20 % higher, rate correlation 0.65).

    In a stochastic network the two simulators draw different random spikes, so the
    rate check also allows ``rate_sigmas`` standard deviations of the counting noise
    of the difference (Poisson: sqrt(N_a + N_b) spikes), and the rate correlation is
    checked only when the spike counts vary across neurons well beyond counting
    noise (see :func:`count_reliability`).
    """
    #: abs(rate - reference rate) <= rate x reference rate + rate_hz (+ noise, above)
    rate: float = 0.1
    #: absolute slack of the rate check (Hz), for populations that barely fire
    rate_hz: float = 0.5
    #: stochastic networks: standard deviations of counting noise allowed in the rate
    rate_sigmas: float = 3.0
    #: abs(ISI CV - reference ISI CV) <= isi_cv
    isi_cv: float = 0.15
    #: rate correlation across neurons >= rate_correlation
    rate_correlation: float = 0.75
    #: stochastic networks: the rate correlation is checked only when the largest
    #: correlation counting noise allows, sqrt(reliability_a x reliability_b), is at
    #: least this
    min_reliability: float = 0.5
    #: deterministic networks: spike agreement >= spike_agreement
    spike_agreement: float = 0.9
    #: deterministic networks: van Rossum distance per spike <= van_rossum
    van_rossum: float = 0.1
    #: fewest neurons with an ISI CV (>= 3 spikes) for the ISI CV check
    min_cv_neurons: int = 5

    @classmethod
    def parse(cls, items):
        """Defaults overridden by ``["rate=0.05", "isi_cv=0.1"]``."""
        known = {f.name: f.type for f in dataclasses.fields(cls)}
        values = {}
        for item in items or []:
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in known:
                raise ValueError(f"tolerance {item!r}: expected KEY=VALUE with KEY one of "
                                 f"{', '.join(known)}")
            try:
                values[key] = (int if known[key] in (int, "int") else float)(value)
            except ValueError:
                raise ValueError(f"tolerance {item!r}: {value!r} is not a number") from None
        return cls(**values)


# ----------------------------------------------------------------- metrics
def population_activity(spikes):
    """Mean rate (Hz), ISI CV and counts of one PopulationSpikes."""
    n = len(spikes.recorded)
    cv = isi_cv(spikes.neuron, spikes.times, spikes.size)[spikes.recorded]
    defined = np.isfinite(cv)
    return dict(neurons=int(n), spikes=int(spikes.times.size),
                rate_hz=mean_rate_hz(spikes.times.size, n, spikes.duration_ms),
                isi_cv=float(np.mean(cv[defined])) if defined.any() else None,
                cv_neurons=int(defined.sum()))


def population_metrics(candidate, reference, van_rossum_tau_ms=10.0, match_window_ms=1.0):
    """Every number comparing two simulations of one population (see module
    docstring). Only neurons recorded in both count."""
    common = np.intersect1d(candidate.recorded, reference.recorded)
    a, b = candidate.restricted_to(common), reference.restricted_to(common)
    activity_a, activity_b = population_activity(a), population_activity(b)
    counts_a = spike_counts(a.neuron, a.size)[common]
    counts_b = spike_counts(b.neuron, b.size)[common]
    distances = van_rossum_distances(a.neuron, a.times, b.neuron, b.times, a.size,
                                     van_rossum_tau_ms)[common]
    total = a.times.size + b.times.size
    rate_a, rate_b = activity_a["rate_hz"], activity_b["rate_hz"]
    cv_a, cv_b = activity_a["isi_cv"], activity_b["isi_cv"]
    return dict(
        neurons_compared=int(common.size),
        candidate=activity_a, reference=activity_b,
        rate_difference_hz=rate_a - rate_b,
        rate_difference_relative=(rate_a - rate_b) / rate_b if rate_b > 0 else None,
        rate_correlation=_or_none(rate_correlation(counts_a, counts_b)),
        rate_noise_hz=mean_rate_hz(np.sqrt(total), common.size, a.duration_ms),
        correlation_ceiling=float(np.sqrt(count_reliability(counts_a)
                                          * count_reliability(counts_b))),
        isi_cv_difference=cv_a - cv_b if cv_a is not None and cv_b is not None else None,
        van_rossum_mean=float(distances.mean()) if distances.size else None,
        van_rossum_per_spike=float(np.sum(distances ** 2) / total) if total else 0.0,
        spike_agreement=spike_agreement(a.neuron, a.times, b.neuron, b.times,
                                        match_window_ms),
        van_rossum_tau_ms=van_rossum_tau_ms, match_window_ms=match_window_ms)


def count_reliability(counts):
    """Fraction of the variance of spike counts across neurons that Poisson counting
    noise (variance = mean) does not explain: 0 for neurons that share one rate, near
    1 for rates that differ much more than their counts fluctuate."""
    counts = np.asarray(counts, dtype=float)
    variance = counts.var() if counts.size > 1 else 0.0
    return float(max(0.0, 1.0 - counts.mean() / variance)) if variance > 0 else 0.0


def population_checks(metrics, tolerances, deterministic):
    """{check: {value, limit, passed}} for one population; passed is None when the
    check does not apply (its reason in ``note``)."""
    t = tolerances
    a, b = metrics["candidate"], metrics["reference"]
    rate_limit = t.rate * b["rate_hz"] + t.rate_hz
    rule = f"|difference| <= {t.rate:g} x reference + {t.rate_hz:g} Hz"
    if not deterministic:
        rate_limit += t.rate_sigmas * metrics["rate_noise_hz"]
        rule += f" + {t.rate_sigmas:g} x {metrics['rate_noise_hz']:.2g} Hz noise"
    checks = {"rate": dict(value=metrics["rate_difference_hz"], limit=rate_limit,
                           passed=bool(abs(metrics["rate_difference_hz"]) <= rate_limit),
                           rule=rule)}
    few = min(a["cv_neurons"], b["cv_neurons"]) < t.min_cv_neurons
    difference = metrics["isi_cv_difference"]
    checks["isi_cv"] = dict(
        value=difference, limit=t.isi_cv, rule=f"|difference| <= {t.isi_cv:g}",
        passed=None if few or difference is None else bool(abs(difference) <= t.isi_cv),
        note=f"fewer than {t.min_cv_neurons} neurons with >= 3 spikes" if few else None)
    correlation = metrics["rate_correlation"]
    note = None
    if correlation is None:
        note = "undefined: spike counts do not vary across neurons"
    elif not deterministic and metrics["correlation_ceiling"] < t.min_reliability:
        note = (f"rates vary across neurons little beyond counting noise (largest "
                f"expected correlation {metrics['correlation_ceiling']:.2f})")
    checks["rate_correlation"] = dict(
        value=correlation, limit=t.rate_correlation, rule=f">= {t.rate_correlation:g}",
        passed=None if note else bool(correlation >= t.rate_correlation), note=note)
    stochastic_note = None if deterministic else "not checked: the network is stochastic"
    checks["spike_agreement"] = dict(
        value=metrics["spike_agreement"], limit=t.spike_agreement,
        rule=f">= {t.spike_agreement:g} (window {metrics['match_window_ms']:g} ms)",
        passed=bool(metrics["spike_agreement"] >= t.spike_agreement) if deterministic
        else None, note=stochastic_note)
    checks["van_rossum"] = dict(
        value=metrics["van_rossum_per_spike"], limit=t.van_rossum,
        rule=f"per spike <= {t.van_rossum:g} (tau {metrics['van_rossum_tau_ms']:g} ms)",
        passed=bool(metrics["van_rossum_per_spike"] <= t.van_rossum) if deterministic
        else None, note=stochastic_note)
    return checks


def compare_populations(candidate, reference, tolerances, deterministic,
                        van_rossum_tau_ms=10.0, match_window_ms=1.0):
    """Compare two lists of PopulationSpikes (matched by label).

    Returns ``{"populations": [...], "missing": [...], "passed": bool}``: one entry
    per population in both (label, metrics, checks, passed), the labels found in
    only one of them, and whether every applicable check passed.
    """
    by_label = {p.label: p for p in reference}
    entries, missing = [], [p.label for p in reference
                            if p.label not in {q.label for q in candidate}]
    for spikes in candidate:
        other = by_label.get(spikes.label)
        if other is None:
            missing.append(spikes.label)
            continue
        metrics = population_metrics(spikes, other, van_rossum_tau_ms, match_window_ms)
        checks = population_checks(metrics, tolerances, deterministic)
        entries.append(dict(label=spikes.label, metrics=metrics, checks=checks,
                            passed=all(c["passed"] is not False for c in checks.values())))
    return dict(populations=entries, missing=missing,
                passed=bool(entries) and all(e["passed"] for e in entries))


def _or_none(value):
    return None if value is None or not np.isfinite(value) else float(value)


# --------------------------------------------------------------- processes
@dataclasses.dataclass
class SimulatorRun:
    """What one simulator's process produced."""
    simulator: str
    status: str                  # "ok", "unavailable", "failed" or "skipped"
    message: str = ""
    seconds: float = 0.0
    spikes: list = dataclasses.field(default_factory=list)
    info: dict = dataclasses.field(default_factory=dict)


def missing_backend(simulator):
    """Why ``pyNN.<simulator>`` does not exist, or "" (whether the simulator behind it
    is installed is found out by the worker)."""
    try:
        found = importlib.util.find_spec(f"pyNN.{simulator}") is not None
    except (ImportError, ValueError):
        found = False
    return "" if found else f"PyNN has no backend pyNN.{simulator}"


def run_simulator(simulator, script, args, folder, chip=None, chip_seed=None, timeout=None,
                  calibration=None):
    """Run `script` on ``pyNN.<simulator>`` in a new process; its files go to
    ``folder``. `chip`, `chip_seed` and `calibration` ("auto", "none" or a path) are
    pyNN.sparsehw's setup() defaults there. Returns a :class:`SimulatorRun`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # the interpreter's own bin/ first, as in an activated virtual environment: tools
    # installed with the simulators (NEURON's nrnivmodl) are found
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = dict(os.environ, MPLBACKEND="Agg", PATH=path, PYNN_SPARSEHW_PROGRESS="off")
    for key, value in ((CHIP_ENV, chip), (CHIP_SEED_ENV, chip_seed),
                       (CALIBRATION_ENV, calibration)):
        if value is not None:
            env[key] = str(value)
    command = [sys.executable, "-m", "pyNN_sparsehw.cli.compare", "--worker", simulator,
               str(folder), str(script), *args]
    missing = missing_backend(simulator)
    if missing:
        return SimulatorRun(simulator, "unavailable", missing)
    start = time.perf_counter()
    try:
        with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:
            process = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return SimulatorRun(simulator, "failed", f"timed out after {timeout:g} s", timeout)
    seconds = time.perf_counter() - start
    info = _read_json(folder / "run.json")
    if process.returncode == UNAVAILABLE:
        return SimulatorRun(simulator, "unavailable", info.get("message", ""), seconds)
    if process.returncode != 0:
        message = info.get("message") or _last_line(folder / "stderr.txt") \
            or f"exit status {process.returncode}"
        return SimulatorRun(simulator, "failed", message, seconds)
    return SimulatorRun(simulator, "ok", "", seconds, load_spikes(folder / "spikes.npz"), info)


def _read_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def _last_line(path):
    try:
        lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def stochastic_elements(state):
    """What makes the network of a pyNN.sparsehw state random: Poisson or Gamma
    sources, noisy currents, stochastic synapses (a list of descriptions)."""
    description = state.description
    found = [f"{p.cell_type} '{p.label}'" for p in description.populations
             if p.cell_type in STOCHASTIC_CELL_TYPES]
    found += [f"{s.kind} {s.index}" for s in description.current_sources
              if s.kind in STOCHASTIC_SOURCES]
    found += [f"{p.synapse_model} synapses '{p.label}'" for p in description.projections
              if "stochastic" in p.synapse_model.lower()]
    return found


def worker(simulator, folder, script, args):
    """Body of the worker process: run the script on `simulator`, save its spikes.
    Returns the process exit status."""
    folder = Path(folder)
    info = dict(simulator=simulator, script=str(script), arguments=list(args))

    def finish(status, message=""):
        info.update(status=status, message=message)
        with open(folder / "run.json", "w") as fh:
            json.dump(info, fh, indent=2)

    try:
        __import__(f"pyNN.{simulator}")
    except Exception as error:  # ImportError, or a simulator that fails to load
        finish("unavailable", f"pyNN.{simulator} cannot be imported "
                              f"({type(error).__name__}: {error})")
        return UNAVAILABLE
    start = time.perf_counter()
    try:
        module = run_script(script, args, simulator,
                            announce=lambda text: print(text, file=sys.stderr))
    except Exception as error:
        traceback.print_exc()
        finish("failed", f"{type(error).__name__}: {error}")
        return 1
    info["script_seconds"] = time.perf_counter() - start
    spikes = recorded_spikes(module)
    save_spikes(folder / "spikes.npz", spikes)
    info["populations"] = [dict(label=p.label, size=p.size, recorded=int(p.recorded.size),
                                spikes=int(p.times.size)) for p in spikes]
    if simulator == CANDIDATE:
        state = module.simulator.state
        info["stochastic"] = stochastic_elements(state)
        report = module.hardware_report()
        report.to_json(folder / "hardware_report.json")
        info["chip"] = report.chip
    finish("ok")
    return 0


# ------------------------------------------------------------------ compare
def compare(script, args=(), references=("nest",), chip=None, chip_seed=None, out=None,
            tolerances=None, deterministic=None, van_rossum_tau_ms=10.0,
            match_window_ms=1.0, timeout=None, announce=print, calibration=None):
    """Run `script` on pyNN.sparsehw and each reference; compare; write the results.

    Parameters
    ----------
    script : path
        A PyNN script (see :mod:`.scripts` for how it is pointed at each simulator).
    args : list of str
        The script's arguments.
    references : list of str
        Reference backends (``pyNN.<name>``): nest, neuron, brian2...
    chip, chip_seed : str, int, optional
        Chip model and chip seed for pyNN.sparsehw (default: ``setup()``'s defaults).
    calibration : str, optional
        "auto", "none" or the path of a saved calibration (default: ``setup()``'s).
    out : path
        Output folder (default ``results/compare/<script>``).
    tolerances : Tolerances, optional
    deterministic : bool, optional
        Whether spike times must agree; default: True unless the network has
        stochastic elements (:func:`stochastic_elements`).
    van_rossum_tau_ms, match_window_ms : float
        Time constant of the van Rossum distance, window of the spike agreement.
    timeout : float, optional
        Seconds allowed to each simulator's process.

    Returns the result dict (also written as ``comparison.json``); its ``compared``
    counts the references that could be compared and ``passed`` is True when every
    applicable check of every compared reference passed.
    """
    tolerances = tolerances or Tolerances()
    script = Path(script)
    out = Path(out) if out is not None else Path("results") / "compare" / script.stem
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for simulator in [r for r in dict.fromkeys(references) if r != CANDIDATE] + [CANDIDATE]:
        if simulator == CANDIDATE and not any(r.status == "ok" for r in runs.values()):
            runs[CANDIDATE] = SimulatorRun(CANDIDATE, "skipped",
                                           "no reference simulator ran the script")
            break
        label = f"pyNN.{simulator}" + (f" (chip {chip})" if simulator == CANDIDATE and chip
                                       else "")
        if not missing_backend(simulator):
            announce(f"running {script.name} on {label} ...")
        run = run_simulator(simulator, script, list(args), out / simulator, chip, chip_seed,
                            timeout, calibration if simulator == CANDIDATE else None)
        runs[simulator] = run
        if run.status == "unavailable":
            announce(f"  {simulator} is not available ({run.message}): skipped")
        elif run.status == "failed":
            announce(f"  {simulator}: the script failed ({run.message}); see "
                     f"{out / simulator / 'stderr.txt'}")
        else:
            announce(f"  {simulator}: {run.seconds:.1f} s, "
                     f"{sum(p.times.size for p in run.spikes)} spikes recorded in "
                     f"{len(run.spikes)} population(s)")
    candidate = runs[CANDIDATE]
    stochastic = candidate.info.get("stochastic", [])
    if deterministic is None:
        deterministic = not stochastic
    result = dict(script=str(script), arguments=list(args), candidate=CANDIDATE,
                  chip=candidate.info.get("chip", {"name": chip}),
                  tolerances=dataclasses.asdict(tolerances), deterministic=deterministic,
                  stochastic_elements=stochastic,
                  runs={name: dict(status=run.status, message=run.message,
                                   seconds=run.seconds,
                                   populations=run.info.get("populations", []))
                        for name, run in runs.items()},
                  comparisons=[])
    if candidate.status == "ok":
        for name, run in runs.items():
            if name == CANDIDATE or run.status != "ok":
                continue
            entry = compare_populations(candidate.spikes, run.spikes, tolerances,
                                        deterministic, van_rossum_tau_ms, match_window_ms)
            entry["reference"] = name
            result["comparisons"].append(entry)
    result["compared"] = sum(1 for c in result["comparisons"] if c["populations"])
    result["passed"] = result["compared"] > 0 and all(c["passed"]
                                                      for c in result["comparisons"])
    result["files"] = write_outputs(result, runs, out)
    return result


def write_outputs(result, runs, out):
    """comparison.json, rasters.png, rates.png in `out`; returns their paths."""
    out = Path(out)
    files = {"json": str(out / "comparison.json")}
    chip = result["chip"].get("name")
    order = [CANDIDATE] + [name for name in runs if name != CANDIDATE]
    columns = {(f"{name} (chip {chip})" if name == CANDIDATE and chip else name):
               runs[name].spikes for name in order if runs[name].status == "ok"}
    arguments = script_arguments(result["arguments"], "<simulator>")
    title = f"{Path(result['script']).name} {' '.join(arguments)}".strip()
    for key, make in (("rasters", plots.rasters), ("rates", plots.rate_histograms)):
        figure = make(columns, title=title)
        if figure is not None:
            files[key] = str(plots.save_png(figure, out / f"{key}.png"))
    with open(files["json"], "w") as fh:
        json.dump(dict(result, files=files), fh, indent=2, default=_json_default)
    return files


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


# ------------------------------------------------------------------- text
CHECK_NAMES = {"rate": "rate (Hz)", "isi_cv": "ISI CV", "rate_correlation": "rate correlation",
               "spike_agreement": "spike agreement", "van_rossum": "van Rossum / spike"}


def summary_text(result):
    """The comparison as tables, one per reference simulator."""
    chip = result["chip"].get("name") or "default"
    lines = []
    for comparison in result["comparisons"]:
        reference = comparison["reference"]
        verdict = "PASS" if comparison["passed"] else "FAIL"
        lines.append(f"sparsehw (chip {chip}) vs {reference}: {verdict}")
        rows = [["population", "check", "sparsehw", reference, "difference / value",
                 "limit", "result"]]
        for entry in comparison["populations"]:
            m = entry["metrics"]
            values = {"rate": (m["candidate"]["rate_hz"], m["reference"]["rate_hz"]),
                      "isi_cv": (m["candidate"]["isi_cv"], m["reference"]["isi_cv"])}
            for k, (name, check) in enumerate(entry["checks"].items()):
                a, b = values.get(name, (None, None))
                if check["passed"] is None:
                    outcome = "n/a" + (f" ({check['note']})" if check.get("note") else "")
                else:
                    outcome = "pass" if check["passed"] else "FAIL"
                rows.append([entry["label"] if k == 0 else "", CHECK_NAMES[name], _num(a),
                             _num(b), _num(check["value"], signed=name in values),
                             check["rule"], outcome])
        lines.append(table(rows))
        if comparison["missing"]:
            lines.append("recorded by only one of the two: " + ", ".join(comparison["missing"]))
        lines.append("")
    for name, run in result["runs"].items():
        if run["status"] == "failed":
            lines.append(f"{name}: the script failed: {run['message']}")
    return "\n".join(lines).rstrip()


def _num(value, signed=False):
    if value is None:
        return "-"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _worker_main(argv=None):
    """``--worker SIMULATOR FOLDER SCRIPT [ARGS...]``: everything after SCRIPT is the
    script's, unparsed."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) < 4 or argv[0] != "--worker":
        print("usage: python -m pyNN_sparsehw.cli.compare --worker SIMULATOR FOLDER SCRIPT "
              "[ARGS...] (the worker of `sparsehw compare`)", file=sys.stderr)
        return 2
    return worker(argv[1], argv[2], argv[3], argv[4:])


if __name__ == "__main__":
    sys.exit(_worker_main())
