"""The box-loss registry: loss name -> loss function, so that a config string picks the loss.

Adding a variant is one function decorated with :func:`register` (in :mod:`yolo_alpha.losses.iou_family` or a new
module imported by :mod:`yolo_alpha.losses.spec`) plus its tests. Every registered function has the signature::

    fn(pred: Tensor (N, 4), target: Tensor (N, 4), *, alpha: float, alpha2: float | None,
       iou_term: IoUTerm, eps: float) -> Tensor (N,)

on xyxy boxes, returning the unreduced loss of each aligned pair; reduction lives in :func:`~.spec.box_loss`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

IoUTerm = Callable[[Tensor, float, float], Tensor]
LossFn = Callable[..., Tensor]

LOSSES: dict[str, LossFn] = {}
"""Registered box losses, name -> function (see the module docstring for the signature)."""

_ALPHA_FORMS: dict[str, str] = {}  # classic (α = 1) loss name -> name of its α generalisation


def register(name: str, *, alpha_form: str | None = None) -> Callable[[LossFn], LossFn]:
    """Return a decorator that adds a loss function to :data:`LOSSES` under ``name`` and returns it unchanged.

    Args:
        name: the registry key users write as ``loss=...``; must be new.
        alpha_form: for a classic loss, which is fixed at α = α₂ = 1, the registry name of its α-IoU generalisation
            (``"giou"`` -> ``"alpha_giou"``). Such a loss refuses other powers in :func:`~.spec.resolve_loss` and
            the error points the user to ``alpha_form``. ``None`` for a loss that takes a power α.
    """

    def add(fn: LossFn) -> LossFn:
        if name in LOSSES:
            raise ValueError(f"box loss {name!r} is already registered (to {LOSSES[name].__qualname__})")
        LOSSES[name] = fn
        if alpha_form is not None:
            _ALPHA_FORMS[name] = alpha_form
        return fn

    return add


def alpha_form_of(name: str) -> str | None:
    """Return the registry name of the α generalisation of classic loss ``name``, or None if ``name`` takes an α."""
    return _ALPHA_FORMS.get(name)


def list_losses() -> list[str]:
    """Return the registered box-loss names, sorted."""
    return sorted(LOSSES)
