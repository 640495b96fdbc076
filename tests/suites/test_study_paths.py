"""The committed studies hold no machine path, and resume under any spelling of their project (dry runs, nothing
written): absolute, relative from another folder, through a symlink."""

import os
import re
from pathlib import Path

import pytest
import yaml

from yolo_alpha.suites.definitions import CPU, SUITES
from yolo_alpha.suites.runner import reproduce, suite_sweep, warm_start_sweep
from yolo_alpha.sweep import load_sweep, read_results, run_sweep

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "docs" / "reproduction"
STUDIES = ("cpu", "cpu/warm/task_aligned", "cpu/warm/anchor", "cpu_obj_target", "cpu_obj_target_opencv51")


def snapshot(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.fixture(params=["absolute", "relative", "symlink"])
def project(request, tmp_path, monkeypatch) -> str:
    """Return the committed project folder as spelt from another working folder."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    if request.param == "symlink":
        (tmp_path / "link").symlink_to(PROJECT, target_is_directory=True)
        return str(tmp_path / "link")
    return str(PROJECT) if request.param == "absolute" else os.path.relpath(PROJECT, elsewhere)


def test_the_committed_study_resumes_under_any_spelling_of_its_project(project, tmp_path, capsys):
    before = snapshot(PROJECT)
    reproduce("cpu", project=project, dry_run=True)
    out = capsys.readouterr().out
    assert len(re.findall(r"^1 cell\(s\): 1 done, 0 to resume, 0 to train$", out, re.M)) == 2  # both warm starts
    assert "\n120 cell(s): 120 done, 0 to resume, 0 to train\nnothing left to train (the finished cells took" in out
    assert " todo " not in out and "resume  " not in out
    assert snapshot(PROJECT) == before and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["elsewhere", *(["link"] if "link" in project else [])]
    )
    assert not any((tmp_path / "elsewhere").iterdir())


@pytest.mark.parametrize("ablation", ["cpu_obj_target", "cpu_obj_target_opencv51"])
def test_the_ablations_resume_from_anywhere_with_their_warm_start_relative_to_them(ablation, project, capsys):
    sweep = load_sweep(PROJECT / ablation / "sweep.yaml", {"name": ablation})  # opencv51: the folder was renamed
    assert {dict(c.params)["pretrained"] for c in sweep.cells()} == {"../cpu/warm/anchor.pt"}
    run_sweep(sweep, project=project, dry_run=True)
    assert "6 cell(s): 6 done, 0 to resume, 0 to train" in capsys.readouterr().out


def test_the_grids_hold_no_path_of_the_project():
    """The same suite in two projects is one grid (the project decides where, never what)."""
    assert suite_sweep(CPU, "docs/reproduction").spec() == suite_sweep(CPU, "/somewhere/else").spec()
    for warm in CPU.warm_starts:
        assert warm_start_sweep(CPU, warm, "a").spec() == warm_start_sweep(CPU, warm, "/b/c").spec()


@pytest.mark.parametrize("study", STUDIES)
def test_the_committed_rows_and_args_hold_no_machine_path(study):
    folder = PROJECT / study
    rows = read_results(folder / "results.jsonl")
    assert rows and all(row["run_dir"] == f"runs/{row['cell_id']}" for row in rows)
    for row in rows:
        args = yaml.safe_load((folder / row["run_dir"] / "args.yaml").read_text(encoding="utf-8"))
        absolute = {k: v for k, v in args.items() if isinstance(v, str) and Path(v).is_absolute()}
        assert absolute == {}, f"{row['run_dir']}/args.yaml"
        assert (args["project"], args["save_dir"], args["name"]) == ("runs", row["run_dir"], row["cell_id"])
        assert args["data"] == "synthetic"
    spec = yaml.safe_load((folder / "sweep.yaml").read_text(encoding="utf-8"))
    grids = spec["grid"] if isinstance(spec["grid"], list) else [spec["grid"]]
    values = [*spec["base"].values(), *(v for grid in grids for values in grid.values() for v in values)]
    paths = {v for v in values if isinstance(v, str) and "/" in v}
    assert paths <= {"warm/anchor.pt", "warm/task_aligned.pt", "../task_aligned.pt", "../cpu/warm/anchor.pt"}


def test_a_dry_run_without_measured_cells_says_so_and_what_one_cell_is(tmp_path, capsys):
    report = reproduce("voc", project=tmp_path, dry_run=True)
    out = capsys.readouterr().out
    cells = len(suite_sweep(SUITES["voc"], tmp_path).cells())
    assert f"{cells} cell(s): 0 done, 0 to resume, {cells} to train" in out
    assert "no measured cell time" in out and "one cell trains 300 epochs of yolov5s-anchor.yaml at 640 px" in out
    assert "each cell is sized for one GPU" in out
    assert f"a run then writes its report to {report}" in out  # worded as what a run will write
    assert not any(tmp_path.iterdir())
