"""Wise-IoU v1 and v3: hand-worked values, the official code's running mean and order, the focusing coefficient,
gradients with the detached parts frozen."""

from __future__ import annotations

import math

import pytest
import torch

from yolo_alpha.losses import box_loss, resolve_loss
from yolo_alpha.losses.geometry import aligned_iou_and_union, box_width_height, centre_distance_sq, enclosing_box
from yolo_alpha.losses.wise_iou import (
    IOU_MEAN_INIT,
    IOU_MEAN_MOMENTUM,
    focusing_coefficient,
    update_iou_mean,
)

# pred [0,0,2,2] vs target [1,0,4,3]: IoU 2/11, 1 − IoU = 9/11; ρ² = 2.5, enclosing 4 × 3: Wg² + Hg² = 25.
PAIR = ([0.0, 0, 2, 2], [1.0, 0, 4, 3])
IOU_LOSS = 9 / 11
R = math.exp(2.5 / 25)


def _loss(name, pair=PAIR, **settings):
    pred, target = (torch.tensor([box], dtype=torch.float64) for box in pair)
    return box_loss(pred, target, name, **settings).item()


def _r(beta, a=1.9, delta=3.0):
    return beta / (delta * a ** (beta - delta))


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("wiou_v1", {}, R * IOU_LOSS),
        ("wiou", {}, _r(IOU_LOSS / 1.0) * R * IOU_LOSS),  # iou_mean starts at 1.0, as in the official code
        ("wiou", {"iou_mean": 0.5}, _r(IOU_LOSS / 0.5) * R * IOU_LOSS),
        ("wiou", {"iou_mean": 0.5, "wiou_alpha": 1.4, "wiou_delta": 2}, _r(IOU_LOSS / 0.5, 1.4, 2) * R * IOU_LOSS),
    ],
)
def test_hand_worked_values(name, settings, expected):
    assert _loss(name, **settings) == pytest.approx(expected, rel=1e-6)


def test_diagonal_unit_boxes():
    # [0,0,1,1] vs [1,1,2,2]: IoU 0, ρ² = 2, enclosing 2 × 2: R = e^(2/8); with iou_mean = 1, β = 1.
    pair = ([0.0, 0, 1, 1], [1.0, 1, 2, 2])
    assert _loss("wiou_v1", pair) == pytest.approx(math.exp(0.25), rel=1e-6)
    assert _loss("wiou", pair) == pytest.approx(_r(1.0) * math.exp(0.25), rel=1e-6)


def test_focusing_coefficient_shape():
    """r = β/(δ a^(β−δ)): 0 at β = 0, 1 at β = δ, largest at β = 1/ln a (Wise-IoU's non-monotonic FM)."""
    beta = torch.tensor([0.0, 3.0, 1 / math.log(1.9)], dtype=torch.float64)
    r = focusing_coefficient(beta, 1.0, 1.9, 3.0)
    assert r[0].item() == 0
    assert r[1].item() == pytest.approx(1.0, rel=1e-12)
    grid = torch.linspace(0.01, 20, 4001, dtype=torch.float64)
    assert focusing_coefficient(grid, 1.0, 1.9, 3.0).max().item() == pytest.approx(r[2].item(), rel=1e-6)


def test_focusing_coefficient_is_finite_for_extreme_outlier_degrees():
    # A running mean of 0 is clamped to eps; β up to 1e7 overflows a^(β − δ) to inf in float32, giving r = 0.
    iou_loss = torch.tensor([0.0, 1e-3, 1.0])
    for mean in (0.0, 1e-30, torch.tensor(0.0)):
        r = focusing_coefficient(iou_loss, mean, 1.9, 3.0)
        assert torch.isfinite(r).all() and (r >= 0).all()
    assert focusing_coefficient(iou_loss, 0.0, 1.9, 3.0)[2].item() == 0


def test_update_iou_mean_by_hand():
    mean = torch.tensor(1.0)
    updated = update_iou_mean(mean, torch.tensor([0.2, 0.4]), momentum=0.5)
    assert updated.item() == pytest.approx(0.5 * 1.0 + 0.5 * 0.3)
    assert mean.item() == 1.0  # pure: the input is not modified
    assert update_iou_mean(mean, torch.zeros(0)).item() == 1.0  # an empty batch has no mean


def test_default_momentum_has_a_half_life_of_7000_updates():
    assert IOU_MEAN_MOMENTUM == 1 - 0.5 ** (1 / 7000)
    assert IOU_MEAN_INIT == 1.0
    mean = torch.tensor(IOU_MEAN_INIT, dtype=torch.float64)
    for _ in range(7000):
        mean = update_iou_mean(mean, torch.zeros(3, dtype=torch.float64))
    assert mean.item() == pytest.approx(0.5, rel=1e-9)


