"""The one validator of numbers and choices, and the one "did you mean", used by every layer (pure Python).

Every check returns the value it accepted (converted: ``number`` gives a float or an int) and raises the error class
its caller passes (default :class:`~yolo_alpha.errors.ConfigError`) with a message of one shape:
``<key> must be <what is allowed>, got <value>`` plus, for names, ``Did you mean '<closest>'?``.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from yolo_alpha.errors import ConfigError, YoloAlphaError


def did_you_mean(word: object, choices: Iterable[str], n: int = 1) -> str:
    """Return ``" Did you mean 'x'?"`` (or ``'x' or 'y'`` for n > 1) for the choices closest to ``word``, else ""."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, sorted(choices), n=n)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def is_number(value: object) -> bool:
    """Return True for an int or float (numpy scalars too), False for bool: ``alpha=True`` is a mistake, not 1."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def number(
    key: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    hint: str = "",
    error: type[YoloAlphaError] = ConfigError,
) -> float | int:
    """Return ``value`` as a finite float (an int with ``integer``) inside the given bounds; else raise ``error``.

    Bounds are closed unless ``low_open``/``high_open``; None means unbounded. NaN, inf and bools are refused. With
    ``integer``, a whole float such as ``2000.0`` is accepted as 2000. ``hint`` is appended in parentheses.
    """
    ok = is_number(value) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        kind = "an integer" if integer else "a finite number"
        bounds = _interval(low, high, low_open, high_open)
        raise error(
            f"{key} must be {kind}{' ' + bounds if bounds else ''}, got {value!r}" + (f" ({hint})" if hint else "")
        )
    return int(value) if integer else float(value)


def choice(
    key: str, value: Any, choices: Iterable[str], *, what: str = "", error: type[YoloAlphaError] = ConfigError
) -> str:
    """Return ``value`` if it is one of ``choices``; else raise ``error`` listing them, with a suggestion."""
    choices = list(choices)
    if isinstance(value, str) and value in choices:
        return value
    listed = ", ".join(sorted(choices))
    what = f" ({what})" if what else ""
    raise error(f"{key}={value!r} is not valid{what}. Valid: {listed}.{did_you_mean(value, choices)}")


def boolean(key: str, value: Any, *, error: type[YoloAlphaError] = ConfigError) -> bool:
    """Return ``value`` if it is True or False; else raise ``error``."""
    if isinstance(value, bool):
        return value
    raise error(f"{key} must be True or False, got {value!r}")


def nearest_existing(path: Path) -> Path:
    """Return ``path`` if it exists, else its deepest ancestor that does: where a folder about to be created would
    go, and so what a check of "can it be created" looks at (a file in the way, a folder without write permission).
    """
    path = Path(path)
    return next((p for p in (path, *path.parents) if p.exists()), Path(path.anchor or "."))


def known_keys(
    given: Iterable[str],
    valid: Iterable[str],
    where: str,
    *,
    footer: str = "",
    error: type[YoloAlphaError] = ConfigError,
) -> None:
    """Raise ``error`` naming every key of ``given`` not in ``valid`` (one line each, with the closest valid keys)."""
    valid = sorted(valid)
    unknown = [key for key in given if key not in valid]
    if unknown:
        lines = [f"'{key}' is not a valid {where} key.{did_you_mean(key, valid, n=3)}" for key in unknown]
        raise error("\n".join(lines) + (f"\n{footer}" if footer else ""))
