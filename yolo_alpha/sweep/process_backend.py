"""The process backend: cells train in spawned worker processes on this machine, each pinned to one device.

A worker lives for the whole sweep (torch and Ultralytics are imported once per worker, not once per cell) and trains
one cell at a time. A worker that dies (killed, out of memory, a crash in C code) fails only the cell it held and is
replaced by a fresh one; a worker whose driver dies exits at once, so a rerun never shares a run folder with an orphan.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from multiprocessing.connection import Connection, wait
from typing import Any

from yolo_alpha.sweep.grid import Cell, SweepError
from yolo_alpha.sweep.pool import THREADS_ENV, CellJob, Finished, run_job

STOP_TIMEOUT_S = 10  # how long a worker may take to exit after the last cell before it is terminated


def worker_main(conn: Connection, job: CellJob, threads: int | None) -> None:
    """Train the cells received on `conn` until None arrives, sending back ("row", row) or ("error", message)."""
    parent = multiprocessing.parent_process()
    if parent is not None:  # parent.join() returns when the driver is gone, even after a SIGKILL
        threading.Thread(target=lambda: (parent.join(), os._exit(1)), daemon=True, name="exit-with-driver").start()
    if threads:
        os.environ[THREADS_ENV] = str(threads)  # before any trainer exists: it sets torch's threads from it
    conn.send(("started", None))  # the driver tells a worker that cannot even start from a cell that failed
    while (cell := conn.recv()) is not None:
        conn.send(run_job(job, cell))
    # Everything is sent and every file closed: skip the interpreter's teardown of torch and Ultralytics (seconds).
    os._exit(0)


class _Worker:
    """One worker slot: its device, its process (started on demand) and the cell it is training."""

    def __init__(self, job: CellJob, threads: int | None, name: str):
        self.job, self.threads, self.name = job, threads, name
        self.process: Any = None
        self.conn: Connection | None = None
        self.cell: Cell | None = None
        self.started = False

    def send(self, cell: Cell) -> None:
        if self.process is None or not self.process.is_alive():
            self.start()
        try:
            self.conn.send(cell)
        except (BrokenPipeError, ConnectionResetError):  # died while idle: one fresh start, then let it fail
            self.start()
            self.conn.send(cell)
        self.cell = cell

    def start(self) -> None:
        self.stop(kill=True)
        context = multiprocessing.get_context("spawn")  # fork would copy the driver's threads and CUDA state
        self.conn, child_conn = context.Pipe()
        # Not a daemon: Ultralytics' data loaders start processes of their own, which daemons may not.
        self.process = context.Process(target=worker_main, args=(child_conn, self.job, self.threads), name=self.name)
        self.process.start()
        self.started = False
        child_conn.close()  # so that the worker's death reads as end-of-file here

    def collect(self) -> Finished | None:
        """Return the finished cell's result, its failure when the worker died, or None when it has only started."""
        try:
            while self.conn.poll():
                kind, payload = self.conn.recv()
                if kind == "started":
                    self.started = True
                    continue
                cell, self.cell = self.cell, None
                return Finished(cell, row=payload) if kind == "row" else Finished(cell, error=payload)
        except (EOFError, OSError):
            pass
        if self.process.is_alive():
            return None
        self.process.join(timeout=STOP_TIMEOUT_S)
        code, started = self.process.exitcode, self.started
        self.stop(kill=True)
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        if not started:  # every other worker would fail the same way: stop instead of failing each cell in turn
            raise SweepError(
                f"a sweep worker process could not start ({how}); its error is printed above. A script that runs a "
                "sweep with backend=process must do so under `if __name__ == '__main__':` (spawned workers import it)"
            )
        cell, self.cell = self.cell, None
        return Finished(cell, error=f"WorkerDied: the worker process training it ended ({how})")

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if not kill and self.process.is_alive():
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.conn.send(None)  # a second None is harmless: the worker has stopped reading
            self.process.join(timeout=STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.process.kill()  # a cell in flight is not recorded: the rerun resumes it from its last.pt
        self.process.join()
        self.conn.close()
        self.process = self.conn = None


class ProcessPool:
    """Up to `workers` cells at a time, worker i pinned to devices[i % len(devices)] (None: the cell's own device)."""

    def __init__(self, job: CellJob, workers: int, devices: tuple[str | None, ...], threads: int | None):
        self.slots = workers
        self._workers = [
            _Worker(job.on_device(devices[i % len(devices)]), threads, f"sweep-worker-{i}") for i in range(workers)
        ]

    def submit(self, cell: Cell) -> None:
        """Send `cell` to an idle worker (starting its process if needed); at most `slots` cells may be in flight."""
        idle = next((w for w in self._workers if w.cell is None), None)
        if idle is None:
            raise RuntimeError(f"all {self.slots} workers are busy; wait() for one first")
        idle.send(cell)

    def wait(self) -> Finished:
        """Return the next cell to finish, or to fail because its worker died."""
        busy = [w for w in self._workers if w.cell is not None]
        if not busy:
            raise RuntimeError("no cell is in flight")
        while True:
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    finished = worker.collect()
                    if finished is not None:
                        return finished

    def close(self, kill: bool = False) -> None:
        """Stop every worker: idle ones exit when told; with `kill` (an error or Ctrl-C in the driver), at once."""
        for worker in self._workers:
            if worker.process is not None and worker.cell is None and not kill:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    worker.conn.send(None)  # all told first, so that they exit together
        for worker in self._workers:
            worker.stop(kill=kill or worker.cell is not None)
