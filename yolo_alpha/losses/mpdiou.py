"""MPDIoU (Ma & Xu, "MPDIoU: A Loss for Efficient and Accurate Bounding Box Regression", arXiv 2307.07662, 2023)
and its α-IoU generalisation (He et al., α-IoU, eq. 3 applied to MPDIoU's two penalties).

MPDIoU penalises the squared distances d1 between the top-left corners and d2 between the bottom-right corners::

    L_MPDIoU = 1 − IoU + d1²/(w² + h²) + d2²/(w² + h²)

where the paper's w, h are the INPUT IMAGE's width and height. A loss on ``(N, 4)`` boxes does not know the image,
and Ultralytics hands the box loss grid-cell units of three different strides, so here w² + h² is the squared
diagonal c² of the smallest box C enclosing both boxes, DIoU's normaliser. Why:

- Both top-left corners (and both bottom-right corners) lie in C, so each penalty lies in [0, 1], the range eq. (3)
  of α-IoU assumes for a penalty raised to α₂; with the image size the penalties are 1e-4-small for every object.
- It is scale-invariant like IoU, so a 1-cell error weighs the same on every stride and for every object size;
  with the image diagonal the penalty of a small object's error would vanish next to its IoU term.
- The gradient direction of each corner term is the paper's (towards the target corner); only its weight per pair
  changes. c² depends on the boxes and takes part in the gradient, as in DIoU (no gradient stop).

Boxes are aligned xyxy ``(N, 4)``; every function returns the unreduced ``(N,)`` loss.
"""

from __future__ import annotations

from torch import Tensor

from yolo_alpha.losses.geometry import aligned_iou_and_union, area_guard, box_width_height, enclosing_box, guarded
from yolo_alpha.losses.iou_family import penalty_power, register_classic
from yolo_alpha.losses.registry import IoUTerm, register
from yolo_alpha.losses.terms import EPS, power_iou_term, safe_pow


def corner_penalties(pred: Tensor, target: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Return MPDIoU's penalties ``(d1²/c², d2²/c²)``, each ``(N,)`` in [0, 1], c² at least the area guard.

    d1 is the distance between the top-left corners, d2 between the bottom-right corners, c the diagonal of the
    enclosing box (this module's docstring says why c replaces the paper's image diagonal).
    """
    px1, py1, px2, py2 = pred.unbind(dim=-1)
    tx1, ty1, tx2, ty2 = target.unbind(dim=-1)
    enclosing_w, enclosing_h = box_width_height(enclosing_box(pred, target))
    diagonal_sq = guarded(enclosing_w**2 + enclosing_h**2, area_guard(pred, target, eps))
    return ((tx1 - px1) ** 2 + (ty1 - py1) ** 2) / diagonal_sq, ((tx2 - px2) ** 2 + (ty2 - py2) ** 2) / diagonal_sq


@register("alpha_mpdiou")
def alpha_mpdiou_loss(
    pred: Tensor,
    target: Tensor,
    *,
    alpha: float = 3.0,
    alpha2: float | None = None,
    iou_term: IoUTerm = power_iou_term,
    eps: float = EPS,
) -> Tensor:
    """Return α-MPDIoU ``1 − IoU^α + (d1²/c²)^α₂ + (d2²/c²)^α₂`` of each xyxy box pair, shape ``(N,)`` (eq. 3).

    α-IoU's eq. (3) applied to MPDIoU, each corner penalty raised to α₂ (as α-CIoU powers each penalty).
    At α = α₂ = 1 it is :func:`mpdiou_loss`. Arguments as :func:`~.iou_family.alpha_giou_loss`.
    """
    iou, _ = aligned_iou_and_union(pred, target, eps)
    power = penalty_power(alpha, alpha2)
    top_left, bottom_right = corner_penalties(pred, target, eps)
    return iou_term(iou, alpha, eps) + safe_pow(top_left, power) + safe_pow(bottom_right, power)


mpdiou_loss = register_classic(
    "mpdiou",
    alpha_mpdiou_loss,
    """Return MPDIoU ``1 − IoU + d1²/c² + d2²/c²`` of each xyxy box pair, shape ``(N,)`` (eq. 9, MPDIoU).

    Ma & Xu 2023 (MPDIoU), with the enclosing box's squared diagonal c² in place of the image's w² + h² (see the
    module docstring for why). d1, d2: distances between the top-left and between the bottom-right corners.
    :func:`alpha_mpdiou_loss` at α = α₂ = 1.
    """,
)
