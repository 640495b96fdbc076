"""Shape-IoU and α-Shape-IoU: hand-worked values, the authors' published form, the halved distance, the weights.

L_Shape-IoU = 1 − IoU + D + Ω/2 with ww = 2·wgt^s/(wgt^s + hgt^s), hh = 2·hgt^s/(wgt^s + hgt^s),
D = (hh·Δx² + ww·Δy²)/c², Ω = Σ_t (1 − e^(−ω_t))⁴, ω_w = hh·|w − wgt|/max(w, wgt), ω_h = ww·|h − hgt|/max(h, hgt);
α-Shape-IoU = 1 − IoU^α + 2·(D/2)^α₂ + (Ω/2)^α₂.
"""

from __future__ import annotations

import math

import pytest
import torch
from helpers import one_pair, one_pair_loss
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import box_convert

from yolo_alpha.losses import LossConfigError, box_loss, resolve_loss
from yolo_alpha.losses import shape_iou as shape_iou_module  # registers shape_iou, alpha_shape_iou
from yolo_alpha.losses.siou import shape_cost as siou_shape_cost

# A: pred [0,0,2,2] vs target [1,0,4,3]: intersection 1 × 2 = 2, union 4 + 9 − 2 = 11, IoU 2/11. Centres (1,1) and
# (2.5,1.5): Δx = 1.5, Δy = 0.5; enclosing box 4 × 3, c² = 25. The target is square, so ww = hh = 1 for every s:
# D = (2.25 + 0.25)/25 = 0.1; ω_w = ω_h = |2 − 3|/3 = 1/3, Ω = 2(1 − e^(−1/3))⁴.
PAIR_A = ([0.0, 0, 2, 2], [1.0, 0, 4, 3])
LOSS_A = 1 - 2 / 11 + 0.1 + (1 - math.exp(-1 / 3)) ** 4
# B: pred [0,0,2,2] vs target [1,0,4,2] (3 wide, 2 high): intersection 1 × 2 = 2, union 4 + 6 − 2 = 8, IoU 1/4.
# Δx = 1.5, Δy = 0; enclosing 4 × 2, c² = 20, so Δx²/c² = 0.1125. Widths 2 vs 3 (relative error 1/3), heights equal.
#   s = 0: ww = hh = 1: D = 0.1125, ω_w = 1/3.
#   s = 1: ww = 2·3/5 = 6/5, hh = 4/5: D = 0.8·0.1125 = 0.09, ω_w = 0.8/3 = 4/15.
#   s = 2: ww = 2·9/13 = 18/13, hh = 8/13: D = (8/13)·0.1125 = 0.9/13, ω_w = (8/13)/3 = 8/39.
PAIR_B = ([0.0, 0, 2, 2], [1.0, 0, 4, 2])
SHAPE_B = {s: (1 - math.exp(-omega)) ** 4 for s, omega in ((0, 1 / 3), (1, 4 / 15), (2, 8 / 39))}
DIST_B = {0: 0.1125, 1: 0.09, 2: 0.9 / 13}
# C, where D > 1: a 1 × 10 target [0,0,1,10] and the same box 100 to its right; s = 1: ww = 2/11, hh = 20/11.
# IoU 0, Δx = 100, Δy = 0, enclosing 101 × 10, c² = 10301: D = (20/11)·10000/10301 = 200000/113311 ≈ 1.765;
# same sizes, Ω = 0. The classic loss is 1 + D; the α form powers D/2 twice.
PAIR_C = ([100.0, 0, 101, 10], [0.0, 0, 1, 10])
DIST_C = 200000 / 113311


