"""Backends on real one-epoch trainings of tiny data: the local backend's rows for the same seeds, and kill -9."""

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yolo_alpha.sweep import SweepGrid, read_results, run_sweep
from yolo_alpha.sweep.backends import SweepOptions
from yolo_alpha.sweep_folder import run_folder

pytestmark = pytest.mark.slow
TIMING_KEYS = ("seconds", "run_dir")  # where and how long; every other value must match the local backend's


@pytest.fixture(scope="module")
def same_threads():
    """One CPU thread per run everywhere (what each of 2 workers gets on 2 cores): float sums in the same order."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YOLO_ALPHA_THREADS", "1")
        yield


@pytest.fixture(scope="module")
def grid(tiny_data) -> SweepGrid:
    base = dict(data=str(tiny_data), model="yolov8n.yaml", epochs=1, imgsz=64, batch=8, workers=0, device="cpu",
                deterministic=True, plots=False, optimizer="SGD", verbose=False)  # fmt: skip
    return SweepGrid("tiny", base, {"loss": ("ciou", "alpha_ciou"), "seed": (0,)})


@pytest.fixture(scope="module")
def local_rows(grid, same_threads, tmp_path_factory) -> list[dict]:
    return rows_of(run_sweep(grid, project=tmp_path_factory.mktemp("local")))


def rows_of(results: Path) -> list[dict]:
    """Return the rows of a results file with each run_dir a usable path (rows record it relative to the sweep)."""
    return [{**row, "run_dir": str(run_folder(row, results.parent))} for row in read_results(results)]


def losses(row: dict) -> dict:
    """Return the last epoch's train/val losses from the run's results.csv (Ultralytics' own log)."""
    with open(Path(row["run_dir"]) / "results.csv") as f:
        last = list(csv.DictReader(f))[-1]
    return {k.strip(): float(v) for k, v in last.items() if "loss" in k}


def metrics(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rows]


@pytest.mark.parametrize("backend", ["process", "ray"])
def test_two_workers_give_the_local_rows_for_the_same_seeds(backend, grid, local_rows, tmp_path):
    if backend == "ray":
        pytest.importorskip("ray", reason="the [ray] extra is not installed")
    rows = rows_of(run_sweep(grid, project=tmp_path, options=SweepOptions(backend=backend, workers=2)))
    assert [r["cell_id"] for r in rows] == ["loss-ciou__seed-0", "loss-alpha_ciou__seed-0"]
    assert metrics(rows) == metrics(local_rows)
    # one epoch of tiny data leaves AP at 0: the training losses show that the runs are the same runs
    assert [losses(r) for r in rows] == [losses(r) for r in local_rows] and losses(rows[0]) != losses(rows[1])


DRIVER = """
import json, sys
from yolo_alpha.sweep import SweepGrid, run_sweep
from yolo_alpha.sweep.backends import SweepOptions
a = json.loads(sys.argv[1])
options = SweepOptions(backend=a["backend"], workers=2)
run_sweep(SweepGrid("tiny", a["base"], a["grid"]), a["project"], options=options)
"""


@pytest.mark.parametrize("backend", ["process", "ray"])
def test_a_sweep_killed_with_cells_in_flight_finishes_on_rerun(backend, grid, local_rows, tmp_path):
    """kill -9 of the driver after the first row: the rerun (in this process) trains only what is missing."""
    if backend == "ray":
        pytest.importorskip("ray", reason="the [ray] extra is not installed")
    spec = {"base": grid.base, "grid": {k: list(v) for k, v in grid.grid.items()}, "project": str(tmp_path),
            "backend": backend}  # fmt: skip
    child = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(spec)], stdout=subprocess.DEVNULL)
    results = tmp_path / "tiny" / "results.jsonl"
    try:
        deadline = time.monotonic() + 240
        while not (results.exists() and read_results(results)):
            assert child.poll() is None and time.monotonic() < deadline, "no result row from the driver"
            time.sleep(0.1)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    first = read_results(results)
    run_sweep(grid, project=tmp_path, options=SweepOptions(backend=backend, workers=2))
    rows = read_results(results)
    assert [r["cell_id"] for r in rows] == [c.cell_id for c in grid.cells()]
    assert [r for r in rows if r["cell_id"] in {f["cell_id"] for f in first}] == first  # recorded once, kept
    assert all(r["epochs"] == 1 for r in rows)
