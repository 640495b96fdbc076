"""Validated box-loss settings (:class:`LossSpec`, built by :func:`resolve_loss`) and the one-call :func:`box_loss`.

The user-facing keys, as in ``cfg/default.yaml``: ``loss`` (a name in :data:`~.registry.LOSSES`), ``alpha``
(α of eq. 3/4), ``alpha2`` (α₂ of eq. 3), ``iou_term`` (a key of :data:`~.terms.IOU_TERMS`), and the keys some
losses take of their own (:func:`~.registry.all_loss_params`: ``focal_gamma``, ``kappa``, ``wiou_alpha``,
``wiou_delta``), None meaning the loss's default. Every error message about them is raised here, once, when the
settings are resolved; a :class:`LossSpec` is then called once per training batch without checking them again.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Iterable

import torch
from torch import Tensor

# Imported for their side effect: registering the losses.
from yolo_alpha.losses import eiou, iou_family, l1, mpdiou, siou, soft_iou, wise_iou  # noqa: F401
from yolo_alpha.losses.fused import fused_loss, use_fused
from yolo_alpha.losses.registry import (
    CORE_KEYS,
    LOSSES,
    all_loss_params,
    alpha_form_of,
    loss_params_of,
    loss_state_of,
    losses_taking,
    losses_with_state,
    takes_alpha,
)
from yolo_alpha.losses.terms import EPS, IOU_TERMS

DEFAULT_ALPHA = 3.0
"""α of the alpha_* losses when none is given: the paper's recommendation (section 3.3, after Property 3)."""

REDUCTIONS = ("none", "mean", "sum")


# Said after "must be a finite number > 0, got 0" for a loss key where 0 has a meaning of its own.
_ZERO_HINTS = {"focal_gamma": "γ = 0 is plain EIoU: use loss='eiou'"}


class LossConfigError(ValueError):
    """A box-loss setting (``loss``, ``alpha``, ``alpha2``, ``iou_term``, a loss's own key, ``reduction``, box shapes,
    a state input) is invalid."""


def _not_one_of(key: str, value: object, choices: Iterable[str], what: str) -> LossConfigError:
    # One wording for every "unknown name" error, with a suggestion when the value looks like a typo.
    choices = sorted(choices)
    message = f"{key}={value!r} is not {what}. Valid: {', '.join(choices)}"
    close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
    if close:
        message += f". Did you mean {close[0]!r}?"
    return LossConfigError(message)


def _check_power(key: str, value: object, *, zero_allowed: bool = False, zero_hint: str = "") -> float:
    # bool is a numbers.Real subclass, but alpha=True is a config mistake, not the number 1.
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
        bound = ">= 0" if zero_allowed else "> 0"
        hint = f" ({zero_hint})" if is_number and value == 0 and zero_hint else ""
        raise LossConfigError(f"{key} must be a finite number {bound}, got {value!r}{hint}")
    return float(value)


def _check_fixed_alpha(loss: str, key: str, value: float) -> None:
    # A classic name with a power would silently train a different loss than its name says.
    if takes_alpha(loss) or value == 1:
        return
    alpha_form = alpha_form_of(loss)
    if alpha_form is not None:
        raise LossConfigError(
            f"loss={loss!r} is the classic α = 1 loss but {key}={value} was given; "
            f"use loss={alpha_form!r} for a power α"
        )
    raise LossConfigError(
        f"loss={loss!r} takes no power (eq. 3 of α-IoU does not apply to it; see 'yolo-alpha help losses') "
        f"but {key}={value} was given"
    )


