"""Validated box-loss settings (:class:`LossSpec`, built by :func:`resolve_loss`) and the one-call :func:`box_loss`.

The four user-facing keys, as in ``cfg/default.yaml``: ``loss`` (a name in :data:`~.registry.LOSSES`), ``alpha``
(α of eq. 3/4), ``alpha2`` (α₂ of eq. 3) and ``iou_term`` (a key of :data:`~.terms.IOU_TERMS`). Every error
message about them is raised here, once, when the settings are resolved; a :class:`LossSpec` is then called once
per training batch without checking anything again.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Iterable

import torch
from torch import Tensor

from yolo_alpha.losses import iou_family  # noqa: F401  (imported for its side effect: registering the losses)
from yolo_alpha.losses.registry import LOSSES, alpha_form_of
from yolo_alpha.losses.terms import EPS, IOU_TERMS

DEFAULT_ALPHA = 3.0
"""α of the alpha_* losses when none is given: the paper's recommendation (section 3.3, after Property 3)."""

REDUCTIONS = ("none", "mean", "sum")


class LossConfigError(ValueError):
    """A box-loss setting (``loss``, ``alpha``, ``alpha2``, ``iou_term``, ``reduction``, box shapes) is invalid."""


def _not_one_of(key: str, value: object, choices: Iterable[str], what: str) -> LossConfigError:
    # One wording for every "unknown name" error, with a suggestion when the value looks like a typo.
    choices = sorted(choices)
    message = f"{key}={value!r} is not {what}. Valid: {', '.join(choices)}"
    close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
    if close:
        message += f". Did you mean {close[0]!r}?"
    return LossConfigError(message)


def _check_power(key: str, value: object, *, zero_allowed: bool, zero_hint: str = "") -> float:
    # bool is a numbers.Real subclass, but alpha=True is a config mistake, not the number 1.
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
        bound = ">= 0" if zero_allowed else "> 0"
        hint = f" ({zero_hint})" if is_number and value == 0 and zero_hint else ""
        raise LossConfigError(f"{key} must be a finite number {bound}, got {value!r}{hint}")
    return float(value)


def _check_classic(loss: str, alpha_form: str | None, key: str, value: float) -> None:
    # A classic name with a power would silently train a different loss than its name says.
    if alpha_form is not None and value != 1:
        raise LossConfigError(
            f"loss={loss!r} is the classic α = 1 loss but {key}={value} was given; "
            f"use loss={alpha_form!r} for a power α"
        )


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """Resolved, validated box-loss settings; calling it returns the unreduced loss of each box pair.

    Build it with :func:`resolve_loss`, which fills the defaults and raises :class:`LossConfigError` for bad values.

    Attributes:
        loss: registry name (:func:`~.registry.list_losses`).
        alpha: α of eq. (3)/(4), the IoU term's power (1.0 for the classic losses).
        alpha2: α₂ of eq. (3), the penalty terms' power.
        iou_term: ``"power"`` (1 − IoU^α, eq. 2/4) or ``"boxcox"`` ((1 − IoU^α)/α, eq. 1).
    """

    loss: str
    alpha: float
    alpha2: float
    iou_term: str

    def __call__(self, pred: Tensor, target: Tensor) -> Tensor:
        """Return the loss of each aligned pair of xyxy boxes ``pred``, ``target`` (both ``(N, 4)``), shape ``(N,)``.

        float16, bfloat16 and float32 inputs are computed and returned in float32 with autocast disabled: powers
        of IoU near 1 and the eps guards (1e-7) are below half precision. float64 inputs stay float64 (gradcheck).
        Shapes are not checked here (see :func:`box_loss`): this runs once per batch in training.
        """
        dtype = torch.float64 if torch.promote_types(pred.dtype, target.dtype) == torch.float64 else torch.float32
        with torch.autocast(device_type=pred.device.type, enabled=False):
            return LOSSES[self.loss](
                pred.to(dtype),
                target.to(dtype),
                alpha=self.alpha,
                alpha2=self.alpha2,
                iou_term=IOU_TERMS[self.iou_term],
                eps=EPS,
            )

    def as_dict(self) -> dict[str, str | float]:
        """Return the settings as ``{"loss", "alpha", "alpha2", "iou_term"}``, e.g. to log or save with a model."""
        return dataclasses.asdict(self)


