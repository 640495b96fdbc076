"""SIoU and α-SIoU: hand-worked values, the official code's arcsin form, the closed-form angle cost."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from yolo_alpha.losses import box_loss
from yolo_alpha.losses.siou import angle_cost

# pred [0,0,2,2] vs target [1,0,4,3]: IoU 2/11; centre offsets Δx = 1.5, Δy = 0.5, σ² = 2.5.
# Angle: x = Δy/σ = 0.5/√2.5, Λ = 1 − 2 sin²(arcsin x − π/4) = 2·1.5·0.5/2.5 = 0.6, γ = 2 − Λ = 1.4.
# Enclosing box 4 × 3: ρx = (1.5/4)², ρy = (0.5/3)²; Δ = 2 − e^(−1.4 ρx) − e^(−1.4 ρy).
# Shape: ω_w = |2 − 3|/3 = ω_h = 1/3, Ω = 2(1 − e^(−1/3))⁴ (θ = 4).
PAIR = ([0.0, 0, 2, 2], [1.0, 0, 4, 3])
IOU = 2 / 11
DISTANCE = 2 - math.exp(-1.4 * (1.5 / 4) ** 2) - math.exp(-1.4 * (0.5 / 3) ** 2)
SHAPE = 2 * (1 - math.exp(-1 / 3)) ** 4


def _loss(name, pair=PAIR, **settings):
    pred, target = (torch.tensor([box], dtype=torch.float64) for box in pair)
    return box_loss(pred, target, name, **settings).item()


def test_angle_of_the_hand_worked_pair():
    x = 0.5 / math.sqrt(2.5)
    assert 1 - 2 * math.sin(math.asin(x) - math.pi / 4) ** 2 == pytest.approx(0.6, rel=1e-12)
    pred, target = (torch.tensor([box], dtype=torch.float64) for box in PAIR)
    assert angle_cost(pred, target).item() == pytest.approx(0.6, rel=1e-6)


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("siou", {}, 1 - IOU + (DISTANCE + SHAPE) / 2),
        ("alpha_siou", {"alpha": 1}, 1 - IOU + (DISTANCE + SHAPE) / 2),
        ("alpha_siou", {"alpha": 3}, 1 - IOU**3 + (DISTANCE / 2) ** 3 + (SHAPE / 2) ** 3),
        ("alpha_siou", {"alpha": 2, "alpha2": 0.5}, 1 - IOU**2 + (DISTANCE / 2) ** 0.5 + (SHAPE / 2) ** 0.5),
    ],
)
def test_hand_worked_values(name, settings, expected):
    assert _loss(name, **settings) == pytest.approx(expected, rel=1e-6)


def test_axis_aligned_centres_have_no_angle_cost():
    # Centres on a horizontal line: Λ = 0, γ = 2, so only the x distance counts, at full strength.
    pair = ([0.0, 0, 2, 2], [1.0, 0, 3, 2])  # IoU 1/3, Δx = 1, enclosing 3 × 2, same sizes (Ω = 0)
    assert _loss("siou", pair) == pytest.approx(1 - 1 / 3 + (1 - math.exp(-2 / 9)) / 2, rel=1e-6)


def _siou_official_form(b1, b2, eps=1e-7):
    # The SIoU authors' published form (also YOLOv6's and the YOLO forks' bbox_iou(..., SIoU=True)): arcsin of the
    # smaller angle's sine, cos(2 arcsin − π/2), on xyxy boxes; returns the loss 1 − SIoU.
    b1_x1, b1_y1, b1_x2, b1_y2 = b1.unbind(-1)
    b2_x1, b2_y1, b2_x2, b2_y2 = b2.unbind(-1)
    w1, h1, w2, h2 = b1_x2 - b1_x1, b1_y2 - b1_y1, b2_x2 - b2_x1, b2_y2 - b2_y1
    inter = (torch.min(b1_x2, b2_x2) - torch.max(b1_x1, b2_x1)).clamp(0) * (
        torch.min(b1_y2, b2_y2) - torch.max(b1_y1, b2_y1)
    ).clamp(0)
    iou = inter / (w1 * h1 + w2 * h2 - inter + eps)
    cw = torch.max(b1_x2, b2_x2) - torch.min(b1_x1, b2_x1)
    ch = torch.max(b1_y2, b2_y2) - torch.min(b1_y1, b2_y1)
    s_cw = (b2_x1 + b2_x2 - b1_x1 - b1_x2) * 0.5
    s_ch = (b2_y1 + b2_y2 - b1_y1 - b1_y2) * 0.5
    sigma = torch.sqrt(s_cw**2 + s_ch**2)
    sin_alpha_1, sin_alpha_2 = s_cw.abs() / sigma, s_ch.abs() / sigma
    sin_alpha = torch.where(sin_alpha_1 > math.sqrt(2) / 2, sin_alpha_2, sin_alpha_1)
    angle = torch.cos(torch.arcsin(sin_alpha) * 2 - math.pi / 2)
    gamma = angle - 2
    distance = 2 - torch.exp(gamma * (s_cw / cw) ** 2) - torch.exp(gamma * (s_ch / ch) ** 2)
    omega_w, omega_h = (w1 - w2).abs() / torch.max(w1, w2), (h1 - h2).abs() / torch.max(h1, h2)
    shape = (1 - torch.exp(-omega_w)) ** 4 + (1 - torch.exp(-omega_h)) ** 4
    return 1 - (iou - 0.5 * (distance + shape))


def test_equals_the_official_arcsin_form(random_box_pairs):
    pred, target = random_box_pairs(300, seed=21, dtype=torch.float64)
    # Only the eps guards differ (the official form divides by σ and max(w, wgt) without one).
    torch.testing.assert_close(box_loss(pred, target, "siou"), _siou_official_form(pred, target), rtol=1e-6, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(st.floats(-50, 50), st.floats(-50, 50))
def test_angle_cost_is_symmetric_about_45_degrees_and_in_unit_interval(dx, dy):
    """Λ(Δx, Δy) = Λ(Δy, Δx) ∈ [0, 1]: the paper's switch to the other angle above 45° changes nothing."""
    box = torch.tensor([[0.0, 0, 2, 2]], dtype=torch.float64)
    moved = box + torch.tensor([dx, dy, dx, dy], dtype=torch.float64)
    swapped = box + torch.tensor([dy, dx, dy, dx], dtype=torch.float64)
    angle = angle_cost(box, moved)
    assert 0 <= angle.item() <= 1
    torch.testing.assert_close(angle, angle_cost(box, swapped), rtol=1e-12, atol=1e-12)