def test_update_iou_mean_keeps_dtype_and_takes_no_gradient():
    iou_loss = torch.tensor([0.3, 0.6], dtype=torch.float64, requires_grad=True)
    updated = update_iou_mean(torch.tensor(1.0), iou_loss)
    assert updated.dtype == torch.float32 and not updated.requires_grad


@pytest.mark.parametrize("momentum", [0, -0.1, 1.5, math.nan, "0.1"])
def test_update_iou_mean_refuses_a_bad_momentum(momentum):
    with pytest.raises(ValueError, match=r"^momentum must be a number in \(0, 1\], got "):
        update_iou_mean(torch.tensor(1.0), torch.tensor([0.5]), momentum=momentum)


class _OfficialWIoUv3:
    """Wise-IoU v3 as its official code runs it (class state, update with the batch, then scale), for comparison."""

    iou_mean, momentum = 1.0, 1 - 0.5 ** (1 / 7000)

    def loss(self, pred, target, gamma=1.9, delta=3.0):
        iou_loss = 1 - aligned_iou_and_union(pred, target)[0]
        self.iou_mean = (1 - self.momentum) * self.iou_mean + self.momentum * iou_loss.detach().mean().item()
        beta = iou_loss.detach() / self.iou_mean
        w, h = box_width_height(enclosing_box(pred, target))
        dist = torch.exp(centre_distance_sq(pred, target) / (w**2 + h**2).detach())
        return beta / (delta * torch.pow(gamma, beta - delta)) * dist * iou_loss


def test_update_then_loss_reproduces_the_official_code_over_batches(random_box_pairs):
    official, spec = _OfficialWIoUv3(), resolve_loss("wiou")
    mean = torch.tensor(spec.initial_state()["iou_mean"], dtype=torch.float64)
    for seed in range(5):
        pred, target = random_box_pairs(32, seed=100 + seed, dtype=torch.float64)
        expected = official.loss(pred, target)
        mean = update_iou_mean(mean, 1 - aligned_iou_and_union(pred, target)[0])
        # Only the eps guards differ (the official code has none in R's denominator): ~1e-11 relative here.
        torch.testing.assert_close(spec(pred, target, iou_mean=mean), expected, rtol=1e-9, atol=1e-12)
    assert mean.item() == pytest.approx(official.iou_mean, rel=1e-12)


def _overlapping_pairs():
    pred = torch.tensor([[0.0, 0, 2, 2], [1, 1, 3.5, 4], [2, 0, 5, 3]], dtype=torch.float64)
    target = torch.tensor([[1.0, 0.3, 4, 3], [0.2, 1.4, 3.1, 3.3], [2.6, 0.5, 6.1, 2.2]], dtype=torch.float64)
    return pred.requires_grad_(), target.requires_grad_()


@pytest.mark.parametrize(("name", "settings"), [("wiou_v1", {}), ("wiou", {"iou_mean": 0.4, "wiou_delta": 2.0})])
@pytest.mark.parametrize("shift", [0.0, 50.0])  # overlapping, and disjoint (IoU 0, gradient from R only)
def test_gradcheck_with_the_detached_parts_frozen(name, settings, shift):
    # The enclosing diagonal (both) and r (v3) are constants in backward: freeze them at the evaluation point,
    # gradcheck that function, and require the loss's autograd gradient to be its gradient.
    pred, target = _overlapping_pairs()
    target = (target.detach() + shift).requires_grad_()
    with torch.no_grad():
        w, h = box_width_height(enclosing_box(pred, target))
        diagonal_sq = w**2 + h**2
        iou_loss = 1 - aligned_iou_and_union(pred, target)[0]
        r = focusing_coefficient(iou_loss, 0.4, 1.9, 2.0) if name == "wiou" else torch.ones_like(iou_loss)

    def frozen(p, t):
        # The guard (geometry.area_guard) is eps = 1e-7 for pairs of 1 unit and more, as these are.
        attention = torch.exp(centre_distance_sq(p, t) / diagonal_sq.clamp(min=1e-7))
        return r * attention * (1 - aligned_iou_and_union(p, t)[0])

    assert torch.autograd.gradcheck(frozen, (pred, target))
    loss = box_loss(pred, target, name, **settings)
    torch.testing.assert_close(loss, frozen(pred, target), rtol=1e-12, atol=1e-14)
    actual = torch.autograd.grad(loss.sum(), (pred, target))
    expected = torch.autograd.grad(frozen(pred, target).sum(), (pred, target))
    torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-14)
    assert all(g.abs().sum() > 0 for g in actual)
