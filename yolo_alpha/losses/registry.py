"""The box-loss registry: loss name -> :class:`LossEntry`, which carries everything about the loss.

An entry holds the pure function, its formula and equation, its paper (arXiv id, authors' repository), whether it
takes the powers α and α₂ of α-IoU's eq. (3) and the ``iou_term`` key, its own config keys (:class:`Param`: default,
range, help), the state a caller carries between batches, and any rule between its keys. ``yolo-alpha help losses``,
the settings table (cfg/default.yaml, docs/configuration.md), the loss table of docs/losses.md and the tests' lists
all come from here, so adding a loss is one module that registers it, plus its tests.

Every function is called as ``fn(pred, target, *, eps, **keys) -> Tensor (N,)`` on aligned ``(N, 4)`` xyxy boxes
with exactly the keys its entry declares: ``alpha`` (if :attr:`LossEntry.takes_alpha`), ``alpha2`` (if
:attr:`LossEntry.takes_alpha2`), ``iou_term`` (if :attr:`LossEntry.takes_iou_term`), its :class:`Param` keys and its
state; a loss that takes no α is never handed one. Reduction and validation live in :mod:`~.spec`. The losses of the
form "IoU term + penalties" are declared once per formula in :mod:`~.compose`, which registers ``x`` and ``alpha_x``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from torch import Tensor

from yolo_alpha.checks import number
from yolo_alpha.losses.errors import LossConfigError

IoUTerm = Callable[[Tensor, float, float], Tensor]
LossFn = Callable[..., Tensor]
KeyRule = Callable[[Mapping[str, float]], "str | None"]

CORE_KEYS = ("loss", "alpha", "alpha2", "iou_term")
"""The keys every loss setting has; a loss's own :class:`Param` keys must not reuse them."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One config key of a loss (``kappa``, ``inner_ratio``, …): its default, allowed range and one line of help.

    The range is closed unless ``low_open``/``high_open``; None means unbounded. ``zero_hint`` is said after the
    range error for 0 where 0 has a meaning of its own (``focal_gamma=0`` is plain EIoU). ``length_power`` says how
    the value goes with the boxes' unit: 1 for a length (NWD's C), −1 for a per-length value (soft IoU's κ), 0 for a
    pure number; a user whose boxes are in another unit than the training's grid cells rescales it so.
    """

    key: str
    default: float
    help: str
    low: float | None = 0.0
    high: float | None = None
    low_open: bool = True
    high_open: bool = False
    zero_hint: str = ""
    length_power: int = 0

    def checked(self, value: object) -> float:
        """Return ``value`` as a float inside the range; else raise :class:`LossConfigError` naming the key."""
        hint = self.zero_hint if value == 0 and not isinstance(value, bool) else ""
        return number(
            self.key,
            value,
            low=self.low,
            high=self.high,
            low_open=self.low_open,
            high_open=self.high_open,
            hint=hint,
            error=LossConfigError,
        )


@dataclasses.dataclass(frozen=True)
class Reference:
    """Where a loss comes from: the paper, its arXiv id and the authors' repository (empty where there is none)."""

    paper: str
    arxiv: str = ""
    code: str = ""

    def __str__(self) -> str:
        return self.paper + (f", arXiv {self.arxiv}" if self.arxiv else "") + (f", {self.code}" if self.code else "")


@dataclasses.dataclass(frozen=True)
class LossEntry:
    """Everything about one registered loss (see the module docstring for how ``fn`` is called).

    Attributes:
        name: the registry key users write as ``loss=...``.
        fn: the pure loss function, the one definition training runs.
        formula: the formula as plain text, e.g. ``"1 − IoU^α + (ρ²/c²)^α₂ + (βv)^α₂"``.
        equation: where the formula is in its paper, e.g. ``"α-IoU eq. 4"``.
        reference: the paper and code (:class:`Reference`).
        takes_alpha: takes α (eq. 3/4); False for the classic α = 1 losses and those eq. 3 does not apply to.
        takes_alpha2: takes α₂, the penalties' power (an α loss with penalty terms).
        takes_iou_term: takes ``iou_term`` (power or Box-Cox), i.e. has an α-powered IoU term.
        params: its own config keys.
        state: keyword inputs the caller carries between batches, with their initial values (Wise-IoU v3:
            ``{"iou_mean": 1.0}``); never config keys.
        alpha_form: for a classic loss, the name of its α generalisation (``"giou"`` -> ``"alpha_giou"``).
        classic_form: for an α loss, the name of its α = 1 form (``"alpha_giou"`` -> ``"giou"``).
        why_no_alpha: for a loss without α and without an α form, why eq. (3) does not apply (said in errors).
        rule: a check across its keys (Focaler's d < u): returns an error message, or None when they are fine.
        quality: ``1 − loss`` is a box quality (falls as the boxes part), which the anchor family's objectness
            target uses (``obj_target=quality``); False for a loss weighted down for some pairs (Focal-EIoU's IoU^γ,
            Wise-IoU v3's focusing, PIoU v2's attention): a far box's small loss is no high quality.
        symmetric: the loss is the same with ``pred`` and ``target`` swapped (False where the target is the
            reference: ℓ1's encoding, PIoU's and Shape-IoU's normalisation by the target's size).
        doc: one paragraph: what the loss is for, its gradient stops, how it differs from its paper.
    """

    name: str
    fn: LossFn
    formula: str
    equation: str
    reference: Reference
    takes_alpha: bool = False
    takes_alpha2: bool = False
    takes_iou_term: bool = False
    params: tuple[Param, ...] = ()
    state: Mapping[str, object] = dataclasses.field(default_factory=dict)
    alpha_form: str | None = None
    classic_form: str | None = None
    why_no_alpha: str = ""
    rule: KeyRule | None = None
    doc: str = ""
    symmetric: bool = True
    quality: bool = True

    @property
    def unused_keys(self) -> tuple[str, ...]:
        """Return the core keys this loss ignores: α₂ of an α loss without penalties, ``iou_term`` of the others."""
        alpha2 = ("alpha2",) if self.takes_alpha and not self.takes_alpha2 else ()
        return alpha2 + (() if self.takes_iou_term else ("iou_term",))

    def core_keywords(self, alpha: float, alpha2: float, iou_term: IoUTerm) -> dict[str, object]:
        """Return the core keywords ``fn`` takes, from these values: only those its entry declares."""
        given = {"alpha": (self.takes_alpha, alpha), "alpha2": (self.takes_alpha2, alpha2)}
        given["iou_term"] = (self.takes_iou_term, iou_term)
        return {key: value for key, (taken, value) in given.items() if taken}


LOSSES: dict[str, LossEntry] = {}
"""Registered box losses, name -> :class:`LossEntry`."""


def register_loss(
    name: str,
    fn: LossFn,
    *,
    formula: str,
    equation: str,
    reference: Reference,
    takes_alpha: bool = False,
    takes_alpha2: bool = False,
    takes_iou_term: bool = False,
    params: tuple[Param, ...] = (),
    state: Mapping[str, object] | None = None,
    alpha_form: str | None = None,
    classic_form: str | None = None,
    why_no_alpha: str = "",
    rule: KeyRule | None = None,
    doc: str = "",
    symmetric: bool = True,
    quality: bool = True,
) -> LossFn:
    """Add a loss to :data:`LOSSES` under ``name`` and return ``fn`` unchanged (arguments: :class:`LossEntry`).

    Raises:
        ValueError: for a taken name, a key that shadows a core key or has another default than the same key of
            an earlier loss (a key means one thing), α₂ or ``iou_term`` without α, or a loss that takes no α and
            says neither its α form nor why it has none.
    """
    if name in LOSSES:
        raise ValueError(f"box loss {name!r} is already registered (to {LOSSES[name].fn.__qualname__})")
    if (takes_alpha2 or takes_iou_term) and not takes_alpha:
        raise ValueError(f"loss {name!r}: alpha2 and iou_term belong to losses that take alpha")
    if not takes_alpha and not (alpha_form or why_no_alpha):
        raise ValueError(f"loss {name!r} takes no alpha: give its alpha_form or why_no_alpha")
    for param in params:
        if param.key in CORE_KEYS:
            raise ValueError(f"loss parameter {param.key!r} of {name!r} would shadow the core key {param.key!r}")
        taken = param_of(param.key)
        if taken is not None and taken != param:  # a key shared by several losses is one Param: one meaning
            raise ValueError(
                f"loss parameter {param.key!r} of {name!r} differs from the one of {losses_taking(param.key)}"
            )
        if not param.help:
            raise ValueError(f"loss parameter {param.key!r} of {name!r} needs one line of help")
    LOSSES[name] = LossEntry(
        name, fn, formula, equation, reference, takes_alpha, takes_alpha2, takes_iou_term, tuple(params),
        dict(state or {}), alpha_form, classic_form, why_no_alpha, rule, doc, symmetric, quality,
    )  # fmt: skip
    return fn


def loss_entry(name: str) -> LossEntry:
    """Return the entry of loss ``name``; KeyError if unknown (users get :func:`~.spec.resolve_loss`'s error first)."""
    return LOSSES[name]


def param_of(key: str) -> Param | None:
    """Return the :class:`Param` declared for config key ``key`` by any loss, or None."""
    return next((p for entry in LOSSES.values() for p in entry.params if p.key == key), None)


def alpha_form_of(name: str) -> str | None:
    """Return the registry name of the α generalisation of classic loss ``name``, or None if it has none."""
    entry = LOSSES.get(name)
    return entry.alpha_form if entry else None


def classic_form_of(name: str) -> str | None:
    """Return the registry name of the α = 1 form of α loss ``name`` (``alpha_ciou`` -> ``ciou``), or None."""
    entry = LOSSES.get(name)
    return entry.classic_form if entry else None


def takes_alpha(name: str) -> bool:
    """Return True if loss ``name`` takes the powers α, α₂ of eq. (3); False if it is fixed at α = α₂ = 1."""
    return LOSSES[name].takes_alpha


def unused_keys_of(name: str) -> tuple[str, ...]:
    """Return the core keys loss ``name`` ignores (``("alpha2",)`` for ``alpha_iou``, which has no penalty)."""
    return LOSSES[name].unused_keys


def loss_params_of(name: str) -> dict[str, float]:
    """Return the own config keys of loss ``name`` with their defaults (``{}`` for most losses)."""
    return {param.key: param.default for param in LOSSES[name].params}


def loss_state_of(name: str) -> dict[str, object]:
    """Return the state inputs of loss ``name`` with their initial values (``{}`` for a stateless loss)."""
    return dict(LOSSES[name].state)


def all_loss_params() -> dict[str, float]:
    """Return every loss's own config keys with their defaults, sorted by key."""
    return dict(sorted((p.key, p.default) for entry in LOSSES.values() for p in entry.params))


def loss_param_help(key: str) -> str:
    """Return the one-line help of a loss's own config key ``key``."""
    param = param_of(key)
    if param is None:
        raise KeyError(key)
    return param.help


def losses_taking(key: str) -> list[str]:
    """Return the sorted names of the losses that take the config key ``key``."""
    return sorted(name for name, entry in LOSSES.items() if any(p.key == key for p in entry.params))


def losses_with_state(key: str) -> list[str]:
    """Return the sorted names of the losses that take the state input ``key`` (e.g. ``iou_mean``)."""
    return sorted(name for name, entry in LOSSES.items() if key in entry.state)


def list_losses() -> list[str]:
    """Return the registered box-loss names, sorted."""
    return sorted(LOSSES)
