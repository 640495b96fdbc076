"""Loss values against trusted implementations (torchvision, Ultralytics) and against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.ops as tv_ops
from ultralytics.utils.metrics import bbox_iou

from yolo_alpha.losses import box_loss, list_losses
from yolo_alpha.losses.registry import takes_alpha, unused_keys_of

CLASSIC = ["iou", "giou", "diou", "ciou"]

# float32 results agree with both references to a few ulps (measured max |Δ| 2.4e-7 on losses of order 1): the eps
# guards sit in slightly different places (Ultralytics adds eps to each height and to the union, torchvision's
# box_iou has none, its CIoU has no eps in w/h).
TOL = {"rtol": 1e-6, "atol": 1e-6}

TORCHVISION = {
    "iou": lambda pred, target: 1 - tv_ops.box_iou(pred, target).diagonal(),
    "giou": tv_ops.generalized_box_iou_loss,
    "diou": tv_ops.distance_box_iou_loss,
    "ciou": tv_ops.complete_box_iou_loss,
}
ULTRALYTICS_FLAGS = {"iou": {}, "giou": {"GIoU": True}, "diou": {"DIoU": True}, "ciou": {"CIoU": True}}


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_loss_equals_torchvision(name, random_box_pairs):
    pred, target = random_box_pairs(300, seed=1)
    torch.testing.assert_close(box_loss(pred, target, name), TORCHVISION[name](pred, target), **TOL)


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_loss_equals_one_minus_ultralytics_bbox_iou(name, random_box_pairs):
    pred, target = random_box_pairs(300, seed=2)
    expected = 1 - bbox_iou(pred, target, xywh=False, **ULTRALYTICS_FLAGS[name]).squeeze(-1)
    torch.testing.assert_close(box_loss(pred, target, name), expected, **TOL)


@pytest.mark.parametrize("iou_term", ["power", "boxcox"])
@pytest.mark.parametrize("name", CLASSIC)
def test_alpha_form_at_alpha_one_equals_classic(name, iou_term, random_box_pairs):
    pred, target = random_box_pairs(300, seed=3)
    # Box-Cox at α = 1 is (1 − IoU)/1 up to the eps clamp of the IoU inside its log.
    torch.testing.assert_close(
        box_loss(pred, target, f"alpha_{name}", alpha=1, iou_term=iou_term), box_loss(pred, target, name), **TOL
    )


def test_ciou_gradient_equals_torchvision_with_beta_held_constant(random_box_pairs):
    # torchvision computes CIoU's β under no_grad as well; equal gradients confirm where the gradient stops.
    pred, target = random_box_pairs(50, seed=4, dtype=torch.float64)
    grads = []
    for loss_fn in (lambda p, t: box_loss(p, t, "ciou"), tv_ops.complete_box_iou_loss):
        p, t = pred.clone().requires_grad_(), target.clone().requires_grad_()
        loss_fn(p, t).sum().backward()
        grads.append((p.grad, t.grad))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-7)


def _loss(pred, target, name, **settings):
    return box_loss(
        torch.tensor([pred], dtype=torch.float64), torch.tensor([target], dtype=torch.float64), name, **settings
    )


def _close(value, expected):
    # eps = 1e-7 in the IoU's denominator shifts hand-worked values by ~1e-8.
    assert value.item() == pytest.approx(expected, rel=1e-6, abs=1e-6)


# [0,0,2,2] vs [1,0,3,2]: intersection 1×2 = 2, union 4 + 4 − 2 = 6, IoU = 1/3. The enclosing box [0,0,3,2] has area
# 6 = union (GIoU penalty 0); centres (1,1) and (2,1): ρ² = 1, enclosing diagonal c² = 3² + 2² = 13. Same aspect
# ratio, so CIoU's v = 0 and CIoU = DIoU.
SIDE_BY_SIDE = ([0, 0, 2, 2], [1, 0, 3, 2])
# Diagonally adjacent unit boxes [0,0,1,1] vs [1,1,2,2]: IoU 0; enclosing box area 4, union 2, GIoU penalty
# (4 − 2)/4 = 0.5; centres (0.5,0.5) and (1.5,1.5): ρ² = 2, c² = 2² + 2² = 8, DIoU penalty 0.25.
DIAGONAL = ([0, 0, 1, 1], [1, 1, 2, 2])


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("iou", {}, 1 - 1 / 3),
        ("alpha_iou", {"alpha": 3}, 1 - (1 / 3) ** 3),
        ("alpha_iou", {"alpha": 3, "iou_term": "boxcox"}, (1 - (1 / 3) ** 3) / 3),
        ("alpha_iou", {"alpha": 0, "alpha2": 1, "iou_term": "boxcox"}, -math.log(1 / 3)),
        ("giou", {}, 1 - 1 / 3 + 0),
        ("alpha_giou", {"alpha": 3}, 1 - (1 / 3) ** 3 + 0),
        ("diou", {}, 1 - 1 / 3 + 1 / 13),
        ("alpha_diou", {"alpha": 2}, 1 - (1 / 3) ** 2 + (1 / 13) ** 2),
        ("alpha_diou", {"alpha": 2, "alpha2": 0.5}, 1 - (1 / 3) ** 2 + (1 / 13) ** 0.5),
        ("ciou", {}, 1 - 1 / 3 + 1 / 13),
        ("alpha_ciou", {"alpha": 3}, 1 - (1 / 3) ** 3 + (1 / 13) ** 3),
    ],
)
def test_side_by_side_boxes(name, settings, expected):
    _close(_loss(*SIDE_BY_SIDE, name, **settings), expected)


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("iou", {}, 1.0),
        ("alpha_iou", {"alpha": 0.5}, 1.0),
        ("giou", {}, 1.5),
        ("alpha_giou", {"alpha": 2}, 1 + 0.25),
        ("diou", {}, 1 + 0.25),
        ("alpha_diou", {"alpha": 2}, 1 + 0.25**2),
        ("ciou", {}, 1 + 0.25),  # equal aspect ratios: v = 0
        ("alpha_ciou", {"alpha": 3, "alpha2": 1}, 1 + 0.25),
    ],
)
def test_diagonally_adjacent_unit_boxes(name, settings, expected):
    _close(_loss(*DIAGONAL, name, **settings), expected)


@pytest.mark.parametrize("alpha", [1, 3])
def test_ciou_aspect_term_on_transposed_boxes(alpha):
    # [0,0,2,1] vs [0,0,1,2]: intersection 1, union 2 + 2 − 1 = 3, IoU = 1/3; centres (1,0.5), (0.5,1): ρ² = 0.5;
    # enclosing box [0,0,2,2]: c² = 8. Aspect ratios 2 vs 1/2: v = 4/π²·(atan(1/2) − atan(2))², β = v/((1 − 1/3) + v).
    v = 4 / math.pi**2 * (math.atan(1 / 2) - math.atan(2)) ** 2
    beta = v / ((1 - 1 / 3) + v)
    name = "ciou" if alpha == 1 else "alpha_ciou"
    expected = 1 - (1 / 3) ** alpha + (0.5 / 8) ** alpha + (beta * v) ** alpha
    _close(_loss([0, 0, 2, 1], [0, 0, 1, 2], name, alpha=alpha), expected)


@pytest.mark.parametrize("settings", [{"alpha": 0.5}, {"alpha": 3}, {"alpha": 3, "iou_term": "boxcox"}, {}])
@pytest.mark.parametrize("name", list_losses())
def test_identical_boxes_give_zero_loss(name, settings):
    if not takes_alpha(name):
        settings = {k: v for k, v in settings.items() if k != "alpha"}
    settings = {k: v for k, v in settings.items() if k not in unused_keys_of(name)}  # ℓ1 refuses iou_term
    boxes = torch.tensor([[0.0, 0, 2, 2], [3, 4, 10, 5]])
    loss = box_loss(boxes, boxes.clone(), name, **settings)
    torch.testing.assert_close(loss, torch.zeros(2), rtol=0, atol=1e-6)
