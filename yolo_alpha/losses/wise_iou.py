"""Wise-IoU v1 and v3 (Tong, Chen, Xu & Yu, "Wise-IoU: Bounding Box Regression Loss with Dynamic Focusing
Mechanism", arXiv 2301.10051, 2023), and the running mean of the IoU loss that v3 reads.

v1 multiplies the IoU loss by a distance attention ``R = exp(ρ²/(Wg² + Hg²)*)`` (``*``: detached). v3 multiplies
v1 by a non-monotonic focusing coefficient ``r = β / (δ a^(β − δ))`` of the outlier degree
``β = L_IoU* / mean(L_IoU)``: pairs whose IoU loss is far above the running mean (outliers, often bad labels) and
pairs far below it (already good) get small gradients; ordinary pairs get the most.

v3 is stateful: the running mean of ``L_IoU = 1 − IoU`` over training is an INPUT of the pure loss function
(keyword ``iou_mean``), and :func:`update_iou_mean` is its pure update. The caller (the Ultralytics seam) owns the
state: a buffer that survives ``state_dict``/resume and is all-reduced across DDP ranks.

Eq. (3) of α-IoU does not apply to either: Wise-IoU is a product ``R·L_IoU`` (times r), not ``IoU term + penalty``,
and α-IoU's power would change the scale on which β compares a pair with the running mean. Both take α = α₂ = 1.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from yolo_alpha.losses.geometry import (
    aligned_iou_and_union,
    area_guard,
    box_width_height,
    centre_distance_sq,
    enclosing_box,
    guarded,
)
from yolo_alpha.losses.registry import Param, Reference, register_loss
from yolo_alpha.losses.terms import EPS

WIOU_ALPHA = 1.9
"""a of r = β / (δ a^(β − δ)): the official code's default for v3 (the paper's YOLOv7 experiments)."""
WIOU_DELTA = 3.0
"""δ of r = β / (δ a^(β − δ)): the official code's default; r = 1 where β = δ."""
IOU_MEAN_INIT = 1.0
"""Initial running mean of 1 − IoU: the official code's value (a model at the start of training has IoU ≈ 0)."""
IOU_MEAN_MOMENTUM = 1 - 0.5 ** (1 / 7000)
"""Momentum m of the running mean: the official code's default, a half-life of 7000 updates (batches)."""

_NO_ALPHA = "Wise-IoU is a product R·(1 − IoU), not 'IoU term + penalty': eq. 3 of α-IoU does not apply"


