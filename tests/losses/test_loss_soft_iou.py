"""Soft IoU: the seed's soft max/min, stable at pixel coordinates; convergence to the IoU; gradients everywhere."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from yolo_alpha.losses import box_loss
from yolo_alpha.losses.geometry import aligned_iou_and_union
from yolo_alpha.losses.soft_iou import SOFT_IOU_KAPPA, soft_iou, soft_maximum, soft_minimum


def _seed_soft_maximum(a, b, k):
    # The seed's softMax, verbatim in torch: exp(k·a) overflows once k·a > 88 in float32.
    exp_a, exp_b = torch.exp(k * a), torch.exp(k * b)
    return (a * exp_a + b * exp_b) / (exp_a + exp_b)


def test_soft_maximum_by_hand():
    # κ = ln 3: the weights e^{κ·0} : e^{κ·1} = 1 : 3, so softMax(0, 1) = 3/4 and softMin(0, 1) = 1/4.
    a, b = torch.tensor([0.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    assert soft_maximum(a, b, math.log(3)).item() == pytest.approx(0.75, rel=1e-12)
    assert soft_minimum(a, b, math.log(3)).item() == pytest.approx(0.25, rel=1e-12)
    assert soft_maximum(b, b, 10.0).item() == 1.0  # exact on ties


def test_soft_maximum_equals_the_seed_where_the_seed_is_finite_and_not_where_it_overflows():
    a = torch.linspace(-5, 5, 101, dtype=torch.float64)
    b = torch.flip(a, (0,)) * 0.3
    torch.testing.assert_close(soft_maximum(a, b, 10.0), _seed_soft_maximum(a, b, 10.0), rtol=1e-12, atol=1e-12)
    # κ = 10 at a = 100 px in float32: e^1000 = inf and the seed returns NaN; the stable form returns ~100.
    a, b = torch.tensor([100.0]), torch.tensor([99.0])
    assert torch.isnan(_seed_soft_maximum(a, b, 10.0)).all()
    assert soft_maximum(a, b, 10.0).item() == pytest.approx(100 - 1 / (1 + math.exp(10)), rel=1e-6)


def test_hand_worked_soft_iou_at_kappa_one():
    # [0,0,2,2] vs [1,0,3,2] (IoU 1/3) at κ = 1. x: softMax(0, 1) = 1 − σ(1)·... = 1 − 1·σ(−1); softMin(2, 3) =
    # 2 + σ(−1); extent 1 + 2σ(1) − 1... written out: e_x = (2 + σ(−1)) − (1 − σ(−1)) = 1 + 2σ(−1). y: extent 2.
    # I = softplus(e_x)·softplus(2) (< 4, the smaller area: no cap); soft IoU = I / (4 + 4 − I).
    sigma = 1 / (1 + math.exp(1))
    extent_x = 1 + 2 * sigma
    intersection = math.log1p(math.exp(extent_x)) * math.log1p(math.exp(2))
    pred, target = (
        torch.tensor([[0.0, 0, 2, 2]], dtype=torch.float64),
        torch.tensor([[1.0, 0, 3, 2]], dtype=torch.float64),
    )
    assert soft_iou(pred, target, kappa=1.0).item() == pytest.approx(intersection / (8 - intersection), rel=1e-6)
    assert box_loss(pred, target, "soft_iou", kappa=1).item() == pytest.approx(
        1 - intersection / (8 - intersection), rel=1e-6
    )
    assert box_loss(pred, target, "alpha_soft_iou", kappa=1, alpha=2).item() == pytest.approx(
        1 - (intersection / (8 - intersection)) ** 2, rel=1e-6
    )


def test_converges_to_the_iou_as_kappa_grows(random_box_pairs):
    pred, target = random_box_pairs(400, seed=41, dtype=torch.float64)
    iou = aligned_iou_and_union(pred, target)[0]
    gaps = [(soft_iou(pred, target, kappa) - iou).abs().max().item() for kappa in (0.3, 3.0, 30.0, 300.0)]
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-3


def test_identical_boxes_have_soft_iou_one():
    # Grid-cell sized boxes, down to a quarter cell: the cap at the smaller area makes the soft IoU |B|/(|B| + eps).
    boxes = torch.tensor([[0.0, 0, 2, 2], [3, 4, 3.25, 5], [10, 10, 90, 30]], dtype=torch.float64)
    torch.testing.assert_close(
        box_loss(boxes, boxes.clone(), "soft_iou"), torch.zeros(3, dtype=torch.float64), atol=1e-6, rtol=0
    )


def test_disjoint_boxes_get_a_gradient_towards_each_other():
    # A gap of 0.2 grid cells: the exact IoU is 0 with zero gradient; the soft IoU pulls pred to the right.
    pred = torch.tensor([[0.0, 0, 1, 1]], requires_grad=True)
    target = torch.tensor([[1.2, 0, 2.2, 1]])
    box_loss(pred, target, "soft_iou").sum().backward()
    assert pred.grad[0, 2] < 0 and pred.grad[0, 0] < 0  # increasing x1 or x2 lowers the loss
    exact = pred.detach().clone().requires_grad_()
    box_loss(exact, target, "iou").sum().backward()
    assert (exact.grad == 0).all()


@pytest.mark.parametrize("kappa", [1.0, SOFT_IOU_KAPPA, 100.0])
def test_finite_values_and_gradients_at_coordinates_up_to_1e4_in_float32(kappa):
    pred = torch.tensor(
        [[0.0, 0, 1e4, 1e4], [9000, 9000, 9001, 9001], [0, 0, 1, 1], [5e3, 5e3, 1e4, 1e4], [0, 1e4, 1e4, 1e4]],
        requires_grad=True,
    )
    target = torch.tensor(
        [[5e3, 5e3, 1e4, 1e4], [0, 0, 1, 1], [1e4 - 1, 1e4 - 1, 1e4, 1e4], [5e3, 5e3, 1e4, 1e4], [0, 0, 1e4, 1e4]]
    )
    for name in ("soft_iou", "alpha_soft_iou"):
        loss = box_loss(pred, target, name, kappa=kappa)
        (grad,) = torch.autograd.grad(loss.sum(), pred)
        assert torch.isfinite(loss).all() and torch.isfinite(grad).all()
    assert box_loss(pred[3:4], target[3:4], "soft_iou", kappa=kappa).item() == pytest.approx(0, abs=1e-6)


@st.composite
def _box_pair(draw):
    coords = [draw(st.floats(0, 80)) for _ in range(4)] + [draw(st.floats(0.05, 40)) for _ in range(4)]
    x, y, tx, ty, w, h, tw, th = coords
    return (
        torch.tensor([[x, y, x + w, y + h]], dtype=torch.float64),
        torch.tensor([[tx, ty, tx + tw, ty + th]], dtype=torch.float64),
    )


@settings(max_examples=80, deadline=None)
@given(_box_pair(), st.floats(0.1, 100))
def test_soft_iou_is_a_symmetric_value_in_unit_interval(pair, kappa):
    """0 ≤ softIoU ≤ 1 (the cap at the smaller area keeps the widened soft intersection from exceeding 1)."""
    pred, target = pair
    value = soft_iou(pred, target, kappa)
    assert 0 <= value.item() <= 1
    torch.testing.assert_close(value, soft_iou(target, pred, kappa), rtol=1e-12, atol=1e-12)
