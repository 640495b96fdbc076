"""Where Ultralytics' data sets live for yolo-alpha, and its data-set check made honest.

Ultralytics puts named data sets (``VOC.yaml``, ``coco.yaml``, ...) under its ``datasets_dir`` setting, whose default
is the folder beside the git checkout around its own install (``<checkout>/../datasets`` for a venv inside a clone).
yolo-alpha uses ``<cache>/datasets`` instead (``yolo_alpha.data.cache.default_cache_dir``) unless the user set
``datasets_dir`` in Ultralytics' settings. The user's settings file is never written: Ultralytics' SETTINGS saves
itself on every update, so only the module attributes its data code reads are set, and only inside
``use_datasets_dir``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ultralytics.data.utils as data_utils
import ultralytics.utils as ultralytics_utils
from ultralytics.data.utils import check_det_dataset
from ultralytics.utils import SETTINGS, YAML
from ultralytics.utils.checks import check_file

from yolo_alpha.data.cache import default_cache_dir
from yolo_alpha.data.official import how_to_get
from yolo_alpha.errors import ConfigError

# The modules whose DATASETS_DIR check_det_dataset, its downloads and the trainers read (each holds its own binding).
_READERS = (ultralytics_utils, data_utils)


def choose_datasets_dir(configured: str, ultralytics_default: str, cache: Path) -> Path:
    """Return ``configured`` if the user changed Ultralytics' ``datasets_dir``, else ``cache/datasets``.

    Ultralytics writes its default into the settings file on first use, so a value equal to the default it computes
    now is taken as not chosen by the user.
    """
    if Path(configured) != Path(ultralytics_default):
        return Path(configured)
    return Path(cache) / "datasets"


def datasets_dir() -> Path:
    """Return where this process keeps named data sets: the user's ``datasets_dir``, else ``<cache>/datasets``."""
    return choose_datasets_dir(SETTINGS["datasets_dir"], SETTINGS.defaults["datasets_dir"], default_cache_dir())


@contextmanager
def use_datasets_dir(path: Path | None = None) -> Iterator[Path]:
    """Yield ``path`` (default ``datasets_dir()``) after making it Ultralytics' data-set folder for this process.

    Ultralytics' data code reads the module attribute ``DATASETS_DIR`` bound at import; it is set here and restored
    on exit. The settings file and ``SETTINGS`` are left untouched. Nesting is allowed.
    """
    path = Path(path) if path is not None else datasets_dir()
    saved = [module.DATASETS_DIR for module in _READERS]
    for module in _READERS:
        module.DATASETS_DIR = path
    try:
        yield path
    finally:
        for module, value in zip(_READERS, saved):
            module.DATASETS_DIR = value


def declared_dataset(data: str, root: Path) -> tuple[Path, str] | None:
    """Return ``(data-set folder, download)`` that the data YAML ``data`` declares, or None without a download.

    The folder follows ``check_det_dataset``: ``path:`` (or the YAML's folder), relative to ``root`` when it is a
    relative path that does not exist.
    """
    try:
        yaml_file = Path(check_file(data, download=False))
        content = YAML.load(yaml_file)
    except Exception:  # not a readable YAML: check_det_dataset's own error says so
        return None
    if not isinstance(content, dict) or not content.get("download"):
        return None
    path = Path(content.get("path") or yaml_file.parent)
    if not path.exists() and not path.is_absolute():
        path = (root / path).resolve()
    return path, content["download"]


def folders(top: Path) -> set[Path]:
    """Return the folders that exist at ``top``, under it and above it."""
    found = {p for p in (top, *top.parents) if p.is_dir()}
    if top.is_dir():
        found |= {Path(d) for d, _, _ in os.walk(top)}
    return found


def remove_new_empty_folders(top: Path, before: set[Path]) -> None:
    """Remove the empty folders at, under and above ``top`` that were not in ``before`` (deepest first)."""
    if top.is_dir():
        for folder, _, _ in os.walk(top, topdown=False):
            if Path(folder) not in before and not any(Path(folder).iterdir()):
                Path(folder).rmdir()
    for folder in (top, *top.parents):
        if folder in before or (folder.is_dir() and any(folder.iterdir())):
            break
        if folder.is_dir():  # ``top`` itself may be gone already
            folder.rmdir()


def can_download() -> bool:
    """Return True when a missing data set may be downloaded: the user did not set YOLO_OFFLINE and DNS answers.

    yolo-alpha sets ``YOLO_OFFLINE=True`` by default only to keep Ultralytics' start-up probes and update checks off,
    which also makes Ultralytics' ``is_online()`` say False; so the probe is Ultralytics' own DNS lookup, run here with
    that default lifted, and only when a data set is missing.
    """
    from yolo_alpha import DEFAULT_OFFLINE_ENV

    offline = os.environ.get("YOLO_OFFLINE", "").strip().lower() in ("true", "1", "yes")
    if offline and not os.environ.get(DEFAULT_OFFLINE_ENV):  # the user's own YOLO_OFFLINE: no probe at all
        return False
    for host in ("one.one.one.one", "dns.google"):  # the hosts of Ultralytics' is_online()
        try:
            socket.getaddrinfo(host, 0, socket.AF_UNSPEC, 0, 0, socket.AI_ADDRCONFIG)
            return True
        except OSError:
            continue
    return False


def check_or_download(data: str) -> dict[str, Any]:
    """Return Ultralytics' data dict of ``data``; a missing set is downloaded when online, explained when offline.

    Offline, an official set (VOC, COCO) missing ends in a ConfigError with the archives to fetch and the
    ``yolo-alpha data`` command (``yolo_alpha.data.official``), and nothing is created: Ultralytics' download would
    first create ``<set>/images``. A download that fails removes the empty folders it created, nothing else.
    """
    with use_datasets_dir() as root:
        try:
            return check_det_dataset(data, autodownload=False)
        except FileNotFoundError:
            declared = declared_dataset(data, root)
            if declared is None:
                raise
        target = declared[0]
        if not can_download():
            advice = how_to_get(data, target)
            raise ConfigError(
                advice or f"data={data}: the data set is not in {target} and cannot be downloaded (offline)"
            )
        before = folders(target)
        try:
            return check_det_dataset(data)
        except BaseException:
            remove_new_empty_folders(target, before)
            raise
