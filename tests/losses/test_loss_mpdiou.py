"""MPDIoU and α-MPDIoU: hand-worked values, the paper's form with the enclosing diagonal as its normaliser."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from yolo_alpha.losses import box_loss
from yolo_alpha.losses.mpdiou import corner_penalties

# pred [0,0,2,2] vs target [1,0,4,3]: IoU 2/11. Top-left corners (0,0), (1,0): d1² = 1; bottom-right corners
# (2,2), (4,3): d2² = 4 + 1 = 5. Enclosing box [0,0,4,3]: c² = 16 + 9 = 25.
PAIR = ([0.0, 0, 2, 2], [1.0, 0, 4, 3])
IOU = 2 / 11


def _loss(name, pair=PAIR, **settings):
    pred, target = (torch.tensor([box], dtype=torch.float64) for box in pair)
    return box_loss(pred, target, name, **settings).item()


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("mpdiou", {}, 1 - IOU + 1 / 25 + 5 / 25),
        ("alpha_mpdiou", {"alpha": 1}, 1 - IOU + 1 / 25 + 5 / 25),
        ("alpha_mpdiou", {"alpha": 3}, 1 - IOU**3 + (1 / 25) ** 3 + (5 / 25) ** 3),
        ("alpha_mpdiou", {"alpha": 2, "alpha2": 0.5}, 1 - IOU**2 + (1 / 25) ** 0.5 + (5 / 25) ** 0.5),
    ],
)
def test_hand_worked_values(name, settings, expected):
    assert _loss(name, **settings) == pytest.approx(expected, rel=1e-6)


def test_same_aspect_ratio_different_size_is_penalised():
    # The paper's motivating case: concentric boxes of one aspect ratio. [1,1,3,3] in [0,0,4,4]: IoU 1/4, both
    # corner distances² = 2, c² = 32. CIoU's aspect term and DIoU's centre term are both 0 here.
    pair = ([1.0, 1, 3, 3], [0.0, 0, 4, 4])
    assert _loss("mpdiou", pair) == pytest.approx(0.75 + 2 / 32 + 2 / 32, rel=1e-6)
    assert _loss("mpdiou", pair) > _loss("diou", pair)


def _mpdiou_paper_form(b1, b2, width, height, eps=1e-7):
    # The paper's L = 1 − IoU + d1²/(w² + h²) + d2²/(w² + h²), with an explicit normalising size (w, h), each
    # denominator kept >= eps (geometry.area_guard for pairs of 1 unit and more, as these are) instead of + eps.
    b1_x1, b1_y1, b1_x2, b1_y2 = b1.unbind(-1)
    b2_x1, b2_y1, b2_x2, b2_y2 = b2.unbind(-1)
    inter = (torch.min(b1_x2, b2_x2) - torch.max(b1_x1, b2_x1)).clamp(0) * (
        torch.min(b1_y2, b2_y2) - torch.max(b1_y1, b2_y1)
    ).clamp(0)
    union = (b1_x2 - b1_x1) * (b1_y2 - b1_y1) + (b2_x2 - b2_x1) * (b2_y2 - b2_y1) - inter
    d1 = (b2_x1 - b1_x1) ** 2 + (b2_y1 - b1_y1) ** 2
    d2 = (b2_x2 - b1_x2) ** 2 + (b2_y2 - b1_y2) ** 2
    norm = (width**2 + height**2).clamp(min=eps)
    return 1 - inter / union.clamp(min=eps) + d1 / norm + d2 / norm


def test_equals_the_paper_form_with_the_enclosing_box_as_image(random_box_pairs):
    pred, target = random_box_pairs(300, seed=31, dtype=torch.float64)
    w, h = (torch.max(pred[:, i + 2], target[:, i + 2]) - torch.min(pred[:, i], target[:, i]) for i in (0, 1))
    expected = _mpdiou_paper_form(pred, target, w, h)
    torch.testing.assert_close(box_loss(pred, target, "mpdiou"), expected, rtol=1e-10, atol=1e-12)


def test_is_scale_and_translation_invariant(random_box_pairs):
    # The reason for the enclosing-box normaliser: grid cells of any stride, or pixels, give the same loss.
    pred, target = random_box_pairs(100, seed=32, dtype=torch.float64)
    shift = torch.tensor([7.0, -3, 7, -3], dtype=torch.float64)
    expected = box_loss(pred, target, "mpdiou")
    torch.testing.assert_close(box_loss(pred * 8 + shift, target * 8 + shift, "mpdiou"), expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=8, max_size=8))
def test_corner_penalties_lie_in_unit_interval(coords):
    """Both corners of each kind lie in the enclosing box, so d²/c² ∈ [0, 1] (eq. 3 needs a penalty in [0, 1])."""
    x = torch.tensor(coords, dtype=torch.float64).view(2, 4)
    boxes = torch.stack(
        (
            torch.minimum(x[:, 0], x[:, 2]),
            torch.minimum(x[:, 1], x[:, 3]),
            torch.maximum(x[:, 0], x[:, 2]),
            torch.maximum(x[:, 1], x[:, 3]),
        ),
        dim=1,
    )
    for penalty in corner_penalties(boxes[:1], boxes[1:]):
        assert 0 <= penalty.item() <= 1
