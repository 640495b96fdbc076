"""`yolo-alpha demo`: it trains exactly the CPU suite's α-CIoU cell and prints it beside the study's rows."""

import json

import pytest
from helpers import FakeTrain

from yolo_alpha.cli import main
from yolo_alpha.errors import ConfigError
from yolo_alpha.suites.definitions import CPU
from yolo_alpha.suites.demo import COLUMNS, demo, demo_settings
from yolo_alpha.suites.runner import suite_sweep


@pytest.fixture
def study(tmp_path):
    """A study folder with its task-aligned warm start and two seeds of CIoU and α-CIoU rows (and one noisy row)."""
    study = tmp_path / "cpu"
    (study / "warm").mkdir(parents=True)
    (study / "warm" / "task_aligned.pt").write_bytes(b"weights")
    weights = str(study / "warm" / "task_aligned.pt")
    rows = []
    for loss, values in (("ciou", (0.50, 0.60)), ("alpha_ciou", (0.40, 0.44))):
        for seed, value in enumerate(values):
            params = {"model": "yolov5nu.yaml", "seed": seed, "loss": loss, "pretrained": weights}
            rows.append({"cell_id": f"{loss}{seed}", "params": params, **dict.fromkeys(COLUMNS, value)})
    noisy = {**rows[0]["params"], "noise_eta": 0.1}
    rows.append({"cell_id": "noisy", "params": noisy, **dict.fromkeys(COLUMNS, 0.01)})  # not a C1 cell: left out
    (study / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return study


def test_the_demo_trains_the_suites_own_cell(study):
    cell = next(
        c
        for c in suite_sweep(CPU, study.parent).cells()
        if dict(c.params) == {**dict(c.params), "model": "yolov5nu.yaml", "seed": 0, "loss": "alpha_ciou"}
        and len(c.params) == 4
    )
    settings = demo_settings(study)
    assert {k: v for k, v in settings.items() if k not in ("project", "name")} == cell.settings


def test_the_table_puts_this_run_above_the_studys_means(study):
    train = FakeTrain()
    run_dir, lines = demo(study, {"project": str(study.parent / "runs")}, train=train)
    assert train.calls[0]["loss"] == "alpha_ciou" and run_dir.name == "alpha_ciou"
    assert lines[1].startswith("α-CIoU, this run (seed 0)") and "50.00" in lines[1]  # the stand-in's AP: 0.5
    assert lines[2].startswith("CIoU, study (2 seeds)") and "55.00±7.07" in lines[2]
    assert lines[3].startswith("α-CIoU, study (2 seeds)") and "42.00±2.83" in lines[3]


def test_without_a_warm_start_the_demo_says_where_it_looks(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"study=.*nowhere: no warm start .*task_aligned\.pt"):
        demo_settings(tmp_path / "nowhere")
    assert main(["demo", f"study={tmp_path / 'nowhere'}"]) == 2
    assert "yolo-alpha reproduce suite=cpu" in capsys.readouterr().err
