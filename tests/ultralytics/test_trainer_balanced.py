"""IoU-balanced losses and Wise-IoU v3 in a real training: records, resume of the running mean, the EMA's share."""

from pathlib import Path

import pytest
import yaml
from helpers import train_one_epoch_then_stop
from ultralytics import YOLO
from ultralytics.utils.patches import torch_load
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha.errors import ConfigError
from yolo_alpha.losses.balance import IoUBalance
from yolo_alpha.losses.wise_iou import IOU_MEAN_INIT
from yolo_alpha.ultralytics.cls_balance import IoUBalancedClassification
from yolo_alpha.ultralytics.loss_state import detection_branches
from yolo_alpha.ultralytics.trainer import AlphaDetectionTrainer

BALANCE_KEYS = {"iou_cls_eta": 1.5, "iou_loc_lambda": 1.5, "iou_loc_norm": "eq7"}  # the paper's η and λ


def test_balanced_wiou_training_records_its_keys_and_resumes_the_running_mean(tiny_train):
    # yolo26's end-to-end head: two branches (two running means), and a criterion upstream rebuilds on resume.
    tiny_train.pop("model")
    train_one_epoch_then_stop(
        YOLO("yolo26n.yaml"), trainer=AlphaDetectionTrainer, **{**tiny_train, "epochs": 2}, loss="wiou", **BALANCE_KEYS
    )
    run_dir = Path(tiny_train["project"]) / "train"
    args = yaml.safe_load((run_dir / "args.yaml").read_text())
    assert {k: args[k] for k in BALANCE_KEYS} == BALANCE_KEYS
    saved = torch_load(run_dir / "weights" / "last.pt", map_location="cpu")["train_args"]
    assert {k: saved[k] for k in BALANCE_KEYS} == BALANCE_KEYS
    saved_means = saved["wiou_mean"]  # one running mean per detection branch (one-to-many, one-to-one)
    assert len(saved_means) == 2 and all(0 < m < IOU_MEAN_INIT for m in saved_means)  # moved during epoch 1

    at_start = {}

    def capture(trainer):  # the criteria as the resumed run starts its epoch 2
        branches = detection_branches(unwrap_model(trainer.model).criterion)
        ema_branches = detection_branches(trainer.ema.ema.criterion)
        at_start["model"] = [b.bbox_loss.iou_mean for b in branches]
        at_start["ema"] = [b.bbox_loss.iou_mean for b in ema_branches]
        at_start["means"] = [float(m) for m in at_start["model"]]

    resumed = YOLO(str(run_dir / "weights" / "last.pt"))
    resumed.add_callback("on_pretrain_routine_end", capture)
    resumed.train(trainer=AlphaDetectionTrainer, resume=True)
    trainer = resumed.trainer
    assert trainer.settings.balance == IoUBalance(1.5, 1.5, "eq7") and trainer.start_epoch == 1
    assert at_start["means"] == pytest.approx(saved_means, rel=1e-6)  # restored, not reset to IOU_MEAN_INIT
    assert all(e is m for e, m in zip(at_start["ema"], at_start["model"]))  # validation reads what training updates
    for branch in detection_branches(unwrap_model(trainer.model).criterion):
        assert isinstance(branch.assigner.__self__, IoUBalancedClassification)  # wrapped once, not twice
        assert type(branch.assigner.__self__.stock_assigner).__name__ == "TaskAlignedAssigner"
    rows = (run_dir / "results.csv").read_text().splitlines()
    assert len(rows) == 3  # header + epoch 1 + epoch 2
    losses = [float(v) for v in rows[2].split(",")[2:5]]  # train box, cls, dfl of epoch 2
    assert all(0 < v < 1e3 for v in losses)
    for name in ("last.pt", "best.pt"):  # the final records carry the keys and the mean the run ended with
        final = torch_load(run_dir / "weights" / name, map_location="cpu")["train_args"]
        assert {k: final[k] for k in BALANCE_KEYS} == BALANCE_KEYS and len(final["wiou_mean"]) == 2


def test_trainer_refuses_a_bad_balance_value_before_creating_a_run(tiny_train):
    with pytest.raises(ConfigError, match="iou_loc_norm"):
        AlphaDetectionTrainer(overrides={**tiny_train, "iou_loc_norm": "eq6"})
    assert not (Path(tiny_train["project"]) / "train").exists()
