"""EIoU and Focal-EIoU (Zhang, Ren, Zhang, Jia, Wang & Tan, "Focal and Efficient IOU Loss for Accurate Bounding Box
Regression", arXiv 2101.08158, 2021; Neurocomputing 2022), and α-EIoU (He et al., α-IoU, eq. 3 applied to EIoU).

EIoU replaces CIoU's aspect-ratio term by the width and height differences, each normalised by the enclosing box C::

    L_EIoU = 1 − IoU + ρ²(b, bgt)/c² + ρ²(w, wgt)/Cw² + ρ²(h, hgt)/Ch²

Boxes are aligned xyxy ``(N, 4)``; every function returns the unreduced ``(N,)`` loss.
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.losses.compose import IoUFamily, register_family
from yolo_alpha.losses.geometry import aligned_iou_and_union, area_guard, box_width_height, enclosing_box, guarded
from yolo_alpha.losses.iou_family import diou_penalty
from yolo_alpha.losses.registry import Param, Reference, register_loss
from yolo_alpha.losses.terms import EPS, safe_pow

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


def eiou_penalties(pred: Tensor, target: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor, Tensor]:
    """Return EIoU's three penalties ``(ρ²/c², ρ²(w, wgt)/Cw², ρ²(h, hgt)/Ch²)``, each ``(N,)`` in [0, 1] (EIoU eq. 8).

    α-EIoU raises each to α₂ separately, as the α-IoU authors power each of CIoU's penalty terms.
    """
    return (diou_penalty(pred, target, eps), *side_penalties(pred, target, eps))


EIOU = Reference(
    "Zhang, Ren, Zhang, Jia, Wang & Tan 2021, Focal and Efficient IOU Loss (Neurocomputing 2022)", "2101.08158"
)

eiou_loss, alpha_eiou_loss = register_family(
    IoUFamily(
        "eiou",
        lambda pred, target, iou, union, eps: eiou_penalties(pred, target, eps),
        "1 − IoU + ρ²/c² + ρ²(w, wgt)/Cw² + ρ²(h, hgt)/Ch²",
        "1 − IoU^α + (ρ²/c²)^α₂ + (ρ²(w, wgt)/Cw²)^α₂ + (ρ²(h, hgt)/Ch²)^α₂",
        "EIoU eq. 8",
        EIOU,
        modifiable=True,
        doc="ρ: the distance between centres, c the diagonal of the enclosing box C, Cw and Ch its width and height.",
    )
)


def focal_eiou_loss(pred: Tensor, target: Tensor, *, eps: float = EPS, focal_gamma: float = FOCAL_GAMMA) -> Tensor:
    """Return Focal-EIoU ``IoU^γ · L_EIoU`` of each xyxy box pair, shape ``(N,)`` (eq. 15, Focal-EIoU).

    Zhang et al. 2021 (Focal and Efficient IOU Loss). The weight IoU^γ down-weights low-IoU ("low-quality") pairs;
    it is 0 for disjoint boxes, which then contribute neither loss nor gradient, by design.

    Gradient stop: IoU^γ is computed under ``torch.no_grad()`` and acts as a per-pair weight, as in the
    implementation published with the α-IoU comparisons and used by the YOLO code bases that ship Focal-EIoU
    (``bbox_iou(..., EIoU=True, Focal=True)`` returns IoU^γ, which the loss multiplies as ``iou[1].detach()``).
    The paper does not stop it explicitly, but without the stop the product rule adds ``γ IoU^(γ−1) L_EIoU ≥ 0``
    to ∂L/∂IoU, a gradient that pushes the IoU *down*: the weight would fight the loss it weights.

    Args:
        pred, target: ``(N, 4)`` xyxy boxes.
        eps: numerical guard of divisions.
        focal_gamma: γ > 0 of the weight IoU^γ (config key ``focal_gamma``; the paper's default 0.5).
    """
    with torch.no_grad():
        iou, _ = aligned_iou_and_union(pred, target, eps)
        weight = safe_pow(iou, focal_gamma)
    return weight * eiou_loss(pred, target, eps=eps)


register_loss(
    "focal_eiou",
    focal_eiou_loss,
    formula="IoU^γ · L_EIoU, IoU^γ detached",
    equation="Focal-EIoU eq. 15",
    reference=EIOU,
    params=(
        Param(
            "focal_gamma",
            FOCAL_GAMMA,
            "γ > 0 of focal_eiou's weight IoU^γ (detached); null = 0.5, the paper's",
            zero_hint="γ = 0 is plain EIoU: use loss='eiou'",
        ),
    ),
    why_no_alpha="Focal-EIoU is a product, not 'IoU term + penalty', and its IoU^γ weight already is a power of "
    "the IoU; α-IoU compares against it as a separate loss (its Table 2)",
    quality=False,  # IoU^γ-weighted: 0 for disjoint boxes, so 1 − loss is no quality
)
