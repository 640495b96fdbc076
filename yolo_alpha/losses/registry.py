"""The box-loss registry: loss name -> loss function, so that a config string picks the loss.

Adding a variant is one function decorated with :func:`register` (in :mod:`yolo_alpha.losses.iou_family` or a new
module imported by :mod:`yolo_alpha.losses.spec`) plus its tests. Every registered function has the signature::

    fn(pred: Tensor (N, 4), target: Tensor (N, 4), *, alpha: float, alpha2: float | None,
       iou_term: IoUTerm, eps: float, **params: float, **state) -> Tensor (N,)

on xyxy boxes, returning the unreduced loss of each aligned pair; reduction lives in :func:`~.spec.box_loss`.
``params`` are the loss's own config keys (e.g. ``kappa`` of ``soft_iou``), declared here with their defaults;
``state`` are inputs a caller carries from batch to batch (e.g. Wise-IoU v3's ``iou_mean``), never config keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from torch import Tensor

IoUTerm = Callable[[Tensor, float, float], Tensor]
LossFn = Callable[..., Tensor]

LOSSES: dict[str, LossFn] = {}
"""Registered box losses, name -> function (see the module docstring for the signature)."""

CORE_KEYS = ("loss", "alpha", "alpha2", "iou_term")
"""The keys every loss takes; a loss's own ``params`` must not reuse them."""

_ALPHA_FORMS: dict[str, str] = {}  # classic (α = 1) loss name -> name of its α generalisation
_FIXED_ALPHA: set[str] = set()  # losses to which eq. (3)'s powers do not apply: α = α₂ = 1 only
_PARAMS: dict[str, dict[str, float]] = {}  # loss name -> {its own config key: default}
_PARAM_HELP: dict[str, str] = {}  # a loss's own config key -> its one-line help (cfg/default.yaml, `yolo-alpha help`)
_STATE: dict[str, dict[str, object]] = {}  # loss name -> {state input: value when the caller carries none}
_UNUSED: dict[str, tuple[str, ...]] = {}  # loss name -> the core keys its function ignores (alpha_iou: alpha2)


def register(
    name: str,
    *,
    alpha_form: str | None = None,
    params: Mapping[str, float] | None = None,
    param_help: Mapping[str, str] | None = None,
    state: Mapping[str, object] | None = None,
    fixed_alpha: bool = False,
    unused: tuple[str, ...] = (),
) -> Callable[[LossFn], LossFn]:
    """Return a decorator that adds a loss function to :data:`LOSSES` under ``name`` and returns it unchanged.

    Args:
        name: the registry key users write as ``loss=...``; must be new.
        alpha_form: for a classic loss, which is fixed at α = α₂ = 1, the registry name of its α-IoU generalisation
            (``"giou"`` -> ``"alpha_giou"``). Such a loss refuses other powers in :func:`~.spec.resolve_loss` and
            the error points the user to ``alpha_form``. ``None`` for a loss that takes a power α.
        params: the loss's own config keys with their defaults, e.g. ``{"kappa": 10.0}``; each must be a finite
            number > 0. A key shared by several losses must have one default, so that the key means one thing.
        param_help: one line of help per key of ``params`` (required for each): the settings table
            (:mod:`yolo_alpha.settings`) shows it in ``yolo-alpha help``, and tests check cfg/default.yaml and the
            key table of docs/configuration.md against it, so that a loss's own key is declared here and nowhere else.
        state: keyword inputs the caller carries between batches, with the value used when none is given (Wise-IoU
            v3: ``{"iou_mean": 1.0}``). A loss with state is "stateful" (:attr:`~.spec.LossSpec.stateful`).
        fixed_alpha: True for a loss that eq. (3) does not generalise and that has no α form: it takes
            α = α₂ = 1 only, and says so instead of pointing to an α form.
        unused: core keys (:data:`CORE_KEYS`) the function accepts for the common signature but ignores, e.g.
            ``("alpha2",)`` for a loss with no penalty term: :func:`~.spec.resolve_loss` refuses a value for them
            other than the one they resolve to, which a run would otherwise record though nothing used it.
    """
    params, param_help = dict(params or {}), dict(param_help or {})
    if not set(unused) <= set(CORE_KEYS) - {"loss"}:
        raise ValueError(f"loss {name!r}: unused must name keys of {CORE_KEYS[1:]}, got {unused!r}")
    for key, default in params.items():
        if key in CORE_KEYS:
            raise ValueError(f"loss parameter {key!r} of {name!r} would shadow the core key {key!r}")
        taken = all_loss_params().get(key)
        if taken is not None and taken != default:
            raise ValueError(f"loss parameter {key!r} of {name!r} has default {default}, elsewhere {taken}")
    if set(param_help) != set(params) or not all(isinstance(h, str) and h for h in param_help.values()):
        raise ValueError(f"loss {name!r}: param_help must give one line of help for each of {sorted(params)}")

    def add(fn: LossFn) -> LossFn:
        if name in LOSSES:
            raise ValueError(f"box loss {name!r} is already registered (to {LOSSES[name].__qualname__})")
        LOSSES[name] = fn
        if alpha_form is not None:
            _ALPHA_FORMS[name] = alpha_form
        if fixed_alpha:
            _FIXED_ALPHA.add(name)
        _PARAMS[name] = params
        for key, text in param_help.items():
            _PARAM_HELP.setdefault(key, text)  # a key shared by several losses keeps its first help
        _STATE[name] = dict(state or {})
        _UNUSED[name] = tuple(unused)
        return fn

    return add


