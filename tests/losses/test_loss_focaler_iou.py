"""Focaler-IoU: hand-worked values, L_Focaler-X = L_X + IoU − IoU_focaler, the authors' formula, the zero gradient
outside [d, u], and the rule d < u.

IoU_focaler = clip((IoU − d)/(u − d), 0, 1); the authors' code default is d = 0, u = 0.95.
"""

from __future__ import annotations

import math

import pytest
import torch

from yolo_alpha.losses import LOSSES, LossConfigError, box_loss, resolve_loss
from yolo_alpha.losses.focaler_iou import FOCALER_D, FOCALER_U  # registers the focaler_* losses
from yolo_alpha.losses.geometry import aligned_iou_and_union

PAPER_FAMILIES = ("iou", "giou", "diou", "ciou", "eiou", "siou")
"""The losses the Focaler-IoU paper defines L_Focaler-X on (its L_Focaler-IoU and L_Focaler-GIoU … -SIoU)."""

# 4 × 4 squares shifted by Δ = 2: IoU = 2/6 = 1/3; ρ² = 4, enclosing box 6 × 4 (c² = 52); equal aspect: v = 0.
# Defaults d = 0, u = 0.95: IoU_focaler = (1/3)/0.95 = 20/57. d = 0.2, u = 0.5: (1/3 − 0.2)/0.3 = 4/9.
SHIFTED = ([0.0, 0, 4, 4], [2.0, 0, 6, 4])


def _loss(name, pair=SHIFTED, **settings):
    pred, target = (torch.tensor([box], dtype=torch.float64) for box in pair)
    return box_loss(pred, target, name, **settings).item()


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("focaler_iou", {}, 1 - 20 / 57),
        ("focaler_iou", {"focaler_d": 0.2, "focaler_u": 0.5}, 1 - 4 / 9),
        ("focaler_iou", {"focaler_d": 0.5}, 1.0),  # IoU < d: IoU_focaler 0
        ("focaler_iou", {"focaler_u": 0.3}, 0.0),  # IoU > u: IoU_focaler 1
        ("focaler_iou", {"focaler_u": 1.0}, 1 - 1 / 3),  # [0, 1]: the plain IoU
        ("focaler_diou", {"focaler_d": 0.2, "focaler_u": 0.5}, 1 - 4 / 9 + 4 / 52),
        ("focaler_ciou", {"focaler_d": 0.2, "focaler_u": 0.5}, 1 - 4 / 9 + 4 / 52),
        ("focaler_ciou", {"focaler_u": 0.3}, 4 / 52),  # only the penalties are left
        ("alpha_focaler_iou", {"focaler_d": 0.2, "focaler_u": 0.5, "alpha": 2}, 1 - 16 / 81),
        ("alpha_focaler_diou", {"focaler_d": 0.2, "focaler_u": 0.5, "alpha": 2, "alpha2": 3}, 1 - 16 / 81 + 1 / 13**3),
    ],
)
def test_hand_worked_values(name, settings, expected):
    assert _loss(name, **settings) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_defaults_are_the_authors():
    assert (FOCALER_D, FOCALER_U) == (0.0, 0.95)
    assert dict(resolve_loss("focaler_ciou").params) == {"focaler_d": 0.0, "focaler_u": 0.95}


def test_registered_for_the_families_the_paper_defines():
    registered = {name for name in LOSSES if name.startswith(("focaler_", "alpha_focaler_"))}
    assert registered == {f"{prefix}focaler_{base}" for base in PAPER_FAMILIES for prefix in ("", "alpha_")}


def _focaler_reference(iou, low, high):
    # The paper's piecewise map: 0 below d, (IoU − d)/(u − d) on [d, u], 1 above u.
    mapped = (iou - low) / (high - low)
    return torch.where(iou < low, torch.zeros_like(iou), torch.where(iou > high, torch.ones_like(iou), mapped))


