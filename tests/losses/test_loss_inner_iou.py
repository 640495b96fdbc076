"""Inner-IoU: hand-worked values, the paper's L_Inner-X = L_X + IoU − IoU_inner, the authors' formula, gradients.

Both boxes of a pair are scaled by ``ratio`` about their centres. Two a × a squares shifted by Δ along x have IoU
``(a − Δ)/(a + Δ)`` and IoU_inner ``(r·a − Δ)/(r·a + Δ)`` while ``Δ < r·a`` (0 beyond).
"""

from __future__ import annotations

import math

import pytest
import torch

from yolo_alpha.losses import LOSSES, box_loss
from yolo_alpha.losses.compose import FAMILIES
from yolo_alpha.losses.geometry import aligned_iou_and_union
from yolo_alpha.losses.inner_iou import INNER_RATIO  # registers the inner_* losses

PAPER_FAMILIES = ("iou", "giou", "diou", "ciou", "eiou", "siou")
"""The losses the Inner-IoU paper defines L_Inner-X on (its L_Inner-IoU and L_Inner-GIoU … L_Inner-SIoU)."""

# 4 × 4 squares shifted by Δ = 2: IoU = 2/6 = 1/3; ρ² = 4, enclosing box 6 × 4 (c² = 52, area 24 = the union).
SHIFTED = ([0.0, 0, 4, 4], [2.0, 0, 6, 4])
# ratio 0.75: sides 3, [0.5,0.5,3.5,3.5] and [2.5,0.5,5.5,3.5]: overlap 1 × 3, union 9 + 9 − 3: IoU_inner 3/15.
# ratio 1.5: sides 6, [−1,−1,5,5] and [1,−1,7,5]: overlap 4 × 6 = 24, union 36 + 36 − 24 = 48: IoU_inner 1/2.
# ratio 0.5: sides 2, [1,1,3,3] and [3,1,5,3]: they only touch: IoU_inner 0.
# ratio 0.8 (the default): sides 3.2: (3.2 − 2)/(3.2 + 2) = 3/13.
# Nested [0,0,2,2] in [0,0,4,4], ratio 0.5: [0.5,0.5,1.5,1.5] and [1,1,3,3]: overlap 0.5², union 1 + 4 − 0.25.
NESTED = ([0.0, 0, 2, 2], [0.0, 0, 4, 4])


def _pair(pair):
    return tuple(torch.tensor([box], dtype=torch.float64) for box in pair)


def _loss(name, pair=SHIFTED, **settings):
    return box_loss(*_pair(pair), name, **settings).item()


@pytest.mark.parametrize(
    ("name", "pair", "settings", "expected"),
    [
        ("inner_iou", SHIFTED, {"inner_ratio": 0.75}, 1 - 3 / 15),
        ("inner_iou", SHIFTED, {"inner_ratio": 1.5}, 1 - 24 / 48),
        ("inner_iou", SHIFTED, {"inner_ratio": 1.0}, 1 - 1 / 3),
        ("inner_iou", SHIFTED, {"inner_ratio": 0.5}, 1.0),
        ("inner_iou", NESTED, {"inner_ratio": 0.5}, 1 - 0.25 / 4.75),
        ("inner_giou", SHIFTED, {"inner_ratio": 1.5}, 1 - 1 / 2 + (24 - 24) / 24),
        ("inner_diou", SHIFTED, {"inner_ratio": 0.75}, 1 - 1 / 5 + 4 / 52),
        ("inner_ciou", SHIFTED, {"inner_ratio": 0.75}, 1 - 1 / 5 + 4 / 52),  # equal aspect ratios: v = 0
        ("alpha_inner_iou", SHIFTED, {"inner_ratio": 0.75, "alpha": 3}, 1 - (1 / 5) ** 3),
        ("alpha_inner_diou", SHIFTED, {"inner_ratio": 0.75, "alpha": 2, "alpha2": 0.5}, 1 - 1 / 25 + (4 / 52) ** 0.5),
    ],
)
def test_hand_worked_values(name, pair, settings, expected):
    assert _loss(name, pair, **settings) == pytest.approx(expected, rel=1e-12)


