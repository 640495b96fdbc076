"""Validated box-loss settings (:class:`LossSpec`, built by :func:`resolve_loss`) and the one-call :func:`box_loss`.

The user-facing keys, as in ``cfg/default.yaml``: ``loss`` (a name in :data:`~.registry.LOSSES`), ``alpha``
(α of eq. 3/4), ``alpha2`` (α₂ of eq. 3), ``iou_term`` (a key of :data:`~.terms.IOU_TERMS`), and the keys some
losses take of their own (:func:`~.registry.all_loss_params`, declared with each loss), None meaning the loss's
default. Every error message about them is raised here, once, when the
settings are resolved; a :class:`LossSpec` is then called once per training batch without checking them again.
Numbers and names are checked with :mod:`yolo_alpha.checks`, so every message has the project's one shape
(``<key> must be <what is allowed>, got <value>``); :func:`box_loss`'s tensor arguments with :mod:`~.inputs`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import torch
from torch import Tensor

from yolo_alpha.checks import choice, did_you_mean, is_number, number

# Imported for their side effect: registering the losses (a modifier after the families it modifies).
from yolo_alpha.losses import (  # noqa: F401
    eiou,
    focaler_iou,
    inner_iou,
    iou_family,
    l1,
    mpdiou,
    nwd,
    piou,
    shape_iou,
    siou,
    soft_iou,
    wise_iou,
)
from yolo_alpha.losses.compiled import compiled
from yolo_alpha.losses.errors import LossConfigError
from yolo_alpha.losses.inputs import check_boxes, check_state, nan_where_non_finite
from yolo_alpha.losses.registry import (
    CORE_KEYS,
    LOSSES,
    all_loss_params,
    alpha_form_of,
    loss_entry,
    loss_state_of,
    losses_taking,
    losses_with_state,
    takes_alpha,
    unused_keys_of,
)
from yolo_alpha.losses.terms import EPS, IOU_TERMS

DEFAULT_ALPHA = 3.0
"""α of the alpha_* losses when none is given: the paper's recommendation (section 3.3, after Property 3)."""

PAPER_MAX_ALPHA = 10.0
"""Largest α the α-IoU paper studies (its Fig. 6: α ∈ (0, 10]); alpha or alpha2 above it is accepted with a warning."""
MAX_ALPHA = 100.0
"""Largest alpha and alpha2 accepted: beyond it IoU^α vanishes for every imperfect box (0.9^100 ≈ 2.7e-5)."""

REDUCTIONS = ("none", "mean", "sum")
DEFAULT_IOU_TERM = "power"

# What alpha / alpha2 raises to its power, for the messages about large powers.
_POWERED = {"alpha": ("IoU^α", "the box gradient"), "alpha2": ("each penalty P^α₂", "the penalties' gradient")}


def _check_power(key: str, value: object, *, zero_allowed: bool = False, zero_hint: str = "") -> float:
    # α or α₂: a finite number > 0 (>= 0 where 0 has a meaning) and <= 100; the bound is named when it is the fault.
    powered, gradient = _POWERED[key]
    hint, high = (zero_hint if is_number(value) and value == 0 else ""), None
    if is_number(value) and MAX_ALPHA < value < math.inf:
        high = MAX_ALPHA
        hint = (
            f"{powered} vanishes for every imperfect box, e.g. 0.9^100 ≈ 2.7e-5, so {gradient} is ~0; "
            f"the α-IoU paper studies α ≤ {PAPER_MAX_ALPHA:g}, Fig. 6"
        )
    return number(key, value, low=0, low_open=not zero_allowed, high=high, hint=hint, error=LossConfigError)


def _warn_beyond_paper(key: str, power: float) -> None:
    # Accepted (someone may study it), but the user should know no result backs it.
    if power > PAPER_MAX_ALPHA:
        warnings.warn(
            f"{key}={power:g} is beyond the α-IoU paper's range α ∈ (0, {PAPER_MAX_ALPHA:g}] (its Fig. 6), where it "
            f"is untested: {_POWERED[key][0]} is small for all but near-perfect boxes "
            f"(0.9^{power:g} ≈ {0.9**power:.2g})",
            UserWarning,
            stacklevel=3,
        )


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
        f"loss={loss!r} takes no power α ({loss_entry(loss).why_no_alpha}; see 'yolo-alpha help losses') "
        f"but {key}={value} was given"
    )


