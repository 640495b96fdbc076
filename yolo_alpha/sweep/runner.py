"""Run a sweep cell by cell into <project>/<name>/: sweep.yaml, results.jsonl and each cell's Ultralytics run.

Rerunning the same sweep finishes it: finished cells (a row in results.jsonl) are skipped, an interrupted cell resumes
from its last.pt, and results.jsonl is only ever replaced whole, so a kill at any moment loses at most the running cell.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import time
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import torch
import yaml

from yolo_alpha import run
from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.evaluate import evaluate_training
from yolo_alpha.sweep.backends import SweepOptions, check_options, make_pool
from yolo_alpha.sweep.grid import Cell, SweepError, SweepGrid
from yolo_alpha.sweep.pool import CellJob, CellPool
from yolo_alpha.sweep.results import FAILURES_FILE, RESULTS_FILE, read_results, write_atomically, write_rows

DEFAULT_PROJECT = "runs/sweeps"
SPEC_FILE, LOCK_FILE, RUNS_DIR, LOGS_DIR = "sweep.yaml", ".lock", "runs", "logs"  # LOGS_DIR: parallel runs' output


class SweepBusyError(YoloAlphaError, RuntimeError):
    """Another process is running the same sweep folder (a RuntimeError too, as it was before YoloAlphaError)."""


class SweepCellsFailed(YoloAlphaError, RuntimeError):
    """Cells still failed after their retries; the other cells finished and are recorded (see failures.jsonl)."""


def run_sweep(
    grid: SweepGrid,
    project: str | Path | None = None,
    dry_run: bool = False,
    train: Callable[..., Any] = run.train,
    options: SweepOptions | None = None,
) -> Path:
    """Return the sweep's results.jsonl after training every cell that has no row in it yet.

    `project` defaults to the sweep file's ``project``, else runs/sweeps. With `dry_run`, print each cell's status
    (done / resume / todo) and write nothing. `options` pick the backend (default: local, in this process) and how
    often a failed cell is tried again. Only this process writes results.jsonl: a row as each cell finishes, rows in
    grid order. A cell that still fails is not recorded (a rerun redoes it) but listed in failures.jsonl; the local
    backend then re-raises its error at once, the parallel backends first finish the other cells, then raise
    SweepCellsFailed.
    """
    options = options or SweepOptions()
    sweep_dir = Path(project or grid.project or DEFAULT_PROJECT).resolve() / grid.name
    results = sweep_dir / RESULTS_FILE
    check_same_grid(sweep_dir, grid)  # before anything is created: a mismatch must not touch the folder
    check_options(options, grid.cells())
    if dry_run:
        done = {row["cell_id"] for row in read_results(results)}
        for cell in grid.cells():
            print(f"{cell_status(cell, sweep_dir, done):>6}  {cell.cell_id}")
        return results
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with sweep_lock(sweep_dir):
        check_same_grid(sweep_dir, grid)  # another process may have written it while this one waited to start
        if not (sweep_dir / SPEC_FILE).exists():
            write_atomically(sweep_dir / SPEC_FILE, yaml.safe_dump(grid.spec(), sort_keys=False))
        rows = read_results(results)
        cells = grid.cells()
        logs_dir = None if options.backend == "local" else sweep_dir / LOGS_DIR  # parallel output would interleave
        job = CellJob(train_cell, sweep_dir / RUNS_DIR, train, logs_dir)
        failures = _train_cells(make_pool(options, job, cells), cells, rows, sweep_dir, options)
        if failures:
            raise SweepCellsFailed(
                f"{len(failures)} cell(s) failed after {options.retries + 1} attempt(s) each and are not recorded: "
                f"{', '.join(f['cell_id'] for f in failures)}; see {sweep_dir / FAILURES_FILE}"
                + (f" and the logs in {logs_dir}" if logs_dir else "")
                + "; rerun the same command to retry them"
            )
        with contextlib.suppress(FileNotFoundError):
            (sweep_dir / FAILURES_FILE).unlink()  # every cell is recorded now: an old list would mislead
    return results


def _train_cells(
    pool: CellPool, cells: list[Cell], rows: list[dict[str, Any]], sweep_dir: Path, options: SweepOptions
) -> list[dict[str, Any]]:
    """Return the cells that failed after their retries, having trained on `pool` every cell without a row.

    Each finished row is written at once (the whole file, atomically, in grid order), so a kill of this process
    loses only the cells in flight.
    """
    position = {cell.cell_id: i for i, cell in enumerate(cells)}
    done = {row["cell_id"] for row in rows}

    def say(cell: Cell, what: str) -> None:
        print(f"[{position[cell.cell_id] + 1}/{len(cells)}] {cell.cell_id}: {what}")

    for cell in cells:
        if cell.cell_id in done:
            say(cell, "done, skipped")
    queue, attempts = deque(c for c in cells if c.cell_id not in done), Counter[str]()
    failures: list[dict[str, Any]] = []
    in_flight = 0
    try:
        while queue or in_flight:
            while queue and in_flight < pool.slots:
                cell = queue.popleft()
                attempts[cell.cell_id] += 1
                again = f" (attempt {attempts[cell.cell_id]})" if attempts[cell.cell_id] > 1 else ""
                say(cell, f"{cell_status(cell, sweep_dir, done)}, training{again}")
                pool.submit(cell)
                in_flight += 1
            finished, in_flight = pool.wait(), in_flight - 1
            cell, tries = finished.cell, attempts[finished.cell.cell_id]
            if finished.row is not None:
                rows.append(finished.row)
                rows.sort(key=lambda r: position.get(r["cell_id"], len(cells)))  # stable: grid order, then file order
                write_rows(sweep_dir / RESULTS_FILE, rows)
                say(cell, f"finished, mAP50-95 {finished.row['mAP50-95']:.4f}")
            elif tries <= options.retries:
                say(cell, f"failed ({finished.error}); trying again")
                queue.appendleft(cell)  # first in line, so rows keep arriving roughly in grid order
            else:
                say(cell, f"failed after {tries} attempt(s): {finished.error} (not recorded; a rerun redoes it)")
                log = None if options.backend == "local" else str(sweep_dir / LOGS_DIR / f"{cell.cell_id}.log")
                failures.append(
                    {
                        "cell_id": cell.cell_id,
                        "params": dict(cell.params),
                        "attempts": tries,
                        "error": finished.error,
                        "log": log,
                    }
                )
                failures.sort(key=lambda f: position[f["cell_id"]])
                write_rows(sweep_dir / FAILURES_FILE, failures)
                if finished.exception is not None:  # the local backend: its error, traceback and all, stops the sweep
                    raise finished.exception
    except BaseException:
        if in_flight:
            print(f"stopped with {in_flight} cell(s) in flight: not recorded; a rerun resumes them")
        pool.close(kill=True)
        raise
    pool.close()
    return failures


def cell_status(cell: Cell, sweep_dir: Path, done: set[str]) -> str:
    """Return 'done' (a results row), 'resume' (its run has a last.pt) or 'todo'."""
    if cell.cell_id in done:
        return "done"
    return "resume" if (sweep_dir / RUNS_DIR / cell.cell_id / "weights" / "last.pt").is_file() else "todo"


def train_cell(cell: Cell, runs_dir: Path, train: Callable[..., Any]) -> dict[str, Any]:
    """Return the results row of one cell, resuming its run when it stopped mid-training, else training anew."""
    run_dir = runs_dir / cell.cell_id
    last = run_dir / "weights" / "last.pt"
    start = time.monotonic()
    model = None
    if last.is_file() and _can_resume(last):
        try:
            model = train(resume=True, model=str(last))
        except AssertionError as e:
            if "nothing to resume" not in str(e):
                raise
    if model is None:
        # The run folder lies inside the sweep's own folder: removing a half-made or finished-but-unrecorded run
        # loses nothing of the user's, and a fresh run is simpler to trust than a repaired one.
        shutil.rmtree(run_dir, ignore_errors=True)
        model = train(**cell.settings, project=str(runs_dir), name=cell.cell_id, exist_ok=True)
    trainer = model.trainer
    row: dict[str, Any] = {"cell_id": cell.cell_id, "params": dict(cell.params)}
    row.update(evaluate_training(trainer))  # pycocotools AP and Fig. 2 counts of best.pt, the same for every cell
    noise_mean_iou = getattr(trainer.args, "noise_mean_iou", None)
    if noise_mean_iou is not None:
        row["noise_mean_iou"] = float(noise_mean_iou)
    row.update(epochs=int(trainer.epoch) + 1, run_dir=str(trainer.save_dir), seconds=round(time.monotonic() - start, 1))
    return row


def _can_resume(last: Path) -> bool:
    # Ultralytics strips a finished run's last.pt (epoch -1); such a run cannot resume, and its upstream error
    # (a data set error, not "nothing to resume") would hide that, so it is recognised here instead.
    try:
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
    except Exception:  # a last.pt cut short by the kill: nothing to resume from
        return False
    if not isinstance(ckpt, dict):
        return True  # not an Ultralytics checkpoint (a test's stand-in): let train() decide
    epochs = (ckpt.get("train_args") or {}).get("epochs")
    return ckpt.get("epoch", -1) >= 0 and (epochs is None or ckpt["epoch"] + 1 < epochs)


def check_same_grid(sweep_dir: Path, grid: SweepGrid) -> None:
    """Raise SweepError when sweep_dir already holds results of a different grid (different base or grid).

    The name is not part of the comparison: it decides where the results go, not what they are, so a sweep folder
    that was renamed or moved (or a spec written under another name) still resumes.
    """
    spec_file = sweep_dir / SPEC_FILE
    if not spec_file.is_file():
        return
    recorded = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    if _identity(recorded) != _identity(grid.spec()):
        raise SweepError(
            f"results in {sweep_dir} come from a different grid; use another name= or delete the folder "
            f"(its {SPEC_FILE} holds the grid they come from)"
        )


def _identity(spec: Any) -> Any:
    """Return what decides a sweep's results: its spec without the name (anything that is not a spec, as it is)."""
    return {k: v for k, v in spec.items() if k != "name"} if isinstance(spec, dict) else spec


@contextlib.contextmanager
def sweep_lock(sweep_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the sweep folder; SweepBusyError at once when another process holds it."""
    with open(sweep_dir / LOCK_FILE, "a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise SweepBusyError(
                f"another process is running the sweep in {sweep_dir}; wait for it to finish (the lock is released "
                "when that process exits, even if it is killed)"
            ) from e
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
