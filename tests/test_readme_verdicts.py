"""scripts/readme_verdicts.py: the README's block of the powered study, from its committed rows and claims.csv."""

import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import readme_verdicts  # noqa: E402

from yolo_alpha.suites.definitions import CPU_POWERED  # noqa: E402
from yolo_alpha.suites.runner import suite_sweep  # noqa: E402


def test_the_committed_readme_block_is_up_to_date():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_verdicts.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _study(root: Path, n_rows: int) -> Path:
    study = root / readme_verdicts.STUDY
    (study / "report").mkdir(parents=True)
    cells = suite_sweep(CPU_POWERED, root / readme_verdicts.STUDY.parent).cells()
    rows = [{"cell_id": c.cell_id, "params": dict(c.params), "mAP50-95": 0.3} for c in cells[:n_rows]]
    (study / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return study


def test_while_training_it_says_how_far_and_shows_no_verdict(tmp_path):
    _study(tmp_path, 25)  # a seed is 20 cells: seeds 0 and 1 begun
    text = readme_verdicts.block(tmp_path)
    assert "**is training**: 25 of 200 cells in (seeds 0-1)" in text and "|" not in text


def test_once_complete_it_shows_the_verdicts_at_a_glance(tmp_path):
    study = _study(tmp_path, 200)
    row = {
        "claim": "C1", "regime": "anchor", "compared": "loss=alpha_ciou (α=3) vs loss=ciou", "metric": "mAP50-95",
        "config": "model=yolov5n-anchor.yaml", "expected": "up", "difference_mean": "0.001", "ci_low": "-0.002",
        "ci_high": "0.004", "verdict": "equivalent", "margin": "0.005", "half_width": "0.003", "seeds_needed": "",
        "n_seeds": "10",
    }  # fmt: skip
    with (study / "report" / "claims.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    text = readme_verdicts.block(tmp_path)
    assert "0 reproduced, 0 opposite, 1 equivalent, 0 inconclusive" in text
    assert "| C1 | alpha_ciou (α=3) vs ciou | mAP50-95 up | +0.10 [-0.20, +0.40] **equivalent** | 10 |" in text
    assert text.endswith("no row where the sign of the difference changed, one of the two at least the margin "
                         "(0.5 AP) from 0.")  # fmt: skip
    # the 3-seed study's row of the same comparison had the other sign, beyond the margin: the block says so
    first = tmp_path / readme_verdicts.FIRST_PASS / "report"
    first.mkdir(parents=True)
    with (first / "claims.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow({**row, "difference_mean": "-0.012", "verdict": "opposite"})
    text = readme_verdicts.block(tmp_path)
    assert text.endswith(
        "\n- C1 alpha_ciou (α=3) vs ciou, mAP50-95, anchor-based YOLOv5: -1.20 (opposite) → +0.10 (equivalent)"
    )
