"""Chip-instance sweeps (pyNN_sparsehw.sweep): tasks, criteria, yield statistics, the
results folder, and real sweeps on a dask LocalCluster of 2 worker processes (one of
them killed with SIGKILL in the middle of a task) and on the command's own LocalCluster
of 2 worker threads."""

import json
import logging
import math
import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pyNN_sparsehw.cli import commands as cli
from pyNN_sparsehw.sweep import (Criterion, CriterionError, Task, expand, parameter,
                                 parse_param, parse_seeds, record_metric, run_sweep,
                                 summarize, wilson_interval)
from pyNN_sparsehw.sweep import metrics as sweep_metrics
from pyNN_sparsehw.sweep.html import render_yield_html
from pyNN_sparsehw.sweep.store import ResultStore, SweepMismatch
from pyNN_sparsehw.sweep.yields import summary_text

SCRIPT = Path(__file__).parent / "data" / "sweep_tiny_network.py"


def lif_rate(amplitude, duration=100.0, tau_m=20.0, cm=1.0, v_rest=-65.0, v_thresh=-50.0,
             t_ref=0.1, dt=0.1):
    """Rate (Hz) of an IF_curr_exp cell (PyNN defaults) under a constant current (nA)
    during `duration` ms: closed-form time to threshold, rounded up to the time step."""
    v_inf = v_rest + amplitude * tau_m / cm
    if v_inf <= v_thresh:
        return 0.0
    period = tau_m * math.log((v_inf - v_rest) / (v_inf - v_thresh))
    period = math.ceil(period / dt) * dt + t_ref
    return 1000.0 * math.floor(duration / period + 1e-9) / duration


# ----------------------------------------------------------------- tasks
def test_seeds_and_params_parse():
    assert parse_seeds("0-3,10,2,12-13") == [0, 1, 2, 3, 10, 12, 13]
    assert parse_seeds(5) == [5]
    for bad in ("3-1", "a", "1-"):
        with pytest.raises(ValueError, match="chip seeds"):
            parse_seeds(bad)
    assert parse_param("p=0.06, 0.08") == ("p", ["0.06", "0.08"])
    for bad in ("p", "1p=3", "p="):
        with pytest.raises(ValueError, match="NAME=V1,V2"):
            parse_param(bad)


def test_tasks_substitute_and_export_their_parameters(monkeypatch):
    tasks = expand([0, 1], ("none", "auto"), {"p": ["0.1", "0.2"], "n": [100]})
    assert len(tasks) == 8 and len({t.id for t in tasks}) == 8
    task = Task(3, "none", (("p", "0.2"), ("n", "100")))
    assert task.id == "seed0003_uncalibrated_p-0.2_n-100"
    assert task.group == "uncalibrated, p=0.2, n=100"
    assert task.arguments(["--setup", "p_connect={p}", "--n={n}", "{other}"]) == \
        ["--setup", "p_connect=0.2", "--n=100", "{other}"]
    env = task.environment()
    assert env["PYNN_SPARSEHW_PARAM_P"] == "0.2"
    assert json.loads(env["PYNN_SPARSEHW_PARAMS"]) == {"p": "0.2", "n": "100"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert parameter("p", type=float) == 0.2 and parameter("missing", 7) == 7


def test_record_metric():
    sweep_metrics.clear()
    record_metric("accuracy", np.float32(0.5))
    record_metric("per_layer", {"hidden": 3, 1: 2.5})
    assert sweep_metrics.RECORDED == {"accuracy": 0.5, "per_layer": {"hidden": 3.0, "1": 2.5}}
    with pytest.raises(TypeError, match="must be a number"):
        record_metric("name", "high")
    with pytest.raises(ValueError, match="without"):
        record_metric("rate[x]", 1.0)
    sweep_metrics.clear()
    assert sweep_metrics.flatten({"rate": {"a": 1.0}, "e": float("nan"), "m": 3}) == \
        {"rate[a]": 1.0, "m": 3.0}


# --------------------------------------------------------------- criteria
def test_criterion_evaluates_metrics():
    rate = Criterion("rate['exc'] > 5 and rate['exc'] < 20")
    assert rate({"rate": {"exc": 10.0}}) and not rate({"rate": {"exc": 25.0}})
    assert not rate({"rate": {"inh": 10.0}}) and not rate({"energy": 1.0})
    chain = Criterion("5 < rate['exc'] < 20 or abs(accuracy - 1) <= 0.05")
    assert chain({"rate": {"exc": 1.0}, "accuracy": 0.96})
    assert not chain({"rate": {"exc": 1.0}, "accuracy": 0.9})
    assert Criterion("p == '0.1' and max(a, b) > 2")({"a": 1, "b": 3}, {"p": "0.1"})


@pytest.mark.parametrize("expression", [
    "().__class__", "open('x')", "__import__('os')", "len(rate) > 0", "[x for x in rate]",
    "lambda: 1", "rate.keys()", "2 ** 3", "energy <"])
def test_criterion_refuses_what_is_not_arithmetic(expression):
    with pytest.raises(CriterionError, match="criterion"):
        Criterion(expression)


# ---------------------------------------------------------------- yields
def test_wilson_interval_closed_forms():
    z2 = 1.959963984540054 ** 2
    assert wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))
    assert wilson_interval(10, 10) == pytest.approx((10 / (10 + z2), 1.0))
    low, high = wilson_interval(3, 20)
    assert wilson_interval(17, 20) == pytest.approx((1 - high, 1 - low))
    assert low < 3 / 20 < high
    assert wilson_interval(0, 0) == (None, None)