# Why a loss ignores a core key, and which losses use it (the lists are long: named by what they share).
_UNUSED_WHY = {
    "alpha2": ("it has no penalty term (eq. 3's P^α₂)", "an alpha_* loss with penalty terms, e.g. alpha_ciou"),
    "iou_term": ("it takes no power α, and the IoU terms differ only in α", "an alpha_* loss"),
}


def _refuse_unused(loss: str, given: dict[str, object], resolved: dict[str, object]) -> None:
    # A core key the loss ignores would be recorded with the run as if it had trained with it: refuse any value but
    # the one it resolves to anyway (alpha2 = alpha, iou_term = power), which a recorded run's settings carry.
    for key in unused_keys_of(loss):
        if given[key] is not None and given[key] != resolved[key]:
            raise LossConfigError(
                f"{key}={given[key]!r} is not used by loss={loss!r}: {_UNUSED_WHY[key][0]}. Leave {key} unset, or "
                f"choose a loss that uses it: {_UNUSED_WHY[key][1]}"
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
            raise LossConfigError(
                f"{key!r} is not a box-loss key. Valid: {', '.join(valid)}.{did_you_mean(key, valid)}"
            )
        if value is not None and key not in {param.key for param in loss_entry(loss).params}:
            raise LossConfigError(
                f"{key} applies only to {', '.join(losses_taking(key))}; got {key}={value!r} with loss={loss!r}"
            )
    entry, resolved = loss_entry(loss), {}
    for param in entry.params:
        value = given.get(param.key)
        resolved[param.key] = param.default if value is None else param.checked(value)
    rule = entry.rule
    message = rule(resolved) if rule is not None else None
    if message:
        raise LossConfigError(message)
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
        A pair with a NaN or ±inf coordinate gets a NaN loss (:func:`~.inputs.nan_where_non_finite`), other pairs
        are unaffected. The loss's registered function is called with exactly the keys its entry declares (a loss
        that takes no α is never handed one); with ``YOLO_ALPHA_COMPILE=1`` it is ``torch.compile`` of that same
        function (:mod:`~.compiled`).

        Not checked here, for speed (this runs once per training batch): shapes, dtypes, the meta device, inverted
        boxes and ``iou_mean``, which :func:`box_loss` refuses. The trainer's inputs cannot have those faults: its
        predicted boxes come from Ultralytics' decode (``dist2bbox`` of non-negative distances, so never
        inverted), its targets from validated labels, and ``iou_mean`` from
        :func:`~.wise_iou.update_iou_mean` (a running mean of 1 − IoU that starts at 1, finite and > 0).

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
        entry = LOSSES[self.loss]
        keywords = entry.core_keywords(self.alpha, self.alpha2, IOU_TERMS[self.iou_term])
        dtype = torch.float64 if torch.promote_types(pred.dtype, target.dtype) == torch.float64 else torch.float32
        pred, target = pred.to(dtype), target.to(dtype)
        with torch.autocast(device_type=pred.device.type, enabled=False):
            loss = compiled(entry.fn)(pred, target, eps=EPS, **keywords, **dict(self.params), **state)
            return nan_where_non_finite(loss, pred, target)

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
    iou_term: str = DEFAULT_IOU_TERM,
    **params: float | None,
) -> LossSpec:
    """Return the validated :class:`LossSpec` for the user-facing loss keys, with defaults filled in.

    Args:
        loss: a registered name (``yolo-alpha help losses``): the ``alpha_*`` losses take α; a classic loss is its
            α form at α = 1; the others take no α (eq. 3 does not apply to them; their entry says why).
        alpha: α; None means 3.0 for the alpha_* losses (the paper's choice) and 1.0 for the others, which accept
            nothing else. Must be a finite number in (0, 100]; 0 is allowed with ``iou_term="boxcox"`` (−log IoU,
            eq. 2). Above 10, beyond the paper's range (Fig. 6), a UserWarning says so; above 100 it is refused:
            IoU^α vanishes for every imperfect box (0.9^100 ≈ 2.7e-5) and the box gradient with it.
        alpha2: α₂ in (0, 100] of the penalty terms (eq. 3), warned above 10 as ``alpha``; None means ``alpha``.
            Must be given when ``alpha`` is 0.
        iou_term: ``"power"`` or ``"boxcox"`` (:data:`~.terms.IOU_TERMS`).
        **params: the losses' own keys (:func:`~.registry.all_loss_params`), each a number in the range its
            :class:`~.registry.Param` declares, or None for the loss's default; a non-null key the chosen loss does
            not take is refused, and so is a core key it ignores (:func:`~.registry.unused_keys_of`: ``alpha2``
            for ``alpha_iou``, which has no penalty term) given a value other than its resolved one.

    Raises:
        LossConfigError: naming the offending key and what it accepts.

    Warns:
        UserWarning: for ``alpha`` or ``alpha2`` above 10, beyond the paper's range.
    """
    choice(
        "loss", loss, LOSSES, what="a box loss; `yolo-alpha help losses` gives their formulas", error=LossConfigError
    )
    choice("iou_term", iou_term, IOU_TERMS, what="an IoU term: power is eq. 2, boxcox eq. 1", error=LossConfigError)
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
    _warn_beyond_paper("alpha", alpha)
    # α₂ defaults to α; a loss without a penalty ignores it, and at α = 0 records 1 (a valid power) instead.
    default_alpha2 = 1.0 if alpha == 0 and "alpha2" in unused_keys_of(loss) else alpha
    given_alpha2 = alpha2
    if alpha2 is None:
        if default_alpha2 == 0:
            raise LossConfigError("alpha2 must be set when alpha=0: the penalty power α₂ of eq. 3 defaults to alpha")
        alpha2 = default_alpha2  # checked, and warned about, as alpha
    else:
        alpha2 = _check_power("alpha2", alpha2)
        _check_fixed_alpha(loss, "alpha2", alpha2)
        _warn_beyond_paper("alpha2", alpha2)
    _refuse_unused(
        loss, {"alpha2": given_alpha2, "iou_term": iou_term}, {"alpha2": default_alpha2, "iou_term": DEFAULT_IOU_TERM}
    )
    return LossSpec(loss=loss, alpha=alpha, alpha2=alpha2, iou_term=iou_term, params=resolved_params)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        # An empty batch has no mean; 0 * sum keeps a graph so that backward still runs (as torchvision does).
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    return loss


