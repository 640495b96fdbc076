"""box_loss refuses tensor arguments it cannot compute a meaningful loss from, naming the argument and what is
allowed: inverted boxes, bool/complex dtypes, meta tensors, and an invalid Wise-IoU v3 ``iou_mean``. LossSpec (the
training path) skips these checks."""

from __future__ import annotations

import math

import pytest
import torch

from yolo_alpha.losses import LossConfigError, box_loss, list_losses, resolve_loss

PRED = torch.tensor([[0.0, 0, 2, 2], [1, 1, 3, 4]])
TARGET = torch.tensor([[1.0, 0, 4, 3], [0, 1, 3, 3]])
CONVERT = ". Convert xywh or cxcywh boxes to xyxy first"


def _inverted(key: str, row: list, index: int, which: str, more: str = "") -> str:
    return f"{key} must hold xyxy boxes with x1 <= x2 and y1 <= y2, got {row} in row {index} ({which}{more}){CONVERT}"


def test_giou_of_an_inverted_box_is_refused_not_a_perfect_match():
    # [20,20,10,10] is [10,10,20,20] with its corners swapped: widths −10 give the "union" 200 − 100 and the IoU −1,
    # a meaningless number (unclamped, GIoU's penalty read the pair as a perfect match). box_loss refuses it instead.
    pred, target = torch.tensor([[20.0, 20, 10, 10]]), torch.tensor([[10.0, 10, 20, 20]])
    with pytest.raises(LossConfigError) as error:
        box_loss(pred, target, "giou")
    assert str(error.value) == _inverted("pred", [20.0, 20.0, 10.0, 10.0], 0, "x2 < x1 and y2 < y1")


@pytest.mark.parametrize(
    ("pred", "target", "message"),
    [
        ([[0, 0, 2, 2], [3, 1, 1, 4]], TARGET, _inverted("pred", [3.0, 1.0, 1.0, 4.0], 1, "x2 < x1")),
        (PRED, [[1, 0, 4, 3], [0, 3, 3, 1]], _inverted("target", [0.0, 3.0, 3.0, 1.0], 1, "y2 < y1")),
        (
            [[2, 0, 0, 2], [3, 4, 1, 1]],
            TARGET,
            _inverted("pred", [2.0, 0.0, 0.0, 2.0], 0, "x2 < x1", "; 1 more row is inverted"),
        ),
        (PRED, [[4, 0, 1, 3]] * 2 + [[0, 0, 1, 1]], None),  # shapes differ: the shape error comes first
    ],
)
def test_inverted_rows_are_refused_naming_the_argument_and_showing_the_row(pred, target, message):
    pred, target = torch.as_tensor(pred, dtype=torch.float32), torch.as_tensor(target, dtype=torch.float32)
    with pytest.raises(LossConfigError) as error:
        box_loss(pred, target, "alpha_ciou")
    if message is None:
        assert str(error.value).startswith("pred and target must both be (N, 4) xyxy box tensors with the same N")
    else:
        assert str(error.value) == message


def test_many_inverted_rows_are_counted():
    pred = torch.tensor([[0.0, 0, 1, 1]] + [[5.0, 5, 4, 6]] * 4)
    with pytest.raises(
        LossConfigError, match=r"got \[5\.0, 5\.0, 4\.0, 6\.0\] in row 1 \(x2 < x1; 3 more rows are inverted\)"
    ):
        box_loss(pred, pred.clone().abs(), "iou")


@pytest.mark.parametrize("name", list_losses())
def test_every_loss_refuses_an_inverted_box(name):
    with pytest.raises(LossConfigError, match=r"^pred must hold xyxy boxes with x1 <= x2 and y1 <= y2, got "):
        box_loss(torch.tensor([[0.0, 2, 2, 0]]), torch.tensor([[0.0, 0, 2, 2]]), name)