def _resolve_params(loss: str, given: dict[str, object]) -> tuple[tuple[str, float], ...]:
    # Every loss key is accepted by resolve_loss so that a flat settings dict passes through; a non-null key for a
    # loss that does not take it is refused, because it would be silently ignored otherwise.
    known = all_loss_params()
    for key, value in given.items():
        if key not in known:
            if losses_with_state(key):
                raise LossConfigError(
                    f"{key} is the state of {', '.join(losses_with_state(key))}, not a setting: pass it when calling "
                    f"the loss (spec(pred, target, {key}=...) or box_loss(..., {key}=...))"
                )
            valid = sorted((*CORE_KEYS, *known))
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f". Did you mean {close[0]!r}?" if close else ""
            raise LossConfigError(f"{key!r} is not a box-loss key. Valid: {', '.join(valid)}{hint}")
        if value is not None and key not in loss_params_of(loss):
            raise LossConfigError(
                f"{key} applies only to {', '.join(losses_taking(key))}; got {key}={value!r} with loss={loss!r}"
            )
    resolved = {}
    for key, default in loss_params_of(loss).items():
        value = given.get(key)
        resolved[key] = default if value is None else _check_power(key, value, zero_hint=_ZERO_HINTS.get(key, ""))
    return tuple(sorted(resolved.items()))


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """Resolved, validated box-loss settings; calling it returns the unreduced loss of each box pair.

    Build it with :func:`resolve_loss`, which fills the defaults and raises :class:`LossConfigError` for bad values.

    Attributes:
        loss: registry name (:func:`~.registry.list_losses`).
        alpha: α of eq. (3)/(4), the IoU term's power (1.0 for the classic losses and those eq. 3 does not cover).
        alpha2: α₂ of eq. (3), the penalty terms' power.
        iou_term: ``"power"`` (1 − IoU^α, eq. 2/4) or ``"boxcox"`` ((1 − IoU^α)/α, eq. 1).
        params: the loss's own keys with their resolved values, sorted, e.g. ``(("kappa", 30.0),)``; a tuple so
            that the spec stays hashable. ``()`` for a loss without keys of its own.
    """

    loss: str
    alpha: float
    alpha2: float
    iou_term: str
    params: tuple[tuple[str, float], ...] = ()

    @property
    def stateful(self) -> bool:
        """True if the loss reads state the caller carries between batches (Wise-IoU v3's ``iou_mean``)."""
        return bool(loss_state_of(self.loss))

    def initial_state(self) -> dict[str, object]:
        """Return the loss's state inputs with their initial values (``{"iou_mean": 1.0}`` for ``wiou``; else {})."""
        return loss_state_of(self.loss)

    def __call__(self, pred: Tensor, target: Tensor, **state: object) -> Tensor:
        """Return the loss of each aligned pair of xyxy boxes ``pred``, ``target`` (both ``(N, 4)``), shape ``(N,)``.

        float16, bfloat16 and float32 inputs are computed and returned in float32 with autocast disabled: powers
        of IoU near 1 and the eps guards (1e-7) are below half precision. float64 inputs stay float64 (gradcheck).
        Shapes are not checked here (see :func:`box_loss`): this runs once per batch in training.

        Args:
            pred, target: ``(N, 4)`` xyxy boxes.
            **state: a stateful loss's inputs (``iou_mean=`` for ``wiou``: float or 0-dim tensor); one left out
                takes its initial value (:meth:`initial_state`).

        Raises:
            LossConfigError: for a state input this loss does not take.
        """
        if state:
            unknown = sorted(set(state) - set(loss_state_of(self.loss)))
            if unknown:
                raise LossConfigError(f"loss={self.loss!r} takes no state {', '.join(unknown)}")
        loss_fn = LOSSES[self.loss]  # the reference path, always correct
        if not self.params and not state and use_fused(len(pred), pred.device):
            loss_fn = fused_loss(self.loss) or loss_fn  # same values and gradients (tests/losses/test_fused.py)
        dtype = torch.float64 if torch.promote_types(pred.dtype, target.dtype) == torch.float64 else torch.float32
        with torch.autocast(device_type=pred.device.type, enabled=False):
            return loss_fn(
                pred.to(dtype),
                target.to(dtype),
                alpha=self.alpha,
                alpha2=self.alpha2,
                iou_term=IOU_TERMS[self.iou_term],
                eps=EPS,
                **dict(self.params),
                **state,
            )

    def as_dict(self) -> dict[str, str | float | None]:
        """Return ``loss, alpha, alpha2, iou_term`` and every loss's own key (None where this loss does not use it).

        Every key is present whatever the loss, so a run's recorded settings always name all of them;
        ``resolve_loss(**spec.as_dict()) == spec``.
        """
        own = dict(self.params)
        core = {"loss": self.loss, "alpha": self.alpha, "alpha2": self.alpha2, "iou_term": self.iou_term}
        return {**core, **{key: own.get(key) for key in all_loss_params()}}


