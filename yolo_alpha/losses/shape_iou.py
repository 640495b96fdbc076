"""Shape-IoU (Zhang & Zhang, "Shape-IoU: More Accurate Metric considering Bounding Box Shape and Scale", arXiv
2312.17663, 2023) and its α-IoU generalisation (He et al., α-IoU, eq. 3 applied to Shape-IoU's penalties).

Shape-IoU weights DIoU's centre distance and SIoU's shape cost by the shape of the target itself: with a scale
exponent s > 0, an offset or a size error across the target's short side costs more than the same one along its long
side (the paper's observation that the same deviation lowers the IoU more across the short side)::

    ww = 2·wgt^s / (wgt^s + hgt^s),   hh = 2·hgt^s / (wgt^s + hgt^s)                         (ww + hh = 2)
    D  = (hh·(x − xgt)² + ww·(y − ygt)²) / c²                                                  (distance^shape)
    Ω  = Σ_{t=w,h} (1 − e^(−ω_t))⁴,   ω_w = hh·|w − wgt| / max(w, wgt),   ω_h = ww·|h − hgt| / max(h, hgt)
    L_Shape-IoU = 1 − IoU + D + Ω/2

(x, y) are the box centres and c the diagonal of the smallest enclosing box. At s = 0, the authors' code's default,
ww = hh = 1 and Shape-IoU is DIoU plus half of SIoU's shape cost (θ = 4).

Boxes are aligned xyxy ``(N, 4)``; every function returns ``(N,)`` tensors.
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.losses.compose import IoUFamily, register_family
from yolo_alpha.losses.geometry import (
    area_guard,
    box_width_height,
    centre_offsets,
    enclosing_box,
    guarded,
    length_guard,
)
from yolo_alpha.losses.registry import Param, Reference
from yolo_alpha.losses.siou import shape_cost
from yolo_alpha.losses.terms import EPS, safe_pow

SHAPE_SCALE = 0.0
"""The scale exponent s of the weights ww, hh: the authors' code's default (0: ww = hh = 1)."""
SHAPE_THETA = 4.0
"""θ of the shape cost Ω: fixed at 4 in the paper and its code (SIoU's value)."""

SHAPE_IOU = Reference(
    'Zhang & Zhang 2023, "Shape-IoU: More Accurate Metric considering Bounding Box Shape and Scale"',
    "2312.17663",
    "https://github.com/malagoutou/Shape-IoU",
)


def shape_weights(target: Tensor, scale: float, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Return Shape-IoU's weights ``(ww, hh)``, ``ww = 2·wgt^s / (wgt^s + hgt^s)`` and ``hh = 2 − ww``, each (N,).

    Each lies in [0, 2]. Computed as ``ww = 1 + (a − b)/(a + b)`` with ``a = (wgt/L)^s``, ``b = (hgt/L)^s`` and L
    the target's longer side: the ratio is unchanged, but independent of the unit (``wgt^s`` of a 1e-4-sided box
    would underflow a fixed guard), and ``a + b`` >= 1 except for a point target, which gets the weights of a square
    (ww = hh = 1) instead of 0/0.
    s = 0 gives ww = hh = 1 exactly, as the authors' ``torch.pow(w, 0) = 1`` does, zero sides included.
    The weights depend on the target only: constants in training, where the target carries no gradient (they are
    not detached, as in the authors' code).

    Args:
        target: ``(N, 4)`` target boxes, xyxy.
        scale: s >= 0 (config key ``shape_scale``).
        eps: the relative guard of :func:`~.geometry.length_guard` on the longer side of a point target.
    """
    tw, th = box_width_height(target)
    if scale == 0:
        return torch.ones_like(tw), torch.ones_like(th)
    longer = guarded(torch.maximum(tw, th), length_guard(target, target, eps))
    a, b = safe_pow(tw / longer, scale), safe_pow(th / longer, scale)
    # ww − 1 = (a − b)/(a + b): a + b >= 1 (the longer side's term is 1) unless both are 0, where the clamp gives 0.
    lean = (a - b) / (a + b).clamp(min=1)
    return 1 + lean, 1 - lean


def shape_distance(pred: Tensor, target: Tensor, ww: Tensor, hh: Tensor, eps: float = EPS) -> Tensor:
    """Return Shape-IoU's ``distance^shape = (hh·Δx² + ww·Δy²) / max(c², guard)``, shape ``(N,)``, in [0, 2].

    Δx, Δy are the offsets between the centres (:func:`~.geometry.centre_offsets`, exactly 0 for identical boxes)
    and c the enclosing box's diagonal, guarded by :func:`~.geometry.area_guard`. Both centres lie inside the
    enclosing box, so ``Δx² + Δy² <= c²`` and the value is at most ``max(ww, hh)`` < 2; unlike DIoU's it exceeds 1
    when s > 0 and the centres are far apart across a narrow target (:func:`shape_iou_penalties` halves it).
    """
    dx, dy = centre_offsets(pred, target)
    enclosing_w, enclosing_h = box_width_height(enclosing_box(pred, target))
    diagonal_sq = guarded(enclosing_w**2 + enclosing_h**2, area_guard(pred, target, eps))
    return (hh * dx**2 + ww * dy**2) / diagonal_sq


def shape_shape_cost(pred: Tensor, target: Tensor, ww: Tensor, hh: Tensor, eps: float = EPS) -> Tensor:
    """Return Shape-IoU's ``Ω^shape = Σ_{t=w,h} (1 − e^(−ω_t))⁴``, shape ``(N,)``, in [0, 2(1 − e⁻²)⁴) ⊂ [0, 1.12).

    ``ω_w = hh·|w − wgt| / max(w, wgt)`` and ``ω_h = ww·|h − hgt| / max(h, hgt)``: SIoU's shape cost
    (:func:`~.siou.shape_cost`) with each relative size error weighted by the other side's weight, so ω_t < 2.
    """
    return shape_cost(pred, target, SHAPE_THETA, eps, weights=(hh, ww))


def shape_iou_penalties(
    pred: Tensor, target: Tensor, iou: Tensor, union: Tensor, eps: float = EPS, *, shape_scale: float = SHAPE_SCALE
) -> tuple[Tensor, Tensor, Tensor]:
    """Return Shape-IoU's penalty ``D + Ω/2`` as three terms ``(D/2, D/2, Ω/2)``, each ``(N,)`` in [0, 1].

    α-IoU's eq. (3) powers each penalty, which must lie in [0, 1] so that α₂ > 1 down-weights it. Ω/2 does, but the
    distance D lies in [0, 2) once ``shape_scale`` > 0 (:func:`shape_distance`), so it enters as two halves: the
    classic loss is exactly the paper's (D/2 + D/2 = D in floating point), and the α form's distance term is
    ``2·(D/2)^α₂ = 2^(1−α₂)·D^α₂``, a smooth power of D. (Clipping D at 1 instead would keep α-DIoU's term at
    s = 0 but leave the gradient ~0 just above D = 1.) ``iou`` and ``union`` are unused.
    """
    ww, hh = shape_weights(target, shape_scale, eps)
    half_distance = shape_distance(pred, target, ww, hh, eps) / 2
    return half_distance, half_distance, shape_shape_cost(pred, target, ww, hh, eps) / 2


shape_iou_loss, alpha_shape_iou_loss = register_family(
    IoUFamily(
        "shape_iou",
        shape_iou_penalties,
        "1 − IoU + D + Ω/2, D = (hh·Δx² + ww·Δy²)/c², Ω = Σ_t (1 − e^(−ω_t))⁴, weights from the target's shape",
        "1 − IoU^α + 2·(D/2)^α₂ + (Ω/2)^α₂",
        "Shape-IoU, the L_Shape-IoU equation",
        SHAPE_IOU,
        params=(
            Param(
                "shape_scale",
                SHAPE_SCALE,
                "s >= 0 of shape_iou's weights by the target's shape, ww = 2·wgt^s/(wgt^s + hgt^s); null = 0",
                low=0.0,
                low_open=False,
            ),
        ),
        doc="ww = 2·wgt^s/(wgt^s + hgt^s), hh = 2 − ww (:func:`shape_weights`), D: the weighted centre distance "
        "(:func:`shape_distance`), Ω: SIoU's shape cost (θ = 4) with weighted size errors (:func:`shape_shape_cost`). "
        "D lies in [0, 2) for s > 0, so the α form powers its two halves (:func:`shape_iou_penalties`). Departures "
        "from the authors' code: guards relative to the pair's size instead of + eps (identical boxes lose exactly 0 "
        "at any scale; zero sides give finite values, not 0/0), and −expm1 for 1 − e^(−ω). No gradient stop.",
        symmetric=False,  # at s > 0 the weights come from the target's shape (symmetric only at s = 0)
    )
)
