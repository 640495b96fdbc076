"""Run a sweep cell by cell into <project>/<name>/: sweep.yaml, results.jsonl and each cell's Ultralytics run.

Rerunning the same sweep finishes it: finished cells (a row in results.jsonl) are skipped, an interrupted cell resumes
from its last.pt, and results.jsonl is only ever replaced whole, so a kill at any moment loses at most the running cell.
The folder holds no machine path of itself (:mod:`~yolo_alpha.sweep.paths`): relative weights paths of a cell name
files in the folder first, rows and args.yaml record paths relative to it, so it resumes wherever it lies.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import statistics
import time
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import torch
import yaml

from yolo_alpha import run
from yolo_alpha.config import merge_settings
from yolo_alpha.environment import numerics_environment
from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.evaluate import evaluate_training
from yolo_alpha.sweep.backends import SweepOptions, check_options, make_pool
from yolo_alpha.sweep.grid import Cell, SweepError, SweepGrid, spec_differences, spec_identity
from yolo_alpha.sweep.paths import resolve_weights, write_portable_args
from yolo_alpha.sweep.pool import CellJob, CellPool
from yolo_alpha.sweep_folder import (
    FAILURES_FILE,
    LOCK_FILE,
    LOGS_DIR,
    RESULTS_FILE,
    RUNS_DIR,
    SPEC_FILE,
    read_results,
    relative_to_sweep,
    write_atomically,
    write_rows,
)

DEFAULT_PROJECT = "runs/sweeps"
MAX_DIFFERENCES = 4  # a refusal of a different grid names this many differences, then counts the rest


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
    (done / resume / todo), the counts and the time left (:func:`dry_run_lines`), and write nothing; the path
    returned is then where a run would write its rows. `options` pick the backend (default: local, in this process)
    and how often a failed cell is tried again. Only this process writes results.jsonl: a row as each cell finishes,
    rows in grid order. A cell that still fails is not recorded (a rerun redoes it) but listed in failures.jsonl; the
    local backend then re-raises its error at once, the parallel backends first finish the other cells, then raise
    SweepCellsFailed.
    """
    options = options or SweepOptions()
    sweep_dir = Path(project or grid.project or DEFAULT_PROJECT).resolve() / grid.name
    results = sweep_dir / RESULTS_FILE
    check_same_grid(sweep_dir, grid)  # before anything is created: a mismatch must not touch the folder
    check_options(options, grid.cells())
    for cell in grid.cells():  # a weights path naming two files, or none, is refused before anything is written
        resolve_weights(cell.settings, sweep_dir, must_exist=not dry_run)
    if dry_run:
        print("\n".join(dry_run_lines(grid, sweep_dir, read_results(results), options)))
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
    """Return the results row of one cell, resuming its run when it stopped mid-training, else training anew.

    `runs_dir` is ``<sweep folder>/runs``: the cell's relative weights are resolved against the sweep folder, and its
    row and args.yaml record paths relative to it (:mod:`~yolo_alpha.sweep.paths`).
    """
    sweep_dir, run_dir = runs_dir.parent, runs_dir / cell.cell_id
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
        settings = resolve_weights(cell.settings, sweep_dir)
        model = train(**settings, project=str(runs_dir), name=cell.cell_id, exist_ok=True)
    trainer = model.trainer
    row: dict[str, Any] = {"cell_id": cell.cell_id, "params": dict(cell.params)}
    row.update(evaluate_training(trainer))  # pycocotools AP and Fig. 2 counts of best.pt, the same for every cell
    noise_mean_iou = getattr(trainer.args, "noise_mean_iou", None)
    if noise_mean_iou is not None:
        row["noise_mean_iou"] = float(noise_mean_iou)
    seconds = round(time.monotonic() - start, 1)
    row.update(epochs=int(trainer.epoch) + 1, run_dir=relative_to_sweep(trainer.save_dir, sweep_dir), seconds=seconds)
    row["environment"] = numerics_environment(getattr(trainer, "device", "cpu"))
    write_portable_args(Path(trainer.save_dir), merge_settings(cell.settings), sweep_dir)
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
    """Raise SweepError, saying what differs, when sweep_dir already holds results of a different grid.

    The name is not part of the comparison: it decides where the results go, not what they are, so a sweep folder
    that was renamed or moved (or a spec written under another name) still resumes. The message never advises
    removing the folder (it may hold hours of finished cells): it names the differing keys and another folder to use.
    """
    spec_file = sweep_dir / SPEC_FILE
    if not spec_file.is_file():
        return
    recorded = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    if spec_identity(recorded) == spec_identity(grid.spec()):
        return
    results = sweep_dir / RESULTS_FILE  # counted, not parsed: a cut-short last line must not hide the mismatch
    lines = results.read_text(encoding="utf-8").splitlines() if results.is_file() else []
    finished = sum(1 for line in lines if line.strip())
    differences = spec_differences(recorded, grid.spec())
    shown = "; ".join(differences[:MAX_DIFFERENCES])
    more = len(differences) - MAX_DIFFERENCES
    raise SweepError(
        f"results in {sweep_dir} come from a different grid ({finished} finished cell(s), its {SPEC_FILE}): {shown}"
        + (f"; and {more} more difference(s)" if more > 0 else "")
        + f". To train this grid, give it a folder of its own: another name= (e.g. name={grid.name}_2) or another "
        f"project=; to resume the folder's own grid, run it with the settings its {SPEC_FILE} records"
    )


