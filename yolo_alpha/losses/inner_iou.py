"""Inner-IoU (Zhang, Xu & Zhang, "Inner-IoU: More Effective Intersection over Union Loss with Auxiliary Bounding
Box", arXiv 2311.02877, 2023): the IoU term of a loss computed on auxiliary boxes scaled about their own centres.

Both boxes of a pair are scaled by the same ``ratio`` about their centres; IoU_inner is the IoU of those auxiliary
boxes, and ``L_Inner-X = L_X + IoU − IoU_inner``: the loss X with its IoU term on IoU_inner and every penalty of X
unchanged, computed on the real boxes. Registered as an :class:`~.compose.IoUModifier`, which gives ``inner_x`` and
``alpha_inner_x`` (``1 − IoU_inner^α + Σ P^α₂``) for every family the paper defines it on.
"""

from __future__ import annotations

import torch
from torch import Tensor

# The families the modifier applies to register on import and must be declared before it (register_modifier).
from yolo_alpha.losses import eiou, iou_family, siou  # noqa: F401
from yolo_alpha.losses.compose import IoUModifier, register_modifier
from yolo_alpha.losses.geometry import aligned_iou_and_union, box_width_height
from yolo_alpha.losses.registry import Param, Reference
from yolo_alpha.losses.terms import EPS

INNER_RATIO = 0.8
"""Default scale of the auxiliary boxes: the authors' code default as first published (innersiou.py, Nov 2023).

The paper recommends ratio < 1 for high-IoU samples (smaller auxiliary boxes, steeper IoU gradient) and > 1 for
low-IoU ones (larger boxes, gradient reaching pairs whose real boxes are disjoint). Their code's signature later
defaulted to 1.0, which makes Inner-X identical to X; 0.8 keeps ``loss=inner_x`` a different loss, on the side the
paper recommends for high-IoU pairs, which carry most of the box gradient here (Ultralytics' task-aligned assigner
puts 80 % of it on positives of IoU >= 0.7, README)."""


def auxiliary_boxes(boxes: Tensor, ratio: float) -> Tensor:
    """Return Inner-IoU's auxiliary boxes: ``boxes`` ``(N, 4)`` xyxy scaled by ``ratio`` about their centres.

    Each side moves by ``(1 − ratio)/2`` of the box's width or height, so ``ratio = 1`` returns the coordinates
    unchanged, bit for bit (Inner-X is then exactly X), and identical boxes give identical auxiliary boxes.
    """
    width, height = box_width_height(boxes)
    shrink_x = (1 - ratio) / 2 * width
    shrink_y = (1 - ratio) / 2 * height
    x1, y1, x2, y2 = boxes.unbind(dim=-1)
    return torch.stack((x1 + shrink_x, y1 + shrink_y, x2 - shrink_x, y2 - shrink_y), dim=-1)


def inner_iou(
    pred: Tensor, target: Tensor, iou: Tensor, eps: float = EPS, *, inner_ratio: float = INNER_RATIO
) -> Tensor:
    """Return IoU_inner, the IoU of the auxiliary boxes (:func:`auxiliary_boxes`), shape ``(N,)``, in [0, 1].

    The paper writes it as ``inter / (ratio²·(w·h + wgt·hgt) − inter)`` with ``inter`` the overlap of the
    auxiliary boxes; computed here as the IoU of those boxes by :func:`~.geometry.aligned_iou_and_union`, whose
    guard (relative to the auxiliary pair's size) replaces the authors' ``+ eps``: with ``+ 1e-7`` two identical
    1e-4-sided boxes get IoU_inner 0.06 at ratio 0.8 (union 6.4e-9), here exactly 1.

    With ratio < 1, a pair whose auxiliary boxes do not overlap has IoU_inner 0 and no IoU-term gradient even if
    the real boxes overlap; its penalties still pull it. ``iou`` (the plain IoU) is not used: the penalties and
    CIoU's β keep the plain IoU, as in the authors' code (innerciou.py).
    """
    scaled, _ = aligned_iou_and_union(auxiliary_boxes(pred, inner_ratio), auxiliary_boxes(target, inner_ratio), eps)
    return scaled


INNER_IOU = IoUModifier(
    prefix="inner",
    symbol="IoU_inner",
    scored_iou=inner_iou,
    params=(
        Param(
            "inner_ratio",
            INNER_RATIO,
            "ratio > 0 of Inner-IoU's boxes scaled about their centres (< 1 high-IoU, > 1 low-IoU pairs); null = 0.8",
            low=0.0,
            low_open=True,
        ),
    ),
    equation="Inner-IoU (L_X + IoU − IoU_inner)",
    reference=Reference(
        'Zhang, Xu & Zhang 2023, "Inner-IoU: More Effective Intersection over Union Loss with Auxiliary Bounding Box"',
        "2311.02877",
        "https://github.com/malagoutou/Inner-IoU",
    ),
    doc=(
        "Inner-IoU: the IoU term powers IoU_inner, the IoU of both boxes scaled by ``inner_ratio`` about their "
        "centres (:func:`~.inner_iou.inner_iou`); the penalties, and CIoU's β, use the real boxes and the plain IoU, "
        "as the authors' innerciou.py/innersiou.py do. α form: ``1 − IoU_inner^α + Σ P^α₂``, each term in [0, 1], "
        "the paper's loss at α = α₂ = 1."
    ),
)

register_modifier(INNER_IOU)
