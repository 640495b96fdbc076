"""EIoU, α-EIoU and Focal-EIoU: hand-worked values, a re-derivation, the detached IoU^γ weight, gradcheck."""

from __future__ import annotations

import pytest
import torch

from yolo_alpha.losses import box_loss
from yolo_alpha.losses.eiou import side_penalties

# pred [0,0,2,2] vs target [1,0,4,3]: intersection x [1,2] × y [0,2] = 2; areas 4 and 9, union 11, IoU = 2/11.
# Centres (1,1), (2.5,1.5): ρ² = 1.5² + 0.5² = 2.5. Enclosing box [0,0,4,3]: Cw = 4, Ch = 3, c² = 25.
# Widths 2 vs 3 and heights 2 vs 3: (w − wgt)²/Cw² = 1/16, (h − hgt)²/Ch² = 1/9.
PAIR = ([0.0, 0, 2, 2], [1.0, 0, 4, 3])
IOU = 2 / 11
EIOU = 1 - IOU + 2.5 / 25 + 1 / 16 + 1 / 9


def _loss(name, pair=PAIR, **settings):
    pred, target = (torch.tensor([box], dtype=torch.float64) for box in pair)
    return box_loss(pred, target, name, **settings).item()


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("eiou", {}, EIOU),
        ("alpha_eiou", {"alpha": 1}, EIOU),
        ("alpha_eiou", {"alpha": 2}, 1 - IOU**2 + 0.1**2 + (1 / 16) ** 2 + (1 / 9) ** 2),
        ("alpha_eiou", {"alpha": 3, "alpha2": 0.5}, 1 - IOU**3 + 0.1**0.5 + (1 / 16) ** 0.5 + (1 / 9) ** 0.5),
        ("focal_eiou", {}, IOU**0.5 * EIOU),  # the paper's γ = 0.5
        ("focal_eiou", {"focal_gamma": 2}, IOU**2 * EIOU),
    ],
)
def test_hand_worked_values(name, settings, expected):
    assert _loss(name, **settings) == pytest.approx(expected, rel=1e-6)


def test_concentric_boxes():
    # [1,1,3,3] inside [0,0,4,4]: IoU 4/16, same centre, Cw = Ch = 4, (2 − 4)²/16 = 1/4 twice: 0.75 + 0.5.
    assert _loss("eiou", ([1.0, 1, 3, 3], [0.0, 0, 4, 4])) == pytest.approx(1.25, rel=1e-6)
    assert _loss("focal_eiou", ([1.0, 1, 3, 3], [0.0, 0, 4, 4])) == pytest.approx(0.5 * 1.25, rel=1e-6)


def test_disjoint_boxes_get_no_focal_weight():
    # IoU 0: Focal-EIoU weights the pair by 0^γ = 0 (the paper focuses on high-IoU pairs), EIoU does not.
    pair = ([0.0, 0, 1, 1], [3.0, 0, 4, 2])
    assert _loss("focal_eiou", pair) == 0
    assert _loss("eiou", pair) > 1


def _eiou_rederived(b1, b2, eps=1e-7):
    # EIoU as the YOLO code bases that ship it write it (bbox_iou(..., EIoU=True)), on xyxy boxes, with each
    # ``D + eps`` written max(D, eps): the guard of geometry.area_guard for pairs of 1 unit and more (these are).
    # The shipped ``+ eps`` differs from it by eps/D, ~1e-9 here, and made identical tiny boxes lose (test_loss_scale).
    b1_x1, b1_y1, b1_x2, b1_y2 = b1.unbind(-1)
    b2_x1, b2_y1, b2_x2, b2_y2 = b2.unbind(-1)
    inter = (torch.min(b1_x2, b2_x2) - torch.max(b1_x1, b2_x1)).clamp(0) * (
        torch.min(b1_y2, b2_y2) - torch.max(b1_y1, b2_y1)
    ).clamp(0)
    w1, h1, w2, h2 = b1_x2 - b1_x1, b1_y2 - b1_y1, b2_x2 - b2_x1, b2_y2 - b2_y1
    iou = inter / (w1 * h1 + w2 * h2 - inter).clamp(min=eps)
    cw = torch.max(b1_x2, b2_x2) - torch.min(b1_x1, b2_x1)
    ch = torch.max(b1_y2, b2_y2) - torch.min(b1_y1, b2_y1)
    rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2) ** 2 + (b2_y1 + b2_y2 - b1_y1 - b1_y2) ** 2) / 4
    rho_w2, rho_h2 = (w2 - w1) ** 2, (h2 - h1) ** 2
    diag = (cw**2 + ch**2).clamp(min=eps)
    return 1 - (iou - (rho2 / diag + rho_w2 / (cw**2).clamp(min=eps) + rho_h2 / (ch**2).clamp(min=eps))), iou


def test_equals_a_straightforward_rederivation(random_box_pairs):
    pred, target = random_box_pairs(300, seed=11, dtype=torch.float64)
    expected, iou = _eiou_rederived(pred, target)
    torch.testing.assert_close(box_loss(pred, target, "eiou"), expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(box_loss(pred, target, "focal_eiou"), iou**0.5 * expected, rtol=1e-10, atol=1e-12)


def test_side_penalties_lie_in_unit_interval(random_box_pairs):
    pred, target = random_box_pairs(500, seed=12, dtype=torch.float64)
    for penalty in side_penalties(pred, target):
        assert ((penalty >= 0) & (penalty <= 1)).all()


def _overlapping_pairs():
    # Overlapping pairs with distinct coordinates, far from the kinks of min/max.
    pred = torch.tensor([[0.0, 0, 2, 2], [1, 1, 3.5, 4], [2, 0, 5, 3]], dtype=torch.float64)
    target = torch.tensor([[1.0, 0.3, 4, 3], [0.2, 1.4, 3.1, 3.3], [2.6, 0.5, 6.1, 2.2]], dtype=torch.float64)
    return pred.requires_grad_(), target.requires_grad_()


def test_focal_eiou_weight_is_held_constant_in_backward():
    # Gradient = IoU^γ (frozen at the evaluation point) × ∂L_EIoU: the product rule's γ IoU^(γ−1) L_EIoU ∂IoU term,
    # which would push the IoU down, is absent. gradcheck the frozen-weight function, then compare gradients.
    pred, target = _overlapping_pairs()
    with torch.no_grad():
        weight = _eiou_rederived(pred, target)[1] ** 0.7

    def frozen(p, t):
        return weight * box_loss(p, t, "eiou")

    assert torch.autograd.gradcheck(frozen, (pred, target))
    actual = torch.autograd.grad(box_loss(pred, target, "focal_eiou", focal_gamma=0.7).sum(), (pred, target))
    expected = torch.autograd.grad(frozen(pred, target).sum(), (pred, target))
    torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-14)