def synthetic_results(rng):
    results = []
    for calibration, group, spread in (("none", "uncalibrated", 8.0),
                                       ("auto", "calibrated", 2.0)):
        for seed in range(40):
            rate = 12.0 + spread * rng.standard_normal()
            results.append(dict(id=f"{seed}-{calibration}", chip_seed=seed,
                                calibration=calibration, params={}, group=group,
                                status="ok", metrics={"rate": {"exc": rate},
                                                      "energy": 1e-6 * (1 + 0.1 * seed)}))
        results.append(dict(id=f"40-{calibration}", chip_seed=40, calibration=calibration,
                            params={}, group=group, status="error", error="boom"))
    return results


def test_summary_statistics_and_yield():
    results = synthetic_results(np.random.default_rng(1))
    summary = summarize(results, "5 < rate['exc'] < 20")
    for name in ("uncalibrated", "calibrated"):
        group = summary["groups"][name]
        rates = np.array([r["metrics"]["rate"]["exc"] for r in results
                          if r["group"] == name and r["status"] == "ok"])
        stats = group["metrics"]["rate[exc]"]
        assert stats["n"] == 40 and stats["mean"] == pytest.approx(rates.mean())
        assert stats["std"] == pytest.approx(rates.std())
        assert stats["p95"] == pytest.approx(np.percentile(rates, 95))
        met = int(np.sum((rates > 5) & (rates < 20)))
        assert group["yield"]["met"] == met and group["yield"]["instances"] == 41
        assert group["yield"]["fraction"] == pytest.approx(met / 41)
        assert group["errors"] == 1
    assert summary["groups"]["calibrated"]["yield"]["fraction"] > \
        summary["groups"]["uncalibrated"]["yield"]["fraction"]
    text = summary_text(summary)
    assert re.search(r"calibrated\s+41 / 41|calibrated\s+\d+ / 41", text)
    assert "tasks that failed to run" in text


def test_yield_page_renders_in_chromium(tmp_path):
    from test_report_html import IMAGE_CHECK, chromium, embedded_pngs, ink, run_chromium
    summary = summarize(synthetic_results(np.random.default_rng(2)), "rate['exc'] > 5")
    page = render_yield_html(summary, "synthetic")
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page
    assert len(embedded_pngs(page)) == 2                  # rate[exc], energy
    assert "<code>rate[&#x27;exc&#x27;] &gt; 5</code>" in page
    browser = chromium()
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", IMAGE_CHECK))
    dom = run_chromium(browser, tmp_path / "profile", "--dump-dom", checked.as_uri())
    marker = re.search(r'id="image-check">images (\d+) decoded (\d+)<', dom.stdout)
    assert marker, f"no image check in the DOM Chromium dumped: {dom.stderr[-2000:]}"
    assert (int(marker.group(1)), int(marker.group(2))) == (2, 2)
    (tmp_path / "page.html").write_text(page)
    shot = tmp_path / "page.png"
    run_chromium(browser, tmp_path / "profile", f"--screenshot={shot}",
                 "--window-size=1000,1200", (tmp_path / "page.html").as_uri())
    from matplotlib.image import imread
    assert ink(imread(shot)) > 0.02, "the screenshot of the yield report is (nearly) blank"


