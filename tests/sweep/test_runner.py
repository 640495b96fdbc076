"""run_sweep with a stand-in train() (folder layout, resume rules, atomic results), then once for real on tiny data."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from helpers import FakeTrain

from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.sweep import (
    ResultsFileError,
    SweepBusyError,
    SweepCellsFailed,
    SweepError,
    SweepGrid,
    read_results,
    run_sweep,
)
from yolo_alpha.sweep.runner import sweep_lock

GRID = SweepGrid("s", {"epochs": 2}, {"loss": ("ciou", "alpha_ciou"), "seed": (0, 1)})
IDS = [c.cell_id for c in GRID.cells()]


def test_rows_layout_and_per_cell_run_folders(tmp_path):
    train = FakeTrain()
    results = run_sweep(GRID, project=tmp_path, train=train)
    assert results == tmp_path / "s" / "results.jsonl"
    rows = read_results(results)
    assert [r["cell_id"] for r in rows] == IDS
    assert rows[0]["params"] == {"loss": "ciou", "seed": 0}
    assert rows[0]["mAP50-95"] == pytest.approx(0.5) and rows[0]["AP95"] == pytest.approx(0.5)
    assert rows[0]["epochs"] == 2 and rows[0]["run_dir"] == f"runs/{IDS[0]}"  # relative to the sweep folder
    assert "noise_mean_iou" not in rows[0] and rows[0]["seconds"] >= 0
    assert train.calls[0] == {"epochs": 2, "loss": "ciou", "seed": 0, "project": str(tmp_path / "s" / "runs"),
                              "name": IDS[0], "exist_ok": True}  # fmt: skip
    assert yaml.safe_load((tmp_path / "s" / "sweep.yaml").read_text()) == GRID.spec()


def test_a_rerun_skips_finished_cells(tmp_path):
    run_sweep(GRID, project=tmp_path, train=FakeTrain())
    again = FakeTrain()
    run_sweep(GRID, project=tmp_path, train=again)
    assert again.calls == []
    assert len(read_results(tmp_path / "s" / "results.jsonl")) == 4


def test_an_interrupted_cell_resumes_and_one_without_last_pt_is_redone(tmp_path):
    first = FakeTrain(fail_on=IDS[2])
    with pytest.raises(RuntimeError, match="diverged"):
        run_sweep(GRID, project=tmp_path, train=first)
    runs = tmp_path / "s" / "runs"
    # as if killed mid-training: cell 2 left a last.pt; cell 3 left a run folder with no weights yet
    FakeTrain()(project=str(runs), name=IDS[2])
    (runs / IDS[3]).mkdir()
    (runs / IDS[3] / "stale.txt").write_text("partial")
    second = FakeTrain()
    run_sweep(GRID, project=tmp_path, train=second)
    assert second.calls[0] == {"resume": True, "model": str(runs / IDS[2] / "weights" / "last.pt")}
    assert second.calls[1]["name"] == IDS[3] and not (runs / IDS[3] / "stale.txt").exists()
    assert [r["cell_id"] for r in read_results(tmp_path / "s" / "results.jsonl")] == IDS


def test_a_finished_but_unrecorded_run_is_redone_from_scratch(tmp_path):
    last = tmp_path / "s" / "runs" / IDS[0] / "weights" / "last.pt"
    last.parent.mkdir(parents=True)
    torch.save({"epoch": -1, "train_args": {"epochs": 2}}, last)  # Ultralytics strips a finished run: epoch -1
    train = FakeTrain()
    run_sweep(SweepGrid("s", {"epochs": 2}, {"loss": ("ciou",), "seed": (0,)}), project=tmp_path, train=train)
    assert "resume" not in train.calls[0]


def test_nothing_to_resume_falls_back_to_a_fresh_run(tmp_path):
    grid = SweepGrid("s", {"epochs": 2}, {"loss": ("ciou",), "seed": (0,)})
    FakeTrain()(project=str(tmp_path / "s" / "runs"), name=IDS[0])
    fake = FakeTrain()

    def train(**kw):
        if kw.get("resume"):
            raise AssertionError("last.pt training to 2 epochs is finished, nothing to resume.")
        return fake(**kw)

    run_sweep(grid, project=tmp_path, train=train)
    assert fake.calls[0]["name"] == IDS[0]


def test_a_different_grid_is_refused_saying_what_differs_and_nothing_is_overwritten(tmp_path):
    run_sweep(GRID, project=tmp_path, train=FakeTrain())
    before = {p: p.read_bytes() for p in (tmp_path / "s").iterdir() if p.is_file()}
    other = SweepGrid("s", {"epochs": 3, "imgsz": 64}, {"loss": ("ciou",), "seed": (0, 1)})
    train = FakeTrain()
    with pytest.raises(SweepError) as refused:
        run_sweep(other, project=tmp_path, train=train)
    message = str(refused.value)
    assert message.startswith(
        f"results in {tmp_path / 's'} come from a different grid (4 finished cell(s), its sweep.yaml): "
    )
    for difference in ("base epochs: recorded 2, now 3", "base imgsz: recorded unset, now 64",
                       "grid loss: recorded [ciou, alpha_ciou], now [ciou]"):  # fmt: skip
        assert difference in message
    assert "seed" not in message  # the same in both
    assert "another name= (e.g. name=s_2) or another project=" in message
    assert "delete" not in message and "remove" not in message  # the folder holds finished rows
    assert train.calls == [] and before == {p: p.read_bytes() for p in before}


def test_a_refusal_names_at_most_four_differences_and_counts_the_rest(tmp_path):
    run_sweep(GRID, project=tmp_path, train=FakeTrain())
    keys = {"epochs": 3, "imgsz": 64, "batch": 4, "lr0": 0.1, "lrf": 0.1, "momentum": 0.9}
    with pytest.raises(SweepError, match=r"base lr0: recorded unset, now 0.1; and 2 more difference\(s\)\. To train"):
        run_sweep(SweepGrid("s", keys, dict(GRID.grid)), project=tmp_path, train=FakeTrain())


def test_a_renamed_sweep_folder_is_the_same_grid_and_resumes(tmp_path):
    """The name decides where the results go, not what they are: a moved folder, or a spec under another name."""
    with pytest.raises(RuntimeError, match="diverged"):
        run_sweep(GRID, project=tmp_path, train=FakeTrain(fail_on=IDS[2]))
    (tmp_path / "s").rename(tmp_path / "renamed")  # as `mv runs/sweeps/s runs/sweeps/renamed`
    train = FakeTrain()
    run_sweep(SweepGrid("renamed", GRID.base, dict(GRID.grid)), project=tmp_path, train=train)
    assert [c["name"] for c in train.calls] == IDS[2:]  # the finished cells are kept, the rest trained
    assert [r["cell_id"] for r in read_results(tmp_path / "renamed" / "results.jsonl")] == IDS
    other = SweepGrid("renamed", {"epochs": 3}, dict(GRID.grid))  # a different base is still a different grid
    with pytest.raises(SweepError, match="come from a different grid"):
        run_sweep(other, project=tmp_path, train=FakeTrain())


def test_a_cut_short_results_file_stops_the_sweep_with_the_way_out(tmp_path):
    run_sweep(GRID, project=tmp_path, train=FakeTrain())
    results = tmp_path / "s" / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:3]) + lines[3][:40])  # as if a copy of the file stopped in its last row
    train = FakeTrain()
    with pytest.raises(
        ResultsFileError, match=r"line 4: .*last line and is cut short.*the 3 rows before it are intact"
    ):
        run_sweep(GRID, project=tmp_path, train=train)
    assert train.calls == []
    subprocess.run(["sed", "-i", "4d", str(results)], check=True)  # what the message says to do
    run_sweep(GRID, project=tmp_path, train=train)
    # the sweep redoes only the cell whose row was cut (here from the last.pt its run left)
    assert train.calls == [{"resume": True, "model": str(tmp_path / "s" / "runs" / IDS[3] / "weights" / "last.pt")}]
    assert [r["cell_id"] for r in read_results(results)] == IDS


def test_every_sweep_error_is_a_yolo_alpha_error():
    # `yolo-alpha` catches YoloAlphaError alone; the two runtime failures stay RuntimeErrors for older callers.
    for error in (SweepError, ResultsFileError, SweepBusyError, SweepCellsFailed):
        assert issubclass(error, YoloAlphaError)
    assert issubclass(SweepBusyError, RuntimeError) and issubclass(SweepCellsFailed, RuntimeError)


def test_a_second_process_on_the_same_folder_is_refused(tmp_path):
    (tmp_path / "s").mkdir()
    with sweep_lock(tmp_path / "s"), pytest.raises(SweepBusyError, match="another process is running"):
        run_sweep(GRID, project=tmp_path, train=FakeTrain())


def test_dry_run_lists_status_and_writes_nothing(tmp_path, capsys):
    first = FakeTrain(fail_on=IDS[1])
    with pytest.raises(RuntimeError):
        run_sweep(GRID, project=tmp_path, train=first)
    FakeTrain()(project=str(tmp_path / "s" / "runs"), name=IDS[1])
    before = sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    capsys.readouterr()
    train = FakeTrain()
    run_sweep(GRID, project=tmp_path, dry_run=True, train=train)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines[:4]] == [["done", IDS[0]], ["resume", IDS[1]], ["todo", IDS[2]],
                                                    ["todo", IDS[3]]]  # fmt: skip
    assert lines[4] == "4 cell(s): 1 done, 1 to resume, 2 to train"
    assert train.calls == [] and sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before
    run_sweep(GRID, project=tmp_path / "fresh", dry_run=True, train=train)
    assert not (tmp_path / "fresh").exists()


def test_results_are_replaced_atomically(tmp_path, monkeypatch):
    grid = SweepGrid("s", {}, {"seed": (0, 1)})
    train = FakeTrain()
    real_replace = os.replace

    def replace_then_fail(src, dst):
        if Path(dst).name == "results.jsonl" and Path(dst).exists():
            raise OSError("disk full")  # the second row's write dies before the rename
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    with pytest.raises(OSError, match="disk full"):
        run_sweep(grid, project=tmp_path, train=train)
    results = tmp_path / "s" / "results.jsonl"
    assert [r["cell_id"] for r in read_results(results)] == ["seed-0"]
    assert [p.name for p in (tmp_path / "s").iterdir() if p.name.endswith(".tmp")] == []


def test_a_failing_cell_keeps_the_finished_rows_and_is_redone_next_time(tmp_path):
    with pytest.raises(RuntimeError, match="diverged"):
        run_sweep(GRID, project=tmp_path, train=FakeTrain(fail_on=IDS[1]))
    assert [r["cell_id"] for r in read_results(tmp_path / "s" / "results.jsonl")] == IDS[:1]
    run_sweep(GRID, project=tmp_path, train=FakeTrain())
    assert [r["cell_id"] for r in read_results(tmp_path / "s" / "results.jsonl")] == IDS


@pytest.mark.slow
def test_a_real_sweep_survives_kill_9_and_finishes_on_rerun(tiny_train, tmp_path):
    """Two real one-epoch cells: kill -9 after the first row, rerun in-process, each cell recorded exactly once."""
    base = {k: v for k, v in tiny_train.items() if k not in ("project", "name")}
    grid = SweepGrid("kill", base, {"loss": ("ciou", "alpha_ciou")})
    project = tmp_path / "sweeps"
    code = (
        "import json, sys; from yolo_alpha.sweep.grid import SweepGrid; from yolo_alpha.sweep.runner import run_sweep; "
        "a = json.loads(sys.argv[1]); "
        "run_sweep(SweepGrid('kill', a['base'], {'loss': ('ciou', 'alpha_ciou')}), a['project'])"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps({"base": base, "project": str(project)})],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    results = project / "kill" / "results.jsonl"
    try:
        deadline = time.monotonic() + 120
        while len(read_results(results)) < 1:
            assert child.poll() is None, "the sweep process ended before writing a row"
            assert time.monotonic() < deadline, "no result row within 120 s"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    run_sweep(grid, project=project)  # the lock died with the process; the second cell is (re)done here
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert sorted(r["cell_id"] for r in rows) == ["loss-alpha_ciou", "loss-ciou"]
    assert all(r["epochs"] == 1 and 0 <= r["mAP50-95"] <= 1 for r in rows)
    assert [r["run_dir"] for r in rows] == [f"runs/{r['cell_id']}" for r in rows]  # relative to the sweep folder
    for row in rows:  # args.yaml names no path of this machine: the folder moves
        args = yaml.safe_load((project / "kill" / row["run_dir"] / "args.yaml").read_text())
        assert (args["project"], args["save_dir"], args["data"]) == ("runs", row["run_dir"], base["data"])
        assert args["model"] == base["model"]  # as the cell gave it, not the installed cfg file's path