def resolve_loss(
    loss: str = "alpha_ciou",
    alpha: float | None = None,
    alpha2: float | None = None,
    iou_term: str = "power",
) -> LossSpec:
    """Return the validated :class:`LossSpec` for the user-facing loss keys, with defaults filled in.

    Args:
        loss: a registered name; ``iou giou diou ciou`` are the classic α = 1 losses, ``alpha_*`` their α forms.
        alpha: α; None means 3.0 for the alpha_* losses (the paper's choice) and 1.0 for classic ones, which accept
            nothing else. Must be a finite number > 0; 0 is allowed with ``iou_term="boxcox"`` (−log IoU, eq. 2).
        alpha2: α₂ > 0 of the penalty terms (eq. 3); None means ``alpha``. Must be given when ``alpha`` is 0.
        iou_term: ``"power"`` or ``"boxcox"`` (:data:`~.terms.IOU_TERMS`).

    Raises:
        LossConfigError: naming the offending key and what it accepts.
    """
    if not isinstance(loss, str) or loss not in LOSSES:
        raise _not_one_of("loss", loss, LOSSES, "a box loss")
    if not isinstance(iou_term, str) or iou_term not in IOU_TERMS:
        raise _not_one_of("iou_term", iou_term, IOU_TERMS, "an IoU term")
    alpha_form = alpha_form_of(loss)
    if alpha is None:
        alpha = 1.0 if alpha_form else DEFAULT_ALPHA
    alpha = _check_power(
        "alpha",
        alpha,
        zero_allowed=iou_term == "boxcox",
        zero_hint="alpha=0 is the −log IoU limit of eq. 2 and needs iou_term='boxcox'",
    )
    _check_classic(loss, alpha_form, "alpha", alpha)
    if alpha2 is None:
        if alpha == 0:
            raise LossConfigError("alpha2 must be set when alpha=0: the penalty power α₂ of eq. 3 defaults to alpha")
        alpha2 = alpha
    alpha2 = _check_power("alpha2", alpha2, zero_allowed=False)
    _check_classic(loss, alpha_form, "alpha2", alpha2)
    return LossSpec(loss=loss, alpha=alpha, alpha2=alpha2, iou_term=iou_term)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        # An empty batch has no mean; 0 * sum keeps a graph so that backward still runs (as torchvision does).
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_boxes(pred: object, target: object) -> None:
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


def box_loss(
    pred: Tensor,
    target: Tensor,
    loss: str = "alpha_ciou",
    alpha: float | None = None,
    alpha2: float | None = None,
    iou_term: str = "power",
    reduction: str = "none",
) -> Tensor:
    """Return the box loss of aligned xyxy boxes: shape ``(N,)`` for ``reduction="none"``, a scalar otherwise.

    One-call form of ``resolve_loss(loss, alpha, alpha2, iou_term)(pred, target)`` followed by the reduction; in a
    training loop resolve once and call the :class:`LossSpec` instead. The mean of an empty input is 0.

    Args:
        pred: ``(N, 4)`` predicted boxes ``(x1, y1, x2, y2)``, ``x1 <= x2``, ``y1 <= y2``.
        target: ``(N, 4)`` target boxes, same format.
        loss, alpha, alpha2, iou_term: see :func:`resolve_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Raises:
        LossConfigError: for an invalid setting, reduction or box shape.
    """
    spec = resolve_loss(loss, alpha, alpha2, iou_term)
    if reduction not in REDUCTIONS:
        raise _not_one_of("reduction", reduction, REDUCTIONS, "a reduction")
    _check_boxes(pred, target)
    return _reduce(spec(pred, target), reduction)