@pytest.mark.parametrize(
    ("name", "pair", "settings", "expected"),
    [
        ("shape_iou", PAIR_A, {}, LOSS_A),
        ("shape_iou", PAIR_A, {"shape_scale": 1.5}, LOSS_A),  # a square target: the weights are 1 at every s
        ("shape_iou", PAIR_B, {}, 1 - 1 / 4 + DIST_B[0] + SHAPE_B[0] / 2),
        ("shape_iou", PAIR_B, {"shape_scale": 1}, 1 - 1 / 4 + DIST_B[1] + SHAPE_B[1] / 2),
        ("shape_iou", PAIR_B, {"shape_scale": 2}, 1 - 1 / 4 + DIST_B[2] + SHAPE_B[2] / 2),
        ("alpha_shape_iou", PAIR_B, {"alpha": 1, "shape_scale": 1}, 1 - 1 / 4 + DIST_B[1] + SHAPE_B[1] / 2),
        (
            "alpha_shape_iou",
            PAIR_B,
            {"alpha": 3, "shape_scale": 1},
            1 - (1 / 4) ** 3 + 2 * (DIST_B[1] / 2) ** 3 + (SHAPE_B[1] / 2) ** 3,
        ),
        (
            "alpha_shape_iou",
            PAIR_B,
            {"alpha": 2, "alpha2": 0.5, "shape_scale": 2},
            1 - (1 / 4) ** 2 + 2 * (DIST_B[2] / 2) ** 0.5 + (SHAPE_B[2] / 2) ** 0.5,
        ),
        ("shape_iou", PAIR_C, {"shape_scale": 1}, 1 + DIST_C),
        ("alpha_shape_iou", PAIR_C, {"alpha": 3, "shape_scale": 1}, 1 + 2 * (DIST_C / 2) ** 3),
    ],
)
def test_hand_worked_values(name, pair, settings, expected):
    assert one_pair_loss(name, pair, **settings) == pytest.approx(expected, rel=1e-12)


def test_the_distance_can_exceed_one_and_its_halves_cannot():
    """Pair C: D ≈ 1.77 > 1, so a single D^α₂ would amplify for α₂ > 1; each half stays in [0, 1]."""
    pred, target = one_pair(PAIR_C)
    penalties = shape_iou_module.shape_iou_penalties(pred, target, None, None, shape_scale=1.0)
    assert [p.item() for p in penalties] == pytest.approx([DIST_C / 2, DIST_C / 2, 0.0], rel=1e-12, abs=1e-15)
    assert DIST_C > 1 > penalties[0].item()


def _shape_iou_authors_form(pred, target, scale, eps=1e-7):
    """Return 1 − Shape-IoU as the authors' repository computes it (malagoutou/Shape-IoU, ``shape_iou``).

    Written here from that code's formula, not copied: it takes (x, y, w, h) boxes (``box1`` the prediction,
    ``box2`` the target), adds eps to the union and to c², divides by max(w, wgt) and max(h, hgt) unguarded, and forms
    the weights with torch.pow; its result is the similarity IoU − D − Ω/2, whose loss is 1 minus it.
    """
    (x1, y1, w1, h1), (x2, y2, w2, h2) = (box_convert(b, "xyxy", "cxcywh").unbind(-1) for b in (pred, target))
    left1, right1, top1, bottom1 = x1 - w1 / 2, x1 + w1 / 2, y1 - h1 / 2, y1 + h1 / 2
    left2, right2, top2, bottom2 = x2 - w2 / 2, x2 + w2 / 2, y2 - h2 / 2, y2 + h2 / 2
    overlap = (torch.min(right1, right2) - torch.max(left1, left2)).clamp(0) * (
        torch.min(bottom1, bottom2) - torch.max(top1, top2)
    ).clamp(0)
    iou = overlap / (w1 * h1 + w2 * h2 - overlap + eps)
    wide, high = torch.pow(w2, scale), torch.pow(h2, scale)
    ww, hh = 2 * wide / (wide + high), 2 * high / (wide + high)
    c2 = (torch.max(right1, right2) - torch.min(left1, left2)) ** 2 + (
        torch.max(bottom1, bottom2) - torch.min(top1, top2)
    ) ** 2
    dx2 = (left2 + right2 - left1 - right1) ** 2 / 4
    dy2 = (top2 + bottom2 - top1 - bottom1) ** 2 / 4
    distance = (hh * dx2 + ww * dy2) / (c2 + eps)
    omega_w = hh * (w1 - w2).abs() / torch.max(w1, w2)
    omega_h = ww * (h1 - h2).abs() / torch.max(h1, h2)
    shape = (1 - torch.exp(-omega_w)) ** 4 + (1 - torch.exp(-omega_h)) ** 4
    return 1 - (iou - distance - 0.5 * shape)


