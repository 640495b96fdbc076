"""The paper's properties of α-IoU (section 3.2-3.3, Properties 1-3, eq. 1-2), checked with hypothesis in float64."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from yolo_alpha.losses import box_loss, list_losses
from yolo_alpha.losses.geometry import aligned_iou_and_union
from yolo_alpha.losses.registry import loss_entry
from yolo_alpha.losses.terms import boxcox_iou_term, power_iou_term

FEW = settings(max_examples=60, deadline=None)
# Losses whose target is the reference (ℓ1's delta coding, a normalisation by the target's size) are not symmetric;
# the registry says which (LossEntry.symmetric), and each one's own invariances are tested in its own file.
ASYMMETRIC = {name for name in list_losses() if not loss_entry(name).symmetric}


@st.composite
def boxes(draw, near=None):
    """Return one valid xyxy box ``(1, 4)`` float64; with ``near``, a box overlapping or close to that box."""
    if near is None:
        x, y = draw(st.floats(0, 100)), draw(st.floats(0, 100))
        w, h = draw(st.floats(0.5, 50)), draw(st.floats(0.5, 50))
    else:
        nx1, ny1, nx2, ny2 = near[0].tolist()
        nw, nh = nx2 - nx1, ny2 - ny1
        x = nx1 + draw(st.floats(-1, 1)) * nw
        y = ny1 + draw(st.floats(-1, 1)) * nh
        w, h = nw * draw(st.floats(0.3, 3)), nh * draw(st.floats(0.3, 3))
    return torch.tensor([[x, y, x + w, y + h]], dtype=torch.float64)


@st.composite
def target_and_near_pred(draw):
    target = draw(boxes())
    return draw(boxes(near=target)), target


def _iou(pred, target):
    return aligned_iou_and_union(pred, target)[0].item()


ious = st.floats(1e-4, 1.0)
powers = st.floats(0.25, 4.0)


@FEW
@given(st.data(), powers)
def test_property_1_order_preserving(data, alpha):
    """IoU(Bi) < IoU(Bj) ⇔ L_IoU(Bi) > L_IoU(Bj) ⇔ L_α-IoU(Bi) > L_α-IoU(Bj), Bi and Bj against the same Bgt."""
    target = data.draw(boxes())
    pred_i, pred_j = data.draw(boxes(near=target)), data.draw(boxes(near=target))
    if _iou(pred_i, target) > _iou(pred_j, target):
        pred_i, pred_j = pred_j, pred_i
    iou_i, iou_j = _iou(pred_i, target), _iou(pred_j, target)
    # Float64 can only order powers that differ by more than an ulp: keep pairs whose IoUs are distinguishable.
    assume(iou_j >= 0.05 and iou_j - iou_i > 1e-6)
    assert box_loss(pred_i, target, "iou") > box_loss(pred_j, target, "iou")
    assert box_loss(pred_i, target, "alpha_iou", alpha=alpha) > box_loss(pred_j, target, "alpha_iou", alpha=alpha)


@FEW
@given(target_and_near_pred(), powers)
def test_property_2_relative_loss_weight(pair, alpha):
    """w = L_α-IoU / L_IoU = 1 + (IoU − IoU^α)/(1 − IoU), in [1, α] for α > 1 and in [α, 1] for α < 1."""
    pred, target = pair
    iou = _iou(pred, target)
    assume(iou < 1 - 1e-6)
    weight = (box_loss(pred, target, "alpha_iou", alpha=alpha) / box_loss(pred, target, "iou")).item()
    assert weight == pytest.approx(1 + (iou - iou**alpha) / (1 - iou), rel=1e-9)
    assert min(1, alpha) - 1e-12 <= weight <= max(1, alpha) + 1e-12


@pytest.mark.parametrize("alpha", [0.5, 2.0, 3.0])
def test_property_2_relative_loss_weight_tends_to_alpha_as_iou_tends_to_one(alpha):
    # Shifting a 10×10 target by δ gives 1 − IoU ≈ δ/10 and w ≈ α − α(α − 1)/2 · (1 − IoU): the gap shrinks with δ.
    target = torch.tensor([[0.0, 0, 10, 10]], dtype=torch.float64)
    gaps = []
    for shift in (1e-1, 1e-2, 1e-3):
        pred = target + torch.tensor([shift, 0, shift, 0], dtype=torch.float64)
        weight = box_loss(pred, target, "alpha_iou", alpha=alpha) / box_loss(pred, target, "iou")
        gaps.append(abs(weight.item() - alpha))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-3 * alpha


@FEW
@given(ious, powers)
def test_property_3_relative_gradient_weight(iou_value, alpha):
    """|∂L_α-IoU/∂IoU| / |∂L_IoU/∂IoU| = α·IoU^(α−1), by autograd through the IoU term."""
    iou = torch.tensor([iou_value], dtype=torch.float64, requires_grad=True)
    (grad_alpha,) = torch.autograd.grad(power_iou_term(iou, alpha).sum(), iou)
    (grad_one,) = torch.autograd.grad(power_iou_term(iou, 1.0).sum(), iou)
    assert (grad_alpha / grad_one).item() == pytest.approx(alpha * iou_value ** (alpha - 1), rel=1e-9)


@pytest.mark.parametrize("alpha", [0.5, 2.0, 3.0])
def test_property_3_turning_point(alpha):
    # The relative gradient weight crosses 1 at IoU = α^(1/(1−α)).
    iou = torch.tensor([alpha ** (1 / (1 - alpha))], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(power_iou_term(iou, alpha).sum(), iou)
    assert grad.item() == pytest.approx(-1.0, rel=1e-12)


@FEW
@given(ious, st.floats(0.01, 5.0))
@example(1e-4, 4.0)  # IoU^α = 1e-16: expm1's backward alone returned a gradient of exactly 0 here
def test_boxcox_term_equals_eq_1(iou_value, alpha):
    """The Box-Cox term is (1 − IoU^α)/α (eq. 1) and its gradient is −IoU^(α−1)."""
    iou = torch.tensor([iou_value], dtype=torch.float64, requires_grad=True)
    term = boxcox_iou_term(iou, alpha)
    assert term.item() == pytest.approx((1 - iou_value**alpha) / alpha, rel=1e-9, abs=1e-12)
    (grad,) = torch.autograd.grad(term.sum(), iou)
    assert grad.item() == pytest.approx(-(iou_value ** (alpha - 1)), rel=1e-9)


@FEW
@given(ious)
def test_boxcox_term_tends_to_minus_log_iou_as_alpha_tends_to_zero(iou_value):
    """lim α→0 (1 − IoU^α)/α = −log IoU (eq. 2); α = 0 is that limit exactly."""
    iou = torch.tensor([iou_value], dtype=torch.float64)
    minus_log = -math.log(iou_value)
    assert boxcox_iou_term(iou, 0.0).item() == pytest.approx(minus_log, rel=1e-12)
    # The error is about α·log²(IoU)/2: below 1e-6 here for α = 1e-8.
    assert boxcox_iou_term(iou, 1e-8).item() == pytest.approx(minus_log, abs=1e-6)
    gaps = [abs(boxcox_iou_term(iou, a).item() - minus_log) for a in (1e-1, 1e-3, 1e-5)]
    assert gaps[0] >= gaps[1] >= gaps[2]


@pytest.mark.parametrize("name", list_losses())
@FEW
@given(target_and_near_pred())
def test_loss_is_nonnegative_symmetric_and_zero_at_identity(name, pair):
    """The power keeps the metric properties of L_IoU the paper lists: non-negativity and symmetry (section 3.3).

    Symmetry for every loss the registry marks symmetric (not :data:`ASYMMETRIC`).
    """
    pred, target = pair
    loss = box_loss(pred, target, name)
    assert loss.item() >= 0
    if name not in ASYMMETRIC:
        torch.testing.assert_close(loss, box_loss(target, pred, name), rtol=1e-9, atol=1e-12)
    # Identity of indiscernibles up to eps: IoU = A/(A + 1e-7), so the loss is about α·1e-7/A (A >= 0.25 here).
    assert box_loss(target, target.clone(), name).item() == pytest.approx(0, abs=2e-6)
