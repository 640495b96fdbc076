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

from yolo_alpha.losses.compose import IoUFamily, register_family
from yolo_alpha.losses.geometry import area_guard, box_width_height, enclosing_box, guarded
from yolo_alpha.losses.registry import Reference
from yolo_alpha.losses.terms import EPS


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


mpdiou_loss, alpha_mpdiou_loss = register_family(
    IoUFamily(
        "mpdiou",
        lambda pred, target, iou, union, eps: corner_penalties(pred, target, eps),
        "1 − IoU + d1²/c² + d2²/c²",
        "1 − IoU^α + (d1²/c²)^α₂ + (d2²/c²)^α₂",
        "MPDIoU eq. 9",
        Reference("Ma & Xu 2023, MPDIoU", "2307.07662"),
        doc="d1, d2: the distances between the top-left and between the bottom-right corners; c² (the enclosing "
        "box's squared diagonal) replaces the paper's image w² + h², which a loss on boxes does not know (see "
        ":mod:`yolo_alpha.losses.mpdiou`). α-MPDIoU powers each corner penalty, as α-CIoU powers each penalty.",
    )
)