def alpha_form_of(name: str) -> str | None:
    """Return the registry name of the α generalisation of classic loss ``name``, or None if it has none."""
    return _ALPHA_FORMS.get(name)


def takes_alpha(name: str) -> bool:
    """Return True if loss ``name`` takes the powers α, α₂ of eq. (3); False if it is fixed at α = α₂ = 1."""
    return name not in _ALPHA_FORMS and name not in _FIXED_ALPHA


def unused_keys_of(name: str) -> tuple[str, ...]:
    """Return the core keys loss ``name`` ignores (``("alpha2",)`` for ``alpha_iou``, which has no penalty)."""
    return _UNUSED.get(name, ())


def losses_using(key: str) -> list[str]:
    """Return the sorted names of the losses that use core key ``key`` (and, for α/α₂, take a power)."""
    return sorted(
        name for name in LOSSES if key not in unused_keys_of(name) and (key == "iou_term" or takes_alpha(name))
    )


def loss_params_of(name: str) -> dict[str, float]:
    """Return the own config keys of loss ``name`` with their defaults (``{}`` for most losses)."""
    return dict(_PARAMS.get(name, {}))


def loss_state_of(name: str) -> dict[str, object]:
    """Return the state inputs of loss ``name`` with their initial values (``{}`` for a stateless loss)."""
    return dict(_STATE.get(name, {}))


def all_loss_params() -> dict[str, float]:
    """Return every loss's own config keys with their defaults, sorted by key."""
    merged = {key: default for params in _PARAMS.values() for key, default in params.items()}
    return dict(sorted(merged.items()))


def loss_param_help(key: str) -> str:
    """Return the one-line help of a loss's own config key ``key`` (see :func:`register`'s ``param_help``)."""
    return _PARAM_HELP[key]


def losses_taking(key: str) -> list[str]:
    """Return the sorted names of the losses that take the config key ``key``."""
    return sorted(name for name, params in _PARAMS.items() if key in params)


def losses_with_state(key: str) -> list[str]:
    """Return the sorted names of the losses that take the state input ``key`` (e.g. ``iou_mean``)."""
    return sorted(name for name, state in _STATE.items() if key in state)


def list_losses() -> list[str]:
    """Return the registered box-loss names, sorted."""
    return sorted(LOSSES)