def box_loss(
    pred: Tensor,
    target: Tensor,
    loss: str = "alpha_ciou",
    alpha: float | None = None,
    alpha2: float | None = None,
    iou_term: str = DEFAULT_IOU_TERM,
    reduction: str = "none",
    **keys: object,
) -> Tensor:
    """Return the box loss of aligned xyxy boxes: shape ``(N,)`` for ``reduction="none"``, a scalar otherwise.

    One-call form of ``resolve_loss(loss, alpha, alpha2, iou_term, **params)(pred, target, **state)`` followed by
    the reduction; in a training loop resolve once and call the :class:`LossSpec` instead. The mean of an empty
    input is 0.

    Args:
        pred: ``(N, 4)`` predicted boxes ``(x1, y1, x2, y2)``, ``x1 <= x2``, ``y1 <= y2``, of a floating-point or
            integer dtype (integers are converted to float32). A pair with a NaN or ±inf coordinate gets a NaN loss.
        target: ``(N, 4)`` target boxes, same format.
        loss, alpha, alpha2, iou_term: see :func:`resolve_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        **keys: the loss's own keys (e.g. ``kappa=5``, see :func:`resolve_loss`) and, for a stateful loss, its
            state (``iou_mean=0.4`` for ``wiou``: a finite number > 0, float or 0-dim tensor).

    Raises:
        LossConfigError: for an invalid setting or reduction; for boxes of the wrong shape, a bool or complex dtype,
            on the meta device, or inverted (x2 < x1 or y2 < y1 in a finite row: the message names the argument and
            shows the row); for an invalid state input. :class:`LossSpec` skips the checks of the tensors.
    """
    state_keys = loss_state_of(loss) if isinstance(loss, str) and loss in LOSSES else {}  # else: resolve_loss refuses
    state = {key: value for key, value in keys.items() if key in state_keys}
    params = {key: value for key, value in keys.items() if key not in state_keys}
    spec = resolve_loss(loss, alpha, alpha2, iou_term, **params)
    choice("reduction", reduction, REDUCTIONS, what="how the (N,) losses are reduced", error=LossConfigError)
    check_boxes(pred, target)
    check_state(state)
    return _reduce(spec(pred, target, **state), reduction)
