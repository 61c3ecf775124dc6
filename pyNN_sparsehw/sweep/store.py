"""The results folder of a sweep: one JSON file per task, an index, the sweep's spec.

::

    OUT/sweep.json          what was swept (script, arguments, chip, settings)
    OUT/tasks/<TASK>.json   the result of one task (:attr:`Task.id`), as it arrived
    OUT/index.json          every task of the sweep, in order (seeds within calibrations
                            within parameter points): its status ("ok", "error" or
                            "missing") and its file; and the count of each status;
                            rewritten at most every INDEX_PERIOD_S and at the end

Every file is written to a temporary file in the same folder and moved into place
with :func:`os.replace`, so a reader (or a sweep interrupted at any instant) sees
either the old file or the new one, never half of one. Only the process that runs the
sweep writes here (workers send their results back through dask), so there is one
writer per folder. A task whose file exists with status "ok" is done: running the
sweep again (resume) skips it.
"""

import json
import time
from pathlib import Path

from ..engine.files import atomic_write_text

TASKS = "tasks"
INDEX = "index.json"
SPEC = "sweep.json"
#: the index is rewritten at most this often while results arrive (s): a sweep of many
#: thousand tasks would otherwise spend its time rewriting it
INDEX_PERIOD_S = 1.0
#: entries of sweep.json that must not change when a sweep is resumed
FIXED = ("script", "args", "chip")


class SweepMismatch(ValueError):
    """The folder holds another sweep."""


def write_json(path, data):
    """Write `data` as JSON to `path` atomically
    (:func:`pyNN_sparsehw.engine.files.atomic_write_text`)."""
    return Path(atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True)))


def read_json(path):
    """The JSON in `path`, or None if it is missing or unreadable."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


class ResultStore:
    """The results folder `out` of a sweep of `tasks` (list of :class:`Task`)
    described by `spec` (dict, JSON-able)."""

    def __init__(self, out, spec, tasks):
        self.out = Path(out)
        self.spec = spec
        self.tasks = {task.id: task for task in tasks}
        previous = read_json(self.out / SPEC)
        if previous is not None:
            changed = [k for k in FIXED if previous.get(k) != spec.get(k)]
            if changed:
                raise SweepMismatch(
                    f"{self.out} holds a sweep with another {', '.join(changed)} "
                    f"({', '.join(f'{k}={previous.get(k)!r}' for k in changed)}): give "
                    f"another --out, or delete the folder to start again")
        write_json(self.out / SPEC, spec)
        (self.out / TASKS).mkdir(parents=True, exist_ok=True)
        #: status of each task's stored result ("ok", "error"), None if it has none
        self.status = {task_id: (self.result(task_id) or {}).get("status")
                       for task_id in self.tasks}
        self._index_written = -INDEX_PERIOD_S

    def path(self, task_id):
        return self.out / TASKS / f"{task_id}.json"

    def result(self, task_id):
        """The stored result of a task, or None."""
        return read_json(self.path(task_id))

    def done(self):
        """Ids of the tasks of this sweep whose stored result has status "ok"."""
        return {task_id for task_id, status in self.status.items() if status == "ok"}

    def write(self, task, result):
        """Store the result of `task`: its file, then the index, unless the index was
        written less than :data:`INDEX_PERIOD_S` ago (call :meth:`write_index` at the
        end). The task files are what counts: the index is rebuilt from them."""
        write_json(self.path(task.id), {**task.as_dict(), **result})
        self.status[task.id] = result.get("status")
        if time.monotonic() - self._index_written >= INDEX_PERIOD_S:
            self.write_index()

    def write_index(self):
        """Rewrite index.json: every task, with the status of its stored result."""
        entries = []
        for task_id, task in self.tasks.items():
            status = self.status[task_id]
            entries.append(dict(task.as_dict(), status=status or "missing",
                                file=f"{TASKS}/{task_id}.json" if status else None))
        counts = {}
        for entry in entries:
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        write_json(self.out / INDEX, dict(tasks=entries, counts=counts))
        self._index_written = time.monotonic()
        return entries


def load_results(out):
    """(spec, [stored result of every task listed in the index, in index order]) of a
    results folder; tasks without a result are left out."""
    out = Path(out)
    spec = read_json(out / SPEC)
    index = read_json(out / INDEX)
    if spec is None or index is None:
        raise FileNotFoundError(f"no sweep results in {out} (no {SPEC} / {INDEX}): run "
                                f"`sparsehw sweep SCRIPT ... --out {out}` first")
    results = []
    for entry in index["tasks"]:
        if entry.get("file"):
            result = read_json(out / entry["file"])
            if result is not None:
                results.append(result)
    return spec, results
