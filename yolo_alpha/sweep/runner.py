"""Run a sweep cell by cell into <project>/<name>/: sweep.yaml, results.jsonl and each cell's Ultralytics run.

Rerunning the same sweep finishes it: finished cells (a row in results.jsonl) are skipped, an interrupted cell resumes
from its last.pt, and results.jsonl is only ever replaced whole, so a kill at any moment loses at most the running cell.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import torch
import yaml

from yolo_alpha import run
from yolo_alpha.metrics import ap_by_threshold
from yolo_alpha.report.tables import load_results
from yolo_alpha.sweep.grid import Cell, SweepError, SweepGrid

DEFAULT_PROJECT = "runs/sweeps"
SPEC_FILE, RESULTS_FILE, LOCK_FILE, RUNS_DIR = "sweep.yaml", "results.jsonl", ".lock", "runs"


class SweepBusyError(RuntimeError):
    """Another process is running the same sweep folder."""


def run_sweep(
    grid: SweepGrid,
    project: str | Path | None = None,
    dry_run: bool = False,
    train: Callable[..., Any] = run.train,
) -> Path:
    """Return the sweep's results.jsonl after training every cell that has no row in it yet.

    `project` defaults to the sweep file's ``project``, else runs/sweeps. With `dry_run`, print each cell's status
    (done / resume / todo) and write nothing. A cell that raises is not recorded; the error propagates after the
    finished cells' rows are safely on disk, and the next run redoes that cell.
    """
    sweep_dir = Path(project or grid.project or DEFAULT_PROJECT).resolve() / grid.name
    results = sweep_dir / RESULTS_FILE
    check_same_grid(sweep_dir, grid)  # before anything is created: a mismatch must not touch the folder
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
        done = {row["cell_id"] for row in rows}
        cells = grid.cells()
        for i, cell in enumerate(cells, 1):
            if cell.cell_id in done:
                print(f"[{i}/{len(cells)}] {cell.cell_id}: done, skipped")
                continue
            print(f"[{i}/{len(cells)}] {cell.cell_id}: {cell_status(cell, sweep_dir, done)}, training")
            try:
                row = train_cell(cell, sweep_dir / RUNS_DIR, train)
            except BaseException:
                print(f"[{i}/{len(cells)}] {cell.cell_id}: failed (not recorded; a rerun redoes it)")
                raise
            rows.append(row)
            write_atomically(results, "".join(json.dumps(r, default=str) + "\n" for r in rows))
            print(f"[{i}/{len(cells)}] {cell.cell_id}: finished, mAP50-95 {row['mAP50-95']:.4f}")
    return results


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
    row.update(ap_by_threshold(trainer.validator.metrics.box.all_ap))
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
    """Raise SweepError when sweep_dir already holds results of a different grid (different base or grid)."""
    spec_file = sweep_dir / SPEC_FILE
    if spec_file.is_file() and yaml.safe_load(spec_file.read_text(encoding="utf-8")) != grid.spec():
        raise SweepError(
            f"results in {sweep_dir} come from a different grid; use another name= or delete the folder "
            f"(its {SPEC_FILE} holds the grid they come from)"
        )


def read_results(path: Path) -> list[dict[str, Any]]:
    """Return the rows of a results.jsonl (none when it does not exist yet); a malformed line is a ValueError.

    The report's reader is used, so the runner and the report accept exactly the same file.
    """
    return load_results(path.parent) if path.is_file() else []


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` by `text` so that a reader, or a kill at any moment, sees the old file or the new, whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # makes the rename itself survive a power cut
    finally:
        os.close(dir_fd)


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
