"""Running tasks on dask.distributed.

:func:`dask_client` connects to a scheduler (any address: a LocalCluster of another
process, a dask-jobqueue cluster on SLURM or PBS, ``dask scheduler`` on a machine of
yours) or starts a :class:`~distributed.LocalCluster` of workers with one thread each
(worker processes, or threads of this process for the sweeps, whose every task runs
in a process of its own). :func:`execute` is what a worker runs: the task in a fresh
child of a zygote of the worker's process (:mod:`.isolate`).

Lost workers: when a worker process dies in the middle of a task, the scheduler gives
the task to another worker (up to ``distributed.scheduler.allowed-failures`` times,
3 by default: then the task fails with ``KilledWorker``); `retries` reruns a task
whose execution raised (its zygote died). A task whose *script* raises is not rerun:
its result is an error, stored like any other.
"""

import contextlib
import logging
import os
import time
import uuid

#: seconds a task may take unless told (None: no limit)
DEFAULT_TIMEOUT = None
#: dask settings of a LocalCluster whose workers are threads of this process and whose
#: tasks run in processes of their own: no profiler sampling the threads every 10 ms,
#: no memory monitor (``memory_limit=0``; the memory is the tasks'), the system monitor
#: every 5 s and the event loop's tick every 1 s instead of 0.5 s and 20 ms. Idle, the
#: cluster then costs 0.06 instead of 0.56 CPU seconds per 15 s (docs/sweeps.rst).
QUIET_THREADS = {"distributed.worker.profile.enabled": False,
                 "distributed.admin.system-monitor.interval": "5s",
                 "distributed.admin.tick.interval": "1s"}


@contextlib.contextmanager
def dask_client(scheduler=None, workers=None, worker_processes=True):
    """A :class:`distributed.Client` for the duration of the context.

    Parameters
    ----------
    scheduler : str, Cluster, Client or None
        Address of a running scheduler (``tcp://host:8786``), a cluster object (e.g.
        dask-jobqueue's ``SLURMCluster``), or a Client to use as it is; None: start a
        LocalCluster (closed at the end).
    workers : int, optional
        Workers of the LocalCluster (one thread each); default: the number of cores
        (``os.cpu_count()``).
    worker_processes : bool
        True: each worker of the LocalCluster is a process of its own (what a function
        that runs in the worker itself needs, e.g. the training stages of
        :func:`pyNN_sparsehw.training.experiment.run_experiment`). False: the workers
        are threads of this process, for tasks that run in a process of their own
        anyway (:func:`execute`): no worker process to start and to import
        pyNN_sparsehw into, which on 2 cores costs as much CPU as a few tasks
        (docs/sweeps.rst); dask's periodic work is slowed down (:data:`QUIET_THREADS`).
        Their zygotes start before the cluster, and end with the context.
    """
    from .isolate import POOL
    workers = int(workers or os.cpu_count() or 1)
    if scheduler is None and workers < 1:
        raise ValueError(f"a local cluster needs at least one worker, not {workers}: "
                         f"give --workers 1 or more")
    if scheduler is None and not worker_processes:
        # the zygotes import PyNN and Brian2 while dask is imported and the cluster starts
        POOL.start(workers)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        POOL.close()
        raise ImportError("sweeps run on dask.distributed, which is not installed: "
                          "pip install 'pyNN_sparsehw[sweep]'") from None
    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    import dask
    quiet = {} if worker_processes else QUIET_THREADS
    unlimited = {} if worker_processes else {"memory_limit": 0}
    try:
        with dask.config.set(quiet), \
                LocalCluster(n_workers=workers, threads_per_worker=1,
                             processes=worker_processes, dashboard_address=None,
                             silence_logs=logging.ERROR, **unlimited) as cluster, \
                Client(cluster) as client:
            yield client
    finally:
        POOL.close()


def execute(kind, spec, timeout=None, calibration=None):
    """Run one task on this worker, isolated (:func:`.isolate.run_isolated`).

    `calibration` is the result of the chip instance's calibration task (``"result"``
    holds the calibration, given to the script), or None. Adds ``worker`` (address),
    ``task_seconds`` (wall time in this function, s) and ``finished`` (Unix time)."""
    from .isolate import run_isolated
    start = time.perf_counter()
    if calibration is not None and calibration.get("status") != "ok":
        result = dict(status="error", error=f"calibration of chip instance "
                                            f"{spec.get('chip_seed')} failed:\n"
                                            f"{calibration.get('error')}")
    else:
        if calibration is not None and calibration.get("result") is not None:
            spec = dict(spec, calibration_result=calibration["result"])
        result = run_isolated(kind, spec, timeout)
    result.update(worker=_worker_address(), task_seconds=time.perf_counter() - start,
                  finished=time.time())
    return result


def _worker_address():
    try:
        from distributed import get_worker
        return get_worker().address
    except ValueError:                                   # not on a worker
        return None


def unique_token():
    """A short random token that keeps the dask keys of two sweeps apart."""
    return uuid.uuid4().hex[:8]