def test_zero_width_and_non_finite_rows_are_not_inverted():
    # x1 == x2 is a valid (degenerate) box; a row with a NaN or inf gives NaN (test_loss_non_finite.py), even where
    # its finite coordinates are out of order.
    pred = torch.tensor([[1.0, 0, 1, 2], [math.nan, 5, 0, 1], [math.inf, 0, 5, 5], [0, 0, -math.inf, 1]])
    target = torch.tensor([[0.0, 0, 2, 2]] * 4)
    loss = box_loss(pred, target, "alpha_giou")
    assert torch.isfinite(loss[0]) and torch.isnan(loss[1:]).all()


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int16, torch.uint8])
def test_integer_boxes_are_accepted_as_float32(dtype):
    pred, target = torch.tensor([[0, 0, 2, 2], [1, 1, 3, 4]]), torch.tensor([[1, 0, 4, 3], [0, 1, 3, 3]])
    loss = box_loss(pred.to(dtype), target.to(dtype), "alpha_diou")
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, box_loss(pred.float(), target.float(), "alpha_diou"), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.bool, torch.complex64, torch.complex128])
@pytest.mark.parametrize("key", ["pred", "target"])
def test_bool_and_complex_boxes_are_refused(key, dtype):
    boxes = {"pred": PRED, "target": TARGET}
    boxes[key] = boxes[key].to(dtype)
    with pytest.raises(LossConfigError) as error:
        box_loss(boxes["pred"], boxes["target"])
    assert str(error.value) == (
        f"{key} must hold real box coordinates (a floating-point or integer dtype), got dtype {dtype}"
    )


@pytest.mark.parametrize("key", ["pred", "target"])
def test_meta_tensors_are_refused(key):
    boxes = {"pred": PRED, "target": TARGET}
    boxes[key] = boxes[key].to("meta")
    with pytest.raises(LossConfigError) as error:
        box_loss(boxes["pred"], boxes["target"])
    assert str(error.value) == (
        f"{key} must be a tensor with values, got one on the meta device (a shape without data); "
        "create the boxes on cpu or cuda"
    )


IOU_MEAN_HINT = " (the running mean of 1 − IoU: start at 1.0 and update it with wise_iou.update_iou_mean)"


@pytest.mark.parametrize(
    ("iou_mean", "shown"),
    [
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (0, "0"),
        (0.0, "0.0"),
        (-0.5, "-0.5"),
        (True, "True"),
        ("0.3", "'0.3'"),
        (torch.tensor(math.nan), "nan"),
        (torch.tensor(math.inf, dtype=torch.float64), "inf"),
        (torch.tensor(0.0), "0.0"),
        (torch.tensor(-1.0), "-1.0"),
    ],
)
def test_wiou_refuses_an_iou_mean_that_is_not_a_finite_number_above_0(iou_mean, shown):
    with pytest.raises(LossConfigError) as error:
        box_loss(PRED, TARGET, "wiou", iou_mean=iou_mean)
    assert str(error.value) == f"iou_mean must be a finite number > 0, got {shown}{IOU_MEAN_HINT}"


@pytest.mark.parametrize(
    ("iou_mean", "described"),
    [
        (torch.tensor([0.5]), "shape (1,) and dtype torch.float32"),
        (torch.tensor(True), "shape () and dtype torch.bool"),
        (torch.tensor(0.5 + 0j), "shape () and dtype torch.complex64"),
        (torch.tensor(0.5, device="meta"), "shape () and dtype torch.float32 on the meta device"),
    ],
)
def test_wiou_refuses_an_iou_mean_tensor_that_is_not_a_real_scalar(iou_mean, described):
    with pytest.raises(LossConfigError) as error:
        box_loss(PRED, TARGET, "wiou", iou_mean=iou_mean)
    assert (
        str(error.value)
        == f"iou_mean must be a float or a 0-dim real tensor, got a tensor of {described}{IOU_MEAN_HINT}"
    )


@pytest.mark.parametrize("iou_mean", [0.4, 1e-3, 1, torch.tensor(0.4), torch.tensor(0.4, dtype=torch.float64)])
def test_wiou_accepts_a_positive_iou_mean(iou_mean):
    expected = resolve_loss("wiou")(PRED, TARGET, iou_mean=iou_mean)
    torch.testing.assert_close(box_loss(PRED, TARGET, "wiou", iou_mean=iou_mean), expected, rtol=0, atol=0)
    assert torch.isfinite(expected).all()


def test_the_training_path_skips_these_checks():
    # LossSpec runs once per batch on Ultralytics' decoded boxes (never inverted) and update_iou_mean's running mean
    # (finite, > 0): it computes whatever it is given, a meaningless finite number for the inverted GIoU example.
    pred, target = torch.tensor([[20.0, 20, 10, 10]]), torch.tensor([[10.0, 10, 20, 20]])
    assert torch.isfinite(resolve_loss("giou")(pred, target)).all()
    assert resolve_loss("wiou")(PRED, TARGET, iou_mean=0.0).shape == (2,)
    assert resolve_loss("iou")(PRED.bool(), TARGET.bool()).dtype == torch.float32
