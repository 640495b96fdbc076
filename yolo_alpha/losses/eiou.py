"""EIoU and Focal-EIoU (Zhang, Ren, Zhang, Jia, Wang & Tan, "Focal and Efficient IOU Loss for Accurate Bounding Box
Regression", arXiv 2101.08158, 2021; Neurocomputing 2022), and α-EIoU (He et al., α-IoU, eq. 3 applied to EIoU).

EIoU replaces CIoU's aspect-ratio term by the width and height differences, each normalised by the enclosing box C::

    L_EIoU = 1 − IoU + ρ²(b, bgt)/c² + ρ²(w, wgt)/Cw² + ρ²(h, hgt)/Ch²

Boxes are aligned xyxy ``(N, 4)``; every function returns the unreduced ``(N,)`` loss.
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.losses.geometry import aligned_iou_and_union, area_guard, box_width_height, enclosing_box, guarded
from yolo_alpha.losses.iou_family import diou_penalty, penalty_power, register_classic
from yolo_alpha.losses.registry import IoUTerm, register
from yolo_alpha.losses.terms import EPS, power_iou_term, require_unit_powers, safe_pow

FOCAL_GAMMA = 0.5
"""γ of Focal-EIoU: the paper's default (its experiments pick 0.5 among 0.25 … 2)."""


def side_penalties(pred: Tensor, target: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Return EIoU's side-length penalties ``((w − wgt)²/Cw², (h − hgt)²/Ch²)``, each ``(N,)``.

    Cw, Ch are the width and height of the enclosing box C; ``|w − wgt| <= max(w, wgt) <= Cw``, so each penalty lies
    in ``[0, 1]``. Each denominator is at least the guard (:func:`~.geometry.area_guard`, relative to the pair's
    size), which keeps two identical zero-width boxes at 0, not 0/0.
    """
    pw, ph = box_width_height(pred)
    tw, th = box_width_height(target)
    enclosing_w, enclosing_h = box_width_height(enclosing_box(pred, target))
    guard = area_guard(pred, target, eps)
    return (pw - tw) ** 2 / guarded(enclosing_w**2, guard), (ph - th) ** 2 / guarded(enclosing_h**2, guard)


def _alpha_eiou_and_iou(
    pred: Tensor, target: Tensor, alpha: float, alpha2: float | None, iou_term: IoUTerm, eps: float
) -> tuple[Tensor, Tensor]:
    # Returns the IoU as well: Focal-EIoU weights the loss by it.
    iou, _ = aligned_iou_and_union(pred, target, eps)
    power = penalty_power(alpha, alpha2)
    width_penalty, height_penalty = side_penalties(pred, target, eps)
    loss = (
        iou_term(iou, alpha, eps)
        + safe_pow(diou_penalty(pred, target, eps), power)
        + safe_pow(width_penalty, power)
        + safe_pow(height_penalty, power)
    )
    return loss, iou


@register("alpha_eiou")
def alpha_eiou_loss(
    pred: Tensor,
    target: Tensor,
    *,
    alpha: float = 3.0,
    alpha2: float | None = None,
    iou_term: IoUTerm = power_iou_term,
    eps: float = EPS,
) -> Tensor:
    """Return α-EIoU ``1 − IoU^α + (ρ²/c²)^α₂ + (ρ²(w,wgt)/Cw²)^α₂ + (ρ²(h,hgt)/Ch²)^α₂``, shape (N,) (eq. 3).

    α-IoU's eq. (3) applied to EIoU: each of EIoU's three penalties lies in ``[0, 1]`` and is raised to α₂, as the
    α-IoU authors power each of CIoU's penalty terms separately. At α = α₂ = 1 it is :func:`eiou_loss`.

    Args:
        pred: ``(N, 4)`` predicted boxes, xyxy.
        target: ``(N, 4)`` target boxes, xyxy.
        alpha: the power α of the IoU term.
        alpha2: the penalties' power α₂ of eq. (3); None means α.
        iou_term: :func:`~.terms.power_iou_term` (``1 − IoU^α``) or :func:`~.terms.boxcox_iou_term`.
        eps: numerical guard of divisions.
    """
    loss, _ = _alpha_eiou_and_iou(pred, target, alpha, alpha2, iou_term, eps)
    return loss


eiou_loss = register_classic(
    "eiou",
    alpha_eiou_loss,
    """Return EIoU ``1 − IoU + ρ²/c² + ρ²(w,wgt)/Cw² + ρ²(h,hgt)/Ch²`` per xyxy box pair, shape (N,) (eq. 8, EIoU).

    Zhang et al. 2021 (Focal and Efficient IOU Loss), the EIoU loss; :func:`alpha_eiou_loss` at α = α₂ = 1.
    ρ is the distance between centres, c the diagonal of the enclosing box C, Cw and Ch its width and height.
    """,
)


@register(
    "focal_eiou",
    params={"focal_gamma": FOCAL_GAMMA},
    param_help={"focal_gamma": "γ > 0 of focal_eiou's weight IoU^γ (detached); null = 0.5, the paper's"},
    fixed_alpha=True,
)
def focal_eiou_loss(
    pred: Tensor,
    target: Tensor,
    *,
    alpha: float = 1.0,
    alpha2: float | None = 1.0,
    iou_term: IoUTerm = power_iou_term,
    eps: float = EPS,
    focal_gamma: float = FOCAL_GAMMA,
) -> Tensor:
    """Return Focal-EIoU ``IoU^γ · L_EIoU`` of each xyxy box pair, shape ``(N,)`` (eq. 15, Focal-EIoU).

    Zhang et al. 2021 (Focal and Efficient IOU Loss). The weight IoU^γ down-weights low-IoU ("low-quality") pairs;
    it is 0 for disjoint boxes, which then contribute neither loss nor gradient, by design.

    Gradient stop: IoU^γ is computed under ``torch.no_grad()`` and acts as a per-pair weight, as in the
    implementation published with the α-IoU comparisons and used by the YOLO code bases that ship Focal-EIoU
    (``bbox_iou(..., EIoU=True, Focal=True)`` returns IoU^γ, which the loss multiplies as ``iou[1].detach()``).
    The paper does not stop it explicitly, but without the stop the product rule adds ``γ IoU^(γ−1) L_EIoU ≥ 0``
    to ∂L/∂IoU, a gradient that pushes the IoU *down*: the weight would fight the loss it weights.

    Eq. (3) of α-IoU does not apply: Focal-EIoU is a product, not ``IoU term + penalty``; the IoU^γ weight already
    is a power of the IoU, and α-IoU's paper compares against it as a separate loss (its Table 2). So it takes
    α = α₂ = 1 only.

    Args:
        pred, target: ``(N, 4)`` xyxy boxes.
        alpha, alpha2: must be 1 (accepted so that every registered loss has one signature).
        iou_term: the IoU term of the EIoU part; both terms agree at α = 1.
        eps: numerical guard of divisions.
        focal_gamma: γ > 0 of the weight IoU^γ (config key ``focal_gamma``; the paper's default 0.5).
    """
    require_unit_powers("focal_eiou", alpha, alpha2, "Focal-EIoU has no α form")
    loss, iou = _alpha_eiou_and_iou(pred, target, 1.0, 1.0, iou_term, eps)
    with torch.no_grad():
        weight = safe_pow(iou, focal_gamma)
    return weight * loss
