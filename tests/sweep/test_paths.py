"""Paths in a sweep folder: relative weights name the folder's files first; rows and args.yaml hold no machine path."""

from pathlib import Path

import pytest
import yaml
from helpers import FakeTrain

from yolo_alpha.sweep import SweepError, SweepGrid, read_results, run_sweep
from yolo_alpha.sweep.paths import portable_args, resolve_weights
from yolo_alpha.sweep_folder import relative_to_sweep, run_folder

WARM = "warm/start.pt"  # as a study names its own weights: relative to its sweep folder
GRID = SweepGrid("s", {"epochs": 1}, {"loss": ("ciou",), "pretrained": (WARM,)})


def touch(path: Path, text: str = "weights") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """Run from a folder that is neither the project nor the sweep folder."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_a_relative_pretrained_is_the_sweep_folders_file_when_the_cell_trains(tmp_path, elsewhere):
    weights = touch(tmp_path / "project" / "s" / WARM)
    train = FakeTrain()
    results = run_sweep(GRID, project=tmp_path / "project", train=train)
    assert train.calls[0]["pretrained"] == str(weights.resolve())
    # what decides the cell is the value as written, not where the folder lies on this machine
    (row,) = read_results(results)
    assert row["cell_id"] == "loss-ciou__pretrained-warm_start.pt" and row["params"]["pretrained"] == WARM
    assert yaml.safe_load((results.parent / "sweep.yaml").read_text())["grid"]["pretrained"] == [WARM]


def test_a_relative_pretrained_of_the_current_folder_trains_as_before(tmp_path, elsewhere):
    touch(elsewhere / "weights" / "mine.pt")
    train = FakeTrain()
    run_sweep(SweepGrid("s", {}, {"pretrained": ("weights/mine.pt",)}), project=tmp_path / "project", train=train)
    assert train.calls[0]["pretrained"] == "weights/mine.pt"  # as given: Ultralytics reads it from here


def test_a_relative_path_naming_two_different_files_is_refused_before_anything_is_written(tmp_path, elsewhere):
    sweep_dir = tmp_path / "project" / "s"
    touch(sweep_dir / WARM, "the study's")
    touch(elsewhere / WARM, "another")
    train = FakeTrain()
    with pytest.raises(SweepError, match=f"pretrained={WARM} names two different files: {sweep_dir / WARM} "):
        run_sweep(GRID, project=tmp_path / "project", train=train)
    with pytest.raises(SweepError, match="names two different files"):
        run_sweep(GRID, project=tmp_path / "project", dry_run=True, train=train)
    assert train.calls == [] and sorted(p.name for p in sweep_dir.iterdir()) == ["warm"]


def test_a_relative_pretrained_naming_no_file_is_refused_before_anything_is_written(tmp_path, elsewhere):
    train = FakeTrain()
    with pytest.raises(SweepError, match=f"pretrained={WARM}: no such weights file, neither in the sweep folder "):
        run_sweep(GRID, project=tmp_path / "project", train=train)
    assert train.calls == [] and not (tmp_path / "project").exists()
    # a dry run lists it: a suite's warm start, say, is trained before its cells
    run_sweep(GRID, project=tmp_path / "project", dry_run=True)


def test_run_from_inside_the_sweep_folder_both_spellings_are_one_file(tmp_path, monkeypatch):
    sweep_dir = tmp_path / "project" / "s"
    touch(sweep_dir / WARM)
    monkeypatch.chdir(sweep_dir)
    assert resolve_weights({"pretrained": WARM}, sweep_dir) == {"pretrained": str((sweep_dir / WARM).resolve())}


def test_only_relative_weights_paths_of_pretrained_and_model_are_resolved(tmp_path, elsewhere):
    sweep_dir = tmp_path / "s"
    touch(sweep_dir / "runs" / "a" / "weights" / "last.pt")
    touch(sweep_dir / "up.pt")
    settings = {"model": "runs/a/weights/last.pt", "pretrained": True, "data": "up.pt", "cfg": "x.yaml"}
    last = (sweep_dir / "runs/a/weights/last.pt").resolve()
    assert resolve_weights(settings, sweep_dir) == {**settings, "model": str(last)}
    # a file one folder up, spelt plainly; an absolute path and a model YAML as they are
    up = str((sweep_dir / "up.pt").resolve())
    assert resolve_weights({"pretrained": "../up.pt"}, sweep_dir / "runs") == {"pretrained": up}
    absolute = {"pretrained": str(sweep_dir / "up.pt"), "model": "yolov5nu.yaml"}
    assert resolve_weights(absolute, sweep_dir) == absolute


def test_portable_args_hold_no_machine_path():
    sweep = Path("/machine/study/s")
    args = {
        "model": "/machine/site-packages/cfg/models/yolov5nu.yaml",  # the installed cfg file of a name
        "data": "/home/me/.cache/yolo-alpha/synthetic-1/data.yaml",  # the cache's data.yaml of "synthetic"
        "project": "/machine/study/s/runs",
        "name": "c",
        "save_dir": "/machine/study/s/runs/c",
        "pretrained": "/machine/study/s/warm/start.pt",  # a resolved weights path inside the folder
        "resume": False,
        "imgsz": 64,
        "mine": "/data/mine.pt",  # an absolute path the cell gave: kept
    }
    given = {"model": "yolov5nu.yaml", "data": "synthetic", "pretrained": WARM, "mine": "/data/mine.pt", "imgsz": 64}
    assert portable_args(args, given, sweep) == {
        **args,
        "model": "yolov5nu.yaml",
        "data": "synthetic",
        "project": "runs",
        "save_dir": "runs/c",
        "pretrained": WARM,
    }


class ArgsWritingTrain(FakeTrain):
    """FakeTrain that also writes args.yaml as Ultralytics does: absolute paths of this machine."""

    def __call__(self, **kw):
        model = super().__call__(**kw)
        save_dir = model.trainer.save_dir
        args = {**kw, "model": "/site/cfg/models/yolov5nu.yaml", "data": "/cache/synthetic/data.yaml",
                "save_dir": str(save_dir)}  # fmt: skip
        (save_dir / "args.yaml").write_text(yaml.safe_dump(args, sort_keys=False))
        return model


def test_a_finished_cells_row_and_args_record_paths_relative_to_the_sweep_folder(tmp_path, elsewhere):
    touch(tmp_path / "project" / "s" / WARM)
    grid = SweepGrid("s", {"model": "yolov5nu.yaml", "data": "synthetic"}, {"pretrained": (WARM,)})
    results = run_sweep(grid, project=tmp_path / "project", train=ArgsWritingTrain())
    (row,) = read_results(results)
    assert row["run_dir"] == f"runs/{row['cell_id']}"
    args = yaml.safe_load((results.parent / row["run_dir"] / "args.yaml").read_text())
    assert args == {"model": "yolov5nu.yaml", "data": "synthetic", "pretrained": WARM, "project": "runs",
                    "name": row["cell_id"], "exist_ok": True, "save_dir": row["run_dir"]}  # fmt: skip


def test_a_rows_run_dir_is_read_relative_to_its_sweep_folder(tmp_path):
    assert run_folder({"run_dir": "runs/c"}, tmp_path) == tmp_path / "runs" / "c"
    assert run_folder({"run_dir": "/old/machine/s/runs/c"}, tmp_path) == Path("/old/machine/s/runs/c")  # older rows
    assert run_folder({"cell_id": "c"}, tmp_path) is None
    assert relative_to_sweep(tmp_path / "runs" / "c", tmp_path) == "runs/c"
    assert relative_to_sweep("/elsewhere/c", tmp_path) == "/elsewhere/c"
