"""Where a sweep's cells train: in this process (local), in spawned worker processes (process), or as Ray tasks (ray).

Every backend is a :class:`~yolo_alpha.sweep.pool.CellPool` driven by the runner, which alone writes results.jsonl.
This module holds the backend options and picks the pool; the pools themselves import only :mod:`.pool` (and the
grid's Cell), never this module or each other. The backend options are sweep options, not train keys: they decide how
the cells run, never what they compute, so a sweep can be resumed with another backend.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from yolo_alpha.checks import choice, number
from yolo_alpha.config import merge_settings
from yolo_alpha.sweep.grid import Cell, SweepError
from yolo_alpha.sweep.pool import THREADS_ENV, CellJob, CellPool, InlinePool
from yolo_alpha.sweep.process_backend import ProcessPool
from yolo_alpha.sweep.ray_backend import RayPool, import_ray

BACKENDS = ("local", "process", "ray")
OPTION_KEYS = ("backend", "workers", "devices", "address", "gpus_per_run", "retries")


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
        choice("backend", self.backend, BACKENDS, what="a sweep backend", error=SweepError)
        object.__setattr__(self, "devices", parse_devices(self.devices))
        if self.workers is not None:
            workers = number("workers", self.workers, low=1, integer=True, hint=_WORKERS_HINT, error=SweepError)
            object.__setattr__(self, "workers", workers)
        object.__setattr__(self, "retries", number("retries", self.retries, low=0, integer=True, error=SweepError))
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
        gpus = number("gpus_per_run", self.gpus_per_run, low=0, hint=_GPUS_HINT, error=SweepError)
        if gpus > 1 and gpus != int(gpus):
            raise SweepError(f"gpus_per_run={self.gpus_per_run}: above 1 it must be a whole number of GPUs")

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
_GPUS_HINT = "a fraction shares one GPU between runs"


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


def make_pool(options: SweepOptions, job: CellJob, cells: list[Cell]) -> CellPool:
    """Return the pool of `options.backend` for `job` (Ray itself is imported only for backend=ray)."""
    if options.backend == "local":
        return InlinePool(job)
    devices = worker_devices(options, cells)
    if options.backend == "process":
        return ProcessPool(job, options.slots or 1, devices, options.threads_per_run())
    return RayPool(
        job.on_device(devices[0]),
        slots=options.slots,
        address=options.address,
        gpus_per_run=options.gpus_per_run,
        threads=options.threads_per_run(),
    )