@pytest.mark.parametrize("scale", [0.0, 0.5, 1.0, 2.0])
def test_equals_the_authors_form(random_box_pairs, scale):
    pred, target = random_box_pairs(400, seed=31, dtype=torch.float64)
    ours = box_loss(pred, target, "shape_iou", shape_scale=scale)
    # Their formula without its eps is ours wherever our guards are inactive (sides >= 1 here): to rounding.
    torch.testing.assert_close(ours, _shape_iou_authors_form(pred, target, scale, eps=0.0), rtol=1e-10, atol=1e-12)
    # With their + eps (1e-7 on areas of 1 to 2500 units²) the two differ by about eps / union: 1e-8 at most here.
    torch.testing.assert_close(ours, _shape_iou_authors_form(pred, target, scale), rtol=0, atol=2e-7)


def test_where_the_authors_form_fails_ours_does_not():
    """Their + eps makes identical tiny boxes lose; their unguarded ratios give 0/0 for zero sides."""
    tiny = torch.tensor([[0.5, 0.5, 0.5001, 0.5001]], dtype=torch.float64)  # side 1e-4, area 1e-8 < eps
    assert box_loss(tiny, tiny, "shape_iou").item() == 0
    assert _shape_iou_authors_form(tiny, tiny, 0.0).item() == pytest.approx(1 - 1e-8 / 1.1e-7, rel=1e-4)  # ≈ 0.91
    flat = torch.tensor([[1.0, 0, 1, 2]], dtype=torch.float64)  # zero width: max(w, wgt) = 0
    point = torch.tensor([[1.0, 1, 1, 1]], dtype=torch.float64)  # a point target: wgt^s + hgt^s = 0 for s > 0
    assert _shape_iou_authors_form(flat, flat, 0.0).isnan().all()
    assert _shape_iou_authors_form(point, point, 1.0).isnan().all()
    for pred, target in ((flat, flat), (point, point), (flat, point)):
        assert box_loss(pred, target, "shape_iou", shape_scale=1).isfinite().all()


def test_at_scale_zero_it_is_diou_plus_half_the_siou_shape_cost(random_box_pairs):
    pred, target = random_box_pairs(300, seed=32, dtype=torch.float64)
    expected = box_loss(pred, target, "diou") + siou_shape_cost(pred, target) / 2
    # SIoU's shape cost adds its guard to max(w, wgt) (a relative 1e-7/side), ours uses it only where max ≈ 0.
    torch.testing.assert_close(box_loss(pred, target, "shape_iou"), expected, rtol=1e-8, atol=1e-9)


