"""Focaler-IoU (Zhang & Zhang, "Focaler-IoU: More Focused Intersection over Union Loss", arXiv 2401.10525, 2024):
the IoU of the IoU term mapped linearly from an interval [d, u] onto [0, 1].

``IoU_focaler = clip((IoU − d)/(u − d), 0, 1)`` and ``L_Focaler-X = L_X + IoU − IoU_focaler``: the loss X with its
IoU term on IoU_focaler and its penalties unchanged. Raising d focuses the IoU term on easy (high-IoU) pairs,
lowering u on hard ones. Registered as an :class:`~.compose.IoUModifier`: ``focaler_x`` and ``alpha_focaler_x``
(``1 − IoU_focaler^α + Σ P^α₂``) for every family the paper defines it on.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

# The families the modifier applies to register on import and must be declared before it (register_modifier).
from yolo_alpha.losses import eiou, iou_family, siou  # noqa: F401
from yolo_alpha.losses.compose import IoUModifier, register_modifier
from yolo_alpha.losses.registry import Param, Reference
from yolo_alpha.losses.terms import EPS

FOCALER_D = 0.0
FOCALER_U = 0.95
"""The interval [d, u] of the authors' code (focaleriou.py: ``default d=0.00, u=0.95``)."""


def focaler_iou(
    pred: Tensor,
    target: Tensor,
    iou: Tensor,
    eps: float = EPS,
    *,
    focaler_d: float = FOCALER_D,
    focaler_u: float = FOCALER_U,
) -> Tensor:
    """Return IoU_focaler ``= clip((IoU − d)/(u − d), 0, 1)`` of the plain IoU ``iou``, shape ``(N,)``, in [0, 1].

    Gradient: ``1/(u − d)`` times the IoU's inside [d, u] and exactly 0 outside, by the clip: a pair with
    IoU < d (hard) or IoU > u (easy) gets no gradient from the IoU term, only from the penalties of the loss it
    modifies (none for ``focaler_iou``). The clip is the paper's definition, not a numerical guard. ``pred``,
    ``target`` and ``eps`` are not used (the map depends on the IoU alone); the penalties, and CIoU's β, keep the
    plain IoU, as the paper's ``L_X + IoU − IoU_focaler`` says.
    """
    return ((iou - focaler_d) / (focaler_u - focaler_d)).clamp(min=0, max=1)


def interval_is_ordered(keys: Mapping[str, float]) -> str | None:
    """Return an error message unless ``focaler_d < focaler_u`` (the interval must not be empty), else None."""
    low, high = keys["focaler_d"], keys["focaler_u"]
    if low < high:
        return None
    return f"focaler_d={low:g} must be below focaler_u={high:g}: Focaler-IoU maps the IoU from [d, u] onto [0, 1]"


FOCALER_IOU = IoUModifier(
    prefix="focaler",
    symbol="IoU_focaler",
    scored_iou=focaler_iou,
    params=(
        Param(
            "focaler_d",
            FOCALER_D,
            "d of Focaler-IoU's interval [d, u], 0 <= d < focaler_u: IoU below d gets no IoU-term gradient; null = 0",
            low=0.0,
            high=1.0,
            low_open=False,
            high_open=True,
        ),
        Param(
            "focaler_u",
            FOCALER_U,
            "u of Focaler-IoU's interval [d, u], d < u <= 1: IoU above u gets no IoU-term gradient; null = 0.95",
            low=0.0,
            high=1.0,
        ),
    ),
    equation="Focaler-IoU (L_X + IoU − IoU_focaler)",
    reference=Reference(
        'Zhang & Zhang 2024, "Focaler-IoU: More Focused Intersection over Union Loss"',
        "2401.10525",
        "https://github.com/malagoutou/Focaler-IoU",
    ),
    doc=(
        "Focaler-IoU: the IoU term powers IoU_focaler = clip((IoU − d)/(u − d), 0, 1) "
        "(:func:`~.focaler_iou.focaler_iou`), whose gradient is 0 for IoU outside [d, u]; the penalties, and CIoU's "
        "β, use the plain IoU. α form: ``1 − IoU_focaler^α + Σ P^α₂``, each term in [0, 1], the paper's loss at "
        "α = α₂ = 1."
    ),
    rule=interval_is_ordered,
)

register_modifier(FOCALER_IOU)