def dry_run_lines(grid: SweepGrid, sweep_dir: Path, rows: list[dict[str, Any]], options: SweepOptions) -> list[str]:
    """Return a dry run's listing: each cell's status, the counts, the time left and where a run writes.

    The time left is the cells still to train times the median ``seconds`` of the rows already in the folder, as
    measured where they trained; with no row yet there is no measured cell time, and the listing says what one cell
    trains instead of inventing a number.
    """
    cells, done = grid.cells(), {row["cell_id"] for row in rows}
    status = {cell.cell_id: cell_status(cell, sweep_dir, done) for cell in cells}
    counts = Counter(status.values())
    lines = [f"{status[cell.cell_id]:>6}  {cell.cell_id}" for cell in cells]
    lines.append(
        f"{len(cells)} cell(s): {counts['done']} done, {counts['resume']} to resume, {counts['todo']} to train"
    )
    seconds = [r["seconds"] for r in rows if isinstance(r.get("seconds"), (int, float)) and r["cell_id"] in status]
    left = counts["resume"] + counts["todo"]
    if not left:
        took = f" (the finished cells took {_duration(sum(seconds))} by their rows' seconds)" if seconds else ""
        lines.append(f"nothing left to train{took}")
    elif seconds:
        each = statistics.median(seconds)
        slots = options.slots or 1
        parallel = f"; with {slots} workers about {_duration(left * each / slots)}" if slots > 1 else ""
        lines.append(
            f"time left: about {_duration(left * each)} one cell at a time ({left} cells x {each:.0f} s, the median "
            f"time of the {len(seconds)} finished cell(s) here; a cell to resume counted whole){parallel}"
        )
    else:
        first = merge_settings(next(c for c in cells if status[c.cell_id] != "done").settings)
        lines.append(
            "time left: not known, no cell of this folder has finished yet (no measured cell time); one cell trains "
            f"{first.get('epochs')} epochs of {first.get('model')} at {first.get('imgsz')} px on {first.get('data')}"
        )
    lines.append(f"dry run: nothing written; a run writes its rows to {sweep_dir / RESULTS_FILE}")
    return lines


def _duration(seconds: float) -> str:
    """Return `seconds` as a person reads a wall time: seconds, minutes or hours."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 2 * 3600 else f"{seconds / 3600:.1f} h"


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