def resolve_loss(
    loss: str = "alpha_ciou",
    alpha: float | None = None,
    alpha2: float | None = None,
    iou_term: str = "power",
    **params: float | None,
) -> LossSpec:
    """Return the validated :class:`LossSpec` for the user-facing loss keys, with defaults filled in.

    Args:
        loss: a registered name; ``iou giou diou ciou eiou siou mpdiou soft_iou`` are classic α = 1 losses with
            ``alpha_*`` α forms; ``focal_eiou wiou_v1 wiou l1`` take α = 1 only (eq. 3 does not apply to them).
        alpha: α; None means 3.0 for the alpha_* losses (the paper's choice) and 1.0 for the others, which accept
            nothing else. Must be a finite number > 0; 0 is allowed with ``iou_term="boxcox"`` (−log IoU, eq. 2).
        alpha2: α₂ > 0 of the penalty terms (eq. 3); None means ``alpha``. Must be given when ``alpha`` is 0.
        iou_term: ``"power"`` or ``"boxcox"`` (:data:`~.terms.IOU_TERMS`).
        **params: the losses' own keys (:func:`~.registry.all_loss_params`), each a finite number > 0 or None for
            the loss's default; a non-null key the chosen loss does not take is refused.

    Raises:
        LossConfigError: naming the offending key and what it accepts.
    """
    if not isinstance(loss, str) or loss not in LOSSES:
        raise _not_one_of("loss", loss, LOSSES, "a box loss")
    if not isinstance(iou_term, str) or iou_term not in IOU_TERMS:
        raise _not_one_of("iou_term", iou_term, IOU_TERMS, "an IoU term")
    resolved_params = _resolve_params(loss, params)
    if alpha is None:
        alpha = DEFAULT_ALPHA if takes_alpha(loss) else 1.0
    alpha = _check_power(
        "alpha",
        alpha,
        zero_allowed=iou_term == "boxcox",
        zero_hint="alpha=0 is the −log IoU limit of eq. 2 and needs iou_term='boxcox'",
    )
    _check_fixed_alpha(loss, "alpha", alpha)
    if alpha2 is None:
        if alpha == 0:
            raise LossConfigError("alpha2 must be set when alpha=0: the penalty power α₂ of eq. 3 defaults to alpha")
        alpha2 = alpha
    alpha2 = _check_power("alpha2", alpha2, zero_allowed=False)
    _check_fixed_alpha(loss, "alpha2", alpha2)
    return LossSpec(loss=loss, alpha=alpha, alpha2=alpha2, iou_term=iou_term, params=resolved_params)


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
    **keys: object,
) -> Tensor:
    """Return the box loss of aligned xyxy boxes: shape ``(N,)`` for ``reduction="none"``, a scalar otherwise.

    One-call form of ``resolve_loss(loss, alpha, alpha2, iou_term, **params)(pred, target, **state)`` followed by
    the reduction; in a training loop resolve once and call the :class:`LossSpec` instead. The mean of an empty
    input is 0.

    Args:
        pred: ``(N, 4)`` predicted boxes ``(x1, y1, x2, y2)``, ``x1 <= x2``, ``y1 <= y2``.
        target: ``(N, 4)`` target boxes, same format.
        loss, alpha, alpha2, iou_term: see :func:`resolve_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        **keys: the loss's own keys (e.g. ``kappa=5``, see :func:`resolve_loss`) and, for a stateful loss, its
            state (``iou_mean=0.4`` for ``wiou``).

    Raises:
        LossConfigError: for an invalid setting, reduction, box shape or state input.
    """
    state_keys = loss_state_of(loss) if isinstance(loss, str) else {}
    state = {key: value for key, value in keys.items() if key in state_keys}
    params = {key: value for key, value in keys.items() if key not in state_keys}
    spec = resolve_loss(loss, alpha, alpha2, iou_term, **params)
    if reduction not in REDUCTIONS:
        raise _not_one_of("reduction", reduction, REDUCTIONS, "a reduction")
    _check_boxes(pred, target)
    return _reduce(spec(pred, target, **state), reduction)
