"""The anchor-based YOLOv5 family through the trainer and the CLI: keys, defaults, criterion, one-epoch trainings,
noisy boxes, resume with the loss state, a sweep, and the paper's VOC settings (dry)."""

from pathlib import Path

import pytest
import yaml
from helpers import train_one_epoch_then_stop
from ultralytics.utils.patches import torch_load
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha import run
from yolo_alpha.cli import main
from yolo_alpha.config import merge_settings
from yolo_alpha.errors import ConfigError
from yolo_alpha.losses.wise_iou import IOU_MEAN_INIT
from yolo_alpha.settings import AnchorSettings
from yolo_alpha.sweep import SweepGrid, read_results, run_sweep
from yolo_alpha.ultralytics.anchor_loss import LOSS_NAMES, AnchorComputeLoss
from yolo_alpha.ultralytics.anchor_model import AlphaYOLO, AnchorDetectionModel
from yolo_alpha.ultralytics.families import YOLOV5_BOX_GAIN, model_family
from yolo_alpha.ultralytics.trainer import AlphaDetectionTrainer

ANCHOR = "yolov5n-anchor.yaml"


@pytest.fixture
def anchor_train(tiny_train) -> dict:
    return {**tiny_train, "model": ANCHOR}


def test_the_family_of_each_kind_of_model_name():
    assert model_family(ANCHOR) == model_family("yolov5x-anchor.yaml") == "anchor"
    assert model_family("yolov8n.yaml") == model_family("yolov5su.yaml") == model_family("yolo11n.pt") == "task_aligned"


def test_anchor_keys_are_refused_for_a_task_aligned_model_before_anything_exists(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for key in ("obj=2", "anchor_t=3", "obj_target=iou"):
        assert main(["train", "model=yolov8n.yaml", key]) == 2
        err = capsys.readouterr().err
        assert f"{key.split('=')[0]} applies only to the anchor-based YOLOv5" in err and "model=yolov8n.yaml" in err
    assert main(["train", f"model={ANCHOR}", "obj_target=ciou"]) == 2
    assert "obj_target='ciou' is not valid" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_papers_voc_settings_validate_with_the_anchor_family():
    settings = run.check_settings(merge_settings({"cfg": "voc.yaml", "loss": "alpha_ciou"}), "train")
    assert settings.anchor == AnchorSettings() and settings.loss.alpha == 3


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["iou", "alpha_iou", "alpha_ciou", "wiou"])
def test_one_epoch_of_the_anchor_family_with_each_kind_of_loss(anchor_train, loss):
    model = run.train(**anchor_train, loss=loss)
    trainer = model.trainer
    criterion = unwrap_model(trainer.model).criterion
    assert isinstance(unwrap_model(trainer.model), AnchorDetectionModel) and isinstance(criterion, AnchorComputeLoss)
    assert criterion.bbox_loss.spec.loss == loss
    args = yaml.safe_load((Path(trainer.save_dir) / "args.yaml").read_text())
    assert args["box"] == YOLOV5_BOX_GAIN and (args["obj"], args["anchor_t"], args["obj_target"]) == (
        1.0,
        4.0,
        "quality",
    )
    header, row = (Path(trainer.save_dir) / "results.csv").read_text().splitlines()[:2]
    assert [f"train/{name}" for name in LOSS_NAMES] == header.split(",")[2:5]
    assert all(float(v) >= 0 for v in row.split(",")[2:5]) and float(row.split(",")[2]) > 0
    saved = torch_load(trainer.best, map_location="cpu")
    assert type(saved["model"]) is AnchorDetectionModel and saved["train_args"]["loss"] == loss
    if loss == "wiou":
        assert 0 < saved["train_args"]["wiou_mean"][0] < IOU_MEAN_INIT  # the running mean moved and was recorded


@pytest.mark.slow
def test_a_user_given_box_gain_wins_and_noisy_boxes_train(anchor_train):
    model = run.train(**anchor_train, box=0.1, obj=0.7, obj_target="iou", noise_eta=0.2)
    args = model.trainer.args
    assert (args.box, args.obj, args.obj_target) == (0.1, 0.7, "iou") and 0 < args.noise_mean_iou < 1
    assert model.trainer.settings.anchor == AnchorSettings(obj=0.7, obj_target="iou")


@pytest.mark.slow
def test_resume_of_an_anchor_run_keeps_its_loss_and_running_mean(anchor_train):
    anchor_train.pop("model")
    last = train_one_epoch_then_stop(
        AlphaYOLO(ANCHOR), trainer=AlphaDetectionTrainer, **{**anchor_train, "epochs": 2}, loss="wiou", anchor_t=3.0
    )
    saved_mean = torch_load(last, map_location="cpu")["train_args"]["wiou_mean"]
    at_start = {}
    resumed_model = AlphaYOLO(str(last))
    resumed_model.add_callback(
        "on_pretrain_routine_end",
        lambda t: at_start.update(mean=float(unwrap_model(t.model).criterion.bbox_loss.iou_mean)),
    )
    resumed_model.train(trainer=AlphaDetectionTrainer, resume=True)
    trainer = resumed_model.trainer
    assert trainer.start_epoch == 1 and trainer.settings.loss.loss == "wiou" and trainer.settings.anchor.anchor_t == 3.0
    assert at_start["mean"] == pytest.approx(saved_mean[0], rel=1e-6)
    assert isinstance(unwrap_model(trainer.model).criterion, AnchorComputeLoss)


@pytest.mark.slow
def test_a_sweep_of_the_anchor_family(anchor_train, tmp_path):
    base = {k: v for k, v in anchor_train.items() if k not in {"project", "name"}}
    grid = SweepGrid("anchor", base, {"loss": ("iou", "alpha_iou")})
    rows = read_results(run_sweep(grid, project=tmp_path / "sweeps"))
    assert [row["params"]["loss"] for row in rows] == ["iou", "alpha_iou"]
    assert all(row["evaluator"] == "pycocotools" and 0 <= row["mAP50-95"] <= 1 for row in rows)


def test_the_trainer_refuses_an_anchor_key_of_a_task_aligned_model_before_creating_a_run(tiny_train):
    with pytest.raises(ConfigError, match="obj applies only to the anchor-based"):
        AlphaDetectionTrainer(overrides={**tiny_train, "obj": 2.0})
    assert not Path(tiny_train["project"]).exists()
