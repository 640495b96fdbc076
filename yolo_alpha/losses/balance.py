"""IoU-balanced weights of positive examples (Wu, Li, Wang, "IoU-balanced loss functions for single-stage object
detection", section 3.2-3.3, eq. 3-7), pure torch.

Both IoU-balanced losses multiply each positive example's loss by a power of the IoU between its regressed box and
its target box: the classification loss by IoU^η (eq. 3-4), the localisation loss by w_loc · IoU^λ (eq. 5-6), or by
IoU^λ normalised so that the positives' total is unchanged (eq. 7). Every weight here is returned detached: the paper
propagates no gradient through w_i(iou_i) (section 3.3, above eq. 8), so the weights rescale each example's gradient
without adding a term that would push boxes towards a higher IoU through the classification loss.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from yolo_alpha.losses.geometry import aligned_iou_and_union

LOC_NORM_EQ7 = "eq7"
"""``iou_loc_norm`` value selecting eq. (7)'s normalisation instead of a constant w_loc."""


@dataclasses.dataclass(frozen=True)
class IoUBalance:
    """Settings of the IoU-balanced losses; the defaults switch both off (stock losses).

    Attributes:
        cls_eta: η of eq. (4), the power of IoU weighting each positive's classification loss; 0 = off.
        loc_lambda: λ of eq. (6)/(7), the power of IoU weighting each positive's localisation loss; 0 = off.
        loc_norm: w_loc of eq. (6), a constant > 0; or :data:`LOC_NORM_EQ7` for eq. (7)'s normalisation.
    """

    cls_eta: float = 0.0
    loc_lambda: float = 0.0
    loc_norm: float | str = 1.0


NO_BALANCE = IoUBalance()
"""Both IoU-balanced losses off: the stock classification and localisation losses."""


def regressed_iou(pred: Tensor, target: Tensor) -> Tensor:
    """Return the detached float32 IoU of aligned xyxy boxes ``(N, 4) × (N, 4) -> (N,)``: the paper's iou_i.

    float32 whatever the input (AMP gives half-precision boxes, too coarse for powers of IoU near 1); float64 stays.
    """
    dtype = torch.float64 if pred.dtype == torch.float64 else torch.float32
    iou, _ = aligned_iou_and_union(pred.detach().to(dtype), target.detach().to(dtype))
    return iou.clamp(0, 1)


def iou_power_weights(iou: Tensor, power: float) -> Tensor:
    """Return ``w_i = iou_i^power``, detached: eq. (6)'s weight before its constant w_loc, eq. (4)'s numerator."""
    return iou.detach().pow(power)


def total_preserving_factor(total: Tensor, weighted_total: Tensor) -> Tensor:
    """Return the detached ``total / weighted_total``, or 1 where ``weighted_total`` is not > 0.

    Multiplying IoU^p-weighted losses by it restores the unweighted total (the fractions of eq. 4 and eq. 7). When
    every weighted loss is 0 (all positives at IoU 0, or no positives) no factor can do that: 1 is returned and the
    caller keeps what it has, rather than dividing by zero.
    """
    total, weighted_total = total.detach(), weighted_total.detach()
    return torch.where(weighted_total > 0, total / weighted_total.clamp(min=torch.finfo(total.dtype).tiny), 1.0)


def normalised_iou_weights(iou: Tensor, losses: Tensor, power: float) -> Tensor:
    """Return ``w_i = iou_i^p · Σ_j L_j / Σ_j iou_j^p L_j`` for the positives, detached (eq. 4, eq. 7).

    ``Σ_i w_i L_i = Σ_i L_i``: the positives' total loss is unchanged while high-IoU examples gain weight over
    low-IoU ones. With p = η and L_i the classification loss (cross-entropy) this is eq. (4); with p = λ and L_i the
    localisation loss, eq. (7). Where every ``iou_j^p L_j`` is 0 the weights are 1 (the unweighted loss).

    Args:
        iou: ``(N,)`` IoU of each positive's regressed box with its target box.
        losses: ``(N,)`` unweighted loss of each positive, >= 0.
        power: η or λ, >= 0.
    """
    dtype = torch.promote_types(iou.dtype, losses.dtype)  # float32 at least: half-precision powers of IoU are coarse
    raw = iou_power_weights(iou.to(dtype), power)
    losses = losses.detach().to(dtype)
    weighted_total = (raw * losses).sum()
    return torch.where(weighted_total > 0, raw * total_preserving_factor(losses.sum(), weighted_total), 1.0)


def rescaled_to_total(weighted_loss: Tensor, total_loss: Tensor) -> Tensor:
    """Return ``weighted_loss`` scaled (by a detached factor) to the value of ``total_loss``; eq. (7) on sums.

    For a loss term only available as a sum (Ultralytics' DFL term): with ``weighted_loss = Σ iou_i^λ L_i`` and
    ``total_loss = Σ L_i`` the result equals ``Σ w_i L_i`` with eq. (7)'s w_i, value and gradient. Where
    ``weighted_loss`` is not > 0, ``total_loss`` itself is returned (both stay in the autograd graph).
    """
    factor = total_preserving_factor(total_loss, weighted_loss)
    return torch.where(weighted_loss.detach() > 0, weighted_loss * factor, total_loss)
