"""Where generated data lives, and how it gets there without ever leaving a half-written folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from yolo_alpha.checks import nearest_existing
from yolo_alpha.errors import ConfigError

CACHE_ENV = "YOLO_ALPHA_CACHE"


def default_cache_dir() -> Path:
    """Return ``$YOLO_ALPHA_CACHE`` if set, else ``$XDG_CACHE_HOME/yolo-alpha``, else ``~/.cache/yolo-alpha``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "yolo-alpha"


def build_once(target: Path, write: Callable[[Path], None]) -> Path:
    """Return ``target`` after ``write(staging)`` filled a temporary sibling folder that was then renamed to it.

    A crash never leaves a partial folder under the final name (leftover ``.<name>.partial-*`` folders are never
    read), and concurrent processes each get a complete one: the first rename wins, the others discard their copy.
    Callers check ``target.exists()`` first; this function does not regenerate an existing target.

    Raises:
        ConfigError: the cache folder cannot be created or written (a file in the way, no permission, a read-only
            file system), naming the folder and ``YOLO_ALPHA_CACHE``.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as e:
        raise ConfigError(cache_error(target.parent, e)) from e
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


def cache_error(folder: Path, error: OSError) -> str:
    """Return the one-line message for a cache folder that cannot be written, naming what sets it and what to do."""
    reason = error.strerror or type(error).__name__
    blocker = nearest_existing(folder)
    if blocker.exists() and not blocker.is_dir():
        reason = f"{blocker} is a file, not a folder"
    source = f"environment variable {CACHE_ENV}={os.environ[CACHE_ENV]}" if os.environ.get(CACHE_ENV) else None
    where = f"{source}: cannot write the data cache {folder}" if source else f"cannot write the data cache {folder}"
    return f"{where} ({reason}); set {CACHE_ENV} to a writable folder, e.g. export {CACHE_ENV}=/tmp/yolo-alpha-cache"
