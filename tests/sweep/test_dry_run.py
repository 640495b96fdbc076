"""A dry run's summary: the counts (done / resume / todo) and the time left, measured or said to be unknown."""

from __future__ import annotations

import pytest

from yolo_alpha.sweep import SweepGrid, SweepOptions
from yolo_alpha.sweep.runner import dry_run_lines

GRID = SweepGrid("s", {"epochs": 300, "imgsz": 640, "data": "VOC.yaml", "model": "yolov5s-anchor.yaml"},
                 {"loss": ("iou", "alpha_iou"), "seed": (0, 1)})  # fmt: skip
IDS = [c.cell_id for c in GRID.cells()]


def summary(tmp_path, rows, options: SweepOptions | None = None) -> list[str]:
    """Return the lines after the per-cell listing."""
    return dry_run_lines(GRID, tmp_path / "s", rows, options or SweepOptions())[len(IDS) :]


def test_the_time_left_is_the_median_measured_cell_time_per_cell_left(tmp_path):
    rows = [{"cell_id": IDS[0], "seconds": 100.0}, {"cell_id": IDS[1], "seconds": 500.0}]
    counts, left, written = summary(tmp_path, rows)
    assert counts == "4 cell(s): 2 done, 0 to resume, 2 to train"
    # 2 cells left x 300 s (the median of 100 and 500) = 600 s
    assert left.startswith("time left: about 10 min one cell at a time (2 cells x 300 s, the median time of the 2 ")
    assert written == f"dry run: nothing written; a run writes its rows to {tmp_path / 's' / 'results.jsonl'}"
    _, parallel, _ = summary(tmp_path, rows, SweepOptions(backend="process", workers=2))
    assert parallel.endswith("; with 2 workers about 5 min")  # 600 s / 2, in minutes from 120 s on


def test_a_cell_with_a_last_pt_counts_as_one_to_resume(tmp_path):
    (tmp_path / "s" / "runs" / IDS[3] / "weights").mkdir(parents=True)
    (tmp_path / "s" / "runs" / IDS[3] / "weights" / "last.pt").write_bytes(b"")
    rows = [{"cell_id": IDS[0], "seconds": 7200.0}]
    counts, left, _ = summary(tmp_path, rows)
    assert counts == "4 cell(s): 1 done, 1 to resume, 2 to train"
    assert left.startswith("time left: about 6.0 h one cell at a time (3 cells x 7200 s")


def test_without_a_finished_cell_there_is_no_estimate_only_what_one_cell_trains(tmp_path):
    _, left, _ = summary(tmp_path, [])
    assert left == (
        "time left: not known, no cell of this folder has finished yet (no measured cell time); one cell trains "
        "300 epochs of yolov5s-anchor.yaml at 640 px on VOC.yaml"
    )


def test_a_finished_sweep_says_so_with_the_time_its_cells_took(tmp_path):
    rows = [{"cell_id": cell_id, "seconds": 90.0} for cell_id in IDS]
    _, left, _ = summary(tmp_path, rows)
    assert left == "nothing left to train (the finished cells took 6 min by their rows' seconds)"


@pytest.mark.parametrize("row", [{"cell_id": IDS[0]}, {"cell_id": "not-a-cell-of-this-grid", "seconds": 5.0}])
def test_rows_without_a_measured_time_of_this_grid_do_not_make_an_estimate(tmp_path, row):
    _, left, _ = summary(tmp_path, [row])
    assert "no measured cell time" in left
