"""SIoU (Gevorgyan, "SIoU Loss: More Powerful Learning for Bounding Box Regression", arXiv 2205.12740, 2022) and its
α-IoU generalisation (He et al., α-IoU, eq. 3 applied to SIoU's two penalties).

SIoU adds to ``1 − IoU`` the mean of a distance cost Δ, whose strength depends on the angle Λ between the line of the
centres and the nearer axis, and a shape cost Ω::

    L_SIoU = 1 − IoU + (Δ + Ω)/2

Boxes are aligned xyxy ``(N, 4)``; every function returns the unreduced ``(N,)`` loss.
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
from yolo_alpha.losses.registry import Reference
from yolo_alpha.losses.terms import EPS

SIOU_THETA = 4.0
"""θ of the shape cost: the paper's choice (it recommends θ in [2, 6]; 4 in its experiments and code)."""


def angle_cost(pred: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Return SIoU's angle cost ``Λ = 1 − 2 sin²(arcsin(x) − π/4)``, ``x = |Δy|/σ``, shape ``(N,)`` (in [0, 1]).

    σ is the distance between the centres and Δx, Δy its components. Λ = cos(2 arcsin x − π/2) = sin(2 arcsin x)
    = 2 x √(1 − x²) = ``2|Δx||Δy| / (Δx² + Δy²)``, computed in that closed form: it is 0 when the centres are
    aligned on an axis, 1 on a diagonal, and symmetric in x ↔ √(1 − x²), which is why the paper's switch to the
    other angle above 45° does not change the value. The closed form needs no arcsin (whose derivative is infinite
    at x = 1) and the guard (:func:`~.geometry.area_guard`) makes concentric boxes give Λ = 0 instead of 0/0.
    """
    dx, dy = centre_offsets(pred, target)
    return 2 * dx.abs() * dy.abs() / guarded(dx**2 + dy**2, area_guard(pred, target, eps))


def distance_cost(pred: Tensor, target: Tensor, angle: Tensor, eps: float = EPS) -> Tensor:
    """Return SIoU's distance cost ``Δ = Σ_{t=x,y} (1 − exp(−γ ρ_t))``, ``γ = 2 − Λ``, shape ``(N,)`` (in [0, 2)).

    ``ρ_x = (Δx / Cw)²`` and ``ρ_y = (Δy / Ch)²`` with Cw, Ch the width and height of the enclosing box; ``angle``
    is Λ from :func:`angle_cost`, with its gradient (the paper and its code do not stop it).
    """
    dx, dy = centre_offsets(pred, target)
    enclosing_w, enclosing_h = box_width_height(enclosing_box(pred, target))
    gamma = 2 - angle
    guard = area_guard(pred, target, eps)
    rho_x = dx**2 / guarded(enclosing_w**2, guard)
    rho_y = dy**2 / guarded(enclosing_h**2, guard)
    return (1 - torch.exp(-gamma * rho_x)) + (1 - torch.exp(-gamma * rho_y))


def shape_cost(
    pred: Tensor,
    target: Tensor,
    theta: float = SIOU_THETA,
    eps: float = EPS,
    weights: tuple[Tensor | float, Tensor | float] = (1.0, 1.0),
) -> Tensor:
    """Return SIoU's shape cost ``Ω = Σ_{t=w,h} (1 − exp(−ω_t))^θ``, ``ω_w = |w − wgt| / max(w, wgt)``, shape (N,).

    Each ω lies in [0, 1], so Ω lies in [0, 2(1 − e⁻¹)^θ]. ``weights`` (a_w, a_h) multiply ω_w and ω_h: (1, 1) is
    SIoU's; Shape-IoU weights them by its target-shape weights (hh, ww) (:func:`~.shape_iou.shape_shape_cost`).
    Each ``max`` is guarded (:func:`~.geometry.length_guard`) only where it is ~0, so two zero-width boxes get
    ω = 0, not 0/0; ``1 − e^(−ω)`` is computed as ``−expm1(−ω)``, exact for small ω.
    """
    pw, ph = box_width_height(pred)
    tw, th = box_width_height(target)
    guard = length_guard(pred, target, eps)
    omega_w = weights[0] * (pw - tw).abs() / guarded(torch.maximum(pw, tw), guard)
    omega_h = weights[1] * (ph - th).abs() / guarded(torch.maximum(ph, th), guard)
    return (-torch.expm1(-omega_w)) ** theta + (-torch.expm1(-omega_h)) ** theta


def siou_penalties(pred: Tensor, target: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Return SIoU's penalty ``(Δ + Ω)/2`` as its two halves ``(Δ/2, Ω/2)``, each ``(N,)`` in [0, 1) (SIoU eq. 13).

    α-SIoU raises each half to α₂ separately, as the α-IoU authors power each additive penalty of CIoU; a single
    power of the sum would exceed 1 (the sum lies in [0, 2)) and α₂ > 1 would then amplify instead of down-weight it.
    """
    distance = distance_cost(pred, target, angle_cost(pred, target, eps), eps)
    return distance / 2, shape_cost(pred, target, SIOU_THETA, eps) / 2


siou_loss, alpha_siou_loss = register_family(
    IoUFamily(
        "siou",
        lambda pred, target, iou, union, eps: siou_penalties(pred, target, eps),
        "1 − IoU + (Δ + Ω)/2",
        "1 − IoU^α + (Δ/2)^α₂ + (Ω/2)^α₂",
        "SIoU eq. 13",
        Reference("Gevorgyan 2022, SIoU Loss", "2205.12740"),
        modifiable=True,
        doc="Δ: the angle-aware distance cost (:func:`distance_cost`, with the angle cost Λ of :func:`angle_cost`), "
        "Ω: the shape cost with θ = 4 (:func:`shape_cost`).",
    )
)
