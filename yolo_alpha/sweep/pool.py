"""What every backend shares: the pool protocol the runner drives, the job a worker runs, and what comes back.

A pool takes cells with ``submit(cell)``, hands back each attempt with ``wait() -> Finished`` and is released with
``close()``; ``slots`` says how many cells it trains at once. This module sits below the backends: the local
:class:`InlinePool` lives here, the process and Ray pools import from here, and only ``backends.make_pool`` knows
them all, so no backend imports another.
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
from typing import Any, Callable, Protocol

from yolo_alpha.settings import THREADS_ENV
from yolo_alpha.sweep.grid import Cell

__all__ = ["THREADS_ENV", "CellJob", "CellPool", "Finished", "InlinePool", "PinnedTrain", "describe", "run_job"]


@dataclass
class Finished:
    """One attempt at one cell: its results row, or why it failed (and, in-process, the exception itself)."""

    cell: Cell
    row: dict[str, Any] | None = None
    error: str = ""  # "RuntimeError: training diverged", or how the worker died
    exception: BaseException | None = field(default=None, repr=False)


class CellPool(Protocol):
    """Where cells train: the runner submits up to ``slots`` cells, waits for each, and closes the pool at the end."""

    slots: int  # cells that may be in flight at once (sys.maxsize: as many as a Ray cluster schedules)

    def submit(self, cell: Cell) -> None:
        """Start (or queue) `cell`; the runner never has more than `slots` cells in flight."""

    def wait(self) -> Finished:
        """Return the next cell in flight to finish or fail."""

    def close(self, kill: bool = False) -> None:
        """Release the workers; with `kill` (an error or Ctrl-C in the runner), stop the cells in flight at once."""


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
