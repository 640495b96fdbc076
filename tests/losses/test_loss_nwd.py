"""NWD: hand-worked values, the authors' published formula as reference, its eps vs our exact zero, units of C.

1 − NWD = 1 − exp(−W₂/C), W₂² = ‖(cx, cy, w/2, h/2) − (cxg, cyg, wg/2, hg/2)‖² (Wang et al. 2021, eq. 7-9).
"""

from __future__ import annotations

import math

import pytest
import torch

from yolo_alpha.losses import LossConfigError, box_loss, resolve_loss
from yolo_alpha.losses.geometry import aligned_iou_and_union
from yolo_alpha.losses.nwd import NWD_C, nwd_loss, wasserstein_distance_sq


def _boxes(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def _authors_nwd_loss(pred, target, constant, eps):
    """The authors' repository's ``wasserstein_loss`` (mode 'exp'), written from its formula: centres and sizes
    (each size + eps), W₂² = |Δcentre|² + eps + (Δw² + Δh²)/4, loss 1 − exp(−√W₂²/C)."""
    centre_pred, centre_target = (pred[:, :2] + pred[:, 2:]) / 2, (target[:, :2] + target[:, 2:]) / 2
    size_pred, size_target = pred[:, 2:] - pred[:, :2] + eps, target[:, 2:] - target[:, :2] + eps
    centre_sq = ((centre_pred - centre_target) ** 2).sum(dim=1) + eps
    size_sq = ((size_pred - size_target) ** 2).sum(dim=1) / 4
    return 1 - torch.exp(-torch.sqrt(centre_sq + size_sq) / constant)


@pytest.mark.parametrize(
    ("pred", "target", "nwd_c", "expected"),
    [
        # Shifted by 1 along x, same size: Δcx = 1, W₂ = 1; at C = 2: 1 − e^(−1/2).
        ([0.0, 0, 2, 2], [1.0, 0, 3, 2], 2.0, 1 - math.exp(-0.5)),
        # Concentric, pred 2 × 2 in a 4 × 4 target: Δ(w/2) = Δ(h/2) = 1, W₂ = √2; at C = √2: 1 − e^(−1).
        ([1.0, 1, 3, 3], [0.0, 0, 4, 4], math.sqrt(2), 1 - math.exp(-1)),
        # Disjoint unit squares, centres 3 and 4 apart (IoU 0): W₂ = 5; at C = 5: 1 − e^(−1).
        ([0.0, 0, 1, 1], [3.0, 4, 4, 5], 5.0, 1 - math.exp(-1)),
        # A zero-width pred on the left edge of a 2 × 2 target: Δcx = 1, Δ(w/2) = 1, W₂ = √2; C = 2.
        ([0.0, 0, 0, 2], [0.0, 0, 2, 2], 2.0, 1 - math.exp(-math.sqrt(2) / 2)),
        # Identical boxes: exactly 0.
        ([0.5, 0.25, 3, 7], [0.5, 0.25, 3, 7], 2.0, 0.0),
    ],
)
def test_hand_worked_values(pred, target, nwd_c, expected):
    loss = box_loss(_boxes(pred), _boxes(target), "nwd", nwd_c=nwd_c)
    assert loss.item() == pytest.approx(expected, rel=1e-12, abs=0)


def test_w2_is_half_the_squared_xyxy_distance():
    # (cx, cy, w/2, h/2) of [0,0,2,2] is (1, 1, 1, 1), of [1,−1,4,1] (2.5, 0, 1.5, 1): W₂² = 1.5² + 1 + 0.5² = 3.5,
    # and half the squared corner distance: (1 + 1 + 4 + 1)/2 = 3.5.
    assert wasserstein_distance_sq(_boxes([0.0, 0, 2, 2]), _boxes([1.0, -1, 4, 1])).item() == 3.5


@pytest.mark.parametrize("constant", [12.8, NWD_C, 0.5])
def test_equals_the_authors_formula_without_their_eps(random_box_pairs, constant):
    pred, target = random_box_pairs(400, seed=171, dtype=torch.float64)
    expected = _authors_nwd_loss(pred, target, constant, eps=0.0)
    torch.testing.assert_close(box_loss(pred, target, "nwd", nwd_c=constant), expected, rtol=1e-10, atol=1e-10)


def test_the_authors_eps_is_the_only_difference_and_bounded_by_root_eps_over_c(random_box_pairs):
    # Their WassersteinLoss passes eps = 1e-6 into the root: |√(W₂² + eps) − W₂|/C <= √eps/C everywhere.
    eps, constant = 1e-6, 12.8
    pred, target = random_box_pairs(400, seed=172, dtype=torch.float64)
    gap = (_authors_nwd_loss(pred, target, constant, eps) - nwd_loss(pred, target, nwd_c=constant)).abs()
    assert gap.max().item() <= math.sqrt(eps) / constant
    # Where it matters, identical boxes: theirs keeps 1 − exp(−√eps/C) ≈ 7.8e-5 (5.0e-4 at C = 2 cells), ours 0.
    boxes = _boxes([2.0, 3, 5, 4])
    assert _authors_nwd_loss(boxes, boxes, constant, eps).item() == pytest.approx(-math.expm1(-1e-3 / constant))
    assert nwd_loss(boxes, boxes.clone(), nwd_c=constant).item() == 0.0


def test_identical_boxes_get_zero_gradient_where_a_bare_sqrt_gives_nan():
    target = _boxes([2.0, 3, 5, 4], [0, 0, 0, 0])  # the second pair: two identical points
    pred = target.clone().requires_grad_(True)
    nwd_loss(pred, target).sum().backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))
    bare = pred.detach().clone().requires_grad_(True)  # the authors' formula without eps: d√x/dx = ∞ at 0
    _authors_nwd_loss(bare, target, NWD_C, eps=0.0).sum().backward()
    assert torch.isnan(bare.grad).all()


