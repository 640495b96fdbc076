"""Aligned box geometry for the losses: ``(N, 4) × (N, 4) -> (N,)``, row i of ``pred`` against row i of ``target``.

Boxes are ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``; zero width or height is allowed. These are the
aligned helpers a loss needs, not the pairwise ``(N, 4) × (M, 4) -> (N, M)`` IoU used for matching and metrics.
Every function here is differentiable everywhere the boxes are valid and returns finite values for degenerate boxes.

Scale: the boxes may be in any unit (pixels, grid cells, normalised [0, 1] coordinates). A denominator is kept away
from 0 by :func:`area_guard`, which is relative to the pair's own size below 1 unit, not by a fixed ``+ eps``: a
fixed 1e-7 is nothing next to a 100 px² union but ten times a union of 1e-8 (two 1e-4-sided normalised boxes), where
it made the IoU of two identical boxes 0.09. Centre offsets are formed as ``(t1 − p1) + (t2 − p2)`` (not
``t1 + t2 − p1 − p2``) so that identical boxes give exactly 0, not a rounding error that is large next to a tiny c².
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from yolo_alpha.losses.terms import EPS

GUARD_SCALE_RANGE = (1e-6, 1.0)
"""The range a pair's size s (:func:`pair_size`, box units) is clamped into before it scales the guards.

From s = 1 up the guard is the fixed ``eps`` torchvision and Ultralytics use (pixel-scale values are theirs to float
rounding); below 1e-6 it stops shrinking, so that two identical points still get 0/guard = 0, not 0/0."""


def pair_size(pred: Tensor, target: Tensor) -> Tensor:
    """Return ``s = w + h + wgt + hgt``, clamped into :data:`GUARD_SCALE_RANGE`: each pair's size, ``(N,)``, detached.

    The sum of the four sides, not the enclosing diagonal: it needs no extra min/max (the losses have the
    sides already), is > 0 for every pair but two points, and bounds what the guards protect: an overlap length is
    at most s, a union at most s², and ``eps·s² < |B ∪ Bgt|`` for any box of aspect below ~1/(4·eps).
    """
    low, high = GUARD_SCALE_RANGE
    with torch.no_grad():
        pw, ph = box_width_height(pred)
        tw, th = box_width_height(target)
        return (pw + ph + tw + th).clamp(min=low, max=high)


def area_guard(pred: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Return ``eps · s²`` (s: :func:`pair_size`), the least value of an area denominator, shape ``(N,)``, detached.

    A denominator D (a union, an enclosing area, a squared length) is used as ``max(D, guard)`` (:func:`guarded`):
    D itself whenever it is not ~0, so identical boxes get IoU exactly 1 at every scale, and the guard where D is 0
    (zero-area boxes), keeping 0/0 out and the gradient ~1/(eps·s) finite.
    """
    size = pair_size(pred, target)
    return eps * size * size


def length_guard(pred: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Return ``eps · s`` (s: :func:`pair_size`), the guard added to a length (a height under a ratio), ``(N,)``.

    The length counterpart of :func:`area_guard`: ``eps`` for pairs of size 1 and more, as in Ultralytics'
    ``h + eps``, and ``eps`` times the pair's size below. Detached.
    """
    return eps * pair_size(pred, target)


def guarded(denominator: Tensor, guard: Tensor) -> Tensor:
    """Return ``max(denominator, guard)``, with the gradient of ``denominator + constant`` everywhere.

    The guard enters as a constant added only where the denominator is below it (``+ relu(guard − D)``, detached),
    so the gradient is that of torchvision's ``D + eps``, with no mask.
    """
    return denominator + (guard - denominator.detach()).clamp(min=0)


def box_width_height(boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Return the widths and heights ``(w, h)`` of xyxy boxes ``(N, 4)``, each of shape ``(N,)``."""
    x1, y1, x2, y2 = boxes.unbind(dim=-1)
    return x2 - x1, y2 - y1


def aligned_iou_and_union(pred: Tensor, target: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Return the IoU ``|B ∩ Bgt| / max(|B ∪ Bgt|, guard)`` and the union area ``|B ∪ Bgt|``, each of shape (N,).

    The union is returned too because the GIoU penalty needs it. The guard (:func:`area_guard`) replaces
    torchvision's ``+ eps``: two zero-area boxes have IoU 0, not 0/0, and two identical boxes IoU exactly 1 at any
    scale (with ``+ eps`` it was 0.09 for 1e-4-sided boxes).

    Args:
        pred: ``(N, 4)`` predicted boxes, xyxy.
        target: ``(N, 4)`` target boxes, xyxy.
        eps: the relative guard of :func:`area_guard`.
    """
    px1, py1, px2, py2 = pred.unbind(dim=-1)
    tx1, ty1, tx2, ty2 = target.unbind(dim=-1)
    overlap_w = (torch.minimum(px2, tx2) - torch.maximum(px1, tx1)).clamp(min=0)
    overlap_h = (torch.minimum(py2, ty2) - torch.maximum(py1, ty1)).clamp(min=0)
    intersection = overlap_w * overlap_h
    pw, ph = box_width_height(pred)
    tw, th = box_width_height(target)
    union = pw * ph + tw * th - intersection
    return intersection / guarded(union, area_guard(pred, target, eps)), union


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
    # (t1 − p1) + (t2 − p2): each difference is exact for nearby coordinates, so identical boxes give exactly 0.
    return ((tx1 - px1) + (tx2 - px2)) / 2, ((ty1 - py1) + (ty2 - py2)) / 2


def centre_distance_sq(pred: Tensor, target: Tensor) -> Tensor:
    """Return ρ²(b, bgt), the squared Euclidean distance between the box centres, shape ``(N,)`` (DIoU, eq. 4)."""
    px1, py1, px2, py2 = pred.unbind(dim=-1)
    tx1, ty1, tx2, ty2 = target.unbind(dim=-1)
    # Twice each offset, (t1 − p1) + (t2 − p2), squared and quartered: exactly 0 for identical boxes (centre_offsets).
    return (((tx1 - px1) + (tx2 - px2)) ** 2 + ((ty1 - py1) + (ty2 - py2)) ** 2) / 4


def aspect_ratio_term(pred: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Return CIoU's aspect-ratio consistency ``v = 4/π² · (atan(wgt/hgt) − atan(w/h))²``, shape ``(N,)`` (eq. 4).

    Heights get ``+ guard`` (:func:`length_guard`: Ultralytics' ``+ eps`` for pairs of 1 unit and more, relative to
    the pair's size below), so a zero-height box gives atan(w/guard) ≈ π/2 (and 0 for a zero-area box) instead of
    0/0. ``v`` lies in ``[0, 1)``.

    Args:
        pred: ``(N, 4)`` predicted boxes (w, h), xyxy.
        target: ``(N, 4)`` target boxes (wgt, hgt), xyxy.
        eps: the relative guard of :func:`length_guard`, added to each height.
    """
    pw, ph = box_width_height(pred)
    tw, th = box_width_height(target)
    guard = length_guard(pred, target, eps)
    return (4 / math.pi**2) * (torch.atan(tw / (th + guard)) - torch.atan(pw / (ph + guard))) ** 2
