"""The committed CPU study (docs/reproduction/cpu): its report is exactly what `yolo-alpha report` makes of its rows."""

import shutil
from pathlib import Path

import pytest

from yolo_alpha.report import write_report
from yolo_alpha.suites.definitions import CPU
from yolo_alpha.suites.runner import suite_sweep
from yolo_alpha.sweep import load_sweep, read_results

ROOT = Path(__file__).resolve().parents[2]
STUDY = Path("docs/reproduction/cpu")  # as the report was written: `yolo-alpha report docs/reproduction/cpu`
KEPT = ("results.csv", "diagnostics.csv", "args.yaml")  # what the study commits of each run


@pytest.fixture
def regenerated(tmp_path) -> Path:
    """Return a copy of the committed study (rows and per-run files, no report) with its report written anew."""
    source, copy = ROOT / STUDY, tmp_path / STUDY
    copy.mkdir(parents=True)
    for name in ("results.jsonl", "sweep.yaml"):
        shutil.copy(source / name, copy / name)
    for run in (source / "runs").iterdir():
        for name in KEPT:
            if (run / name).is_file():
                (copy / "runs" / run.name).mkdir(parents=True, exist_ok=True)
                shutil.copy(run / name, copy / "runs" / run.name / name)
    write_report(copy)
    return copy / "report"


def test_the_committed_report_is_what_report_regenerates(regenerated, tmp_path):
    committed = ROOT / STUDY / "report"
    written = sorted(p.name for p in regenerated.iterdir() if p.suffix in (".md", ".csv"))
    assert written == sorted(p.name for p in committed.iterdir() if p.suffix in (".md", ".csv"))
    for name in written:
        text = (regenerated / name).read_text(encoding="utf-8").replace(str(tmp_path / STUDY), str(STUDY))
        assert text == (committed / name).read_text(encoding="utf-8"), (
            f"{name} differs: rerun yolo-alpha report {STUDY}"
        )


def test_the_committed_rows_are_cells_of_the_cpu_suite():
    cells = {c.cell_id: dict(c.params) for c in suite_sweep(CPU, STUDY.parent).cells()}
    rows = read_results(ROOT / STUDY / "results.jsonl")
    assert rows, "the study has no rows"
    assert all(cells.get(row["cell_id"]) == row["params"] for row in rows)
    # the folder's sweep.yaml is the suite's grid: rerunning the suite resumes it instead of refusing it
    assert load_sweep(ROOT / STUDY / "sweep.yaml").spec() == {**suite_sweep(CPU, STUDY.parent).spec(), "name": "cpu"}
