"""Key values of ``yolo-alpha plot``: each parser returns the typed value or raises ConfigError naming its key.

Values arrive either typed from Python (``alphas=[0.5, 1]``) or as Ultralytics' ``smart_value`` makes them from the
command line: ``alphas=0.5,1,2,3`` becomes the tuple ``(0.5, 1, 2, 3)``, ``losses=iou,giou`` stays the string
``"iou,giou"`` and ``alphas=3`` the number 3. Every parser accepts all of these forms.
"""

from __future__ import annotations

from typing import Any

from yolo_alpha.checks import choice, is_number, number
from yolo_alpha.errors import ConfigError


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


def _as_number(item: Any) -> Any:
    # A string item comes from a Python caller's "0.5,1" (the command line has already typed the numbers); one that
    # is not a number is handed on as it is, for number() to refuse by its own spelling.
    if isinstance(item, str):
        try:
            return float(item)
        except ValueError:
            return item
    return item


def positive_floats(key: str, value: Any) -> list[float]:
    """Return ``value`` as a list of finite numbers > 0 (e.g. ``alphas=0.5,1,2,3``)."""
    hint = f"each item of {key}, a comma-separated list such as {key}=0.5,1,2,3"
    return [number(key, _as_number(item), low=0, low_open=True, hint=hint) for item in as_list(key, value)]


def positive_float(key: str, value: Any) -> float:
    """Return ``value`` as one finite number > 0."""
    return number(key, value, low=0, low_open=True)


def int_at_least(key: str, value: Any, minimum: int, maximum: int | None = None, why: str = "") -> int:
    """Return ``value`` as an int in ``[minimum, maximum]`` (a whole float such as 2000.0 is accepted).

    ``maximum`` bounds a size key by what the figure can show (``why`` says so in the error): without it,
    ``plot landscape steps=100000`` asked for 74.5 GiB.
    """
    beyond = maximum is not None and is_number(value) and value > maximum
    return number(key, value, low=minimum, high=maximum, integer=True, hint=why if beyond else "")


def loss_names(key: str, value: Any) -> list[str]:
    """Return ``value`` as a list of registered box-loss names (``yolo_alpha.losses.list_losses()``)."""
    from yolo_alpha.losses import list_losses

    registered = list_losses()
    names = [choice(key, name, registered, what="a box loss") for name in as_list(key, value)]
    if len(set(names)) != len(names):
        raise ConfigError(f"{key}={','.join(names)} names a loss twice")
    return names


def loss_label(name: str) -> str:
    """Return ``name`` for a panel title, with the default power it is drawn at: ``"alpha_ciou (α = 3)"``."""
    from yolo_alpha.losses import resolve_loss

    alpha = resolve_loss(name).alpha
    return name if alpha == 1 else f"{name} (α = {alpha:g})"
