"""The anchor-based YOLOv5 family: head shapes and decode by hand, strides, anchors, bias prior, sizes, entry points.

Decode (YOLOv5 v6/v7): xy = (2σ − 0.5 + grid) · stride, wh = (2σ)² · anchor · stride (anchor in stride units),
score = σ(obj) · σ(cls); Ultralytics' layout (b, 4 + nc, N). Parameter counts are YOLOv5's own model summaries.
"""

import math
import pickle
from copy import deepcopy

import numpy as np
import pytest
import torch
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.nn.tasks import DetectionModel
from ultralytics.utils.nms import non_max_suppression

from yolo_alpha.ultralytics.anchor_head import AnchorDetect, check_anchor_order
from yolo_alpha.ultralytics.anchor_model import (
    AlphaYOLO,
    AnchorDetectionModel,
    build_detection_model,
    is_anchor_yaml,
    load_model_yaml,
    models_dir,
    resolve_model,
)

ANCHORS = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]  # YOLOv5's, px
STRIDES = [8.0, 16.0, 32.0]


def pixel_anchors() -> torch.Tensor:
    return torch.tensor(ANCHORS, dtype=torch.float32).view(3, 3, 2)


def head_with(nc=2, ch=(4, 8, 16), anchors=ANCHORS) -> AnchorDetect:
    head = AnchorDetect(nc, anchors, ch=list(ch))
    head.stride = torch.tensor(STRIDES)
    return head


@pytest.fixture(scope="module")
def tiny_model() -> AnchorDetectionModel:
    torch.manual_seed(0)
    return AnchorDetectionModel("yolov5n-anchor.yaml", nc=3, verbose=False)


def test_training_mode_returns_yolov5s_raw_list_in_the_conv_channel_order():
    head = head_with(nc=3).train()
    feats = [torch.randn(2, c, s, s) for c, s in zip((4, 8, 16), (8, 4, 2))]
    raw = head(feats)
    assert [tuple(r.shape) for r in raw] == [(2, 3, 8, 8, 8), (2, 3, 4, 4, 8), (2, 3, 2, 2, 8)]
    conv = head.m[1](feats[1])  # (b, na · no, ny, nx): channel a · no + k is output k of anchor a
    assert torch.equal(raw[1][1, 2, 3, 0, 5], conv[1, 2 * 8 + 5, 3, 0])


def test_one_cell_decodes_by_hand():
    head = head_with(nc=2).eval()
    raw = [torch.full((1, 3, n, n, 7), -10.0) for n in (8, 4, 2)]  # every other box: σ(obj) ≈ 4.5e-5
    # Level 1 (stride 16, 4×4 cells), anchor 2 = (59, 119) px, cell column 2 / row 1.
    raw[1][0, 2, 1, 2] = torch.tensor([0.0, math.log(3), 0.0, math.log(3), math.log(4), 0.0, -math.log(4)])
    head.anchors /= head.stride.view(-1, 1, 1)  # stride units, as the model holds them
    y = head.decode(raw)
    assert y.shape == (1, 6, 3 * (64 + 16 + 4))
    # σ(0) = 0.5, σ(ln 3) = 0.75, σ(ln 4) = 0.8, σ(−ln 4) = 0.2.
    x = (2 * 0.5 - 0.5 + 2) * 16  # 40
    yc = (2 * 0.75 - 0.5 + 1) * 16  # 32
    w, h = (2 * 0.5) ** 2 * 59, (2 * 0.75) ** 2 * 119  # 59, 267.75
    index = 3 * 64 + 2 * 16 + 1 * 4 + 2  # level 0's boxes, then anchor, row, column
    expected = torch.tensor([x, yc, w, h, 0.8 * 0.5, 0.8 * 0.2])
    torch.testing.assert_close(y[0, :, index], expected)

    out = non_max_suppression((y, raw), conf_thres=0.1)  # the eval (y, raw) tuple, as the validator passes it
    assert len(out) == 1 and out[0].shape == (1, 6)
    xyxy = [x - w / 2, yc - h / 2, x + w / 2, yc + h / 2]
    torch.testing.assert_close(out[0][0], torch.tensor([*xyxy, 0.4, 0.0]))


def test_eval_returns_y_and_raw_and_export_returns_y(tiny_model):
    model = deepcopy(tiny_model).eval()
    images = torch.rand(2, 3, 64, 96)
    y, raw = model(images)
    n = 3 * (8 * 12 + 4 * 6 + 2 * 3)  # na · Σ ny · nx
    assert y.shape == (2, 4 + 3, n)
    assert [tuple(r.shape) for r in raw] == [(2, 3, 8, 12, 8), (2, 3, 4, 6, 8), (2, 3, 2, 3, 8)]
    torch.testing.assert_close(y, model.model[-1].decode(raw))
    assert ((y[:, 4:] > 0) & (y[:, 4:] < 1)).all()
    model.model[-1].export = True
    torch.testing.assert_close(model(images), y)


