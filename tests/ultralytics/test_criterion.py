"""The adapter's criterion: our box term inside the stock criterion, for every detection model family shipped."""

import copy
import os

import pytest
import torch
from ultralytics.cfg import get_cfg
from ultralytics.nn.tasks import DetectionModel, SegmentationModel
from ultralytics.utils import DEFAULT_CFG
from ultralytics.utils.loss import v8DetectionLoss

from yolo_alpha.errors import ConfigError
from yolo_alpha.losses import resolve_loss
from yolo_alpha.ultralytics.criterion import AlphaBboxLoss, install_criterion
from yolo_alpha.ultralytics.loss_state import detection_branches
from yolo_alpha.ultralytics.trainer import cpu_threads, ultralytics_args

# One YAML per family the installed Ultralytics ships (yolov5u, yolov8, yolo11, yolo26 with its end-to-end head).
MODEL_YAMLS = ["yolov5nu.yaml", "yolov8n.yaml", "yolo11n.yaml", "yolo26n.yaml"]


def make_model(yaml_name: str) -> DetectionModel:
    torch.manual_seed(0)
    model = DetectionModel(yaml_name, nc=3, verbose=False)
    model.args = get_cfg(DEFAULT_CFG)  # the criterion reads its box/cls/dfl gains from model.args
    return model.train()


def make_batch() -> dict:
    """Two 64-px images with four boxes (normalised xywh), as Ultralytics' collate_fn produces them."""
    g = torch.Generator().manual_seed(0)
    return {
        "img": torch.rand(2, 3, 64, 64, generator=g),
        "batch_idx": torch.tensor([0.0, 0.0, 1.0, 1.0]),
        "cls": torch.tensor([[0.0], [1.0], [2.0], [1.0]]),
        "bboxes": torch.tensor(
            [[0.3, 0.3, 0.4, 0.3], [0.7, 0.6, 0.3, 0.5], [0.5, 0.5, 0.6, 0.6], [0.2, 0.8, 0.2, 0.2]]
        ),
    }


def loss_and_grads(model: DetectionModel, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    model.zero_grad()
    loss, _ = model.loss(batch)
    loss.sum().backward()
    grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    return loss.detach(), grads


@pytest.mark.parametrize("model_yaml", MODEL_YAMLS, indirect=True)
def test_ciou_alpha1_equals_stock_loss_and_gradients(model_yaml):
    stock = make_model(model_yaml)
    ours = copy.deepcopy(stock)
    install_criterion(ours, resolve_loss("ciou", alpha=1))
    batch = make_batch()
    stock_loss, stock_grads = loss_and_grads(stock, batch)  # stock builds its own criterion lazily
    our_loss, our_grads = loss_and_grads(ours, batch)
    assert stock_loss[0] > 0  # the batch has foreground anchors, so the box term is exercised
    torch.testing.assert_close(our_loss, stock_loss, rtol=1e-5, atol=1e-6)
    # Whole-network gradients agree to float32 round-off (compared as a norm: single tiny entries are noise).
    assert (our_grads - stock_grads).norm() <= 1e-5 * stock_grads.norm()


@pytest.mark.parametrize("model_yaml", ["yolov8n.yaml", "yolo26n.yaml", "yolov10n.yaml"], indirect=True)
def test_alpha_ciou_changes_only_the_box_term(model_yaml):
    stock = make_model(model_yaml)
    ours = copy.deepcopy(stock)
    install_criterion(ours, resolve_loss("alpha_ciou", alpha=3))
    batch = make_batch()
    stock_loss, _ = loss_and_grads(stock, batch)
    our_loss, _ = loss_and_grads(ours, batch)
    assert not torch.isclose(our_loss[0], stock_loss[0])  # box term: α = 3 is another loss
    torch.testing.assert_close(our_loss[1:], stock_loss[1:])  # cls and DFL: same assignment, same terms


@pytest.mark.parametrize("model_yaml", ["yolo26n.yaml", "yolov10n.yaml"], indirect=True)
def test_end_to_end_criterion_keeps_the_stock_classes_and_assigner(model_yaml):
    model = make_model(model_yaml)
    criterion = install_criterion(model, resolve_loss("alpha_giou", alpha=2))
    assert type(criterion).__module__ == "ultralytics.utils.loss" and model.criterion is criterion
    branches = detection_branches(criterion)
    assert len(branches) == 2  # one-to-many and one-to-one heads both get our box term
    for branch in branches:
        assert type(branch) is v8DetectionLoss
        assert isinstance(branch.bbox_loss, AlphaBboxLoss) and branch.bbox_loss.spec.alpha == 2
        assert type(branch.assigner).__module__ == "ultralytics.utils.tal"  # label assignment stays upstream's


def test_non_detection_models_are_refused_by_name():
    model = SegmentationModel("yolov8n-seg.yaml", nc=2, verbose=False)
    model.args = get_cfg(DEFAULT_CFG)
    with pytest.raises(ConfigError, match="v8SegmentationLoss"):
        install_criterion(model, resolve_loss("alpha_ciou"))


def test_validator_gets_only_ultralytics_keys():
    args = get_cfg(DEFAULT_CFG)
    args.loss, args.alpha = "alpha_ciou", 3.0
    kept = ultralytics_args(args)
    assert "loss" not in kept and "alpha" not in kept and kept["epochs"] == args.epochs
    get_cfg(overrides=kept)  # Ultralytics' own key check passes


def test_cpu_threads_default_env_override_and_bad_value(monkeypatch):
    monkeypatch.delenv("YOLO_ALPHA_THREADS", raising=False)
    assert cpu_threads() == min(8, os.cpu_count() or 1)
    monkeypatch.setenv("YOLO_ALPHA_THREADS", "3")
    assert cpu_threads() == 3
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv("YOLO_ALPHA_THREADS", bad)
        with pytest.raises(ConfigError, match="YOLO_ALPHA_THREADS"):
            cpu_threads()
