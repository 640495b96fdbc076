"""scripts/readme_verdicts.py: the README's block of the pre-registered studies, from their committed rows and
claims.csv."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import readme_verdicts  # noqa: E402

from yolo_alpha.suites.definitions import CPU_POWERED, NEON_TREES  # noqa: E402
from yolo_alpha.suites.runner import suite_sweep  # noqa: E402


def test_the_committed_readme_block_is_up_to_date():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_verdicts.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _study(root: Path, n_rows: int, suite=CPU_POWERED, ap50=0.5) -> Path:
    study = root / "docs" / "reproduction" / suite.name
    (study / "report").mkdir(parents=True)
    cells = suite_sweep(suite, study.parent).cells()
    rows = [{"cell_id": c.cell_id, "params": dict(c.params), "mAP50-95": 0.3, "AP50": ap50} for c in cells[:n_rows]]
    (study / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return study


ROW = {
    "claim": "C1", "regime": "anchor", "compared": "loss=alpha_ciou (α=3) vs loss=ciou", "metric": "mAP50-95",
    "config": "model=yolov5n-anchor.yaml", "expected": "up", "difference_mean": "0.001", "ci_low": "-0.002",
    "ci_high": "0.004", "verdict": "equivalent", "margin": "0.005", "half_width": "0.003", "seeds_needed": "",
    "n_seeds": "10",
}  # fmt: skip


def _claims(folder: Path, *rows: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "claims.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(ROW))
        writer.writeheader()
        writer.writerows(rows)


def test_while_training_it_says_how_far_and_shows_no_verdict(tmp_path):
    _study(tmp_path, 25)  # a seed is 20 cells: seeds 0 and 1 begun
    text = readme_verdicts.block(tmp_path)
    assert "**is training**: 25 of 200 cells in (seeds 0-1)" in text and "|" not in text
    # the real-image study, not begun: its protocol linked, no report yet
    assert "**is training**: 0 of 216 cells in (none yet)" in text
    assert "[pre-registered](docs/reproduction/neon_trees/PROTOCOL.md); `docs/reproduction/neon_trees`" in text


def test_once_complete_it_shows_the_verdicts_at_a_glance(tmp_path):
    study = _study(tmp_path, 200)
    _study(tmp_path, 19, NEON_TREES)  # seeds 0 and 1 begun: 18 cells a seed
    _claims(study / "report", ROW)
    text = readme_verdicts.block(tmp_path)
    assert "0 reproduced, 0 opposite, 1 equivalent, 0 inconclusive" in text
    assert "| C1 | alpha_ciou (α=3) vs ciou | mAP50-95 up | +0.10 [-0.20, +0.40] **equivalent** | 10 |" in text
    assert (
        "no row where the sign of the difference changed, one of the two at least the margin (0.5 AP) from 0." in text
    )
    assert text.endswith("**is training**: 19 of 216 cells in (seeds 0-1), committed as they come. Its verdicts "
                         "appear here when every cell is in.")  # fmt: skip
    assert "[docs/reproduction/neon_trees](docs/reproduction/neon_trees/report/report.md)" in text  # it has rows
    # the 3-seed study's row of the same comparison had the other sign, beyond the margin: the block says so
    _claims(
        tmp_path / readme_verdicts.FIRST_PASS / "report", {**ROW, "difference_mean": "-0.012", "verdict": "opposite"}
    )
    text = readme_verdicts.block(tmp_path)
    assert (
        "\n- C1 alpha_ciou (α=3) vs ciou, mAP50-95, anchor-based YOLOv5: -1.20 (opposite) → +0.10 (equivalent)\n"
        in text
    )


def test_once_both_are_complete_it_shows_them_side_by_side_with_each_baselines_level(tmp_path):
    _claims(_study(tmp_path, 200, ap50=0.6) / "report", ROW, {**ROW, "regime": "task_aligned"})
    neon = _study(tmp_path, 216, NEON_TREES, ap50=0.355)
    _claims(neon / "report", {**ROW, "difference_mean": "-0.01", "ci_low": "-0.02", "ci_high": "-0.001",
                              "verdict": "opposite"})  # fmt: skip
    pilots = neon / "pilots"
    pilots.mkdir()
    shutil.copy(ROOT / "docs/reproduction/neon_trees/pilots/scores.csv", pilots / "scores.csv")
    text = readme_verdicts.block(tmp_path)
    header = (
        "| claim | compared | metric, claimed | synthetic: anchor-based YOLOv5 | synthetic: task-aligned | "
        "NEON tree crowns: anchor-based YOLOv5 | seeds |"
    )
    assert header in text
    assert (
        "| C1 | alpha_ciou (α=3) vs ciou | mAP50-95 up | +0.10 [-0.20, +0.40] **equivalent** | +0.10 [-0.20, +0.40] "
        "**equivalent** | -1.00 [-2.00, -0.10] **opposite** | 10 / 10 / 10 |"
    ) in text
    assert "synthetic 2 equivalent" not in text and "NEON tree crowns 0 reproduced, 1 opposite" in text
    # the CIoU cells' AP50 from the rows; the pilots' three-seed means from the committed scores.csv
    assert "synthetic anchor 60.0 %, task-aligned 60.0 %; NEON tree crowns anchor 35.5 %, task-aligned 35.5 %" in text
    assert "AP50 ≥ 40 % and its CIoU pilots missed it in both regimes (anchor 36.3 %, task-aligned 39.3 %" in text
