"""Settings files: cfg/default.yaml, cfg=FILE.yaml and key=value merged in one direction.

Pure Python (no Ultralytics import). Which keys exist and what they allow is :mod:`yolo_alpha.settings`' job; this
module only finds, reads and merges the files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from yolo_alpha.errors import ConfigError

__all__ = ["ConfigError", "default_settings", "find_cfg_file", "load_yaml", "merge_settings", "packaged_cfg_dir"]


def packaged_cfg_dir() -> Path:
    """Return the folder holding default.yaml, voc.yaml, coco.yaml (the repo's cfg/, installed as yolo_alpha.cfg)."""
    return Path(str(resources.files("yolo_alpha.cfg")))


def load_yaml(path: Path, key: str = "cfg") -> dict[str, Any]:
    """Return the mapping stored in a YAML settings file; ConfigError naming `key` and the file otherwise."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{key}={path}: cannot read the file ({e.strerror})") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{key}={path}: not valid YAML ({e})") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{key}={path}: expected a mapping of key: value, got {type(data).__name__}")
    return data


def find_cfg_file(value: str | Path) -> Path:
    """Return the settings file named by cfg=: a path as given, else one shipped in the packaged cfg/ folder."""
    path = Path(value)
    if path.is_file():
        return path
    shipped = packaged_cfg_dir() / (path.name if path.parent.name == "cfg" or len(path.parts) == 1 else path)
    if shipped.is_file():
        return shipped
    choices = ", ".join(sorted(p.name for p in packaged_cfg_dir().glob("*.yaml")))
    raise ConfigError(f"cfg={value}: no such file (shipped settings files: {choices})")


def default_settings() -> dict[str, Any]:
    """Return cfg/default.yaml: yolo-alpha's keys plus the Ultralytics keys whose defaults differ here."""
    return load_yaml(packaged_cfg_dir() / "default.yaml", key="default.yaml")


def merge_settings(cli: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return defaults, then the cfg= file, then the command line's keys, each overriding the one before."""
    cli = dict(cli)
    file_settings = load_yaml(find_cfg_file(cli.pop("cfg"))) if cli.get("cfg") else {}
    return {**(default_settings() if defaults is None else defaults), **file_settings, **cli}
