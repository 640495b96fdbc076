"""Aligned box geometry for the losses: ``(N, 4) × (N, 4) -> (N,)``, row i of ``pred`` against row i of ``target``.

Boxes are ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``; zero width or height is allowed. These are the
aligned helpers a loss needs, not the pairwise ``(N, 4) × (M, 4) -> (N, M)`` IoU used for matching and metrics.
Every function here is differentiable everywhere the boxes are valid and returns finite values for degenerate boxes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from yolo_alpha.losses.terms import EPS


def box_width_height(boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Return the widths and heights ``(w, h)`` of xyxy boxes ``(N, 4)``, each of shape ``(N,)``."""
    x1, y1, x2, y2 = boxes.unbind(dim=-1)
    return x2 - x1, y2 - y1


def aligned_iou_and_union(pred: Tensor, target: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Return the IoU ``|B ∩ Bgt| / (|B ∪ Bgt| + eps)`` and the union area ``|B ∪ Bgt|``, each of shape ``(N,)``.

    The union is returned too because the GIoU penalty needs it. ``eps`` sits where torchvision puts it, so two
    zero-area boxes have IoU 0, not 0/0.

    Args:
        pred: ``(N, 4)`` predicted boxes, xyxy.
        target: ``(N, 4)`` target boxes, xyxy.
        eps: added to the union in the denominator.
    """
    px1, py1, px2, py2 = pred.unbind(dim=-1)
    tx1, ty1, tx2, ty2 = target.unbind(dim=-1)
    overlap_w = (torch.minimum(px2, tx2) - torch.maximum(px1, tx1)).clamp(min=0)
    overlap_h = (torch.minimum(py2, ty2) - torch.maximum(py1, ty1)).clamp(min=0)
    intersection = overlap_w * overlap_h
    pw, ph = box_width_height(pred)
    tw, th = box_width_height(target)
    union = pw * ph + tw * th - intersection
    return intersection / (union + eps), union


def enclosing_box(pred: Tensor, target: Tensor) -> Tensor:
    """Return the smallest box C enclosing both boxes of each pair, ``(N, 4)`` xyxy."""
    px1, py1, px2, py2 = pred.unbind(dim=-1)
    tx1, ty1, tx2, ty2 = target.unbind(dim=-1)
    return torch.stack(
        (torch.minimum(px1, tx1), torch.minimum(py1, ty1), torch.maximum(px2, tx2), torch.maximum(py2, ty2)), dim=-1
    )


def centre_offsets(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Return ``(x_gt − x, y_gt − y)``, the signed offsets from each pred centre to its target centre, each ``(N,)``."""
    px1, py1, px2, py2 = pred.unbind(dim=-1)
    tx1, ty1, tx2, ty2 = target.unbind(dim=-1)
    return (tx1 + tx2 - px1 - px2) / 2, (ty1 + ty2 - py1 - py2) / 2


def centre_distance_sq(pred: Tensor, target: Tensor) -> Tensor:
    """Return ρ²(b, bgt), the squared Euclidean distance between the box centres, shape ``(N,)`` (DIoU, eq. 4)."""
    px1, py1, px2, py2 = pred.unbind(dim=-1)
    tx1, ty1, tx2, ty2 = target.unbind(dim=-1)
    # Halve the summed coordinates once instead of forming both centres: (Σt − Σp)² / 4.
    return ((tx1 + tx2 - px1 - px2) ** 2 + (ty1 + ty2 - py1 - py2) ** 2) / 4


def aspect_ratio_term(pred: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Return CIoU's aspect-ratio consistency ``v = 4/π² · (atan(wgt/hgt) − atan(w/h))²``, shape ``(N,)`` (eq. 4).

    Heights get ``+ eps`` as in Ultralytics, so a zero-height box gives atan(w/eps) ≈ π/2 (and 0 for a zero-area
    box) instead of 0/0. ``v`` lies in ``[0, 1)``.

    Args:
        pred: ``(N, 4)`` predicted boxes (w, h), xyxy.
        target: ``(N, 4)`` target boxes (wgt, hgt), xyxy.
        eps: added to each height.
    """
    pw, ph = box_width_height(pred)
    tw, th = box_width_height(target)
    return (4 / math.pi**2) * (torch.atan(tw / (th + eps)) - torch.atan(pw / (ph + eps))) ** 2