def distance_attention(pred: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Return Wise-IoU's ``R_WIoU = exp(ρ² / (Wg² + Hg²)*)``, shape ``(N,)``, in ``[1, e]`` (eq. 9, Wise-IoU).

    ρ is the distance between the box centres and Wg, Hg the size of the smallest enclosing box. Gradient stop:
    ``Wg² + Hg²`` is detached (the paper's ``*``, as in the official code), so the attention cannot lower itself by
    growing the enclosing box, which would slow convergence; the gradient flows through ρ² only.
    """
    enclosing_w, enclosing_h = box_width_height(enclosing_box(pred, target))
    diagonal_sq = (enclosing_w**2 + enclosing_h**2).detach()
    return torch.exp(centre_distance_sq(pred, target) / guarded(diagonal_sq, area_guard(pred, target, eps)))


def focusing_coefficient(
    iou_loss: Tensor, iou_mean: float | Tensor, wiou_alpha: float, wiou_delta: float, eps: float = EPS
) -> Tensor:
    """Return v3's non-monotonic focusing coefficient ``r = β / (δ a^(β − δ))``, shape ``(N,)``, with no gradient.

    ``β = L_IoU* / mean(L_IoU)`` is the outlier degree (eq. 12, Wise-IoU) and ``r`` the gain (eq. 13): 0 at β = 0,
    1 at β = δ, largest at β = 1/ln a, then decaying to 0. Both are computed from the detached IoU loss, as the
    paper's ``*`` and the official code do: r is a weight per pair, not something the model may lower by moving
    the box. ``iou_mean`` is clamped to ``>= eps`` so that a mean of 0 gives a large β (r → 0), not 0/0; a^(β − δ)
    overflowing to inf for huge β gives r = 0, not NaN.

    Args:
        iou_loss: ``(N,)`` the IoU loss ``1 − IoU`` of each pair.
        iou_mean: the running mean of ``1 − IoU`` (float or 0-dim tensor).
        wiou_alpha: a > 0.
        wiou_delta: δ > 0.
        eps: lower clamp of the mean.
    """
    with torch.no_grad():
        mean = torch.as_tensor(iou_mean, dtype=iou_loss.dtype, device=iou_loss.device).clamp(min=eps)
        beta = iou_loss / mean
        return beta / (wiou_delta * wiou_alpha ** (beta - wiou_delta))


def wiou_v1_loss(pred: Tensor, target: Tensor, *, eps: float = EPS) -> Tensor:
    """Return Wise-IoU v1 ``R_WIoU · (1 − IoU)``, ``R_WIoU = exp(ρ²/(Wg² + Hg²)*)``, shape ``(N,)`` (eq. 8, WIoU).

    Tong et al. 2023 (Wise-IoU). :func:`distance_attention` explains the detached enclosing size. Takes no α (see
    the module docstring).

    Args:
        pred, target: ``(N, 4)`` xyxy boxes.
        eps: numerical guard of divisions.
    """
    iou, _ = aligned_iou_and_union(pred, target, eps)
    return distance_attention(pred, target, eps) * (1 - iou)


def wiou_loss(
    pred: Tensor,
    target: Tensor,
    *,
    eps: float = EPS,
    wiou_alpha: float = WIOU_ALPHA,
    wiou_delta: float = WIOU_DELTA,
    iou_mean: float | Tensor = IOU_MEAN_INIT,
) -> Tensor:
    """Return Wise-IoU v3 ``r · R_WIoU · (1 − IoU)``, ``r = β/(δ a^(β − δ))``, shape ``(N,)`` (eq. 13, WIoU).

    Tong et al. 2023 (Wise-IoU), the non-monotonic focusing version the paper recommends. r is a detached weight
    (:func:`focusing_coefficient`), R_WIoU as in :func:`wiou_v1_loss`.

    Stateful: β divides each pair's ``1 − IoU`` by ``iou_mean``, the running mean of ``1 − IoU`` over training,
    which the caller keeps and updates with :func:`update_iou_mean` (the official code updates it with the batch
    *before* computing the loss). The default 1.0 is the official initial value, right for a single call.

    Args:
        pred, target: ``(N, 4)`` xyxy boxes.
        eps: numerical guard of divisions.
        wiou_alpha: a > 0 (config key ``wiou_alpha``; not ``alpha``, which is α-IoU's power). Default 1.9.
        wiou_delta: δ > 0 (config key ``wiou_delta``). Default 3.
        iou_mean: running mean of 1 − IoU, a float or 0-dim tensor (state, not a config key).
    """
    iou, _ = aligned_iou_and_union(pred, target, eps)
    iou_loss = 1 - iou
    coefficient = focusing_coefficient(iou_loss, iou_mean, wiou_alpha, wiou_delta, eps)
    return coefficient * distance_attention(pred, target, eps) * iou_loss


WISE_IOU = Reference("Tong, Chen, Xu & Yu 2023, Wise-IoU", "2301.10051", "https://github.com/Instinct323/wiou")
register_loss(
    "wiou_v1",
    wiou_v1_loss,
    formula="R · (1 − IoU), R = exp(ρ² / (Wg² + Hg²)), enclosing size detached",
    equation="Wise-IoU eq. 8",
    reference=WISE_IOU,
    why_no_alpha=_NO_ALPHA,
)
register_loss(
    "wiou",
    wiou_loss,
    formula="r · R · (1 − IoU), r = β / (δ a^(β − δ)), β = (1 − IoU) / its running mean, r detached",
    equation="Wise-IoU eq. 13 (v3)",
    reference=WISE_IOU,
    params=(
        Param(
            "wiou_alpha",
            WIOU_ALPHA,
            "a > 0 of wiou's focusing r = β/(δ a^(β − δ)); null = 1.9 (not alpha: that is α-IoU's power)",
        ),
        Param("wiou_delta", WIOU_DELTA, "δ > 0 of wiou's focusing r = β/(δ a^(β − δ)); null = 3"),
    ),
    state={"iou_mean": IOU_MEAN_INIT},
    why_no_alpha=_NO_ALPHA,
    quality=False,  # the focusing r is small for outliers: a far box's small loss is no quality
)


def update_iou_mean(mean: Tensor, batch_iou_loss: Tensor, momentum: float = IOU_MEAN_MOMENTUM) -> Tensor:
    """Return the updated running mean ``(1 − m)·mean + m·mean(batch_iou_loss)``, detached, dtype/device of ``mean``.

    The exponential moving average of Wise-IoU v3's official code, with its momentum ``1 − 0.5^(1/7000)`` by
    default. Pure: ``mean`` is not modified; the caller stores the result (e.g. ``buffer.copy_(...)``). An empty
    batch has no mean and returns ``mean`` unchanged.

    Args:
        mean: 0-dim tensor, the running mean of ``1 − IoU`` so far (start at :data:`IOU_MEAN_INIT`).
        batch_iou_loss: ``(N,)`` the ``1 − IoU`` of this batch's pairs (no gradient is taken through it).
        momentum: m in (0, 1].

    Raises:
        ValueError: for a momentum outside (0, 1].
    """
    if not (isinstance(momentum, (int, float)) and math.isfinite(momentum) and 0 < momentum <= 1):
        raise ValueError(f"momentum must be a number in (0, 1], got {momentum!r}")
    if batch_iou_loss.numel() == 0:
        return mean
    batch_mean = batch_iou_loss.detach().mean().to(device=mean.device, dtype=mean.dtype)
    return ((1 - momentum) * mean + momentum * batch_mean).detach()
