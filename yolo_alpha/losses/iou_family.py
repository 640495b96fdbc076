"""The IoU loss family and its α-IoU generalisation (He et al., "α-IoU", NeurIPS 2021, eq. 1-4), one function each.

Every loss takes aligned xyxy boxes ``pred`` and ``target`` of shape ``(N, 4)`` and returns the unreduced loss of
each pair, shape ``(N,)``. The α losses follow eq. (3), ``1 − IoU^α + P^α₂``: the IoU term is chosen by passing
``iou_term`` (:data:`~.terms.IOU_TERMS`), and every penalty P, which lies in ``[0, 1]``, is raised to α₂ with
:func:`~.terms.safe_pow`. The classic losses are the α losses at α = α₂ = 1 (eq. 4, left column), not copies.

These functions are the reference: training runs their fused form (:mod:`~.fused`, closed-form gradients in
:mod:`~.fused_kernel`, one function per penalty as here), which tests/losses/test_fused.py holds equal to them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.losses.geometry import (
    aligned_iou_and_union,
    area_guard,
    aspect_ratio_term,
    box_width_height,
    centre_distance_sq,
    enclosing_box,
    guarded,
)
from yolo_alpha.losses.registry import IoUTerm, LossFn, register, unused_keys_of
from yolo_alpha.losses.terms import EPS, power_iou_term, require_unit_powers, safe_pow

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
    return (enclosing_area - union) / guarded(enclosing_area, area_guard(pred, target, eps))


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


# --- α-IoU losses, eq. (3)/(4) -------------------------------------------------------------------------------------


def penalty_power(alpha: float, alpha2: float | None) -> float:
    # eq. (3) allows α₂ ≠ α; the paper trains with α₂ = α, which is what None means.
    return alpha if alpha2 is None else alpha2


def _alpha_diou_and_iou(
    pred: Tensor, target: Tensor, alpha: float, alpha2: float | None, iou_term: IoUTerm, eps: float
) -> tuple[Tensor, Tensor]:
    # Returns the IoU as well so that alpha_ciou can build on alpha_diou without computing the IoU twice.
    iou, _ = aligned_iou_and_union(pred, target, eps)
    loss = iou_term(iou, alpha, eps) + safe_pow(diou_penalty(pred, target, eps), penalty_power(alpha, alpha2))
    return loss, iou


@register("alpha_iou", unused=("alpha2",))
def alpha_iou_loss(
    pred: Tensor,
    target: Tensor,
    *,
    alpha: float = 3.0,
    alpha2: float | None = None,
    iou_term: IoUTerm = power_iou_term,
    eps: float = EPS,
) -> Tensor:
    """Return the α-IoU loss ``1 − IoU^α`` of each aligned box pair, shape ``(N,)`` (eq. 2/4; eq. 1 with Box-Cox).

    Args:
        pred: ``(N, 4)`` predicted boxes, xyxy.
        target: ``(N, 4)`` target boxes, xyxy.
        alpha: the power α of the IoU term.
        alpha2: unused (this loss has no penalty term); accepted so that every registered loss has one signature.
        iou_term: :func:`~.terms.power_iou_term` (``1 − IoU^α``) or :func:`~.terms.boxcox_iou_term`.
        eps: the relative guard of divisions (:func:`~.geometry.area_guard`), and the IoU clamp of Box-Cox's log.
    """
    iou, _ = aligned_iou_and_union(pred, target, eps)
    return iou_term(iou, alpha, eps)


@register("alpha_giou")
def alpha_giou_loss(
    pred: Tensor,
    target: Tensor,
    *,
    alpha: float = 3.0,
    alpha2: float | None = None,
    iou_term: IoUTerm = power_iou_term,
    eps: float = EPS,
) -> Tensor:
    """Return the α-GIoU loss ``1 − IoU^α + (|C ∖ (B ∪ Bgt)| / |C|)^α₂`` of each box pair, shape ``(N,)`` (eq. 3/4).

    C is the smallest box enclosing B and Bgt. Arguments as :func:`alpha_iou_loss`; ``alpha2`` is the penalty's power
    α₂ of eq. (3), None meaning α.
    """
    iou, union = aligned_iou_and_union(pred, target, eps)
    penalty = giou_penalty(pred, target, union, eps)
    return iou_term(iou, alpha, eps) + safe_pow(penalty, penalty_power(alpha, alpha2))


@register("alpha_diou")
def alpha_diou_loss(
    pred: Tensor,
    target: Tensor,
    *,
    alpha: float = 3.0,
    alpha2: float | None = None,
    iou_term: IoUTerm = power_iou_term,
    eps: float = EPS,
) -> Tensor:
    """Return the α-DIoU loss ``1 − IoU^α + (ρ²(b, bgt) / c²)^α₂`` of each box pair, shape ``(N,)`` (eq. 3/4).

    The paper writes the penalty as ρ^(2α)/c^(2α); it is computed as the power of the ratio, which lies in
    ``[0, 1]``, so large coordinates cannot overflow. Arguments as :func:`alpha_giou_loss`.
    """
    loss, _ = _alpha_diou_and_iou(pred, target, alpha, alpha2, iou_term, eps)
    return loss


@register("alpha_ciou")
def alpha_ciou_loss(
    pred: Tensor,
    target: Tensor,
    *,
    alpha: float = 3.0,
    alpha2: float | None = None,
    iou_term: IoUTerm = power_iou_term,
    eps: float = EPS,
) -> Tensor:
    """Return the α-CIoU loss ``1 − IoU^α + (ρ²/c²)^α₂ + (β·v)^α₂`` of each box pair, shape ``(N,)`` (eq. 3/4).

    ``v = 4/π² · (atan(wgt/hgt) − atan(w/h))²`` (:func:`~.geometry.aspect_ratio_term`) and
    ``β = v / ((1 − IoU) + v)`` (:func:`ciou_tradeoff`). Gradient stop: β is computed from the unpowered IoU
    under ``torch.no_grad()`` and held constant in backward, as in the original CIoU, torchvision and Ultralytics;
    the gradient flows through IoU, ρ²/c² and v only. Arguments as :func:`alpha_giou_loss`.
    """
    loss, iou = _alpha_diou_and_iou(pred, target, alpha, alpha2, iou_term, eps)
    v = aspect_ratio_term(pred, target, eps)
    return loss + safe_pow(ciou_tradeoff(iou, v, eps) * v, penalty_power(alpha, alpha2))


# --- classic losses: the α losses at α = α₂ = 1 (eq. 4, left column) --------------------------------------------


def register_classic(name: str, alpha_loss: LossFn, doc: str) -> LossFn:
    """Return, registered as ``name``, the classic loss that is ``alpha_loss`` at α = α₂ = 1, with docstring ``doc``.

    It accepts ``alpha`` and ``alpha2`` so that every registered loss has one signature, and refuses any value but 1:
    :func:`~.spec.resolve_loss` gives users the friendly error; this stops a direct call from silently ignoring a
    power. Both IoU terms agree at α = 1.
    """

    def classic_loss(
        pred: Tensor,
        target: Tensor,
        *,
        alpha: float = 1.0,
        alpha2: float | None = 1.0,
        iou_term: IoUTerm = power_iou_term,
        eps: float = EPS,
    ) -> Tensor:
        require_unit_powers(name, alpha, alpha2, f"use alpha_{name}")
        return alpha_loss(pred, target, alpha=1.0, alpha2=1.0, iou_term=iou_term, eps=eps)

    classic_loss.__name__ = classic_loss.__qualname__ = f"{name}_loss"
    classic_loss.__doc__ = doc
    return register(name, alpha_form=f"alpha_{name}", unused=unused_keys_of(f"alpha_{name}"))(classic_loss)


iou_loss = register_classic(
    "iou",
    alpha_iou_loss,
    """Return the IoU loss ``1 − IoU`` of each aligned xyxy box pair, shape ``(N,)`` (eq. 4, left; eq. 1 at α = 1).

    :func:`alpha_iou_loss` at α = 1. ``pred``, ``target``: ``(N, 4)`` xyxy boxes; ``alpha``, ``alpha2`` must be 1.
    """,
)
giou_loss = register_classic(
    "giou",
    alpha_giou_loss,
    """Return the GIoU loss ``1 − IoU + |C ∖ (B ∪ Bgt)| / |C|`` per xyxy box pair, shape ``(N,)`` (eq. 4, left).

    :func:`alpha_giou_loss` at α = α₂ = 1; equals ``torchvision.ops.generalized_box_iou_loss``.
    """,
)
diou_loss = register_classic(
    "diou",
    alpha_diou_loss,
    """Return the DIoU loss ``1 − IoU + ρ²(b, bgt) / c²`` per xyxy box pair, shape ``(N,)`` (eq. 4, left).

    :func:`alpha_diou_loss` at α = α₂ = 1; equals ``torchvision.ops.distance_box_iou_loss``.
    """,
)
ciou_loss = register_classic(
    "ciou",
    alpha_ciou_loss,
    """Return the CIoU loss ``1 − IoU + ρ²/c² + β·v`` per xyxy box pair, shape ``(N,)`` (eq. 4, left).

    :func:`alpha_ciou_loss` at α = α₂ = 1, β held constant in backward; equals
    ``torchvision.ops.complete_box_iou_loss`` and Ultralytics' ``1 − bbox_iou(..., CIoU=True)``.
    """,
)
