"""Where generated data lives, and how it gets there without ever leaving a half-written folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def default_cache_dir() -> Path:
    """Return ``$YOLO_ALPHA_CACHE`` if set, else ``$XDG_CACHE_HOME/yolo-alpha``, else ``~/.cache/yolo-alpha``."""
    if os.environ.get("YOLO_ALPHA_CACHE"):
        return Path(os.environ["YOLO_ALPHA_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "yolo-alpha"


def build_once(target: Path, write: Callable[[Path], None]) -> Path:
    """Return ``target`` after ``write(staging)`` filled a temporary sibling folder that was then renamed to it.

    A crash never leaves a partial folder under the final name (leftover ``.<name>.partial-*`` folders are never
    read), and concurrent processes each get a complete one: the first rename wins, the others discard their copy.
    Callers check ``target.exists()`` first; this function does not regenerate an existing target.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        write(staging)
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.exists():
            raise
        # Another process renamed its complete copy into place first: use that one.
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
