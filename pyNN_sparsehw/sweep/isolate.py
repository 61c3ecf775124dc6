"""Every task in a fresh process, without paying for the imports every time.

PyNN and Brian2 keep global state (the simulator state, Brian2's magic network and
preferences, a script's module-level objects), so two tasks must never share a
process. Starting a new interpreter per task would pay for importing PyNN, Brian2,
neo and scipy every time (~2-4 s on the 2-core machine of docs/sweeps.rst). Instead,
each dask worker (one thread) has one *zygote* (:data:`POOL`, the zygotes of the
worker's process, whose workers may be threads): a plain Python process (``python -m
pyNN_sparsehw.sweep.isolate``, one thread) that imports all of that once
(:data:`PRELOAD`) and then forks one child per task. The child starts from the
zygote's pristine state (nothing set up, nothing run), runs the task with its output
sent to a log file, writes its result as JSON and exits; whatever global state the
task made dies with it. The zygote talks to the worker by JSON lines on its stdin and
stdout. Its objects are frozen out of garbage collection (:func:`gc.freeze`) before the
first fork, so that the children share its memory instead of copying it.

A child's parent is the zygote and the zygote's is the worker's process: when that
process dies (killed, or its machine lost), the zygote sees that it was re-parented,
kills the running child and exits, and dask runs the task again on another worker.
POSIX only (``os.fork``).
"""

import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from .store import read_json, write_json

#: modules the zygote imports once, before any fork
PRELOAD = ("pyNN.sparsehw", "pyNN.utility", "brian2", "pyNN_sparsehw.sweep.task",
           "pyNN_sparsehw.calibration")
#: task kinds and the functions (of :mod:`.task`) that run them
FUNCTIONS = {"script": "run_script_task", "calibrate": "run_calibration_task"}
#: one task = one core: numerical libraries in the zygote use one thread
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: seconds between the zygote's checks of its parent and of the timeout while a child
#: runs (its end wakes the zygote at once); POLL_S where Linux's pidfd_open is missing
WATCH_S = 0.2
POLL_S = 0.01
#: seconds a closing zygote may take to finish its task before it is killed
CLOSE_WAIT_S = 2.0
LOG_TAIL = 4000


class ZygoteLost(RuntimeError):
    """The zygote process died (the worker then starts a new one)."""


class Zygote:
    """A zygote process and the pipe to it (used by one thread, one task at a time)."""

    def __init__(self):
        env = {**SINGLE_THREAD, **os.environ}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pyNN_sparsehw.sweep.isolate"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=env, text=True, bufsize=1)
        self.ready = False

    def wait_ready(self):
        """Wait until the zygote has imported :data:`PRELOAD` (at once if it has)."""
        if self.ready:
            return
        said = self.process.stdout.readline()
        if said.strip() != "ready":
            self.close()
            raise ZygoteLost(f"the task zygote did not start (said {said!r}); run "
                             f"`{sys.executable} -m pyNN_sparsehw.sweep.isolate` to see why")
        self.ready = True

    def alive(self):
        return self.process.poll() is None

    def run(self, kind, spec, timeout=None):
        """Run task `kind` (:data:`FUNCTIONS`) with `spec` in a forked child; its
        result dict, with ``log`` (the end of its output) when it did not succeed."""
        with tempfile.TemporaryDirectory(prefix="sparsehw-task-") as folder:
            request = dict(kind=kind, spec=spec, timeout=timeout,
                           result=os.path.join(folder, "result.json"),
                           log=os.path.join(folder, "output.log"))
            try:
                self.process.stdin.write(json.dumps(request) + "\n")
                self.process.stdin.flush()
                line = self.process.stdout.readline()
            except (BrokenPipeError, OSError) as error:
                raise ZygoteLost(f"the task zygote died: {error}") from None
            if not line:
                raise ZygoteLost(f"the task zygote died (exit status {self.process.wait()})")
            reply = json.loads(line)
            result = read_json(request["result"])
            if result is None:
                reason = (f"timed out after {timeout} s" if reply.get("timed_out") else
                          f"its process ended with status {reply.get('exit')} without a "
                          f"result")
                result = dict(status="error", error=f"task {kind}: {reason}")
            if result.get("status") != "ok":
                result["log"] = _tail(request["log"])
            return result

    def tell_to_leave(self):
        """Close the zygote's stdin: it leaves once its task, if any, is done."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()

    def close(self, wait_s=CLOSE_WAIT_S):
        """End the zygote: it leaves when its stdin closes; one still busy with a task
        after `wait_s` seconds is killed with that task's child."""
        if self.process.poll() is None:
            self.tell_to_leave()
            try:
                self.process.wait(wait_s)
            except subprocess.TimeoutExpired:
                import psutil                             # a dependency of distributed
                with contextlib.suppress(psutil.NoSuchProcess):
                    for child in psutil.Process(self.process.pid).children():
                        child.kill()
                self.process.kill()
                self.process.wait()