def test_strides_and_anchors_in_stride_units(tiny_model):
    head = tiny_model.model[-1]
    assert isinstance(tiny_model, DetectionModel) and isinstance(head, AnchorDetect)
    assert head.stride.tolist() == STRIDES and tiny_model.stride.tolist() == STRIDES
    assert (head.nc, head.no, head.nl, head.na) == (3, 8, 3, 3)
    torch.testing.assert_close(head.anchors, pixel_anchors() / torch.tensor(STRIDES).view(3, 1, 1))
    assert (head.i, head.f, head.type) == (24, [17, 20, 23], "yolo_alpha.ultralytics.anchor_head.AnchorDetect")
    assert head.np == sum(p.numel() for p in head.parameters())
    assert {17, 20, 23} <= set(tiny_model.save)


def test_anchor_order_check_flips_a_reversed_set_and_keeps_a_right_one():
    head = head_with(anchors=ANCHORS[::-1])
    assert check_anchor_order(head) is True
    torch.testing.assert_close(head.anchors, pixel_anchors())
    assert check_anchor_order(head) is False
    torch.testing.assert_close(head.anchors, pixel_anchors())

    reversed_yaml = load_model_yaml("yolov5n-anchor.yaml")
    reversed_yaml["anchors"] = ANCHORS[::-1]  # a YAML listing P5's anchors first
    model = AnchorDetectionModel(reversed_yaml, nc=1, verbose=False)
    torch.testing.assert_close(model.model[-1].anchors, pixel_anchors() / torch.tensor(STRIDES).view(3, 1, 1))


def test_bias_prior_is_yolov5s():
    head = head_with(nc=3)
    for conv in head.m:
        torch.nn.init.zeros_(conv.bias)
    head.initialize_biases()
    for conv, s in zip(head.m, STRIDES):
        b = conv.bias.view(3, 8)
        torch.testing.assert_close(b[:, :4], torch.zeros(3, 4))
        torch.testing.assert_close(b[:, 4], torch.full((3,), math.log(8 / (640 / s) ** 2)))
        torch.testing.assert_close(b[:, 5:], torch.full((3, 3), math.log(0.6 / (3 - 0.99))))
    assert head.m[0].bias[4].item() == pytest.approx(math.log(8 / 6400))  # 80 × 80 cells at stride 8, 640 px

    cf = torch.tensor([1.0, 3.0, 4.0])  # class frequencies
    for conv in head.m:
        torch.nn.init.zeros_(conv.bias)
    head.initialize_biases(cf)
    torch.testing.assert_close(head.m[2].bias.view(3, 8)[0, 5:], torch.log(cf / 8))


def test_the_built_model_carries_the_prior_on_top_of_pytorchs_init(tiny_model):
    head = tiny_model.model[-1]
    for conv, s in zip(head.m, STRIDES):
        bound = 1 / math.sqrt(conv.in_channels)  # Conv2d's default bias init: U(−1/√fan_in, 1/√fan_in)
        b = conv.bias.detach().view(3, 8)
        assert (b[:, 4] - math.log(8 / (640 / s) ** 2)).abs().max() <= bound
        assert (b[:, 5:] - math.log(0.6 / (3 - 0.99))).abs().max() <= bound
        assert b[:, :4].abs().max() <= bound


def head_params(ch: tuple, nc: int) -> int:
    return sum((c + 1) * 3 * (5 + nc) for c in ch)


@pytest.mark.parametrize(
    ("scale", "ch", "params", "fused"),
    [
        ("n", (64, 128, 256), 1_872_157, 1_867_405),  # YOLOv5n v6.0 summary (unfused / fused)
        ("s", (128, 256, 512), 7_235_389, 7_225_885),  # YOLOv5s v6.0 summary
    ],
)
def test_scales_have_yolov5s_parameter_counts(scale, ch, params, fused):
    model = AnchorDetectionModel(f"yolov5{scale}-anchor.yaml", verbose=False)  # nc 80, as YOLOv5's summaries
    assert model.yaml["scale"] == scale
    assert [conv.in_channels for conv in model.model[-1].m] == list(ch)
    assert sum(p.numel() for p in model.parameters()) == params
    small = AnchorDetectionModel(f"yolov5{scale}-anchor.yaml", nc=3, verbose=False)
    assert sum(p.numel() for p in small.parameters()) == params - head_params(ch, 80) + head_params(ch, 3)
    assert sum(p.numel() for p in model.fuse(verbose=False).parameters()) == fused


def test_base_model_behaviour_is_kept(tiny_model):
    model = deepcopy(tiny_model).eval()
    images = torch.rand(1, 3, 64, 64)
    y = model(images)[0]
    assert "model.24.anchors" in model.state_dict() and "model.24.stride" not in model.state_dict()

    fused = deepcopy(model).fuse(verbose=False)
    assert fused.is_fused()
    torch.testing.assert_close(fused(images)[0], y, rtol=1e-4, atol=1e-3)

    double = deepcopy(model).double()  # every buffer (anchors, stride) follows the dtype
    torch.testing.assert_close(double(images.double())[0].float(), y, rtol=1e-4, atol=1e-3)

    restored = pickle.loads(pickle.dumps(model))  # as a checkpoint: the grid cache is not pickled
    assert restored.model[-1]._grids == {} and model.model[-1]._grids
    torch.testing.assert_close(restored(images)[0], y)

    fresh = AnchorDetectionModel("yolov5n-anchor.yaml", nc=3, verbose=False).eval()
    fresh.load(model, verbose=False)
    torch.testing.assert_close(fresh(images)[0], y)

    with pytest.raises(NotImplementedError, match="augment=True"):
        model.predict(images, augment=True)


