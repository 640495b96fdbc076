"""The committed studies — the CPU study (docs/reproduction/cpu), its ablation (cpu_obj_target; cpu_obj_target_opencv51
as first trained, under opencv 5.1), the powered study (cpu_powered) and the real-image study (neon_trees): each
report is exactly what `yolo-alpha report` makes of the folder's rows, wherever the folder lies (a copy elsewhere
writes the same bytes), and the rows are cells of the folder's grid."""

import shutil
from pathlib import Path

import pytest

from yolo_alpha.report import write_report
from yolo_alpha.suites.definitions import CPU, CPU_POWERED, NEON_TREES
from yolo_alpha.suites.runner import suite_sweep
from yolo_alpha.sweep import load_sweep, read_results

ROOT = Path(__file__).resolve().parents[2]
STUDY = Path("docs/reproduction/cpu")  # `yolo-alpha report docs/reproduction/cpu` writes its report
ABLATION = Path("docs/reproduction/cpu_obj_target")  # its own sweep.yaml: `yolo-alpha sweep cfg=<it>/sweep.yaml`
ABLATION_OPENCV51 = Path("docs/reproduction/cpu_obj_target_opencv51")  # the same grid, first trained under opencv 5.1
POWERED = Path("docs/reproduction/cpu_powered")  # `yolo-alpha reproduce suite=cpu_powered project=docs/reproduction`
NEON = Path("docs/reproduction/neon_trees")  # `yolo-alpha reproduce suite=neon_trees project=docs/reproduction`
KEPT = ("results.csv", "diagnostics.csv", "args.yaml")  # what the study commits of each run


@pytest.fixture(params=[STUDY, ABLATION, ABLATION_OPENCV51, POWERED, NEON], ids=str)
def study(request) -> Path:
    return request.param


@pytest.fixture
def regenerated(tmp_path, study) -> Path:
    """Return a copy of a committed study (rows and per-run files, no report) with its report written anew."""
    source, copy = ROOT / study, tmp_path / study
    copy.mkdir(parents=True)
    for name in ("results.jsonl", "sweep.yaml", "PROTOCOL.md"):  # the report links a protocol beside the rows
        if (source / name).is_file():
            shutil.copy(source / name, copy / name)
    for run in (source / "runs").iterdir():
        for name in KEPT:
            if (run / name).is_file():
                (copy / "runs" / run.name).mkdir(parents=True, exist_ok=True)
                shutil.copy(run / name, copy / "runs" / run.name / name)
    write_report(copy)
    return copy / "report"


def test_the_committed_report_is_what_report_regenerates(regenerated, study):
    committed = ROOT / study / "report"
    written = sorted(p.name for p in regenerated.iterdir() if p.suffix in (".md", ".csv"))
    assert written == sorted(p.name for p in committed.iterdir() if p.suffix in (".md", ".csv"))
    for name in written:  # byte for byte, in a copy under another path: a report holds no path of its folder
        assert (regenerated / name).read_bytes() == (committed / name).read_bytes(), (
            f"{name} differs: rerun yolo-alpha report {study}"
        )


@pytest.mark.parametrize(
    ("suite", "folder"), [(CPU, STUDY), (CPU_POWERED, POWERED), (NEON_TREES, NEON)], ids=("cpu", "cpu_powered", "neon")
)
def test_the_committed_rows_are_cells_of_their_suite(suite, folder):
    cells = {c.cell_id: dict(c.params) for c in suite_sweep(suite, folder.parent).cells()}
    rows = read_results(ROOT / folder / "results.jsonl")
    assert rows, "the study has no rows"
    assert all(cells.get(row["cell_id"]) == row["params"] for row in rows)
    # the folder's sweep.yaml is the suite's grid: rerunning the suite resumes it instead of refusing it
    spec = suite_sweep(suite, folder.parent).spec()
    assert load_sweep(ROOT / folder / "sweep.yaml").spec() == {**spec, "name": suite.name}


@pytest.mark.parametrize("folder", [POWERED, NEON], ids=str)
def test_the_pre_registered_rows_each_record_one_environment(folder):
    rows = read_results(ROOT / folder / "results.jsonl")
    environments = {tuple(sorted(row["environment"].items())) for row in rows}
    assert len(environments) == 1, "a sitting ran under another environment: say so in PROTOCOL.md and the note"


@pytest.mark.parametrize("folder", [ABLATION, ABLATION_OPENCV51], ids=str)
def test_the_ablation_is_the_studys_anchor_cells_with_the_plain_iou_objectness_target(folder):
    ablation = load_sweep(ROOT / folder / "sweep.yaml")
    rows = read_results(ROOT / folder / "results.jsonl")
    cells = {c.cell_id: dict(c.params) for c in ablation.cells()}
    assert rows and all(cells.get(row["cell_id"]) == row["params"] for row in rows)
    study = suite_sweep(CPU, STUDY.parent)
    study_cells = [dict(c.params) for c in study.cells()]
    for params in cells.values():  # each ablation cell is a study cell but for obj_target=iou, from the same weights
        assert params.pop("obj_target") == "iou"
        twin = next(p for p in study_cells if p == {**params, "pretrained": p.get("pretrained")})
        # each names the warm start relative to its own folder: the same file
        assert (ROOT / folder / params["pretrained"]).resolve() == (ROOT / STUDY / twin["pretrained"]).resolve()
    assert ablation.base == study.base


def test_the_real_image_studys_warm_starts_are_committed_with_the_rows_of_their_training():
    for regime in ("anchor", "task_aligned"):
        assert (ROOT / NEON / "warm" / f"{regime}.pt").is_file()
        (row,) = read_results(ROOT / NEON / "warm" / regime / "results.jsonl")
        assert (ROOT / NEON / "warm" / regime / row["run_dir"] / "args.yaml").is_file()
