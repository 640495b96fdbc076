"""Key values of ``yolo-alpha plot``: each parser returns the typed value or raises ConfigError naming its key.

Values arrive either typed from Python (``alphas=[0.5, 1]``) or as Ultralytics' ``smart_value`` makes them from the
command line: ``alphas=0.5,1,2,3`` becomes the tuple ``(0.5, 1, 2, 3)``, ``losses=iou,giou`` stays the string
``"iou,giou"`` and ``alphas=3`` the number 3. Every parser accepts all of these forms.
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any

from yolo_alpha.config import ConfigError


def as_list(key: str, value: Any) -> list:
    """Return ``value`` as a list: a comma-separated string is split, a tuple/list kept, a scalar wrapped."""
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    if not items or any(item == "" for item in items):
        raise ConfigError(f"{key}={value!r}: expected a comma-separated list with no empty items, e.g. {key}=a,b")
    return items


def _is_number(value: Any) -> bool:
    # bool is a numbers.Real subclass, but alphas=True is a mistake, not the number 1.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _to_number(item: Any) -> float | None:
    # A string item comes from a Python caller's "0.5,1" (the command line has already typed the numbers).
    if isinstance(item, str):
        try:
            return float(item)
        except ValueError:
            return None
    return float(item) if _is_number(item) else None


def positive_floats(key: str, value: Any) -> list[float]:
    """Return ``value`` as a list of finite numbers > 0 (e.g. ``alphas=0.5,1,2,3``)."""
    values = []
    for item in as_list(key, value):
        number = _to_number(item)
        if number is None or not math.isfinite(number) or number <= 0:
            raise ConfigError(
                f"{key} must be finite numbers > 0 separated by commas, e.g. {key}=0.5,1,2,3; got {item!r}"
            )
        values.append(number)
    return values


def positive_float(key: str, value: Any) -> float:
    """Return ``value`` as one finite number > 0."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{key} must be a finite number > 0, got {value!r}")
    return float(value)


def int_at_least(key: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an int >= ``minimum`` (a float such as 2000.0 that is a whole number is accepted)."""
    whole = _is_number(value) and math.isfinite(value) and float(value).is_integer()
    if not whole or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def loss_names(key: str, value: Any) -> list[str]:
    """Return ``value`` as a list of registered box-loss names (``yolo_alpha.losses.list_losses()``)."""
    from yolo_alpha.losses import list_losses

    registered = list_losses()
    names = as_list(key, value)
    for name in names:
        if not isinstance(name, str) or name not in registered:
            close = difflib.get_close_matches(name, registered, n=1) if isinstance(name, str) else []
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{key}: {name!r} is not a box loss. Valid: {', '.join(registered)}.{hint}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{key}={','.join(names)} names a loss twice")
    return names


def loss_label(name: str) -> str:
    """Return ``name`` for a panel title, with the default power it is drawn at: ``"alpha_ciou (α = 3)"``."""
    from yolo_alpha.losses import resolve_loss

    alpha = resolve_loss(name).alpha
    return name if alpha == 1 else f"{name} (α = {alpha:g})"