def test_the_weights_move_cost_onto_offsets_across_the_narrow_side():
    """The paper's point: for a tall target, s > 0 makes a sideways offset cost more, and a vertical one less, than
    the shape-blind s = 0 (DIoU's distance): 2 × 6 target, s = 1, hh = 1.5, ww = 0.5; same sizes, so Ω = 0."""
    target = torch.tensor([[0.0, 0, 2, 6]], dtype=torch.float64)
    sideways, down = target + torch.tensor([1.0, 0, 1, 0]), target + torch.tensor([0.0, 1, 0, 1])
    for pred, weight, diagonal_sq in ((sideways, 1.5, 3**2 + 6**2), (down, 0.5, 2**2 + 7**2)):
        blind = box_loss(pred, target, "shape_iou").item()
        weighted = box_loss(pred, target, "shape_iou", shape_scale=1).item()
        assert weighted - blind == pytest.approx((weight - 1) / diagonal_sq, rel=1e-12)  # Δ² = 1


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(-50, 50), min_size=2, max_size=2),
    st.lists(st.floats(0, 40), min_size=2, max_size=2),
    st.lists(st.floats(-50, 50), min_size=2, max_size=2),
    st.lists(st.floats(0, 40), min_size=2, max_size=2),
    st.floats(0, 8),
)
def test_penalties_lie_in_unit_interval_and_weights_sum_to_two(pred_xy, pred_wh, target_xy, target_wh, scale):
    """Each penalty handed to α₂ is in [0, 1] (degenerate sides included); ww + hh = 2, each in [0, 2]."""
    pred = torch.tensor([[*pred_xy, pred_xy[0] + pred_wh[0], pred_xy[1] + pred_wh[1]]], dtype=torch.float64)
    target = torch.tensor([[*target_xy, target_xy[0] + target_wh[0], target_xy[1] + target_wh[1]]], dtype=torch.float64)
    for penalty in shape_iou_module.shape_iou_penalties(pred, target, None, None, shape_scale=scale):
        assert 0 <= penalty.item() <= 1
    ww, hh = shape_iou_module.shape_weights(target, scale)
    assert 0 <= ww.item() <= 2 and 0 <= hh.item() <= 2
    assert ww.item() + hh.item() == pytest.approx(2, abs=1e-12)


def test_weights_follow_the_target_shape():
    target = torch.tensor([[0.0, 0, 3, 1], [0.0, 0, 0, 0], [0.0, 0, 0, 2]], dtype=torch.float64)  # wide, point, flat
    ww, hh = shape_iou_module.shape_weights(target, 1.0)
    # 2·3/(3 + 1) = 1.5; a point gets the square's weights 1 (not 0/0); zero width: wgt^s = 0, so ww = 0, hh = 2.
    assert ww.tolist() == pytest.approx([1.5, 1.0, 0.0], abs=1e-12)
    assert hh.tolist() == pytest.approx([0.5, 1.0, 2.0], abs=1e-12)
    ww0, hh0 = shape_iou_module.shape_weights(target, 0.0)  # s = 0: exactly 1, zero sides included (0⁰ = 1)
    assert ww0.tolist() == hh0.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("scale", [0.0, 1.0])
def test_swapping_the_axes_keeps_the_loss(random_box_pairs, scale):
    pred, target = random_box_pairs(200, seed=33, dtype=torch.float64)
    swap = [1, 0, 3, 2]
    torch.testing.assert_close(
        box_loss(pred[:, swap], target[:, swap], "shape_iou", shape_scale=scale),
        box_loss(pred, target, "shape_iou", shape_scale=scale),
        rtol=1e-12,
        atol=1e-14,
    )


def test_shape_scale_key():
    assert dict(resolve_loss("shape_iou").params) == {"shape_scale": 0.0}  # the authors' code's default
    assert dict(resolve_loss("alpha_shape_iou", shape_scale=0).params) == {"shape_scale": 0.0}  # 0 is allowed
    with pytest.raises(LossConfigError, match="shape_scale"):
        resolve_loss("shape_iou", shape_scale=-1)
    with pytest.raises(LossConfigError, match="shape_scale"):
        resolve_loss("ciou", shape_scale=1)


def test_symmetric_at_scale_zero_only(random_box_pairs):
    """The weights come from the target alone: swapping prediction and target changes the loss once s > 0."""
    pred, target = random_box_pairs(200, seed=34, dtype=torch.float64)
    forward, backward = (box_loss(a, b, "shape_iou") for a, b in ((pred, target), (target, pred)))
    torch.testing.assert_close(forward, backward, rtol=1e-12, atol=1e-14)
    forward, backward = (box_loss(a, b, "shape_iou", shape_scale=1) for a, b in ((pred, target), (target, pred)))
    assert (forward - backward).abs().max() > 1e-3
