"""Finite losses and gradients on degenerate boxes, mixed precision, empty input, dtypes and reductions."""

from __future__ import annotations

import pytest
import torch

from yolo_alpha.losses import IOU_TERMS, box_loss, list_losses, resolve_loss
from yolo_alpha.losses.registry import takes_alpha, unused_keys_of

# Each row is a (pred, target) pair a detector can produce early in training or a label set can contain.
DEGENERATE = {
    "zero-width pred": ([1, 1, 1, 3], [0, 0, 2, 2]),
    "zero-height target": ([0, 0, 2, 2], [0, 1, 2, 1]),
    "zero-height pred, zero-width target": ([0, 1, 2, 1], [1, 0, 1, 2]),
    "identical zero-area boxes": ([1, 1, 1, 1], [1, 1, 1, 1]),
    "zero-area pred inside target": ([1, 1, 1, 1], [0, 0, 2, 2]),
    "identical boxes": ([0, 0, 2, 2], [0, 0, 2, 2]),
    "concentric boxes": ([1, 1, 3, 3], [0, 0, 4, 4]),
    "touching boxes": ([0, 0, 1, 1], [1, 0, 2, 1]),
    "far apart": ([0, 0, 1, 1], [9000, 9000, 9001, 9001]),
    "large coordinates": ([0, 0, 1e4, 1e4], [5e3, 5e3, 1e4, 1e4]),
    "tiny vs huge": ([0, 0, 1e-4, 1e-4], [0, 0, 1e4, 1e4]),
    "zero-height pred at 1e4": ([0, 1e4, 1e4, 1e4], [0, 0, 1e4, 1e4]),
}


def _degenerate_pairs(dtype=torch.float32):
    pred, target = zip(*DEGENERATE.values())
    return torch.tensor(pred, dtype=dtype), torch.tensor(target, dtype=dtype)


def _all_settings():
    for name in list_losses():
        for iou_term in ("power",) if "iou_term" in unused_keys_of(name) else IOU_TERMS:
            for alpha in [0.5, 1.0, 3.0] if takes_alpha(name) else [1.0]:
                yield name, alpha, iou_term
        if takes_alpha(name):
            yield name, 0.0, "boxcox"


@pytest.mark.parametrize(("name", "alpha", "iou_term"), list(_all_settings()))
def test_degenerate_boxes_give_finite_loss_and_gradient(name, alpha, iou_term):
    pred, target = (boxes.requires_grad_() for boxes in _degenerate_pairs())
    # alpha2 = 0.5 below 1 whatever alpha is: a power < 1 of a zero penalty is where a naive x**α2 gives NaN.
    # alpha_iou has no penalty, and refuses an alpha2 (resolve_loss): None.
    alpha2 = (None if "alpha2" in unused_keys_of(name) else 0.5) if takes_alpha(name) else 1.0
    loss = box_loss(pred, target, name, alpha=alpha, alpha2=alpha2, iou_term=iou_term)
    loss.sum().backward()
    failing = [case for case, ok in zip(DEGENERATE, torch.isfinite(loss)) if not ok]
    assert not failing, f"non-finite loss for {failing}"
    for key, grad in (("pred", pred.grad), ("target", target.grad)):
        failing = [case for case, ok in zip(DEGENERATE, torch.isfinite(grad).all(dim=1)) if not ok]
        assert not failing, f"non-finite {key} gradient for {failing}"


@pytest.mark.parametrize("name", list_losses())
def test_float16_input_gives_finite_float32_loss(name, random_box_pairs):
    pred, target = random_box_pairs(64, seed=5)
    degenerate_pred, degenerate_target = _degenerate_pairs()
    pred16 = torch.cat((pred, degenerate_pred)).half().requires_grad_()
    target16 = torch.cat((target, degenerate_target)).half()
    loss = box_loss(pred16, target16, name)
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss).all()
    # Rounding the inputs to half is the only error: the loss is that of the rounded boxes, computed in float32.
    torch.testing.assert_close(loss, box_loss(pred16.float(), target16.float(), name))
    loss.sum().backward()
    assert pred16.grad.dtype == torch.float16
    # Only the ordinary rows: a zero-area pred has a CIoU aspect gradient (and ℓ1 a log-size gradient) of order
    # 1/eps = 1e7 (as in Ultralytics), finite in the float32 computation (see the degenerate test) but beyond
    # float16's range once cast back.
    assert torch.isfinite(pred16.grad[: len(pred)]).all()


@pytest.mark.parametrize("name", ["alpha_ciou", "alpha_iou", "ciou"])
def test_bfloat16_autocast_on_cpu_gives_float32_loss(name, random_box_pairs):
    pred, target = random_box_pairs(64, seed=6)
    layer = torch.nn.Linear(4, 4)
    with torch.no_grad():  # the identity, so the layer's bfloat16 output is the boxes rounded to bfloat16
        layer.weight.copy_(torch.eye(4))
        layer.bias.zero_()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        pred_bf16 = layer(pred)
        assert pred_bf16.dtype == torch.bfloat16
        loss = box_loss(pred_bf16, target, name)
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss, box_loss(pred_bf16.float(), target, name))
    loss.mean().backward()
    assert torch.isfinite(layer.weight.grad).all()


def test_float64_input_stays_float64(random_box_pairs):
    pred, target = random_box_pairs(8, dtype=torch.float64)
    assert box_loss(pred, target).dtype == torch.float64


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", list_losses())
def test_empty_input_backpropagates(name, reduction):
    pred = torch.zeros(0, 4, requires_grad=True)
    loss = box_loss(pred, torch.zeros(0, 4), name, reduction=reduction)
    assert loss.shape == ((0,) if reduction == "none" else ())
    if reduction != "none":
        assert loss.item() == 0
    loss.sum().backward()
    assert pred.grad.shape == (0, 4)


def test_reductions(random_box_pairs):
    pred, target = random_box_pairs(10)
    per_box = box_loss(pred, target)
    assert per_box.shape == (10,)
    torch.testing.assert_close(box_loss(pred, target, reduction="mean"), per_box.mean())
    torch.testing.assert_close(box_loss(pred, target, reduction="sum"), per_box.sum())


def test_spec_call_equals_box_loss(random_box_pairs):
    pred, target = random_box_pairs(10)
    spec = resolve_loss("alpha_giou", alpha=2, alpha2=0.5, iou_term="boxcox")
    torch.testing.assert_close(spec(pred, target), box_loss(pred, target, "alpha_giou", 2, 0.5, "boxcox"))
