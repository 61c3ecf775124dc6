"""run_sweep: one unchanged PyNN script on many chip instances, in parallel, with a
yield report; run_calibrations: fill the calibration cache in parallel."""

import os
from pathlib import Path

from ..calibration import needs_calibration
from ..chip import load_chip
from .executor import dask_client, execute, unique_token
from .grid import NOT_CALIBRATED, expand
from .html import render_yield_html
from .store import ResultStore, load_results, write_json
from .yields import summarize, summary_text

#: files of the yield report in the results folder
REPORT_FILES = {"text": "yield.txt", "json": "yield.json", "html": "yield.html"}


def run_sweep(script, args=(), chip="analog", chip_seeds=range(4), params=None,
              calibrations=("auto",), criterion=None, out="results/sweep", scheduler=None,
              workers=None, retries=2, timeout=None, progress=None):
    """Run `script` once per chip instance x calibration x parameter point, each in
    its own process on dask.distributed, and write the results and the yield report.

    Parameters
    ----------
    script : str or path
        An unchanged PyNN script (it runs as with ``sparsehw run``, see
        :mod:`pyNN_sparsehw.cli.scripts`). Workers on other machines need it at the
        same path.
    args : sequence of str
        The script's arguments; ``{NAME}`` is replaced by the value of the swept
        parameter NAME (:mod:`pyNN_sparsehw.sweep.grid`).
    chip : str
        Chip model (name or TOML file).
    chip_seeds : iterable of int
        The chip instances.
    params : dict, optional
        Swept parameters: name -> list of values (the grid is their product).
    calibrations : sequence of str
        "auto" (calibrated: each instance is calibrated once, as a task of its own,
        or read from the calibration cache), "none" (uncalibrated) or the path of a
        saved result. ``("none", "auto")`` compares both. Ignored on chips with
        nothing to calibrate (ideal, digital).
    criterion : str, optional
        Pass/fail expression for the yield (:mod:`.criterion`).
    out : str or path
        Results folder (:mod:`.store`); running again with the same folder resumes.
    scheduler : str, Cluster or distributed.Client, optional
        Address of a dask scheduler, a cluster object (dask-jobqueue's
        ``SLURMCluster``...) or a Client; default: a LocalCluster of `workers`
        workers, threads of this process (every task runs in a process of its own:
        :func:`.executor.dask_client`).
    workers : int, optional
        Workers of the LocalCluster, i.e. tasks run at once (default: the number of
        cores).
    retries : int
        Times a task whose execution raised is resubmitted (a lost worker is handled
        by the scheduler, see :mod:`.executor`).
    timeout : float, optional
        Seconds a task may take (then it is killed: an error result).
    progress : bool, optional
        Progress bar (tqdm); default: on a terminal only.

    Returns
    -------
    dict
        The yield summary (:func:`.yields.summarize`), with ``files`` (the report
        files), ``counts`` (tasks per status) and ``lost`` (ids of tasks that got no
        result; run again to retry them).
    """
    from tqdm.auto import tqdm
    script = str(Path(script).resolve())
    if not os.path.isfile(script):
        raise FileNotFoundError(f"no PyNN script at {script}")
    chip_model = load_chip(chip)
    calibrations = [c if c in ("auto", "none") else os.path.abspath(c) for c in calibrations]
    if not needs_calibration(chip_model):
        calibrations = (NOT_CALIBRATED,)
    tasks = expand(list(chip_seeds), calibrations, params)
    spec = dict(script=script, args=list(args), chip=str(chip), chip_hash=chip_model.hash,
                chip_seeds=sorted({t.chip_seed for t in tasks}),
                calibrations=list(calibrations), params=dict(params or {}),
                criterion=criterion)
    store = ResultStore(out, spec, tasks)
    done = store.done()
    todo = [task for task in tasks if task.id not in done]
    lost = {}
    if todo:
        with dask_client(scheduler, workers, worker_processes=False) as client:
            token = unique_token()
            calibration = {}
            if needs_calibration(chip_model):
                for seed in sorted({t.chip_seed for t in todo if t.calibration == "auto"}):
                    calibration[seed] = client.submit(
                        execute, "calibrate", dict(chip=str(chip), chip_seed=seed,
                                                   return_result=True),
                        timeout, key=f"calibrate-seed{seed}-{token}", retries=retries)
            futures = {}
            for task in todo:
                task_spec = dict(script=script, args=task.arguments(args), chip=str(chip),
                                 chip_seed=task.chip_seed,
                                 calibration=None if task.calibration == NOT_CALIBRATED
                                 else task.calibration,
                                 env=task.environment())
                future = client.submit(execute, "script", task_spec, timeout,
                                       calibration.get(task.chip_seed)
                                       if task.calibration == "auto" else None,
                                       key=f"{task.id}-{token}", retries=retries)
                futures[future] = task
            from distributed import as_completed
            with tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="task",
                      desc="sweep", disable=None if progress is None else not progress) as bar:
                for future in as_completed(futures):
                    task = futures[future]
                    try:
                        result = future.result()
                    except Exception as error:       # KilledWorker, lost connection...
                        lost[task.id] = f"{type(error).__name__}: {error}"
                    else:
                        store.write(task, result)
                    bar.update()
    store.write_index()
    summary = write_yield_report(out, criterion)
    summary["counts"] = dict(_counts(store.status))
    summary["lost"] = lost
    return summary


def _counts(status):
    counts = {}
    for value in status.values():
        counts[value or "missing"] = counts.get(value or "missing", 0) + 1
    return counts


def write_yield_report(out, criterion=None):
    """Summarize the results in folder `out` (criterion: the given one, else the
    sweep's) and write yield.txt, yield.json and yield.html there. Returns the
    summary with ``files``."""
    out = Path(out)
    spec, results = load_results(out)
    summary = summarize(results, criterion if criterion is not None else spec.get("criterion"))
    title = f"{Path(spec['script']).name} on chip {spec['chip']}"
    files = {kind: out / name for kind, name in REPORT_FILES.items()}
    text = f"{title}\n\n{summary_text(summary)}\n"
    files["text"].write_text(text)
    write_json(files["json"], dict(spec=spec, **summary))
    files["html"].write_text(render_yield_html(summary, title), encoding="utf-8")
    return dict(summary, files={k: str(v) for k, v in files.items()}, text=text)


def run_calibrations(chip, chip_seeds, scheduler=None, workers=None, force=False,
                     retries=2, timeout=None, progress=None):
    """Calibrate chip instances `chip_seeds` in parallel (or read them from the cache;
    `force`: calibrate anew), each in its own process; the results go to the
    calibration cache. Returns ``{seed: result dict}`` (see
    :func:`.task.run_calibration_task`; ``status`` "lost" when the task got no
    result)."""
    from distributed import as_completed
    from tqdm.auto import tqdm
    seeds = list(dict.fromkeys(int(s) for s in chip_seeds))
    results = {}
    with dask_client(scheduler, workers, worker_processes=False) as client:
        token = unique_token()
        futures = {client.submit(execute, "calibrate",
                                 dict(chip=str(chip), chip_seed=seed, force=bool(force)),
                                 timeout, key=f"calibrate-seed{seed}-{token}",
                                 retries=retries): seed for seed in seeds}
        with tqdm(total=len(seeds), unit="chip", desc="calibrating",
                  disable=None if progress is None else not progress) as bar:
            for future in as_completed(futures):
                try:
                    results[futures[future]] = future.result()
                except Exception as error:
                    results[futures[future]] = dict(status="lost", error=repr(error))
                bar.update()
    return {seed: results[seed] for seed in seeds}


