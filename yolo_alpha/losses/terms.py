"""The IoU term of an α-IoU loss, chosen by a key, and the power used for every term.

An IoU term maps the IoU of each aligned box pair, shape ``(N,)``, to its part of the loss. Both terms share the
signature ``term(iou, alpha, eps) -> Tensor (N,)`` so a loss function takes one as an argument instead of a flag.
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-7
"""Guards every division and the log; the value torchvision's and Ultralytics' IoU losses use."""


def safe_pow(x: Tensor, exponent: float) -> Tensor:
    """Return ``x ** exponent`` for ``x >= 0``, with value and gradient 0 wherever ``x <= 0``, NaN where x is NaN.

    For ``exponent < 1`` the derivative of ``x ** exponent`` is infinite at ``x = 0`` (disjoint boxes have IoU 0,
    concentric boxes have a zero DIoU penalty), and ``0 * inf`` poisons the whole batch with NaN in backward. The
    double ``torch.where`` feeds the power a harmless 1 where ``x <= 0`` and then discards that branch, so its
    gradient there is exactly 0. Values that round to slightly below 0 (e.g. a GIoU penalty of ``-1e-9``) read as 0.
    The mask is ``x <= 0``, not ``x > 0``: NaN fails every comparison, so a NaN (from a NaN box coordinate) goes
    through the power and stays NaN in value and gradient instead of turning into a finite 0.

    ``exponent == 1`` returns ``x`` itself, so the classic (α = 1) losses are exactly the textbook ones.

    Args:
        x: any shape, values expected in ``[0, 1]`` (an IoU or a normalised penalty).
        exponent: the power, > 0.

    Returns:
        Tensor of the shape and dtype of ``x``.
    """
    if exponent == 1:
        return x
    zero = x <= 0
    base = torch.where(zero, torch.ones_like(x), x)
    return torch.where(zero, torch.zeros_like(x), base**exponent)


def power_iou_term(iou: Tensor, alpha: float, eps: float = EPS) -> Tensor:
    """Return ``1 − IoU^α``, the IoU term of eq. (2) (α ↛ 0) and of eq. (3)/(4), shape ``(N,)``.

    The paper drops eq. (1)'s constant 1/α for α > 0; this is the term every α-IoU loss in eq. (4) uses.
    The gradient at IoU = 0 is 0 for α < 1 (see :func:`safe_pow`).

    Args:
        iou: ``(N,)`` IoU of aligned box pairs, in ``[0, 1]``.
        alpha: α > 0. (α = 0 would give the constant 0 here; use :func:`boxcox_iou_term` for the −log IoU limit.)
        eps: unused; accepted so that every IoU term has one signature.
    """
    return 1 - safe_pow(iou, alpha)


def boxcox_iou_term(iou: Tensor, alpha: float, eps: float = EPS) -> Tensor:
    """Return the Box-Cox IoU term ``(1 − IoU^α)/α`` of eq. (1), or ``−log IoU`` for α = 0 (eq. 2), shape ``(N,)``.

    Computed as ``−expm1(α·log IoU)/α``, which keeps its precision when α·log IoU is small (α near 0 or IoU near 1),
    where ``1 − IoU^α`` would cancel, and as ``(1 − exp(α·log IoU))/α`` elsewhere, where expm1's backward would not.
    The IoU is clamped to ``>= eps`` inside the log, so disjoint boxes give the finite loss ``−log eps`` (≈ 16.1 for
    α = 0) with zero gradient instead of inf.

    Args:
        iou: ``(N,)`` IoU of aligned box pairs, in ``[0, 1]``.
        alpha: α >= 0; α = 0 is the limit α → 0 of eq. (1), ``−log IoU``.
        eps: lower clamp of the IoU inside the log.
    """
    log_iou = torch.log(iou.clamp(min=eps))
    if alpha == 0:
        return -log_iou
    y = alpha * log_iou
    # expm1 keeps the value precise where y is near 0; but its backward forms exp(y) as expm1(y) + 1, which is 0
    # once IoU^α < 1e-16 (the true gradient −IoU^(α−1) is tiny but not 0). Away from 0, exp(y) is exact in both.
    return torch.where(y > -1, -torch.expm1(y), 1 - torch.exp(y)) / alpha


IOU_TERMS = {
    "power": power_iou_term,
    "boxcox": boxcox_iou_term,
}
"""``iou_term`` key -> IoU term: ``power`` is 1 − IoU^α (eq. 2/4), ``boxcox`` is (1 − IoU^α)/α (eq. 1)."""