def test_default_ratio_is_the_authors_first_published_one():
    # innersiou.py as first published (Nov 2023) defaulted to ratio = 0.8; sides 3.2: IoU_inner (3.2 − 2)/(3.2 + 2).
    assert INNER_RATIO == 0.8
    assert _loss("inner_iou") == pytest.approx(1 - 1.2 / 5.2, rel=1e-12)


def test_registered_for_the_families_the_paper_defines():
    registered = {name for name in LOSSES if name.startswith(("inner_", "alpha_inner_"))}
    assert registered == {f"{prefix}inner_{base}" for base in PAPER_FAMILIES for prefix in ("", "alpha_")}
    assert {name for name, family in FAMILIES.items() if family.modifiable} == set(PAPER_FAMILIES)


def _centre_size(boxes):
    x1, y1, x2, y2 = boxes.unbind(-1)
    return (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1


@pytest.mark.parametrize("base", PAPER_FAMILIES)
@pytest.mark.parametrize("ratio", [0.5, 0.8, 1.3])
def test_is_the_base_loss_plus_iou_minus_inner_iou(base, ratio, random_box_pairs):
    # The paper's L_Inner-X = L_X + IoU − IoU_inner: every penalty (and CIoU's β) is the base loss's, on the real
    # boxes and the plain IoU; only the IoU term changes. α form: alpha_inner_x = alpha_x + IoU^α − IoU_inner^α.
    pred, target = random_box_pairs(300, seed=1, dtype=torch.float64)
    iou, _ = aligned_iou_and_union(pred, target)
    inner = _authors_inner_iou(pred, target, ratio, eps=0.0)  # the paper's formula; no guard: positive areas
    classic = box_loss(pred, target, f"inner_{base}", inner_ratio=ratio) - box_loss(pred, target, base)
    torch.testing.assert_close(classic, iou - inner, rtol=0, atol=1e-12)
    powers = {"alpha": 3, "alpha2": 2} if LOSSES[f"alpha_{base}"].takes_alpha2 else {"alpha": 3}
    powered = box_loss(pred, target, f"alpha_inner_{base}", inner_ratio=ratio, **powers)
    powered = powered - box_loss(pred, target, f"alpha_{base}", **powers)
    torch.testing.assert_close(powered, iou**3 - inner**3, rtol=0, atol=1e-12)


@pytest.mark.parametrize("base", PAPER_FAMILIES)
def test_ratio_one_is_exactly_the_base_loss(base, random_box_pairs):
    # The auxiliary boxes move each side by (1 − ratio)/2 of the side: at ratio 1 the coordinates are kept bit for bit.
    pred, target = random_box_pairs(200, seed=2, dtype=torch.float32)
    assert torch.equal(box_loss(pred, target, f"inner_{base}", inner_ratio=1.0), box_loss(pred, target, base))


def test_alpha_form_is_in_unit_interval_and_the_paper_loss_at_alpha_one(random_box_pairs):
    pred, target = random_box_pairs(300, seed=3, dtype=torch.float64)
    for alpha in (0.5, 1.0, 3.0):
        term = box_loss(pred, target, "alpha_inner_iou", alpha=alpha)
        assert bool(((term >= 0) & (term <= 1)).all())
    at_one = box_loss(pred, target, "alpha_inner_ciou", alpha=1, alpha2=1)
    assert torch.equal(at_one, box_loss(pred, target, "inner_ciou"))


# --- the authors' published code (github.com/malagoutou/Inner-IoU, innerciou.py and innersiou.py) ---------------


def _authors_inner_ciou(pred, target, ratio, eps):
    # innerciou.py's formula, written from it: centre/size boxes; IoU and IoU_inner each with "+ eps" on the union;
    # CIoU's ρ²/c² (c² + eps) and v (w/h, no eps) on the real boxes, β = v / (v − IoU + 1 + eps) of the plain IoU;
    # it returns Inner-CIoU = IoU_inner − (ρ²/c² + βv), whose loss is 1 − Inner-CIoU.
    (pcx, pcy, pw, ph), (tcx, tcy, tw, th) = (_centre_size(b) for b in (pred, target))
    inter_w = torch.minimum(pcx + pw / 2, tcx + tw / 2) - torch.maximum(pcx - pw / 2, tcx - tw / 2)
    inter_h = torch.minimum(pcy + ph / 2, tcy + th / 2) - torch.maximum(pcy - ph / 2, tcy - th / 2)
    inter = inter_w.clamp(min=0) * inter_h.clamp(min=0)
    iou = inter / (pw * ph + tw * th - inter + eps)
    scaled = _authors_inner_iou(pred, target, ratio, eps)
    cw = torch.maximum(pcx + pw / 2, tcx + tw / 2) - torch.minimum(pcx - pw / 2, tcx - tw / 2)
    ch = torch.maximum(pcy + ph / 2, tcy + th / 2) - torch.minimum(pcy - ph / 2, tcy - th / 2)
    rho2_over_c2 = ((tcx - pcx) ** 2 + (tcy - pcy) ** 2) / (cw**2 + ch**2 + eps)
    v = 4 / math.pi**2 * (torch.atan(tw / th) - torch.atan(pw / ph)) ** 2
    beta = v / (v - iou + (1 + eps))
    return 1 - (scaled - (rho2_over_c2 + v * beta))


def _authors_inner_iou(pred, target, ratio, eps):
    # The authors' IoU_inner: inter / (w·ratio·h·ratio + wgt·ratio·hgt·ratio − inter + eps).
    (pcx, pcy, pw, ph), (tcx, tcy, tw, th) = (_centre_size(b) for b in (pred, target))
    inter_w = torch.minimum(pcx + pw * ratio / 2, tcx + tw * ratio / 2) - torch.maximum(
        pcx - pw * ratio / 2, tcx - tw * ratio / 2
    )
    inter_h = torch.minimum(pcy + ph * ratio / 2, tcy + th * ratio / 2) - torch.maximum(
        pcy - ph * ratio / 2, tcy - th * ratio / 2
    )
    inter = inter_w.clamp(min=0) * inter_h.clamp(min=0)
    return inter / (pw * ratio * ph * ratio + tw * ratio * th * ratio - inter + eps)


def _authors_inner_siou(pred, target, ratio, eps):
    # innersiou.py's formula: IoU_inner − (Δ + Ω)/2 with SIoU's angle from arcsin of the smaller angle's sine
    # (cos(2·arcsin − π/2)), γ = Λ − 2, Δ = 2 − e^(γρx) − e^(γρy), Ω with θ = 4, all on the real boxes.
    (pcx, pcy, pw, ph), (tcx, tcy, tw, th) = (_centre_size(b) for b in (pred, target))
    cw = torch.maximum(pcx + pw / 2, tcx + tw / 2) - torch.minimum(pcx - pw / 2, tcx - tw / 2)
    ch = torch.maximum(pcy + ph / 2, tcy + th / 2) - torch.minimum(pcy - ph / 2, tcy - th / 2)
    s_cw, s_ch = tcx - pcx + eps, tcy - pcy + eps
    sigma = torch.sqrt(s_cw**2 + s_ch**2)
    sin_1, sin_2 = s_cw.abs() / sigma, s_ch.abs() / sigma
    sin_alpha = torch.where(sin_1 > math.sqrt(2) / 2, sin_2, sin_1)
    gamma = torch.cos(torch.arcsin(sin_alpha) * 2 - math.pi / 2) - 2
    distance = 2 - torch.exp(gamma * (s_cw / cw) ** 2) - torch.exp(gamma * (s_ch / ch) ** 2)
    omega_w, omega_h = (pw - tw).abs() / torch.maximum(pw, tw), (ph - th).abs() / torch.maximum(ph, th)
    shape = (1 - torch.exp(-omega_w)) ** 4 + (1 - torch.exp(-omega_h)) ** 4
    return 1 - (_authors_inner_iou(pred, target, ratio, eps) - 0.5 * (distance + shape))


@pytest.mark.parametrize(
    ("name", "authors"), [("inner_ciou", _authors_inner_ciou), ("inner_siou", _authors_inner_siou)]
)
@pytest.mark.parametrize("ratio", [0.7, 0.8, 1.0, 1.2])
def test_matches_the_authors_formula(name, authors, ratio, random_box_pairs):
    # With eps = 0 on both sides the authors' "+ eps" and our scale-aware guards are both absent: the formulas agree.
    pred, target = random_box_pairs(400, seed=4, dtype=torch.float64)
    ours = LOSSES[name].fn(pred, target, eps=0.0, inner_ratio=ratio)
    torch.testing.assert_close(ours, authors(pred, target, ratio, eps=0.0), rtol=0, atol=1e-10)


def test_authors_eps_is_negligible_at_pixel_scale(random_box_pairs):
    pred, target = random_box_pairs(400, seed=5, dtype=torch.float64)
    ours = box_loss(pred, target, "inner_ciou")
    torch.testing.assert_close(ours, _authors_inner_ciou(pred, target, 0.8, eps=1e-7), rtol=0, atol=1e-6)


def test_identical_tiny_boxes_lose_nothing_unlike_the_authors_eps():
    # Two identical 1e-4-sided boxes (normalised coordinates): the auxiliary union at ratio 0.8 is 6.4e-9, so the
    # authors' "+ 1e-7" gives IoU_inner 6.4e-9 / 1.064e-7 ≈ 0.06 and a loss ≈ 0.94; the relative guard gives 0.
    box = torch.tensor([[0.5, 0.5, 0.5001, 0.5001]], dtype=torch.float64)
    assert box_loss(box, box.clone(), "inner_ciou").item() == 0.0
    authors = _authors_inner_ciou(box, box.clone(), 0.8, eps=1e-7).item()
    assert authors == pytest.approx(1 - 0.64e-8 / (0.64e-8 + 1e-7), rel=1e-6)


# --- gradients: what the auxiliary boxes' scale does (the paper's motivation) -----------------------------------


def _iou_term_slope(shift, ratio, side=4.0):
    # d(1 − IoU_inner)/dΔ for two side × side squares shifted by Δ along x; analytically 2·r·a/(r·a + Δ)² for Δ < r·a.
    delta = torch.tensor(shift, dtype=torch.float64, requires_grad=True)
    zero = torch.zeros((), dtype=torch.float64)
    pred = torch.stack((delta, zero, delta + side, zero + side))[None]
    target = torch.tensor([[0.0, 0, side, side]], dtype=torch.float64)
    box_loss(pred, target, "inner_iou", inner_ratio=ratio).sum().backward()
    return delta.grad.item()


def test_smaller_auxiliary_boxes_steepen_high_iou_pairs():
    # Δ = 0.4 on 4 × 4 squares: IoU 0.82. Ratio 0.8 gives slope 2·3.2/3.6² ≈ 0.494, ratio 1 gives 8/4.4² ≈ 0.413.
    assert _iou_term_slope(0.4, 0.8) == pytest.approx(2 * 3.2 / 3.6**2, rel=1e-12)
    assert _iou_term_slope(0.4, 0.8) > _iou_term_slope(0.4, 1.0) == pytest.approx(8 / 4.4**2, rel=1e-12)


def test_larger_auxiliary_boxes_reach_disjoint_pairs():
    # Δ = 5 > a = 4: the real squares are disjoint (no IoU gradient); at ratio 1.5 the auxiliary ones (side 6) overlap.
    assert _iou_term_slope(5.0, 1.0) == 0.0
    assert _iou_term_slope(5.0, 1.5) == pytest.approx(2 * 6 / 11**2, rel=1e-12)


def test_non_overlapping_auxiliary_boxes_leave_only_the_penalties_gradient():
    # Ratio 0.5, Δ = 2.5: the real squares overlap (IoU 0.23) but the auxiliary ones do not: no IoU-term gradient.
    assert _iou_term_slope(2.5, 0.5) == 0.0
