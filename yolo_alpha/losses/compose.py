"""Losses of the form "IoU term + penalties", declared once per formula: ``x`` and its α form ``alpha_x``.

α-IoU (He et al., NeurIPS 2021) generalises every such loss by eq. (3): ``L = 1 − IoU^α + Σ_k P_k^α₂``, each penalty
``P_k`` in [0, 1] (eq. 4 for IoU/GIoU/DIoU/CIoU). An :class:`IoUFamily` declares the penalties once (a documented
pure function) and :func:`register_family` registers both losses from it: ``alpha_x`` is eq. (3) with the IoU term
chosen by ``iou_term``, and ``x`` is the same function at α = α₂ = 1 (eq. 4, left column), never a copy.

An :class:`IoUModifier` (Inner-IoU, Focaler-IoU) replaces the IoU that the IoU term powers, keeping the penalties:
:func:`register_modifier` registers ``<prefix>_x`` and ``alpha_<prefix>_x`` for every family declared ``modifiable``
(those the modifier's paper defines it on), so each modifier is one declaration too.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping

from torch import Tensor

from yolo_alpha.losses.geometry import aligned_iou_and_union
from yolo_alpha.losses.registry import IoUTerm, KeyRule, LossFn, Param, Reference, register_loss
from yolo_alpha.losses.terms import EPS, IOU_TERMS, power_iou_term, safe_pow

Penalties = Callable[..., "tuple[Tensor, ...]"]
"""``(pred, target, iou, union, eps, **params) -> (P_1, …, P_k)``, each ``(N,)`` in [0, 1]."""
ScoredIoU = Callable[..., Tensor]
"""``(pred, target, iou, eps, **params) -> (N,)`` in [0, 1]: the IoU the IoU term powers."""

ALPHA_EQUATION = "α-IoU eq. 3"
DEFAULT_ALPHA = 3.0  # a direct call's α: the paper's recommendation, as resolve_loss's default
ALPHA_IOU = Reference("He et al. 2021, α-IoU (NeurIPS)", "2110.13675", "https://github.com/Jacobi93/Alpha-IoU")
"""The paper of every ``alpha_*`` form."""


@dataclasses.dataclass(frozen=True)
class IoUFamily:
    """A loss "IoU term + penalties", declared once; :func:`register_family` registers ``name`` and ``alpha_<name>``.

    Attributes:
        name: the classic loss's registry name (α = α₂ = 1).
        penalties: the penalty terms (:data:`Penalties`), or None for a loss that is its IoU term alone.
        formula: the classic formula as text, ``"1 − IoU + ρ²/c²"``.
        alpha_formula: the α form's, ``"1 − IoU^α + (ρ²/c²)^α₂"``.
        equation: where the classic formula is, ``"DIoU eq. 6"``.
        reference: the classic loss's paper.
        params: config keys of ``penalties``.
        scored_iou: what the IoU term powers instead of the IoU (soft IoU), or None for the IoU.
        iou_params: config keys of ``scored_iou``.
        modifiable: the Inner-/Focaler- papers define their variants on this loss.
        doc: a paragraph added to both generated docstrings (why, gradient stops, departures from the paper).
        alpha_equation: where the α form is (eq. 4 for the losses α-IoU writes out, else eq. 3).
        rule: a check across its keys, as :attr:`~.registry.LossEntry.rule`.
        symmetric: as :attr:`~.registry.LossEntry.symmetric`.
    """

    name: str
    penalties: Penalties | None
    formula: str
    alpha_formula: str
    equation: str
    reference: Reference
    params: tuple[Param, ...] = ()
    scored_iou: ScoredIoU | None = None
    iou_params: tuple[Param, ...] = ()
    modifiable: bool = False
    doc: str = ""
    alpha_equation: str = ALPHA_EQUATION
    rule: KeyRule | None = None
    symmetric: bool = True


@dataclasses.dataclass(frozen=True)
class IoUModifier:
    """A transform of the IoU in the IoU term (Inner-IoU's auxiliary boxes, Focaler-IoU's interval).

    ``L_<prefix>-X = L_X + IoU − IoU'``: the loss X with its IoU term computed on IoU' = ``scored_iou(...)``.

    Attributes:
        prefix: ``"inner"`` registers ``inner_x`` and ``alpha_inner_x`` for each modifiable family x.
        symbol: how formulas write IoU', ``"IoU_inner"``.
        scored_iou: IoU' (:data:`ScoredIoU`).
        params: its config keys.
        equation, reference, doc: as :class:`IoUFamily`'s.
        rule: a check across its keys, returning an error message or None.
    """

    prefix: str
    symbol: str
    scored_iou: ScoredIoU
    params: tuple[Param, ...]
    equation: str
    reference: Reference
    doc: str = ""
    rule: KeyRule | None = None


FAMILIES: dict[str, IoUFamily] = {}
"""Declared families by classic name, in declaration order."""


def _own(params: Mapping[str, object], declared: tuple[Param, ...]) -> dict[str, object]:
    # The keys a part takes, each at its default when a direct call leaves it out (resolve_loss passes them all).
    return {p.key: params.get(p.key, p.default) for p in declared}


def _docstring(formula: str, equation: str, family: IoUFamily) -> str:
    return (
        f"Return ``{formula}`` of each aligned xyxy box pair (``pred``, ``target``: ``(N, 4)``), shape ``(N,)`` "
        f"({equation}).\n\n{family.reference}.\n\n{family.doc}".rstrip()
    )


def _compose(family: IoUFamily, module: str) -> tuple[LossFn, LossFn]:
    declared = {p.key for p in (*family.params, *family.iou_params)}

    def alpha_loss(
        pred: Tensor,
        target: Tensor,
        *,
        alpha: float = DEFAULT_ALPHA,
        iou_term: IoUTerm | str = power_iou_term,
        alpha2: float | None = None,
        eps: float = EPS,
        **params,
    ) -> Tensor:
        unknown = set(params) - declared
        if unknown:
            raise TypeError(f"alpha_{family.name}: unexpected keyword argument(s) {sorted(unknown)}")
        if alpha2 is not None and family.penalties is None:
            raise TypeError(f"alpha_{family.name} has no penalty term: alpha2 is not used")
        iou_term = IOU_TERMS[iou_term] if isinstance(iou_term, str) else iou_term
        iou, union = aligned_iou_and_union(pred, target, eps)
        if family.scored_iou is not None:
            iou_scored = family.scored_iou(pred, target, iou, eps, **_own(params, family.iou_params))
        else:
            iou_scored = iou
        loss = iou_term(iou_scored, alpha, eps)
        if family.penalties is not None:
            for penalty in family.penalties(pred, target, iou, union, eps, **_own(params, family.params)):
                loss = loss + safe_pow(penalty, alpha if alpha2 is None else alpha2)  # α₂ = α unless given
        return loss

    def classic_loss(pred: Tensor, target: Tensor, *, eps: float = EPS, **params) -> Tensor:
        powers = sorted(set(params) & {"alpha", "alpha2", "iou_term"})
        if powers:
            raise TypeError(
                f"{family.name} is the α = 1 loss and takes no {', '.join(powers)}: use alpha_{family.name}"
            )
        alpha2 = None if family.penalties is None else 1.0
        return alpha_loss(pred, target, alpha=1.0, alpha2=alpha2, iou_term=power_iou_term, eps=eps, **params)

    for fn, name, formula, equation in (
        (alpha_loss, f"alpha_{family.name}", family.alpha_formula, family.alpha_equation),
        (classic_loss, family.name, family.formula, family.equation),
    ):
        fn.__name__ = fn.__qualname__ = f"{name}_loss"
        fn.__module__ = module  # the module that declares the loss: it holds the function too (pickle, help())
        fn.__doc__ = _docstring(formula, equation, family)
        setattr(sys.modules[module], fn.__name__, fn)
    return classic_loss, alpha_loss


def _alpha_reference(base: Reference) -> Reference:
    # An α form is α-IoU's construction applied to the base loss: both papers, α-IoU's arXiv id and code first.
    arxiv = f" (arXiv {base.arxiv})" if base.arxiv else ""
    return Reference(f"{ALPHA_IOU.paper}, applied to {base.paper}{arxiv}", ALPHA_IOU.arxiv, ALPHA_IOU.code)


def register_family(family: IoUFamily) -> tuple[LossFn, LossFn]:
    """Register ``family.name`` (α = α₂ = 1) and ``alpha_<name>`` (eq. 3); return their functions (classic, α)."""
    return _register_family(family, sys._getframe(1).f_globals["__name__"])


def _register_family(family: IoUFamily, module: str) -> tuple[LossFn, LossFn]:
    classic, alpha = _compose(family, module)
    params = (*family.params, *family.iou_params)
    alpha_name = f"alpha_{family.name}"
    shared = {"params": params, "rule": family.rule, "doc": family.doc, "symmetric": family.symmetric}
    register_loss(
        family.name,
        classic,
        formula=family.formula,
        equation=family.equation,
        reference=family.reference,
        alpha_form=alpha_name,
        **shared,
    )
    register_loss(
        alpha_name,
        alpha,
        formula=family.alpha_formula,
        reference=_alpha_reference(family.reference),
        equation=family.alpha_equation,
        takes_alpha=True,
        takes_alpha2=family.penalties is not None,
        takes_iou_term=True,
        classic_form=family.name,
        **shared,
    )
    FAMILIES[family.name] = family
    return classic, alpha


def _both_rules(first: KeyRule | None, second: KeyRule | None) -> KeyRule | None:
    rules = [rule for rule in (first, second) if rule is not None]
    if len(rules) < 2:
        return rules[0] if rules else None
    return lambda keys: rules[0](keys) or rules[1](keys)


def register_modifier(modifier: IoUModifier) -> None:
    """Register ``<prefix>_x`` and ``alpha_<prefix>_x`` for every modifiable family x declared so far."""
    for base in [family for family in FAMILIES.values() if family.modifiable]:
        _register_family(
            dataclasses.replace(
                base,
                name=f"{modifier.prefix}_{base.name}",
                formula=base.formula.replace("IoU", modifier.symbol, 1),
                alpha_formula=base.alpha_formula.replace("IoU^α", f"{modifier.symbol}^α", 1),
                equation=f"{modifier.equation} on {base.name}",
                alpha_equation=f"{ALPHA_EQUATION} on {modifier.prefix}_{base.name}",
                reference=modifier.reference,
                scored_iou=modifier.scored_iou,
                iou_params=modifier.params,
                modifiable=False,
                doc=f"{modifier.doc}\n\nThe loss it modifies: {base.formula} ({base.equation}).".strip(),
                rule=_both_rules(base.rule, modifier.rule),
            ),
            modifier.scored_iou.__module__,
        )
