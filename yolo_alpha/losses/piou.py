"""Powerful-IoU, PIoU and PIoU v2 (Liu, Wang, Li et al., "Powerful-IoU: More straightforward and faster bounding box
regression loss with a nonmonotonic focusing mechanism", Neural Networks 170, 2024), and α-PIoU (He et al., α-IoU,
eq. 3 applied to PIoU's penalty).

PIoU's penalty factor P measures the four edge distances in units of the target's own size, so that, unlike GIoU's
or DIoU's, it does not shrink when the predicted box grows (the "anchor box enlargement" the paper analyses)::

    P = ((|x1 − x1gt| + |x2 − x2gt|) / wgt + (|y1 − y1gt| + |y2 − y2gt|) / hgt) / 4
    L_PIoU   = 1 − IoU + (1 − e^(−P²)) = 2 − IoU − e^(−P²)
    L_PIoUv2 = u(λq) · L_PIoU,   u(x) = 3x·e^(−x²),   q = e^(−P) ∈ (0, 1],   λ = 1.3

u is a non-monotonic attention on the box's quality q: it peaks at λq = 1/√2 and fades for both near-perfect and
very poor boxes, focusing training on boxes of medium quality.

Boxes are aligned xyxy ``(N, 4)``; every function returns ``(N,)`` tensors.
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.losses.compose import IoUFamily, register_family
from yolo_alpha.losses.geometry import box_width_height, guarded, length_guard
from yolo_alpha.losses.registry import Param, Reference, register_loss
from yolo_alpha.losses.terms import EPS

PIOU_LAMBDA = 1.3
"""λ of PIoU v2's attention u(λq): the paper's choice and the authors' code's default."""

POWERFUL_IOU = Reference(
    'Liu, Wang, Li et al. 2024, "Powerful-IoU: More straightforward and faster bounding box regression loss with a '
    'nonmonotonic focusing mechanism", Neural Networks 170, doi:10.1016/j.neunet.2023.11.041',
    "",
    "https://github.com/fppccc/Powerful-IoU",
)


def penalty_factor(pred: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Return PIoU's ``P = ((|x1 − x1gt| + |x2 − x2gt|)/wgt + (|y1 − y1gt| + |y2 − y2gt|)/hgt) / 4``, (N,), >= 0.

    The edge distances are divided by the TARGET's width and height (the authors' code: ``w2``, ``h2`` of its
    second box, the target), so P is unit-free and does not fall as the prediction grows. Each side is guarded by
    :func:`~.geometry.length_guard` only where it is ~0 (the authors' code adds eps to the heights only and divides
    by a zero width): a zero-width target gives a large but finite P, and a matching one P = 0, not 0/0.
    """
    px1, py1, px2, py2 = pred.unbind(dim=-1)
    tx1, ty1, tx2, ty2 = target.unbind(dim=-1)
    tw, th = box_width_height(target)
    guard = length_guard(pred, target, eps)
    horizontal = ((px1 - tx1).abs() + (px2 - tx2).abs()) / guarded(tw, guard)
    vertical = ((py1 - ty1).abs() + (py2 - ty2).abs()) / guarded(th, guard)
    return (horizontal + vertical) / 4


def piou_penalties(pred: Tensor, target: Tensor, iou: Tensor, union: Tensor, eps: float = EPS) -> tuple[Tensor]:
    """Return PIoU's penalty ``f(P) = 1 − e^(−P²)`` as a one-tuple, ``(N,)`` in [0, 1) (``iou``, ``union`` unused).

    f is the paper's gradient-adjusting function: its gradient 2P·e^(−P²) is small for both small and large P. It is
    computed as ``−expm1(−P²)``, exact for small P; being in [0, 1) it is powered by α₂ as it is in α-PIoU.
    """
    return (-torch.expm1(-(penalty_factor(pred, target, eps) ** 2)),)


