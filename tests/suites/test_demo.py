"""`yolo-alpha demo`: it trains the CPU suite's anchor α-IoU cell and reads it against the study's seeds.

The stand-in training (helpers.FakeTrain) reports AP 0.5 at every threshold, so "this run" is 50.00 in every line.
"""

import json
import math
from pathlib import Path

import pytest
from helpers import FakeTrain

from yolo_alpha.cli import main
from yolo_alpha.errors import ConfigError
from yolo_alpha.metrics import TABLE_METRICS as METRICS
from yolo_alpha.suites.definitions import CPU, warm_start_weights
from yolo_alpha.suites.demo import DEFAULT_STUDY, demo, demo_settings, placement, split_overrides, study_rows
from yolo_alpha.suites.runner import suite_sweep
from yolo_alpha.ultralytics.preflight import run_project

ROOT = Path(__file__).resolve().parents[2]
T_975_DF2 = 4.302652729749464  # Student t, 97.5 % quantile, 2 degrees of freedom (any statistics table)
ANCHOR = {"model": "yolov5n-anchor.yaml", "nbs": 16}


def _row(loss: str, seed: int, value: float, **params) -> dict:
    params = {**ANCHOR, "seed": seed, "loss": loss, **params, "pretrained": "warm/anchor.pt"}
    return {"cell_id": f"{loss}-{seed}-{sorted(params.items())}", "params": params, **dict.fromkeys(METRICS, value)}