@pytest.mark.parametrize("base", PAPER_FAMILIES)
@pytest.mark.parametrize(("low", "high"), [(0.0, 0.95), (0.2, 0.6), (0.5, 1.0)])
def test_is_the_base_loss_plus_iou_minus_focaler_iou(base, low, high, random_box_pairs):
    # The paper's L_Focaler-X = L_X + IoU − IoU_focaler: penalties, and CIoU's β, keep the plain IoU. α form:
    # alpha_focaler_x = alpha_x + IoU^α − IoU_focaler^α.
    pred, target = random_box_pairs(300, seed=1, dtype=torch.float64)
    iou, _ = aligned_iou_and_union(pred, target)
    focaler = _focaler_reference(iou, low, high)
    keys = {"focaler_d": low, "focaler_u": high}
    classic = box_loss(pred, target, f"focaler_{base}", **keys) - box_loss(pred, target, base)
    torch.testing.assert_close(classic, iou - focaler, rtol=0, atol=1e-12)
    powers = {"alpha": 3, "alpha2": 2} if LOSSES[f"alpha_{base}"].takes_alpha2 else {"alpha": 3}
    powered = box_loss(pred, target, f"alpha_focaler_{base}", **keys, **powers)
    powered = powered - box_loss(pred, target, f"alpha_{base}", **powers)
    torch.testing.assert_close(powered, iou**3 - focaler**3, rtol=0, atol=1e-12)


@pytest.mark.parametrize("base", PAPER_FAMILIES)
def test_unit_interval_is_exactly_the_base_loss(base, random_box_pairs):
    pred, target = random_box_pairs(200, seed=2, dtype=torch.float32)
    ours = box_loss(pred, target, f"focaler_{base}", focaler_d=0.0, focaler_u=1.0)
    assert torch.equal(ours, box_loss(pred, target, base))


def test_alpha_form_is_in_unit_interval_and_the_paper_loss_at_alpha_one(random_box_pairs):
    pred, target = random_box_pairs(300, seed=3, dtype=torch.float64)
    for alpha in (0.5, 1.0, 3.0):
        term = box_loss(pred, target, "alpha_focaler_iou", alpha=alpha, focaler_d=0.1, focaler_u=0.8)
        assert bool(((term >= 0) & (term <= 1)).all())
    at_one = box_loss(pred, target, "alpha_focaler_ciou", alpha=1, alpha2=1)
    assert torch.equal(at_one, box_loss(pred, target, "focaler_ciou"))


# --- the authors' published code (github.com/malagoutou/Focaler-IoU, focaleriou.py) ------------------------------


def _authors_focaler_ciou(pred, target, low, high, eps):
    # focaleriou.py publishes one line, iou = ((iou − d)/(u − d)).clamp(0, 1), for Ultralytics' bbox_iou; written here
    # from it and the paper's L_Focaler-CIoU = L_CIoU + IoU − IoU_focaler: bbox_iou's IoU (union + eps), its
    # CIoU penalties (c² + eps; heights + eps in v; β = v / (v − IoU + 1 + eps) of the plain IoU).
    px1, py1, px2, py2 = pred.unbind(-1)
    tx1, ty1, tx2, ty2 = target.unbind(-1)
    pw, ph, tw, th = px2 - px1, py2 - py1 + eps, tx2 - tx1, ty2 - ty1 + eps
    inter = (torch.minimum(px2, tx2) - torch.maximum(px1, tx1)).clamp(min=0) * (
        torch.minimum(py2, ty2) - torch.maximum(py1, ty1)
    ).clamp(min=0)
    iou = inter / (pw * ph + tw * th - inter + eps)
    cw = torch.maximum(px2, tx2) - torch.minimum(px1, tx1)
    ch = torch.maximum(py2, ty2) - torch.minimum(py1, ty1)
    rho2 = ((tx1 + tx2 - px1 - px2) ** 2 + (ty1 + ty2 - py1 - py2) ** 2) / 4
    v = 4 / math.pi**2 * (torch.atan(tw / th) - torch.atan(pw / ph)) ** 2
    beta = v / (v - iou + (1 + eps))
    focaler = ((iou - low) / (high - low)).clamp(0, 1)
    return 1 - (focaler - (rho2 / (cw**2 + ch**2 + eps) + v * beta))


@pytest.mark.parametrize(("low", "high"), [(0.0, 0.95), (0.2, 0.6), (0.0, 1.0)])
def test_matches_the_authors_formula(low, high, random_box_pairs):
    # With eps = 0 on both sides bbox_iou's "+ eps" and our scale-aware guards are both absent: the formulas agree.
    pred, target = random_box_pairs(400, seed=4, dtype=torch.float64)
    ours = LOSSES["focaler_ciou"].fn(pred, target, eps=0.0, focaler_d=low, focaler_u=high)
    torch.testing.assert_close(ours, _authors_focaler_ciou(pred, target, low, high, eps=0.0), rtol=0, atol=1e-10)