piou_loss, alpha_piou_loss = register_family(
    IoUFamily(
        "piou",
        piou_penalties,
        "1 − IoU + 1 − e^(−P²), P: the four edge distances / the target's w, h, averaged",
        "1 − IoU^α + (1 − e^(−P²))^α₂",
        "Powerful-IoU, L_PIoU",
        POWERFUL_IOU,
        doc="P = ((|x1 − x1gt| + |x2 − x2gt|)/wgt + (|y1 − y1gt| + |y2 − y2gt|)/hgt)/4 (:func:`penalty_factor`). "
        "Departures from the authors' code: guards relative to the pair's size instead of + eps on the heights (a "
        "zero-width target gives a finite loss); boxes are taken as x1 <= x2, y1 <= y2 (their code also accepts "
        "swapped corners). No gradient stop.",
        symmetric=False,
    )
)


def quality_attention(factor: Tensor, piou_lambda: float = PIOU_LAMBDA) -> Tensor:
    """Return PIoU v2's attention ``u(λq) = 3λq·e^(−(λq)²)``, ``q = e^(−P)``, shape ``(N,)``, in (0, 3/√(2e)].

    u rises with λq up to λq = 1/√2 (P = ln(√2·λ), 0.61 for λ = 1.3) and falls beyond: the box quality q = e^(−P)
    it weights is 1 for a perfect box and tends to 0 for a poor one, so λ sets which quality gets the largest weight.

    Args:
        factor: ``(N,)`` PIoU's penalty factor P (:func:`penalty_factor`).
        piou_lambda: λ > 0 (config key ``piou_lambda``).
    """
    x = piou_lambda * torch.exp(-factor)
    return 3 * x * torch.exp(-(x**2))


def piou2_loss(pred: Tensor, target: Tensor, *, piou_lambda: float = PIOU_LAMBDA, eps: float = EPS) -> Tensor:
    """Return PIoU v2 ``u(λq) · L_PIoU`` of each aligned xyxy box pair, shape ``(N,)`` (Powerful-IoU, L_PIoUv2).

    ``L_PIoU`` is :func:`piou_loss`, in [0, 2), and ``u(λq)`` the attention of :func:`quality_attention`, at most
    1.29: the loss lies in [0, 2.58).
    No gradient stop: as in the authors' code, nothing is detached, so the gradient flows through the attention
    too (through q = e^(−P)), not only through L_PIoU; unlike Wise-IoU's focusing coefficient, which is detached.

    Args:
        pred: ``(N, 4)`` predicted boxes, xyxy.
        target: ``(N, 4)`` target boxes, xyxy.
        piou_lambda: λ > 0 of the attention (the paper's 1.3).
        eps: the relative guard of the divisions (:func:`~.geometry.length_guard`, :func:`~.geometry.area_guard`).
    """
    return quality_attention(penalty_factor(pred, target, eps), piou_lambda) * piou_loss(pred, target, eps=eps)


register_loss(
    "piou2",
    piou2_loss,
    formula="u(λq) · L_PIoU, u(x) = 3x·e^(−x²), q = e^(−P), nothing detached",
    equation="Powerful-IoU, L_PIoUv2",
    reference=POWERFUL_IOU,
    params=(
        Param(
            "piou_lambda",
            PIOU_LAMBDA,
            "λ > 0 of piou2's attention u(λq) = 3λq·e^(−(λq)²), q = e^(−P); null = 1.3, the paper's",
        ),
    ),
    why_no_alpha="PIoU v2 is a product u(λq)·L_PIoU with a non-monotonic attention, not 'IoU term + penalty': eq. 3 "
    "of α-IoU does not apply (alpha_piou is PIoU's α form)",
    doc="PIoU v2 focuses on boxes of medium quality through the attention u(λq); nothing is detached (the authors' "
    "code), so the attention's own gradient is part of the update.",
    symmetric=False,
    quality=False,  # attention-weighted: a far box's small loss is no quality
)