@pytest.fixture
def study(tmp_path, monkeypatch):
    """A study folder with the anchor warm start and 3 seeds of IoU (30, 32, 34 %) and α-IoU (44, 48, 52 %), 2 of
    α-IoU at α = 2 (20, 22 %), and rows the demo must not mix in: noisy boxes, the task-aligned regime."""
    monkeypatch.chdir(tmp_path)  # the demo's runs go under the current folder
    study = tmp_path / "cpu"
    (study / "warm").mkdir(parents=True)
    (study / "warm" / "anchor.pt").write_bytes(b"weights")
    rows = [_row("iou", s, v) for s, v in enumerate((0.30, 0.32, 0.34))]
    rows += [_row("alpha_iou", s, v) for s, v in enumerate((0.44, 0.48, 0.52))]
    rows += [_row("alpha_iou", s, v, alpha=2) for s, v in enumerate((0.20, 0.22))]
    rows.append(_row("alpha_iou", 0, 0.01, noise_eta=0.1))
    rows.append({**_row("ciou", 0, 0.01), "params": {"model": "yolov5nu.yaml", "seed": 0, "loss": "ciou"}})
    (study / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return study


def _text(lines: list[str]) -> str:
    """Return the printed lines as one string, wrapped lines rejoined by single spaces."""
    return " ".join(" ".join(lines).split())


def _line(lines: list[str], metric: str) -> str:
    return next(line for line in lines if line.startswith(metric + " "))


def test_the_demo_trains_the_suites_own_anchor_alpha_iou_cell(study):
    cell = next(
        c
        for c in suite_sweep(CPU, study.parent).cells()
        if {k: v for k, v in c.params if k != "pretrained"} == {**ANCHOR, "seed": 0, "loss": "alpha_iou"}
    )
    settings = demo_settings(study)
    expected = {k: v for k, v in cell.settings.items() if k != "pretrained"}
    assert {k: v for k, v in settings.items() if k not in ("project", "name", "pretrained")} == expected
    assert Path(settings["pretrained"]).resolve() == warm_start_weights(study, "anchor").resolve()


def test_runs_go_to_runs_demo_in_the_current_folder_numbered_not_overwritten(study):
    settings = demo_settings(study)
    assert (settings["project"], settings["name"]) == ("runs/demo", "alpha_iou")
    assert run_project(settings["project"]) == str(study.parent / "runs" / "demo")  # where train() puts it
    assert "exist_ok" not in settings  # Ultralytics then numbers the folder (alpha_iou-2, ...) when it exists


def test_the_table_labels_this_run_by_its_loss_beside_the_studys_means_and_places_it(study):
    train = FakeTrain()
    run_dir, lines = demo(study, train=train)
    assert train.calls[0]["loss"] == "alpha_iou" and run_dir == study.parent / "runs" / "demo" / "alpha_iou"
    assert lines[0].split() == ["AP", "(%)", "loss=alpha_iou", "(α=3)", "loss=iou", "loss=alpha_iou", "(α=3)",
                                "this", "run", "among"]  # fmt: skip
    assert "this run, seed 0" in lines[1] and lines[1].count("study, 3 seeds") == 2
    # 50 against α-IoU's seeds 44, 48, 52 (mean 48, std 4): one seed above it, 0.5 std above their mean.
    assert _line(lines, "mAP75-95").split() == ["mAP75-95", "50.00", "32.00", "±", "2.00", "48.00", "±", "4.00",
                                                "2", "of", "4,", "+0.5", "std"]  # fmt: skip
    text = _text(lines)
    half = T_975_DF2 * 2 / math.sqrt(3)  # α-IoU − IoU per seed: 14, 16, 18 points (mean 16, std 2)
    assert f"mAP75-95 +16.00 [{16 - half:+.2f}, {16 + half:+.2f}]" in text
    assert "seeds span mAP75-95 loss=alpha_iou (α=3) 44.00–52.00 (std 4.00); loss=iou 30.00–34.00" in text
    assert "Another CPU, BLAS build or package set moves a single run by about as much" in text


def test_a_loss_override_changes_the_label_and_the_rows_this_run_is_placed_among(study):
    train = FakeTrain()
    run_dir, lines = demo(study, {"loss": "iou", "seed": 2}, train=train)
    assert (train.calls[0]["loss"], train.calls[0]["seed"], run_dir.name) == ("iou", 2, "iou")
    assert lines[0].split()[2] == "loss=iou" and "this run, seed 2" in lines[1]
    # 50 against IoU's seeds 30, 32, 34 (mean 32, std 2): above all three, 9 std above their mean.
    assert _line(lines, "AP50").split()[-5:] == ["1", "of", "4,", "+9.0", "std"]
    assert "beside the study's 3 seeds of loss=iou" in _text(lines)


def test_alpha_selects_the_studys_rows_of_that_alpha(study):
    _, lines = demo(study, {"alpha": 2}, train=FakeTrain())
    assert "loss=alpha_iou, alpha=2" in lines[0] and lines[1].count("study, 2 seeds") == 1
    assert "21.00 ± 1.41" in _line(lines, "AP50") and "1 of 3" in _line(lines, "AP50")


def test_a_cell_the_study_lacks_is_refused_before_anything_trains(study):
    train = FakeTrain()
    with pytest.raises(ConfigError, match=r"^loss=giou: study=.* has no rows .* loss=alpha_iou\|iou\)"):
        demo(study, {"loss": "giou"}, train=train)
    with pytest.raises(ConfigError, match=r"^loss=alpha_iou \(α=3\), noise_eta=0\.3: study="):
        demo(study, {"noise_eta": 0.3}, train=train)
    assert train.calls == [] and not (study.parent / "runs").exists()


def test_other_train_keys_train_a_run_that_is_labelled_and_not_placed(study):
    train = FakeTrain()
    _, lines = demo(study, {"epochs": 1, "device": "cpu"}, train=train)
    assert train.calls[0]["epochs"] == 1 and train.calls[0]["device"] == "cpu"
    assert "this run, seed 0, epochs=1" in lines[1] and "this run among" not in lines[0]
    assert _line(lines, "AP50").split() == ["AP50", "50.00", "32.00", "±", "2.00", "48.00", "±", "4.00"]
    assert "This run is no cell of the study (epochs=1)" in _text(lines)


def test_overrides_split_into_the_cell_the_seed_extra_and_run_keys():
    cell, seed, extra, run_keys = split_overrides({"loss": "iou", "seed": 1, "epochs": 1, "project": "p", "nbs": 8})
    assert cell == {**ANCHOR, "loss": "iou"} and seed == 1
    assert extra == {"epochs": 1, "nbs": 8} and run_keys == {"project": "p"}


@pytest.mark.parametrize(
    ("mine", "seeds", "expected"),
    [
        (50.0, [44.0, 48.0, 52.0], (2, 0.5)),  # one seed above; (50 − 48) / 4
        (60.0, [44.0, 48.0, 52.0], (1, 3.0)),
        (40.0, [44.0, 48.0, 52.0], (4, -2.0)),
        (48.0, [48.0, 48.0], (1, None)),  # no spread: no distance; ties do not push this run down
        (48.0, [47.0], (1, None)),  # one seed has no std
    ],
)
def test_placement_is_the_rank_and_the_distance_in_std(mine, seeds, expected):
    rank, z = placement(mine, seeds)
    assert rank == expected[0] and (z == pytest.approx(expected[1]) if expected[1] is not None else z is None)


def test_without_a_study_the_demo_refuses_in_one_line_and_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"study=.*nowhere: no CPU study there \(no warm start .*anchor\.pt\)"):
        demo_settings(tmp_path / "nowhere")
    assert main(["demo", f"study={tmp_path / 'nowhere'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("yolo-alpha: error: study=") and "reproduce suite=cpu" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_a_warm_start_without_rows_is_refused(study):
    (study / "results.jsonl").unlink()
    with pytest.raises(ConfigError, match=r"has no rows .*loss=none yet"):
        demo_settings(study)


def test_the_committed_study_holds_the_demos_cell_and_its_pair():
    committed = ROOT / DEFAULT_STUDY
    cell, *_ = split_overrides({})
    assert warm_start_weights(committed, "anchor").is_file()
    assert len(study_rows(committed, cell)) == 3 and len(study_rows(committed, {**cell, "loss": "iou"})) == 3
