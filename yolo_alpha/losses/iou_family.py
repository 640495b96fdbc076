"""The IoU loss family and its α-IoU generalisation (He et al., "α-IoU", NeurIPS 2021, eq. 1-4), one function each.

Every loss takes aligned xyxy boxes ``pred`` and ``target`` of shape ``(N, 4)`` and returns the unreduced loss of
each pair, shape ``(N,)``. The α losses follow eq. (3), ``1 − IoU^α + P^α₂``: the IoU term is chosen by passing
``iou_term`` (:data:`~.terms.IOU_TERMS`), and every penalty P, which lies in ``[0, 1]``, is raised to α₂ with
:func:`~.terms.safe_pow`. The classic losses are the α losses at α = α₂ = 1 (eq. 4, left column), not copies.

Each loss is declared once (:class:`~.compose.IoUFamily`: its penalties and formula), and :mod:`~.compose` registers
both ``x`` and ``alpha_x`` from it; the functions it generates are what training runs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.losses.compose import IoUFamily, register_family
from yolo_alpha.losses.geometry import (
    area_guard,
    aspect_ratio_term,
    box_width_height,
    centre_distance_sq,
    enclosing_box,
    guarded,
)
from yolo_alpha.losses.registry import Reference
from yolo_alpha.losses.terms import EPS

# --- penalty terms P(B, Bgt) of eq. (3), each in [0, 1] ---------------------------------------------------------


def giou_penalty(pred: Tensor, target: Tensor, union: Tensor, eps: float = EPS) -> Tensor:
    """Return GIoU's penalty ``|C ∖ (B ∪ Bgt)| / |C|``, as ``(|C| − |B ∪ Bgt|) / max(|C|, guard)``, shape (N,).

    Args:
        pred, target: ``(N, 4)`` xyxy boxes.
        union: ``(N,)`` the union areas, from :func:`~.geometry.aligned_iou_and_union`.
        eps: the relative guard (:func:`~.geometry.area_guard`): the ratio is 0, not 0/0, for two identical
            zero-area boxes, at any scale.
    """
    enclosing_w, enclosing_h = box_width_height(enclosing_box(pred, target))
    enclosing_area = enclosing_w * enclosing_h
    # C contains B ∪ Bgt, so |C| − |B ∪ Bgt| >= 0: the clamp only removes float rounding (−1e-7 in float32 for
    # nested boxes), which focaler_giou, whose IoU term can be exactly 0, would show as a negative loss.
    return (enclosing_area - union).clamp(min=0) / guarded(enclosing_area, area_guard(pred, target, eps))


def diou_penalty(pred: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Return DIoU's penalty ``ρ²(b, bgt) / max(c², guard)``, shape ``(N,)`` (guard: :func:`~.geometry.area_guard`).

    ρ is the distance between the box centres and c the diagonal of the enclosing box C; both centres lie inside C,
    so the ratio is in ``[0, 1]``.
    """
    enclosing_w, enclosing_h = box_width_height(enclosing_box(pred, target))
    diagonal_sq = enclosing_w**2 + enclosing_h**2
    return centre_distance_sq(pred, target) / guarded(diagonal_sq, area_guard(pred, target, eps))


def ciou_tradeoff(iou: Tensor, v: Tensor, eps: float = EPS) -> Tensor:
    """Return CIoU's trade-off weight ``β = v / ((1 − IoU) + v + eps)``, shape ``(N,)``, with no gradient.

    β is computed from the unpowered IoU under ``torch.no_grad()`` and so is a constant in backward, as in the
    original CIoU, torchvision and Ultralytics: CIoU's authors treat it as a weight, not as part of the geometry.
    ``eps`` keeps β = 0 (not 0/0) for identical boxes, where IoU = 1 and v = 0.
    """
    with torch.no_grad():
        return v / ((1 - iou) + v + eps)


def ciou_penalties(pred: Tensor, target: Tensor, iou: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Return CIoU's two penalties ``(ρ²/c², β·v)``, each ``(N,)`` in [0, 1] (CIoU eq. 10, α-IoU eq. 4).

    ``v = 4/π² · (atan(wgt/hgt) − atan(w/h))²`` (:func:`~.geometry.aspect_ratio_term`) and ``β`` is
    :func:`ciou_tradeoff` of the unpowered IoU, held constant in backward: the gradient flows through ρ²/c² and v.
    α-IoU powers each of them by α₂ separately.
    """
    v = aspect_ratio_term(pred, target, eps)
    return diou_penalty(pred, target, eps), ciou_tradeoff(iou, v, eps) * v


# --- the declarations: each registers x (α = α₂ = 1) and alpha_x (α-IoU eq. 4) ---------------------------------

iou_loss, alpha_iou_loss = register_family(
    IoUFamily(
        "iou",
        None,
        "1 − IoU",
        "1 − IoU^α",
        "α-IoU eq. 4, left",
        Reference("Yu et al. 2016, UnitBox (ACM MM)", "1608.01471"),
        modifiable=True,
        alpha_equation="α-IoU eq. 4 (eq. 1 with iou_term=boxcox)",
        doc="No penalty term: α₂ is unused.",
    )
)
giou_loss, alpha_giou_loss = register_family(
    IoUFamily(
        "giou",
        lambda pred, target, iou, union, eps: (giou_penalty(pred, target, union, eps),),
        "1 − IoU + |C ∖ (B ∪ Bgt)| / |C|",
        "1 − IoU^α + (|C ∖ (B ∪ Bgt)| / |C|)^α₂",
        "α-IoU eq. 4, left",
        Reference("Rezatofighi et al. 2019, Generalized Intersection over Union (CVPR)", "1902.09630"),
        modifiable=True,
        alpha_equation="α-IoU eq. 4",
        doc="C is the smallest box enclosing B and Bgt. At α = 1 it equals torchvision's generalized_box_iou_loss.",
    )
)
diou_loss, alpha_diou_loss = register_family(
    IoUFamily(
        "diou",
        lambda pred, target, iou, union, eps: (diou_penalty(pred, target, eps),),
        "1 − IoU + ρ²/c²",
        "1 − IoU^α + (ρ²/c²)^α₂",
        "α-IoU eq. 4, left",
        Reference("Zheng et al. 2020, Distance-IoU Loss (AAAI)", "1911.08287"),
        modifiable=True,
        alpha_equation="α-IoU eq. 4",
        doc="ρ: the distance between the box centres, c: the diagonal of the enclosing box. The paper writes the α "
        "penalty ρ^(2α)/c^(2α); it is computed as a power of the ratio in [0, 1], which cannot overflow. At α = 1 it "
        "equals torchvision's distance_box_iou_loss.",
    )
)
ciou_loss, alpha_ciou_loss = register_family(
    IoUFamily(
        "ciou",
        lambda pred, target, iou, union, eps: ciou_penalties(pred, target, iou, eps),
        "1 − IoU + ρ²/c² + βv",
        "1 − IoU^α + (ρ²/c²)^α₂ + (βv)^α₂",
        "α-IoU eq. 4, left",
        Reference("Zheng et al. 2020, Distance-IoU Loss (AAAI), CIoU", "1911.08287"),
        modifiable=True,
        alpha_equation="α-IoU eq. 4",
        doc="v = 4/π² (atan(wgt/hgt) − atan(w/h))², β = v / ((1 − IoU) + v). Gradient stop: β is computed from the "
        "unpowered IoU under no_grad and held constant in backward, as in the original CIoU, torchvision and "
        "Ultralytics. At α = 1 it equals torchvision's complete_box_iou_loss and Ultralytics' 1 − bbox_iou(CIoU=True).",
    )
)