def test_authors_eps_is_negligible_at_pixel_scale(random_box_pairs):
    pred, target = random_box_pairs(400, seed=5, dtype=torch.float64)
    ours = box_loss(pred, target, "focaler_ciou")
    torch.testing.assert_close(ours, _authors_focaler_ciou(pred, target, 0.0, 0.95, eps=1e-7), rtol=0, atol=1e-6)


def test_identical_tiny_boxes_lose_nothing_unlike_the_authors_eps():
    # Two identical 1e-4-sided boxes: bbox_iou's "+ 1e-7" gives IoU ≈ 1e-8 / 1.1e-7 = 1/11 (its heights + eps move
    # that by 1e-3 of itself), IoU_focaler (1/11)/0.95 and a loss ≈ 0.90; the relative guard gives IoU 1, so 0.
    box = torch.tensor([[0.5, 0.5, 0.5001, 0.5001]], dtype=torch.float64)
    assert box_loss(box, box.clone(), "focaler_ciou").item() == 0.0
    authors = _authors_focaler_ciou(box, box.clone(), 0.0, 0.95, eps=1e-7).item()
    assert authors == pytest.approx(1 - (1 / 11) / 0.95, rel=1e-4)


# --- the zero gradient of the IoU term outside [d, u] ------------------------------------------------------------


def _gradient(name, pred, target, **keys):
    pred = pred.clone().requires_grad_(True)
    box_loss(pred, target, name, **keys).sum().backward()
    return pred.grad


def test_iou_term_has_no_gradient_outside_the_interval(random_box_pairs):
    # focaler_iou is its IoU term alone: zero gradient where IoU < d or IoU > u, 1/(u − d) times IoU loss's inside.
    pred, target = random_box_pairs(400, seed=6, dtype=torch.float64)
    low, high = 0.3, 0.7
    iou, _ = aligned_iou_and_union(pred, target)
    outside, inside = (iou < low) | (iou > high), (iou > low) & (iou < high)
    assert outside.sum() > 50 and inside.sum() > 50  # both cases are exercised
    grad = _gradient("focaler_iou", pred, target, focaler_d=low, focaler_u=high)
    assert bool((grad[outside] == 0).all())
    plain = _gradient("iou", pred, target)
    torch.testing.assert_close(grad[inside], plain[inside] / (high - low), rtol=1e-12, atol=1e-15)


def test_penalties_keep_their_gradient_outside_the_interval(random_box_pairs):
    # Outside [d, u] focaler_giou's gradient is the GIoU penalty's alone: that of giou − iou (= the penalty).
    pred, target = random_box_pairs(400, seed=7, dtype=torch.float64)
    low, high = 0.3, 0.7
    iou, _ = aligned_iou_and_union(pred, target)
    outside = (iou < low) | (iou > high)
    grad = _gradient("focaler_giou", pred, target, focaler_d=low, focaler_u=high)
    penalty = _gradient("giou", pred, target) - _gradient("iou", pred, target)
    torch.testing.assert_close(grad[outside], penalty[outside], rtol=1e-12, atol=1e-15)
    assert bool((grad[outside].abs().sum(dim=1) > 0).any())


# --- the rule d < u -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(0.5, 0.5), (0.6, 0.4), (0.96, None)])
def test_empty_interval_is_refused_naming_both_keys(low, high):
    with pytest.raises(LossConfigError) as error:
        resolve_loss("focaler_ciou", focaler_d=low, focaler_u=high)
    message = str(error.value)
    assert "focaler_d" in message and "focaler_u" in message and "\n" not in message


@pytest.mark.parametrize(
    ("key", "value"), [("focaler_d", -0.1), ("focaler_d", 1.0), ("focaler_u", 0), ("focaler_u", 1.1)]
)
def test_interval_ends_outside_the_unit_interval_are_refused(key, value):
    with pytest.raises(LossConfigError, match=key):
        resolve_loss("focaler_ciou", **{key: value})


def test_keys_are_refused_for_a_loss_without_focaler():
    with pytest.raises(LossConfigError, match="focaler_d applies only to"):
        resolve_loss("ciou", focaler_d=0.1)


def test_command_line_refuses_an_empty_interval_in_one_line_before_anything_exists(tmp_path, monkeypatch, capsys):
    from yolo_alpha.cli import main  # here, not at the top: the other loss tests need no command line

    monkeypatch.chdir(tmp_path)
    assert main(["train", "loss=focaler_ciou", "focaler_d=0.9", "focaler_u=0.5", "epochs=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yolo-alpha: error: focaler_d=0.9 must be below focaler_u=0.5") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
