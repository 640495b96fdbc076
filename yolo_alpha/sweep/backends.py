"""Where a sweep's cells train: in this process (local), in spawned worker processes (process), or as Ray tasks (ray).

Every backend is a pool with the same three calls — ``submit(cell)``, ``wait() -> Finished``, ``close()`` — driven by
the runner, which alone writes results.jsonl. The backend options are sweep options, not train keys: they decide how
the cells run, never what they compute, so a sweep can be resumed with another backend.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from yolo_alpha.config import merge_settings
from yolo_alpha.sweep.grid import Cell, SweepError

BACKENDS = ("local", "process", "ray")
OPTION_KEYS = ("backend", "workers", "devices", "address", "gpus_per_run", "retries")
THREADS_ENV = "YOLO_ALPHA_THREADS"  # read by AlphaDetectionTrainer: CPU threads of one training


@dataclass(frozen=True)
class SweepOptions:
    """How a sweep runs its cells; validated on construction (a SweepError names the key and what it allows).

    backend: ``local`` (one cell at a time in this process, stops at the first cell that still fails after its
    retries), ``process`` (``workers`` spawned processes on this machine) or ``ray`` (Ray tasks, on a local Ray
    instance of ``workers`` CPUs or on the cluster at ``address``). ``devices`` pins one GPU per process worker;
    ``gpus_per_run`` is each Ray task's GPU share. ``retries`` is how many more times a failed cell is tried.
    """

    backend: str = "local"
    workers: int | None = None  # None: len(devices) or 1; with address=, no cap beyond the cluster's resources
    devices: tuple[str, ...] = ()
    address: str | None = None
    gpus_per_run: float = 0
    retries: int = 1

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise SweepError(f"backend={self.backend!r} is not a sweep backend; choose one of {', '.join(BACKENDS)}")
        object.__setattr__(self, "devices", parse_devices(self.devices))
        _check_int("workers", self.workers, minimum=1, allow_none=True, hint=_WORKERS_HINT)
        _check_int("retries", self.retries, minimum=0)
        only_for = {  # key: (its backend, given?, what to use instead)
            "devices": ("process", bool(self.devices), "with backend=ray use gpus_per_run="),
            "address": ("ray", self.address is not None, ""),
            "gpus_per_run": ("ray", self.gpus_per_run != 0, "with backend=process use devices=0,1,..."),
        }
        for key, (backend, given, hint) in only_for.items():
            if given and self.backend != backend:
                raise SweepError(
                    f"{key}= is an option of backend={backend}, not {self.backend}" + (hint and f"; {hint}")
                )
        if self.backend == "local" and (self.workers or 1) > 1:
            raise SweepError(f"workers={self.workers} needs backend=process or backend=ray (backend=local trains one "
                             f"cell at a time in this process); {_WORKERS_HINT}")  # fmt: skip
        if self.address is not None and (not isinstance(self.address, str) or not self.address.strip()):
            raise SweepError(f"address={self.address!r}: give a Ray address, e.g. address=auto or address=HOST:6379")
        gpus = self.gpus_per_run
        if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or not 0 <= gpus < float("inf"):
            raise SweepError(f"gpus_per_run={gpus!r}: give a number ≥ 0 (a fraction shares one GPU between runs)")
        if gpus > 1 and gpus != int(gpus):
            raise SweepError(f"gpus_per_run={gpus}: above 1 it must be a whole number of GPUs")

    @property
    def slots(self) -> int | None:
        """Return how many cells may train at once (None: as many as the Ray cluster's resources allow)."""
        if self.backend == "local":
            return 1
        if self.workers is None and self.backend == "ray" and self.address is not None:
            return None
        return self.workers or len(self.devices) or 1

    def threads_per_run(self) -> int | None:
        """Return each run's CPU threads, cores / workers, so parallel runs do not oversubscribe the machine.

        None (the trainer's own choice) for the local backend and for a Ray cluster, whose nodes' cores are unknown
        here; a YOLO_ALPHA_THREADS set by the user wins everywhere.
        """
        if os.environ.get(THREADS_ENV) or self.backend == "local" or self.slots is None:
            return None
        return max(1, (os.cpu_count() or 1) // self.slots)


_WORKERS_HINT = "workers= is the number of cells trained at once; each run's data-loader workers go in the sweep's base"


def _check_int(key: str, value: Any, minimum: int, allow_none: bool = False, hint: str = "") -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SweepError(f"{key}={value!r}: give a whole number ≥ {minimum}" + (f" ({hint})" if hint else ""))


def parse_devices(value: Any) -> tuple[str, ...]:
    """Return GPU indices as strings from ``0``, ``"0,1"``, ``(0, 1)`` or ``[0, 1]``; SweepError naming devices=."""
    if value is None or value == "" or value == ():
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    devices = tuple(str(d).strip() for d in items)
    if any(isinstance(d, bool) for d in items) or not all(d.isdigit() for d in devices):
        raise SweepError(f"devices={value!r}: give GPU indices, e.g. devices=0,1 (one GPU per worker)")
    return devices


def split_sweep_options(settings: dict[str, Any]) -> tuple[SweepOptions, dict[str, Any]]:
    """Return the validated backend options among `settings` (key=value of the sweep verb) and the other keys."""
    rest = dict(settings)
    options = {key: rest.pop(key) for key in OPTION_KEYS if key in rest}
    return SweepOptions(**options), rest


def check_options(options: SweepOptions, cells: list[Cell]) -> None:
    """Raise SweepError when the backend is not installed, or would pin a GPU that a cell chooses itself."""
    if options.backend == "ray":
        from yolo_alpha.sweep.ray_backend import import_ray

        import_ray()
    pinning = "devices=" if options.devices else "gpus_per_run=" if options.gpus_per_run else None
    if pinning and any(_sets_device(cell) for cell in cells):
        raise SweepError(f"{pinning} chooses each run's GPU, but the sweep sets device; drop one of the two")


def _sets_device(cell: Cell) -> bool:
    return "device" in merge_settings(cell.settings, defaults={})  # the cell's own keys and its cfg= file


def worker_devices(options: SweepOptions, cells: list[Cell]) -> tuple[str | None, ...]:
    """Return the device= each worker pins (one entry per device; workers take them round-robin).

    GPU indices from devices=; for Ray tasks with GPUs the first ones Ray made visible; otherwise the CPU, unless a
    cell chooses its device itself (None: the cell's own device key applies).
    """
    if options.devices:
        return options.devices
    if options.gpus_per_run:
        return (",".join(str(i) for i in range(max(1, int(options.gpus_per_run)))),)
    return (None,) if any(_sets_device(cell) for cell in cells) else ("cpu",)


@dataclass
class Finished:
    """One attempt at one cell: its results row, or why it failed (and, in-process, the exception itself)."""

    cell: Cell
    row: dict[str, Any] | None = None
    error: str = ""  # "RuntimeError: training diverged", or how the worker died
    exception: BaseException | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PinnedTrain:
    """A train() that always trains on `device` (resumed runs too: Ultralytics takes device= on resume)."""

    train: Callable[..., Any]
    device: str | None

    def __call__(self, **kwargs: Any) -> Any:
        """Return train(**kwargs) on this device (unchanged when device is None)."""
        return self.train(**kwargs) if self.device is None else self.train(**{**kwargs, "device": self.device})


@dataclass(frozen=True)
class CellJob:
    """What a worker does with a cell: ``train_cell(cell, runs_dir, train)``, its output in ``logs_dir/<cell>.log``.

    Plain picklable data (a module-level function and paths), so it travels to spawned processes and Ray workers.
    """

    train_cell: Callable[[Cell, Path, Callable[..., Any]], dict[str, Any]]
    runs_dir: Path
    train: Callable[..., Any]
    logs_dir: Path | None = None  # None: output stays on this process's terminal

    def on_device(self, device: str | None) -> CellJob:
        """Return this job with every train() call pinned to `device`."""
        return self if device is None else replace(self, train=PinnedTrain(self.train, device))

    def __call__(self, cell: Cell) -> dict[str, Any]:
        """Return the cell's results row; parallel trainings' interleaved output would be unreadable, hence a log."""
        if self.logs_dir is None:
            return self.train_cell(cell, self.runs_dir, self.train)
        with output_to(self.logs_dir / f"{cell.cell_id}.log"):
            where = f"{os.uname().nodename} pid {os.getpid()}"
            print(f"--- {cell.cell_id} on {where}, {time.strftime('%F %T')} ---", flush=True)
            try:
                return self.train_cell(cell, self.runs_dir, self.train)
            except BaseException:
                traceback.print_exc()  # the log keeps the whole traceback; the driver reports one line
                raise


def run_job(job: CellJob, cell: Cell) -> tuple[str, Any]:
    """Return ("row", row) or ("error", "Type: message"): what a worker sends back, plain data that always pickles."""
    try:
        return "row", job(cell)
    except Exception as e:
        return "error", describe(e)


def describe(error: BaseException) -> str:
    """Return ``Type: first line of the message``, short enough for a progress line."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so C code and tqdm too) to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(path, "a", encoding="utf-8") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


class InlinePool:
    """The local backend: each cell trains in this process, one at a time, when its result is waited for."""

    slots = 1

    def __init__(self, job: CellJob):
        self._job = job
        self._todo: deque[Cell] = deque()

    def submit(self, cell: Cell) -> None:
        """Queue `cell`; it trains in the next wait()."""
        self._todo.append(cell)

    def wait(self) -> Finished:
        """Return the next queued cell's result after training it here (Ctrl-C and SystemExit propagate)."""
        cell = self._todo.popleft()
        try:
            return Finished(cell, row=self._job(cell))
        except Exception as e:
            return Finished(cell, error=describe(e), exception=e)

    def close(self, kill: bool = False) -> None:
        """Nothing to release."""


def make_pool(options: SweepOptions, job: CellJob, cells: list[Cell]) -> Any:
    """Return the pool of `options.backend` for `job` (Ray is imported only here, and only for backend=ray)."""
    if options.backend == "local":
        return InlinePool(job)
    devices = worker_devices(options, cells)
    if options.backend == "process":
        from yolo_alpha.sweep.process_backend import ProcessPool

        return ProcessPool(job, options.slots or 1, devices, options.threads_per_run())
    from yolo_alpha.sweep.ray_backend import RayPool

    return RayPool(job.on_device(devices[0]), options, options.threads_per_run())
