"""The one base class of yolo-alpha's user-facing errors; ``yolo-alpha`` prints any of them as one line, exit 2.

Pure Python, imported by every layer (the losses too). Each subclass says which layer found the problem; every message
names the key, argument or file at fault and what is allowed, so the user never needs a traceback to fix it.
"""

from __future__ import annotations


class YoloAlphaError(ValueError):
    """A setting, argument or file the user gave is wrong; the message names it and what is allowed.

    A ValueError, so that code written against the older, separate error classes (all ValueErrors) keeps working.
    """


class ConfigError(YoloAlphaError):
    """A settings file, key=value or command-line argument is wrong."""
