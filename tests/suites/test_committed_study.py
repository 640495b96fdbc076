"""The committed CPU study (docs/reproduction/cpu) and its ablation (cpu_obj_target; cpu_obj_target_opencv51 as first
trained, under opencv 5.1): each report is exactly what `yolo-alpha report` makes of the folder's rows, wherever the
folder lies (a copy elsewhere writes the same bytes), and the rows are cells of the folder's grid."""

import shutil
from pathlib import Path

import pytest

from yolo_alpha.report import write_report
from yolo_alpha.suites.definitions import CPU, CPU_POWERED
from yolo_alpha.suites.runner import suite_sweep
from yolo_alpha.sweep import load_sweep, read_results

ROOT = Path(__file__).resolve().parents[2]
STUDY = Path("docs/reproduction/cpu")  # `yolo-alpha report docs/reproduction/cpu` writes its report
ABLATION = Path("docs/reproduction/cpu_obj_target")  # its own sweep.yaml: `yolo-alpha sweep cfg=<it>/sweep.yaml`
ABLATION_OPENCV51 = Path("docs/reproduction/cpu_obj_target_opencv51")  # the same grid, first trained under opencv 5.1
POWERED = Path("docs/reproduction/cpu_powered")  # `yolo-alpha reproduce suite=cpu_powered project=docs/reproduction`
KEPT = ("results.csv", "diagnostics.csv", "args.yaml")  # what the study commits of each run


@pytest.fixture(params=[STUDY, ABLATION, ABLATION_OPENCV51, POWERED], ids=str)
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


@pytest.mark.parametrize(("suite", "folder"), [(CPU, STUDY), (CPU_POWERED, POWERED)], ids=("cpu", "cpu_powered"))
def test_the_committed_rows_are_cells_of_their_suite(suite, folder):
    cells = {c.cell_id: dict(c.params) for c in suite_sweep(suite, folder.parent).cells()}
    rows = read_results(ROOT / folder / "results.jsonl")
    assert rows, "the study has no rows"
    assert all(cells.get(row["cell_id"]) == row["params"] for row in rows)
    # the folder's sweep.yaml is the suite's grid: rerunning the suite resumes it instead of refusing it
    spec = suite_sweep(suite, folder.parent).spec()
    assert load_sweep(ROOT / folder / "sweep.yaml").spec() == {**spec, "name": suite.name}


def test_the_powered_rows_each_record_one_environment():
    rows = read_results(ROOT / POWERED / "results.jsonl")
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
