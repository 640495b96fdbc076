"""The Ray backend: each cell one Ray task, on a local Ray instance or on an existing cluster (address=).

Ray is an optional extra (``pip install 'yolo-alpha[ray]'``), imported only when a sweep asks for backend=ray. Ray's
own task retries are off: the runner retries a failed cell itself, the same way for every backend. On a cluster, the
sweep folder must lie on a file system every node sees (runs write their folders there; a rerun resumes from them).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from yolo_alpha.sweep.grid import Cell, SweepError
from yolo_alpha.sweep.pool import THREADS_ENV, CellJob, Finished, describe, run_job

OBJECT_STORE_BYTES = 128 * 1024**2  # a local instance only ships cells and result rows: keep Ray's memory small


def import_ray() -> Any:
    """Return the ray module, or a SweepError saying which extra to install."""
    try:
        import ray
    except ImportError as e:
        raise SweepError(
            "backend=ray needs Ray, which is not installed: pip install 'yolo-alpha[ray]' (or pip install 'ray>=2.9')"
        ) from e
    return ray


def train_on_ray(job: CellJob, cell: Cell, threads: int | None) -> tuple[str, Any]:
    """Return run_job(job, cell) inside a Ray worker, with this run's CPU threads."""
    if threads:
        os.environ[THREADS_ENV] = str(threads)  # Ray reuses workers: set before each cell's trainer starts
    return run_job(job, cell)


class RayPool:
    """Cells as Ray tasks of 1 CPU and `gpus_per_run` GPUs; Ray schedules them, at most `slots` in flight.

    `address` is an existing cluster's (None: start a local instance of `slots` CPUs, stopped by close()); `slots`
    None means no cap beyond the cluster's resources. Plain values, not the sweep's options: this module sits below
    the options module that picks it.
    """

    def __init__(
        self,
        job: CellJob,
        *,
        slots: int | None,
        address: str | None = None,
        gpus_per_run: float = 0,
        threads: int | None = None,
    ):
        self._ray = ray = import_ray()
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: no usage report at start-up
        self._owns_ray = not ray.is_initialized()  # a caller's own ray.init() (and its cluster) is left alone
        if self._owns_ray:
            quiet = {"log_to_driver": False, "logging_level": logging.WARNING}  # each run logs to its own file
            if address is None:
                ray.init(num_cpus=slots, include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES, **quiet)
            else:
                ray.init(address=address, **quiet)
        self.slots = slots or sys.maxsize
        self._task = ray.remote(train_on_ray).options(num_cpus=1, num_gpus=gpus_per_run, max_retries=0)
        self._job, self._threads = job, threads
        self._running: dict[Any, Cell] = {}

    def submit(self, cell: Cell) -> None:
        """Start `cell` as a Ray task."""
        self._running[self._task.remote(self._job, cell, self._threads)] = cell

    def wait(self) -> Finished:
        """Return the next task to finish; a task whose worker died, or that Ray could not run, is a failure."""
        if not self._running:
            raise RuntimeError("no cell is in flight")
        (ref,), _ = self._ray.wait(list(self._running), num_returns=1)
        cell = self._running.pop(ref)
        try:
            kind, payload = self._ray.get(ref)
        except self._ray.exceptions.RayError as e:
            return Finished(cell, error=describe(e))
        return Finished(cell, row=payload) if kind == "row" else Finished(cell, error=payload)

    def close(self, kill: bool = False) -> None:
        """Cancel the tasks still running (after an error or Ctrl-C) and stop the Ray instance this pool started."""
        if kill:
            for ref in self._running:
                self._ray.cancel(ref, force=True)
        self._running.clear()
        if self._owns_ray:
            self._ray.shutdown()