def test_a_nan_coordinate_stays_nan_in_value_and_gradient_of_its_row_only():
    pred = _boxes([0.0, 0, 2, 2], [0.0, 0, math.nan, 2]).requires_grad_(True)
    loss = nwd_loss(pred, _boxes([1.0, 0, 3, 2], [1.0, 0, 3, 2]))
    loss.sum().backward()
    assert not torch.isnan(loss[0]) and torch.isnan(loss[1])
    assert torch.isfinite(pred.grad[0]).all() and torch.isnan(pred.grad[1]).all()


def test_disjoint_boxes_are_pulled_together():
    # IoU is 0 with zero gradient here; NWD's gradient moves pred's corners towards the target's.
    pred = _boxes([0.0, 0, 1, 1]).requires_grad_(True)
    target = _boxes([3.0, 4, 4, 5])
    nwd_loss(pred, target).sum().backward()
    assert (pred.grad < 0).all()


def test_c_is_in_box_units():
    # Scaling the boxes by k is scaling C by 1/k: W₂ is a length. So pixel boxes at stride 8 with C = 16 px give
    # the loss of grid-cell boxes with the default C = 2 cells.
    pred, target = _boxes([0.0, 0, 2, 2], [1, 1, 3, 4]), _boxes([1.0, 0, 3, 2], [0, 1, 2, 5])
    torch.testing.assert_close(
        nwd_loss(pred * 8, target * 8, nwd_c=8 * NWD_C), nwd_loss(pred, target), rtol=1e-14, atol=0
    )


@pytest.mark.parametrize("side", [0.5, 4.0, 64.0])
def test_a_shift_costs_the_same_at_every_size_and_as_much_as_iou_on_a_2c_box(side):
    # Shift a side × side square by δ along x: W₂ = δ, so 1 − NWD = 1 − e^(−δ/C) whatever the size, while
    # 1 − IoU = 2δ/(side + δ) grows steeper as boxes shrink. Their slopes at δ → 0 are 1/C and 2/side: equal for
    # side = 2C: 4 cells at the default C = 2, the median target of default training (module docstring).
    delta = 1e-6
    target = _boxes([0.0, 0, side, side])
    pred = target + torch.tensor([delta, 0, delta, 0], dtype=torch.float64)
    assert nwd_loss(pred, target).item() == pytest.approx(-math.expm1(-delta / NWD_C), rel=1e-9)
    iou_slope = (1 - aligned_iou_and_union(pred, target)[0]).item() / delta
    assert iou_slope == pytest.approx(2 / side, rel=1e-5)
    if side == 2 * NWD_C:
        assert nwd_loss(pred, target).item() / delta == pytest.approx(iou_slope, rel=1e-5)


def test_the_key_nwd_c_defaults_to_two_cells_and_is_checked():
    assert dict(resolve_loss("nwd").params) == {"nwd_c": 2.0}
    assert dict(resolve_loss("nwd", nwd_c=12.8).params) == {"nwd_c": 12.8}
    with pytest.raises(LossConfigError, match="nwd_c"):
        resolve_loss("nwd", nwd_c=0)
    with pytest.raises(LossConfigError, match="nwd_c applies only to nwd"):
        resolve_loss("ciou", nwd_c=2)


@pytest.mark.parametrize("keys", [{"alpha": 3}, {"alpha2": 2}])
def test_a_power_is_refused_with_why(keys):
    with pytest.raises(LossConfigError, match="NWD with C/α: set nwd_c instead"):
        resolve_loss("nwd", **keys)


def test_iou_term_is_refused():
    with pytest.raises(LossConfigError, match="iou_term='boxcox' is not used by loss='nwd'"):
        resolve_loss("nwd", iou_term="boxcox")