class ZygotePool:
    """The zygotes of this process: a task takes an idle one (or starts one) and gives
    it back when done, so that a worker with several threads, or several workers
    that are threads of one process (:func:`.executor.dask_client` with
    ``worker_processes=False``), each have one, and :meth:`close` ends them all."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle = []
        self._all = []

    def start(self, count):
        """Start `count` zygotes without waiting for their imports (e.g. while the
        cluster starts); tasks take them when they are ready."""
        zygotes = [Zygote() for _ in range(count)]
        with self._lock:
            self._all += zygotes
            self._idle += zygotes

    def take(self):
        """An idle live zygote, or a new one, ready; and the seconds this waited for
        its start (None when it was ready)."""
        zygote = None
        with self._lock:
            while self._idle and zygote is None:
                zygote = self._idle.pop()
                if not zygote.alive():
                    self._all.remove(zygote)
                    zygote = None
        if zygote is not None and zygote.ready:
            return zygote, None
        start = time.perf_counter()
        if zygote is None:
            zygote = Zygote()
            with self._lock:
                self._all.append(zygote)
        try:
            zygote.wait_ready()
        except ZygoteLost:
            self.discard(zygote)
            raise
        return zygote, time.perf_counter() - start

    def give_back(self, zygote):
        with self._lock:
            self._idle.append(zygote)

    def discard(self, zygote):
        with self._lock:
            if zygote in self._all:
                self._all.remove(zygote)

    def close(self):
        """End every zygote of this pool (their running children too)."""
        with self._lock:
            zygotes, self._all, self._idle = self._all, [], []
        for zygote in zygotes:                    # all told first, then waited for
            zygote.tell_to_leave()
        for zygote in zygotes:
            zygote.close()


#: the zygotes of this process
POOL = ZygotePool()


def run_isolated(kind, spec, timeout=None):
    """Run a task in a fresh child of one of this process's zygotes (:data:`POOL`;
    one per task running at once, started on first use, replaced if it died). Adds
    ``worker_pid`` (this process) to the result, and ``zygote_start_s`` (s) when this
    task had to start its zygote; the child adds ``task_pid`` (its own process) and
    ``task_cpu_s`` (the CPU time it used, s)."""
    zygote, started = POOL.take()
    try:
        result = zygote.run(kind, spec, timeout)
    except ZygoteLost:
        POOL.discard(zygote)
        raise
    POOL.give_back(zygote)
    result["worker_pid"] = os.getpid()
    if started is not None:
        result["zygote_start_s"] = started
    return result


# --------------------------------------------------------------- the zygote
def main():
    """The zygote: import :data:`PRELOAD`, say "ready", then fork a child for each
    request line until stdin closes or the parent dies."""
    # the protocol gets stdout's pipe to itself; anything else printed goes to stderr
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for name in PRELOAD:
        importlib.import_module(name)
    import gc
    import logging
    logging.getLogger("brian2").setLevel(logging.ERROR)
    # what is alive now stays out of every garbage collection: a collection in a child
    # (Brian2 runs one at every run()) would otherwise write to every object's header
    # and so copy all the zygote's memory pages into the child (copy-on-write)
    gc.collect()
    gc.freeze()
    parent = os.getppid()
    print("ready", file=protocol, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            protocol.close()
            _child(request)                                  # never returns
        reply = _wait(pid, parent, request.get("timeout"))
        if reply is None:
            break                                            # the worker is gone
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()
    os._exit(0)                   # nothing to clean up: skip the interpreter's teardown


def _wait(pid, parent, timeout):
    """Wait for child `pid`; None (child killed) if the zygote's parent died. Sleeps
    until the child ends, waking every :data:`WATCH_S` to check the parent and the
    timeout (every :data:`POLL_S` where Linux's ``pidfd_open`` is missing)."""
    deadline = time.monotonic() + timeout if timeout else None
    try:
        ended = os.pidfd_open(pid)
    except (AttributeError, OSError):
        ended = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return {"exit": os.waitstatus_to_exitcode(status)}
            expired = deadline is not None and time.monotonic() > deadline
            if os.getppid() != parent or expired:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"exit": -signal.SIGKILL, "timed_out": True} if expired else None
            if ended is None:
                time.sleep(POLL_S)
            else:
                select.select([ended], [], [], WATCH_S)
    finally:
        if ended is not None:
            os.close(ended)


def _child(request):
    """In the forked child: output to the log file, run the task, write the result
    atomically, leave without running the zygote's exit handlers."""
    code = 1
    try:
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        from . import task
        try:
            result = getattr(task, FUNCTIONS[request["kind"]])(request["spec"])
        except BaseException:
            result = dict(status="error", error=traceback.format_exc(limit=20))
        times = os.times()
        result.update(task_pid=os.getpid(), task_cpu_s=times.user + times.system)
        write_json(request["result"], result)
        code = 0
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _tail(path):
    try:
        with open(path, errors="replace") as fh:
            return fh.read()[-LOG_TAIL:]
    except OSError:
        return ""


if __name__ == "__main__":
    main()
