"""How a configuration (a results row's params) is named and ordered: its label, its loss's α = 1 form, its sort key.

Below the report and the paper's claims (:mod:`yolo_alpha.reproduce`), which both name configurations the same way;
it imports only the loss registry.
"""

from __future__ import annotations

from typing import Any

from yolo_alpha.checks import is_number
from yolo_alpha.losses import LOSSES, resolve_loss
from yolo_alpha.losses.registry import CORE_KEYS, all_loss_params, classic_form_of, takes_alpha


def base_loss(loss: Any) -> str | None:
    """Return X for an ``alpha_X`` loss whose classic (α = 1) form X is registered, else None (the registry's pair)."""
    return classic_form_of(loss) if isinstance(loss, str) else None


def config_label(params: dict, keys: list[str] | None = None, *, powers: bool = True) -> str:
    """Return "loss=alpha_ciou (α=3), noise_eta=0.2" for `params` (only `keys` when given; loss first).

    An α-loss shows the α it trained with (and α₂ when that differs), resolved from `params` as training resolves
    them, unless the label shows ``alpha`` (``alpha2``) as a key already: ``loss=alpha_ciou`` alone would hide its
    power. ``powers=False`` leaves them out, for a label naming a line that spans several α.
    """
    keys = list(params) if keys is None else [k for k in keys if k in params]
    keys = sorted(keys, key=lambda k: (k != "loss", k))
    note = loss_powers(params, shown=keys) if powers and "loss" in keys else ""
    return ", ".join(f"{k}={params[k]}" + (note if k == "loss" else "") for k in keys) or "(all runs)"


def loss_powers(params: dict, shown: list[str] = ()) -> str:
    """Return " (α=3)" or " (α=3, α₂=1)": the resolved powers of the α-loss in `params` that `shown` keys omit.

    "" for a classic loss (α = 1 by definition), for params without a loss, and for params no training would accept
    (such a row is labelled as given). The α of a sweep's base keys is not in the params: only the grid's keys are.
    """
    loss = params.get("loss")
    if not isinstance(loss, str) or loss not in LOSSES or not takes_alpha(loss):
        return ""
    loss_keys = {k: v for k, v in params.items() if k in CORE_KEYS or k in all_loss_params()}
    try:
        spec = resolve_loss(**loss_keys)
    except (ValueError, TypeError):
        return ""
    parts = [f"α={spec.alpha:g}"] if "alpha" not in shown else []
    if "alpha2" not in shown and spec.alpha2 != spec.alpha:
        parts.append(f"α₂={spec.alpha2:g}")
    return f" ({', '.join(parts)})" if parts else ""


def sort_key(params: dict) -> tuple:
    """Return a key that orders configurations as the paper does: other params, then X before alpha_X, then α."""
    loss = params.get("loss")
    family = base_loss(loss) or loss
    others = tuple((k, _value_key(params[k])) for k in sorted(params) if k not in ("loss", "alpha"))
    return (
        others,
        _value_key(family),
        base_loss(loss) is not None,
        _value_key(params.get("alpha")),
        _value_key(loss),
    )


def _value_key(value: Any) -> tuple:
    # Mixed types (numbers, strings, None) must still sort.
    if is_number(value):
        return (0, float(value), "")
    return (1, 0.0, "" if value is None else str(value))