def test_loss_of_a_batch_goes_through_anchor_compute_loss(tiny_model):
    pytest.importorskip("yolo_alpha.ultralytics.anchor_loss")
    model = deepcopy(tiny_model).train()
    model.args = {"box": 0.05, "cls": 0.5, "obj": 1.0, "anchor_t": 4.0, "imgsz": 64}
    batch = {
        "img": torch.rand(2, 3, 64, 64),
        "batch_idx": torch.tensor([0.0, 1.0, 1.0]),
        "cls": torch.tensor([[0.0], [2.0], [1.0]]),
        "bboxes": torch.tensor([[0.5, 0.5, 0.4, 0.3], [0.3, 0.6, 0.2, 0.5], [0.7, 0.2, 0.3, 0.2]]),  # xywh, 0-1
    }
    loss, items = model.loss(batch)
    assert type(model.criterion).__name__ == "AnchorComputeLoss"
    values = torch.stack(list(items.values())) if isinstance(items, dict) else items  # dict: Ultralytics 8.4
    assert values.shape == (3,) and torch.isfinite(values).all() and (values > 0).all()  # box, obj, cls
    loss.sum().backward()
    assert model.model[-1].m[0].weight.grad.abs().sum() > 0


def test_names_resolve_to_the_shipped_yaml_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = models_dir() / "yolov5-anchor.yaml"
    assert shipped.is_file()
    assert resolve_model("yolov5s-anchor.yaml") == str(models_dir() / "yolov5s-anchor.yaml")
    for other in ("yolov8n.yaml", "best.pt", "runs/x/yolov5s-anchor.yaml"):
        assert resolve_model(other) == other
    assert is_anchor_yaml("yolov5x-anchor.yaml") and is_anchor_yaml(load_model_yaml("yolov5m-anchor.yaml"))
    assert not is_anchor_yaml("yolov8n.yaml") and not is_anchor_yaml("best.pt")
    assert load_model_yaml("yolov5l-anchor.yaml")["scale"] == "l"

    model = AlphaYOLO("yolov5n-anchor.yaml")
    assert type(model.model) is AnchorDetectionModel and model.task == "detect"
    assert model.model.yaml["scale"] == "n" and sum(p.numel() for p in model.model.parameters()) == 1_872_157
    assert type(AlphaYOLO("yolov8n.yaml").model) is DetectionModel  # stock families stay stock


def test_factory_picks_the_class_by_head():
    assert type(build_detection_model("yolov5n-anchor.yaml", nc=2, verbose=False)) is AnchorDetectionModel
    assert type(build_detection_model("yolov8n.yaml", nc=2, verbose=False)) is DetectionModel
    with pytest.raises(ValueError, match="AnchorDetect"):
        AnchorDetectionModel("yolov8n.yaml", verbose=False)


def test_predict_and_val_run_ultralytics_own_classes(tiny_data, tmp_path):
    model = AlphaYOLO("yolov5n-anchor.yaml")
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    results = model.predict(image, imgsz=64, conf=0.0, verbose=False)
    assert len(results) == 1 and results[0].boxes.xyxy.shape[1] == 4
    metrics = model.val(data=str(tiny_data), imgsz=64, batch=8, plots=False, verbose=False, project=str(tmp_path))
    assert 0 <= metrics.box.map <= 1


class FactoryTrainer(DetectionTrainer):
    """Ultralytics' trainer whose model comes from :func:`build_detection_model` (what a trainer of ours must do)."""

    def get_model(self, cfg=None, weights=None, verbose=True):
        model = build_detection_model(cfg, nc=self.data["nc"], ch=self.data["channels"], verbose=False)
        if weights:
            model.load(weights)
        return model


@pytest.mark.slow
def test_one_epoch_trains_saves_and_reloads_the_anchor_model(tiny_train):
    tiny_train.pop("model")
    model = AlphaYOLO("yolov5n-anchor.yaml")
    model.train(trainer=FactoryTrainer, **tiny_train)
    assert type(model.trainer.model.criterion).__name__ == "AnchorComputeLoss"
    best = AlphaYOLO(str(model.trainer.best))
    head = best.model.model[-1]
    assert type(best.model) is AnchorDetectionModel and best.model.nc == 5 and head.nc == 5
    torch.testing.assert_close(head.anchors, pixel_anchors() / torch.tensor(STRIDES).view(3, 1, 1))
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    assert len(best.predict(image, imgsz=64, verbose=False)) == 1
