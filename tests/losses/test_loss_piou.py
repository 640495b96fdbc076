"""PIoU, α-PIoU and PIoU v2: hand-worked values, the authors' published form, the target-size normalisation, the
non-monotonic attention and its (undetached) gradient.

P = ((|x1 − x1gt| + |x2 − x2gt|)/wgt + (|y1 − y1gt| + |y2 − y2gt|)/hgt)/4, L_PIoU = 1 − IoU + (1 − e^(−P²)),
α-PIoU = 1 − IoU^α + (1 − e^(−P²))^α₂, L_PIoUv2 = u(λq)·L_PIoU with u(x) = 3x·e^(−x²), q = e^(−P), λ = 1.3.
"""

from __future__ import annotations

import math

import pytest
import torch
from helpers import one_pair, one_pair_loss
from hypothesis import given, settings
from hypothesis import strategies as st

from yolo_alpha.losses import LossConfigError, box_loss, resolve_loss
from yolo_alpha.losses import piou as piou_module  # registers piou, alpha_piou, piou2

# A: pred [0,0,2,2] vs target [1,1,3,3]: overlap 1 × 1, union 4 + 4 − 1 = 7, IoU 1/7. Every edge is 1 away and the
# target is 2 × 2: P = (2/2 + 2/2)/4 = 1/2, penalty 1 − e^(−1/4).
PAIR_A = ([0.0, 0, 2, 2], [1.0, 1, 3, 3])
PIOU_A = 1 - 1 / 7 + 1 - math.exp(-1 / 4)
# B: pred [0,0,1,1] inside target [0,0,4,2]: IoU 1/8. Edge distances 0 and 3 across the 4-wide target, 0 and 1
# across its height 2: P = (3/4 + 1/2)/4 = 5/16. (Divided by the prediction's size, 1 × 1, it would be (3 + 1)/4 = 1.)
PAIR_B = ([0.0, 0, 1, 1], [0.0, 0, 4, 2])
PIOU_B = 1 - 1 / 8 + 1 - math.exp(-((5 / 16) ** 2))
# C: pred [−1,−1,3,3] around target [0,0,2,2], same centre: IoU 4/16, DIoU's penalty 0, but every edge is 1 away:
# P = (2/2 + 2/2)/4 = 1/2. The enlarged box is penalised, the point of PIoU.
PAIR_C = ([-1.0, -1, 3, 3], [0.0, 0, 2, 2])
PIOU_C = 1 - 1 / 4 + 1 - math.exp(-1 / 4)


def _u(p, lam=1.3):
    # u(λq) = 3λq·e^(−(λq)²), q = e^(−P)
    x = lam * math.exp(-p)
    return 3 * x * math.exp(-(x**2))


@pytest.mark.parametrize(
    ("name", "pair", "settings", "expected"),
    [
        ("piou", PAIR_A, {}, PIOU_A),
        ("piou", PAIR_B, {}, PIOU_B),
        ("piou", PAIR_C, {}, PIOU_C),
        ("alpha_piou", PAIR_A, {"alpha": 1}, PIOU_A),
        ("alpha_piou", PAIR_A, {"alpha": 3}, 1 - (1 / 7) ** 3 + (1 - math.exp(-1 / 4)) ** 3),
        ("alpha_piou", PAIR_B, {"alpha": 2, "alpha2": 0.5}, 1 - (1 / 8) ** 2 + (1 - math.exp(-((5 / 16) ** 2))) ** 0.5),
        ("piou2", PAIR_A, {}, _u(1 / 2) * PIOU_A),
        ("piou2", PAIR_B, {}, _u(5 / 16) * PIOU_B),
        ("piou2", PAIR_A, {"piou_lambda": 2}, _u(1 / 2, 2.0) * PIOU_A),
    ],
)
def test_hand_worked_values(name, pair, settings, expected):
    assert one_pair_loss(name, pair, **settings) == pytest.approx(expected, rel=1e-12)


def test_penalty_factor_is_measured_in_the_targets_size():
    """So PIoU is not symmetric: swapping prediction and target changes P (by design: the paper normalises by Bgt)."""
    pred, target = one_pair(PAIR_B)
    assert piou_module.penalty_factor(pred, target).item() == pytest.approx(5 / 16, rel=1e-12)
    assert piou_module.penalty_factor(target, pred).item() == pytest.approx((3 / 1 + 1 / 1) / 4, rel=1e-12)


def _piou_authors_parts(pred, target, eps=1e-7):
    """Return (IoU, P) as the authors' repository computes them (fppccc/Powerful-IoU, ``piou``).

    Written here from that code's formula, not copied, for xyxy boxes (their README calls it with ``xywh=False``,
    prediction first): eps is added to both heights and to the union; the edge distances are between the lesser and
    the greater x (y) of each box, divided by the target's |w| and |h + eps|.
    """
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = pred.unbind(-1), target.unbind(-1)
    w1, h1, w2, h2 = ax2 - ax1, ay2 - ay1 + eps, bx2 - bx1, by2 - by1 + eps
    overlap = (torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1)).clamp(0) * (
        torch.minimum(ay2, by2) - torch.maximum(ay1, by1)
    ).clamp(0)
    iou = overlap / (w1 * h1 + w2 * h2 - overlap + eps)
    near_w = (torch.minimum(ax1, ax2) - torch.minimum(bx1, bx2)).abs()
    far_w = (torch.maximum(ax1, ax2) - torch.maximum(bx1, bx2)).abs()
    near_h = (torch.minimum(ay1, ay2) - torch.minimum(by1, by2)).abs()
    far_h = (torch.maximum(ay1, ay2) - torch.maximum(by1, by2)).abs()
    return iou, ((near_w + far_w) / w2.abs() + (near_h + far_h) / h2.abs()) / 4