def test_store_refuses_another_sweep(tmp_path):
    tasks = expand([0, 1])
    store = ResultStore(tmp_path, dict(script="a.py", args=[], chip="analog"), tasks)
    store.write(tasks[0], dict(status="ok", metrics={}))
    assert store.done() == {tasks[0].id}
    again = ResultStore(tmp_path, dict(script="a.py", args=[], chip="analog"), tasks)
    assert again.done() == {tasks[0].id}
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["counts"] == {"ok": 1, "missing": 1}
    with pytest.raises(SweepMismatch, match="another chip"):
        ResultStore(tmp_path, dict(script="a.py", args=[], chip="digital"), tasks)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


# ------------------------------------------------------ on a dask cluster
FABRICATED_FAILURES = {0: 5, 1: 9}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A calibration cache of its own (the workers inherit it), holding made-up
    calibrations of analog instances 0 and 1 (trims at their middle codes, 5 and 9
    failed circuits): calibrating for real takes minutes."""
    from pyNN_sparsehw.calibration import CalibrationResult, cache_path
    from pyNN_sparsehw.calibration.routines import DEFAULT_TARGETS
    from pyNN_sparsehw.calibration.runner import default_settings
    from pyNN_sparsehw.chip import load_chip
    folder = tmp_path_factory.mktemp("cache")
    saved = os.environ.get("PYNN_SPARSEHW_CACHE")
    os.environ["PYNN_SPARSEHW_CACHE"] = str(folder)
    chip = load_chip("analog")
    for seed, failed in FABRICATED_FAILURES.items():
        result = CalibrationResult.empty(chip, seed, DEFAULT_TARGETS, default_settings())
        mask = np.ones(result.shape, dtype=bool)
        mask.flat[-failed:] = False
        result.success["made_up"] = mask
        result.save(cache_path(chip, seed))
    yield folder
    if saved is None:
        os.environ.pop("PYNN_SPARSEHW_CACHE")
    else:
        os.environ["PYNN_SPARSEHW_CACHE"] = saved


@pytest.fixture(scope="module")
def client(cache):
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


def task_files(out):
    return sorted(p.name for p in (out / "tasks").iterdir())


def check_index(out, expected_ids):
    """The index lists every task once, with the status of its file."""
    index = json.loads((out / "index.json").read_text())
    assert sorted(entry["id"] for entry in index["tasks"]) == sorted(expected_ids)
    for entry in index["tasks"]:
        stored = json.loads((out / entry["file"]).read_text())
        assert stored["id"] == entry["id"] and stored["status"] == entry["status"]
    assert sorted(task_files(out)) == sorted(f"{i}.json" for i in expected_ids)
    return index


def test_sweep_command_results_and_resume(client, tmp_path, capsys):
    out = tmp_path / "sweep"
    address = client.scheduler.address
    status = cli.main(["sweep", str(SCRIPT), "{amp}", "--chip", "ideal", "--chip-seeds", "0-1",
                       "--param", "amp=1.0,bad", "--criterion", "rate['cells'] > 20",
                       "--scheduler", address, "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    ids = [f"seed000{s}_amp-{a}" for s in (0, 1) for a in ("1.0", "bad")]
    index = check_index(out, ids)
    assert index["counts"] == {"ok": 2, "error": 2}
    good = json.loads((out / "tasks" / "seed0001_amp-1.0.json").read_text())
    assert good["metrics"]["rate"]["cells"] == pytest.approx(lif_rate(1.0))
    assert good["metrics"]["amplitude"] == 1.0 and good["chip"]["seed"] == 1
    assert good["metrics"]["spikes_per_cell"]["first"] == round(lif_rate(1.0) / 10)
    bad = json.loads((out / "tasks" / "seed0000_amp-bad.json").read_text())
    assert "could not convert string to float: 'bad'" in bad["error"]
    assert re.search(r"amp=1.0\s+2 / 2\s+100.00 %", printed)
    assert re.search(r"amp=bad\s+0 / 2\s+0.00 %", printed)
    summary = json.loads((out / "yield.json").read_text())
    assert summary["groups"]["amp=1.0"]["metrics"]["rate[cells]"]["mean"] == \
        pytest.approx(lif_rate(1.0))
    # rate[cells], amplitude, spikes_per_cell[first], memory
    assert (out / "yield.html").read_text().count("data:image/png;base64") == 4
    # resume: the finished tasks are not run again; a lost file and the errors are
    finished = {i: json.loads((out / "tasks" / f"{i}.json").read_text())["finished"]
                for i in ids}
    (out / "tasks" / "seed0000_amp-1.0.json").unlink()
    summary = run_sweep(SCRIPT, ["{amp}"], chip="ideal", chip_seeds=[0, 1],
                        params={"amp": ["1.0", "bad"]}, out=out, scheduler=client,
                        progress=False)
    again = {i: json.loads((out / "tasks" / f"{i}.json").read_text())["finished"]
             for i in ids}
    assert again["seed0001_amp-1.0"] == finished["seed0001_amp-1.0"]
    assert again["seed0000_amp-1.0"] > finished["seed0000_amp-1.0"]
    assert again["seed0000_amp-bad"] > finished["seed0000_amp-bad"]
    assert summary["counts"] == {"ok": 2, "error": 2} and not summary["lost"]
    check_index(out, ids)
    # another criterion, without running anything
    assert cli.main(["sweep", "--report-only", "--out", str(out),
                     "--criterion", "amplitude < 0"]) == 0
    assert re.search(r"amp=1.0\s+0 / 2", capsys.readouterr().out)
    with pytest.raises(SweepMismatch):
        run_sweep(SCRIPT, ["{amp}"], chip="digital", chip_seeds=[0], out=out,
                  scheduler=client)
    # a task that takes too long is killed: an error result, with its output
    slow = run_sweep(SCRIPT, ["1.0"], chip="ideal", chip_seeds=[0], params={"sleep": ["60"]},
                     out=tmp_path / "slow", scheduler=client, timeout=2, progress=False)
    assert slow["counts"] == {"error": 1}
    stored = json.loads((tmp_path / "slow" / "tasks" / "seed0000_sleep-60.json").read_text())
    assert "timed out after 2 s" in stored["error"] and stored["task_seconds"] < 30


def test_sweep_command_on_its_own_local_cluster_of_n_workers(tmp_path, capsys):
    """``--workers 2``: the command starts a LocalCluster of 2 workers itself; both
    run tasks, each task in a process of its own, and every result is there."""
    from pyNN_sparsehw.sweep.isolate import POOL
    out = tmp_path / "workers"
    status = cli.main(["sweep", str(SCRIPT), "1.0", "--chip", "ideal", "--chip-seeds", "0-3",
                       "--param", "sleep=0.3", "--workers", "2", "--out", str(out),
                       "--no-progress"])
    assert status == 0, capsys.readouterr().out
    ids = [f"seed000{s}_sleep-0.3" for s in range(4)]
    index = check_index(out, ids)
    assert index["counts"] == {"ok": 4}
    stored = [json.loads((out / "tasks" / f"{i}.json").read_text()) for i in ids]
    assert len({r["worker"] for r in stored}) == 2
    assert {r["worker_pid"] for r in stored} == {os.getpid()}   # workers: threads of this process
    assert len({r["task_pid"] for r in stored}) == 4
    assert all(r["metrics"]["rate"]["cells"] == pytest.approx(lif_rate(1.0)) for r in stored)
    assert not POOL._all                              # the zygotes ended with the cluster


def test_calibrated_against_uncalibrated_through_the_cache(client, cache, tmp_path, capsys):
    assert cli.main(["calibrate", "--chip-seeds", "0-1", "--scheduler",
                     client.scheduler.address, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    for seed, failed in FABRICATED_FAILURES.items():
        assert re.search(rf"{seed}\s+cached\s+{failed} of 8192", printed), printed
    out = tmp_path / "compare"
    summary = run_sweep(SCRIPT, ["1.0"], chip="analog", chip_seeds=[0, 1],
                        calibrations=("none", "auto"), out=out, scheduler=client,
                        criterion="failed_circuits < 7", progress=False)
    assert summary["counts"] == {"ok": 4}
    groups = summary["groups"]
    assert list(groups) == ["uncalibrated", "calibrated"]
    assert groups["calibrated"]["metrics"]["failed_circuits"]["values"] == [5.0, 9.0]
    assert "failed_circuits" not in groups["uncalibrated"]["metrics"]
    assert groups["calibrated"]["yield"]["met"] == 1
    assert groups["uncalibrated"]["yield"]["met"] == 0      # it has no such metric
    stored = json.loads((out / "tasks" / "seed0001_calibrated.json").read_text())
    assert stored["chip"]["calibration"]["failed_circuits"] == 9


def test_worker_killed_mid_task_loses_and_duplicates_nothing(client, tmp_path):
    import psutil
    out = tmp_path / "killed"
    pids = client.run(os.getpid)
    outcome = {}

    def sweep():
        outcome["summary"] = run_sweep(SCRIPT, ["1.0"], chip="ideal", chip_seeds=range(4),
                                       params={"sleep": ["1.5"]}, out=out, scheduler=client,
                                       progress=False)

    thread = threading.Thread(target=sweep)
    thread.start()
    victim, deadline = None, time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        for address, keys in client.processing().items():
            worker = psutil.Process(pids[address]) if address in pids else None
            # a task is running once its forked child (zygote's child) exists
            if keys and worker and any(len(z.children()) for z in worker.children()):
                victim = (address, pids[address], list(keys),
                          worker.children(recursive=True))
                break
        time.sleep(0.1)
    assert victim, "no task started within 2 minutes"
    address, pid, keys, descendants = victim
    time.sleep(0.3)                                    # in the middle of its 1.5 s sleep
    os.kill(pid, signal.SIGKILL)
    thread.join(300)
    assert not thread.is_alive()
    summary = outcome["summary"]
    ids = [f"seed000{s}_sleep-1.5" for s in range(4)]
    assert summary["counts"] == {"ok": 4} and not summary["lost"]
    check_index(out, ids)
    killed = [i for i in ids if any(key.startswith(i) for key in keys)]
    assert killed, f"the killed worker ran none of the tasks ({keys})"
    for task_id in ids:
        stored = json.loads((out / "tasks" / f"{task_id}.json").read_text())
        assert stored["status"] == "ok"
        assert stored["metrics"]["rate"]["cells"] == pytest.approx(lif_rate(1.0))
        if task_id in killed:
            assert stored["worker_pid"] != pid          # run again elsewhere
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    # the killed worker's zygote and its child did not outlive it
    time.sleep(0.5)
    assert not [p.pid for p in descendants if alive(p)]


def alive(process):
    import psutil
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_training_stages_run_on_a_given_executor(monkeypatch):
    """run_experiment(executor=...) maps the stages (seeds x stages) onto it, e.g. a
    dask cluster's Client.get_executor(); run_stage is replaced by a stand-in here."""
    from concurrent.futures import ThreadPoolExecutor
    from pyNN_sparsehw.training import experiment
    calls = []
    monkeypatch.setattr(experiment, "run_stage", lambda software, stage, chip, seed,
                        progress: calls.append((stage.name, chip, seed, progress)) or
                        (stage.name, seed))

    class Recording(ThreadPoolExecutor):
        mapped = 0

        def map(self, function, *iterables, **kwargs):
            Recording.mapped += 1
            return super().map(function, *iterables, **kwargs)

    with Recording(2) as pool:
        software, ideal, results = experiment.run_experiment(
            chip="digital", chip_seeds=(3, 4), software="trained", executor=pool)
    assert Recording.mapped == 1 and ideal == ("ideal", 0)
    assert results == [("uncalibrated", 3), ("calibrated", 3), ("uncalibrated", 4),
                       ("calibrated", 4)]
    assert sorted(calls)[:2] == [("calibrated", "digital", 3, False),
                                 ("calibrated", "digital", 4, False)]
