"""What :func:`~.spec.box_loss` checks in its tensor arguments, and the non-finite guard of every loss call.

:func:`check_boxes` and :func:`check_state` are the public ``box_loss``'s checks: shapes, dtypes, device, inverted
boxes, Wise-IoU v3's ``iou_mean``. :class:`~.spec.LossSpec`, called once per training batch, skips them (its
docstring says why). :func:`nan_where_non_finite` runs on both: a pair with a NaN or ±inf coordinate gets a NaN loss.
Boxes are ``(N, 4)`` xyxy, ``x1 <= x2`` and ``y1 <= y2``. Pure torch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.checks import number
from yolo_alpha.losses.errors import LossConfigError

_IOU_MEAN_HINT = "the running mean of 1 − IoU: start at 1.0 and update it with wise_iou.update_iou_mean"


def check_boxes(pred: object, target: object) -> None:
    """Raise :class:`LossConfigError` unless ``pred`` and ``target`` are ``(N, 4)`` xyxy boxes ``box_loss`` can use.

    Each must be a tensor of shape ``(N, 4)`` (the same N), of a real dtype (floating point or integer: bool and
    complex are refused), with values (not on the meta device), and no finite row may be inverted (``x2 < x1`` or
    ``y2 < y1``): an inverted box has a meaningless IoU, e.g. GIoU reads ``[20, 20, 10, 10]`` against
    ``[10, 10, 20, 20]`` as a perfect match. Rows with a NaN or ±inf are not refused: they give a NaN loss.
    """
    _check_shapes(pred, target)
    for key, boxes in (("pred", pred), ("target", target)):
        if boxes.dtype == torch.bool or boxes.dtype.is_complex:
            raise LossConfigError(
                f"{key} must hold real box coordinates (a floating-point or integer dtype), got dtype {boxes.dtype}"
            )
        if boxes.is_meta:
            raise LossConfigError(
                f"{key} must be a tensor with values, got one on the meta device (a shape without data); "
                "create the boxes on cpu or cuda"
            )
    for key, boxes in (("pred", pred), ("target", target)):
        _check_not_inverted(key, boxes)


def _check_shapes(pred: object, target: object) -> None:
    shapes_ok = (
        isinstance(pred, Tensor)
        and isinstance(target, Tensor)
        and pred.dim() == 2
        and pred.shape[-1] == 4
        and pred.shape == target.shape
    )
    if not shapes_ok:
        shapes = ", ".join(
            f"{key} {tuple(box.shape) if isinstance(box, Tensor) else type(box).__name__}"
            for key, box in (("pred", pred), ("target", target))
        )
        raise LossConfigError(f"pred and target must both be (N, 4) xyxy box tensors with the same N, got {shapes}")


def _check_not_inverted(key: str, boxes: Tensor) -> None:
    # A row with a NaN or inf is left to nan_where_non_finite: NaN in, NaN out, whatever its order.
    with torch.no_grad():
        x1, y1, x2, y2 = boxes.unbind(-1)
        inverted = torch.isfinite(boxes).all(-1) & ((x2 < x1) | (y2 < y1))
        rows = inverted.nonzero().flatten().tolist()
    if not rows:
        return
    row = boxes[rows[0]].tolist()
    which = " and ".join(name for name, bad in (("x2 < x1", row[2] < row[0]), ("y2 < y1", row[3] < row[1])) if bad)
    more = len(rows) - 1
    more = f"; {more} more row{'s are' if more > 1 else ' is'} inverted" if more else ""
    raise LossConfigError(
        f"{key} must hold xyxy boxes with x1 <= x2 and y1 <= y2, got {row} in row {rows[0]} ({which}{more}). "
        "Convert xywh or cxcywh boxes to xyxy first"
    )


def check_iou_mean(value: object) -> None:
    """Raise :class:`LossConfigError` unless ``value`` is a finite number > 0: a float, or a 0-dim real tensor.

    Wise-IoU v3 divides each pair's 1 − IoU by it (``wise_iou.focusing_coefficient``): NaN or inf would give every
    pair a NaN or zero weight, and 0 or a negative mean has no meaning for a mean of 1 − IoU >= 0.
    """
    if isinstance(value, Tensor):
        if value.dim() != 0 or value.is_meta or value.dtype == torch.bool or value.dtype.is_complex:
            where = " on the meta device" if value.is_meta else ""
            raise LossConfigError(
                f"iou_mean must be a float or a 0-dim real tensor, got a tensor of shape {tuple(value.shape)} "
                f"and dtype {value.dtype}{where} ({_IOU_MEAN_HINT})"
            )
        value = value.item()
    number("iou_mean", value, low=0, low_open=True, hint=_IOU_MEAN_HINT, error=LossConfigError)


_STATE_CHECKS = {"iou_mean": check_iou_mean}
"""State input -> its check; a new stateful loss adds its state here (registry.register's ``state``)."""


def check_state(state: dict[str, object]) -> None:
    """Raise :class:`LossConfigError` for a state input with an invalid value (``iou_mean``: :func:`check_iou_mean`)."""
    for key, value in state.items():
        if key in _STATE_CHECKS:
            _STATE_CHECKS[key](value)


def nan_where_non_finite(loss: Tensor, pred: Tensor, target: Tensor) -> Tensor:
    """Return ``loss`` ``(N,)`` with NaN in each row where ``pred`` or ``target`` ``(N, 4)`` has a NaN or ±inf.

    Why: box arithmetic turns some non-finite boxes into losses that look real. ``safe_pow`` keeps a NaN, but an
    infinite width makes the union infinite and the IoU 0, so ``1 − IoU`` is a plausible 1.0 (with a NaN gradient),
    and exp, atan or a clamp can do the same to an inf. A NaN loss shows the fault in the batch where it happens.
    Finite rows are untouched: their loss and its gradient are multiplied by exactly 1. In a non-finite row the
    incoming gradient is multiplied by NaN, so that row's gradient is NaN too (0 behind a masking op, such as the
    overlap's clamp); rows are independent, so no other row changes.

    How: ``0·x`` is 0 for a finite x and NaN for NaN or ±inf; summing those per row cannot overflow, unlike a sum of
    the coordinates. The factor is computed without gradient, with column adds: ``sum(-1)`` over 4 coordinates is
    several times slower on CPU, and this runs on every training batch (a few per cent of a loss call, forward
    and backward, at 10³-10⁴ pairs on a 2-core CPU).
    """
    with torch.no_grad():
        zeros = pred.mul(0).add_(target.mul(0))
        x1, y1, x2, y2 = zeros.unbind(-1)
        factor = (x1 + y1).add_(x2).add_(y2).add_(1)
    return loss * factor