def _piou_authors_form(pred, target, v2=False, lam=1.3, eps=1e-7):
    # Their L_v1 = 1 − IoU − e^(−P²) + 1, and v2 = 3x·e^(−x²)·L_v1 with x = λ·e^(−P); nothing detached.
    iou, factor = _piou_authors_parts(pred, target, eps)
    loss = 2 - iou - torch.exp(-(factor**2))
    if not v2:
        return loss
    x = lam * torch.exp(-factor)
    return 3 * x * torch.exp(-(x**2)) * loss


@pytest.mark.parametrize("v2", [False, True])
def test_equals_the_authors_form(random_box_pairs, v2):
    pred, target = random_box_pairs(400, seed=41, dtype=torch.float64)
    ours = box_loss(pred, target, "piou2" if v2 else "piou")
    # Their formula without its eps is ours wherever our guards are inactive (sides >= 1 here): to rounding.
    torch.testing.assert_close(ours, _piou_authors_form(pred, target, v2, eps=0.0), rtol=1e-10, atol=1e-12)
    # Their eps on both heights adds (w + wgt + 1)·eps to the union: measured: at most 6e-8 here.
    torch.testing.assert_close(ours, _piou_authors_form(pred, target, v2), rtol=0, atol=2e-7)


def test_alpha_piou_powers_the_authors_penalty(random_box_pairs):
    pred, target = random_box_pairs(300, seed=42, dtype=torch.float64)
    iou, factor = _piou_authors_parts(pred, target, eps=0.0)
    expected = 1 - iou**3 + (1 - torch.exp(-(factor**2))) ** 2
    torch.testing.assert_close(
        box_loss(pred, target, "alpha_piou", alpha=3, alpha2=2), expected, rtol=1e-10, atol=1e-12
    )


def test_piou2_gradient_flows_through_the_attention_as_in_the_authors_code(random_box_pairs):
    """Nothing is detached: the gradient is that of the authors' form, not u·∇L_PIoU with u held constant."""
    pred, target = random_box_pairs(200, seed=43, dtype=torch.float64)
    grads = []
    for compute in (
        lambda p: box_loss(p, target, "piou2"),
        lambda p: _piou_authors_form(p, target, v2=True, eps=0.0),
        lambda p: _u_detached(p, target) * box_loss(p, target, "piou"),
    ):
        leaf = pred.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(compute(leaf).sum(), leaf)
        grads.append(grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)
    assert (grads[0] - grads[2]).abs().max() > 1e-3


def _u_detached(pred, target):
    with torch.no_grad():
        return piou_module.quality_attention(piou_module.penalty_factor(pred, target))


def test_attention_is_non_monotonic_with_its_peak_at_lambda_q_one_over_root_two():
    factors = torch.linspace(0, 6, 6001, dtype=torch.float64)
    attention = piou_module.quality_attention(factors)
    peak = math.log(math.sqrt(2) * 1.3)  # λq = 1/√2 ⇔ P = ln(√2 λ) ≈ 0.609
    assert factors[attention.argmax()].item() == pytest.approx(peak, abs=1e-3)
    assert attention.max().item() == pytest.approx(3 / math.sqrt(2 * math.e), rel=1e-6)
    assert attention[0] < attention.max() and attention[-1] < attention[0]  # fades for perfect and for poor boxes


def test_where_the_authors_form_fails_ours_does_not():
    """Their P divides by the target's unguarded width: a zero-width target matched exactly gives 0/0."""
    flat = torch.tensor([[1.0, 0, 1, 2]], dtype=torch.float64)
    assert _piou_authors_form(flat, flat).isnan().all()
    point = torch.tensor([[1.0, 1, 1, 1]], dtype=torch.float64)
    for name in ("piou", "alpha_piou", "piou2"):
        for pred, target in ((flat, flat), (point, point), (point, flat), (flat, point)):
            assert box_loss(pred, target, name).isfinite().all()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(-50, 50), min_size=2, max_size=2),
    st.lists(st.floats(0, 40), min_size=2, max_size=2),
    st.lists(st.floats(-50, 50), min_size=2, max_size=2),
    st.lists(st.floats(0, 40), min_size=2, max_size=2),
)
def test_penalty_lies_in_unit_interval(pred_xy, pred_wh, target_xy, target_wh):
    pred = torch.tensor([[*pred_xy, pred_xy[0] + pred_wh[0], pred_xy[1] + pred_wh[1]]], dtype=torch.float64)
    target = torch.tensor([[*target_xy, target_xy[0] + target_wh[0], target_xy[1] + target_wh[1]]], dtype=torch.float64)
    (penalty,) = piou_module.piou_penalties(pred, target, None, None)
    assert 0 <= penalty.item() <= 1
    assert 0 <= box_loss(pred, target, "piou2").item() < 2 * 3 / math.sqrt(2 * math.e)


def test_piou_lambda_key_and_no_alpha_for_piou2():
    assert dict(resolve_loss("piou2").params) == {"piou_lambda": 1.3}
    with pytest.raises(LossConfigError, match="piou_lambda"):
        resolve_loss("piou2", piou_lambda=0)
    with pytest.raises(LossConfigError, match="piou_lambda"):
        resolve_loss("piou", piou_lambda=2)
    with pytest.raises(LossConfigError, match="PIoU v2 is a product"):
        resolve_loss("piou2", alpha=3)
