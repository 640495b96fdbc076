"""Analytic gradients of every registered loss against finite differences (``torch.autograd.gradcheck``, float64)."""

from __future__ import annotations

import pytest
import torch

from yolo_alpha.losses import LOSSES, list_losses, resolve_loss
from yolo_alpha.losses.geometry import aligned_iou_and_union, aspect_ratio_term
from yolo_alpha.losses.iou_family import ciou_tradeoff
from yolo_alpha.losses.registry import takes_alpha, unused_keys_of
from yolo_alpha.losses.terms import IOU_TERMS, safe_pow

# Losses with a deliberately stopped gradient besides CIoU's β: finite differences would differentiate the stopped
# part too, so each is gradchecked with that part frozen in its own test file.
FROZEN_ELSEWHERE = {
    "focal_eiou": "test_loss_eiou.py",  # IoU^γ weight
    "wiou_v1": "test_loss_wise_iou.py",  # enclosing diagonal of R_WIoU
    "wiou": "test_loss_wise_iou.py",  # enclosing diagonal and the focusing coefficient r
}
# (alpha, alpha2): α below, at and above 1, and α₂ ≠ α both ways.
ALPHA_POWERS = [(0.5, 0.5), (1.0, 1.0), (3.0, 3.0), (0.5, 2.0), (3.0, 1.5)]


def _settings():
    for name in list_losses():
        if name in FROZEN_ELSEWHERE:
            continue
        unused = unused_keys_of(name)  # refused by resolve_loss: alpha_iou's alpha2, ℓ1's iou_term
        for iou_term in ("power",) if "iou_term" in unused else IOU_TERMS:
            if not takes_alpha(name):
                yield name, 1.0, 1.0, iou_term
                continue
            for alpha, alpha2 in ALPHA_POWERS:
                yield name, alpha, None if "alpha2" in unused else alpha2, iou_term
        if takes_alpha(name):
            yield name, 0.0, 1.0, "boxcox"  # the −log IoU limit (eq. 2)


def _box_pairs(layout: str) -> tuple[torch.Tensor, torch.Tensor]:
    # Kinks (min/max of coordinates, the clamp of the overlap, a penalty of exactly 0 under a power < 1) break finite
    # differences, so coordinates stay far from ties. In x each target is its box shifted by 10-30 % of the width,
    # resized by less than half that shift: the x-intervals are never nested, so neither box contains the other.
    # In y the target is 0.3-0.6 or 1.6-3 times as tall, its centre moved by at most 10 %: every y end differs by
    # >= 10 % of the height, the union is not a box (GIoU penalty > 0), and the aspect ratios differ (CIoU's v
    # well above 0). "disjoint" moves the targets 200 away: IoU 0, every penalty > 0.
    g = torch.Generator().manual_seed(7)
    n = 6

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=g, dtype=torch.float64)

    def either_sign(values: torch.Tensor) -> torch.Tensor:
        return torch.where(torch.rand(n, generator=g) < 0.5, -values, values)

    x, y, w, h = uniform(0, 50), uniform(0, 50), uniform(5, 25), uniform(5, 25)
    pred = torch.stack((x, y, x + w, y + h), dim=1)
    shift = either_sign(uniform(0.1, 0.3) * w)
    resize = shift * uniform(-0.5, 0.5)
    target_h = h * torch.where(torch.rand(n, generator=g) < 0.5, uniform(0.3, 0.6), uniform(1.6, 3.0))
    target_y = y + h / 2 + uniform(-0.1, 0.1) * h - target_h / 2
    target = torch.stack((x + shift, target_y, x + w + shift + resize, target_y + target_h), dim=1)
    if layout == "disjoint":
        target = target + 200
    return pred, target


def test_every_loss_is_gradchecked_here_or_in_its_own_file():
    frozen = set(FROZEN_ELSEWHERE)
    assert frozen <= set(list_losses())
    assert {name for name, *_ in _settings()} == set(list_losses()) - frozen


@pytest.mark.parametrize("layout", ["overlapping", "disjoint"])
@pytest.mark.parametrize(("name", "alpha", "alpha2", "iou_term"), list(_settings()))
def test_gradcheck(name, alpha, alpha2, iou_term, layout):
    spec = resolve_loss(name, alpha, alpha2, iou_term)
    pred, target = (boxes.requires_grad_() for boxes in _box_pairs(layout))
    if "ciou" not in name:
        assert torch.autograd.gradcheck(spec, (pred, target))
        return
    # CIoU's β is a constant in backward, so finite differences of the loss itself would also differentiate β.
    # Freeze β at the evaluation point, gradcheck that function, and require the loss's autograd gradient to be its.
    with torch.no_grad():
        beta = ciou_tradeoff(aligned_iou_and_union(pred, target)[0], aspect_ratio_term(pred, target))
    diou_name = name.replace("ciou", "diou")

    def ciou_with_frozen_beta(p, t):
        diou_entry = LOSSES[diou_name]
        keywords = diou_entry.core_keywords(alpha, alpha2, IOU_TERMS[iou_term])
        diou = diou_entry.fn(p, t, **keywords, eps=1e-7, **{p.key: p.default for p in diou_entry.params})
        return diou + safe_pow(beta * aspect_ratio_term(p, t), alpha2)

    assert torch.autograd.gradcheck(ciou_with_frozen_beta, (pred, target))
    torch.testing.assert_close(spec(pred, target), ciou_with_frozen_beta(pred, target), rtol=1e-12, atol=1e-12)
    expected = torch.autograd.grad(ciou_with_frozen_beta(pred, target).sum(), (pred, target))
    actual = torch.autograd.grad(spec(pred, target).sum(), (pred, target))
    torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-12)
