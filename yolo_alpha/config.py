"""Settings files and key checks: cfg/default.yaml, cfg=FILE.yaml and key=value merged in one direction.

Pure Python (no Ultralytics import): the seam passes in the set of Ultralytics' own keys.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

# The keys yolo-alpha adds to Ultralytics' flat namespace: the box loss, and the noisy-box training set.
# The last four are the losses' own keys (focal_eiou; soft_iou/alpha_soft_iou; wiou), null = the loss's default:
# they must equal yolo_alpha.losses.registry.all_loss_params() (tested in tests/losses/test_loss_params.py).
LOSS_KEYS = ("loss", "alpha", "alpha2", "iou_term", "focal_gamma", "kappa", "wiou_alpha", "wiou_delta")
NOISE_KEYS = ("noise_eta", "noise_seed")
# IoU-balanced classification (η of eq. 4) and localisation (λ, w_loc of eq. 6/7) losses, Wu et al.; 0 = off.
BALANCE_KEYS = ("iou_cls_eta", "iou_loc_lambda", "iou_loc_norm")
ALPHA_KEYS = LOSS_KEYS + NOISE_KEYS + BALANCE_KEYS
# Written into a run's args by yolo-alpha (never set by the user): the measured effect of the noise.
# wiou_mean: Wise-IoU v3's running mean of 1 − IoU (one per detection branch), saved with every checkpoint for resume.
RECORDED_KEYS = ("noise_mean_iou", "wiou_mean")


class ConfigError(ValueError):
    """A settings file or key=value the user gave is wrong; the message names the key or file."""


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


def check_known_keys(settings: dict[str, Any], valid: set[str] | frozenset[str], where: str) -> None:
    """Raise ConfigError naming every unknown key, with the closest valid key as a suggestion."""
    unknown = [k for k in settings if k not in valid]
    if not unknown:
        return
    lines = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(valid), n=3)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        lines.append(f"'{key}' is not a valid {where} key.{hint}")
    raise ConfigError(
        "\n".join(lines) + "\nSee 'yolo-alpha help' for yolo-alpha's keys and 'yolo cfg' for Ultralytics'."
    )


def check_noise_keys(settings: dict[str, Any]) -> tuple[float, int]:
    """Return (noise_eta, noise_seed) from settings (defaults 0, 0); ConfigError naming the key when invalid."""
    eta, seed = settings.get("noise_eta", 0.0), settings.get("noise_seed", 0)
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0 <= eta < 1:  # NaN fails 0 <= eta
        raise ConfigError(f"noise_eta must be a number in [0, 1) (the paper's η, e.g. 0.1, 0.2, 0.3), got {eta!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"noise_seed must be an integer >= 0, got {seed!r}")
    return float(eta), seed


def _check_balance_power(key: str, value: Any, papers_best: str) -> float:
    # bool is an int subclass, but iou_cls_eta=True is a config mistake, not the number 1; NaN fails 0 <= value.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ConfigError(
            f"{key} must be a finite number >= 0 (0 = off; the paper's best is {papers_best}), got {value!r}"
        )
    return float(value)


def check_balance_keys(settings: dict[str, Any]) -> tuple[float, float, float | str]:
    """Return (iou_cls_eta, iou_loc_lambda, iou_loc_norm) of settings (default 0, 0, 1.0); ConfigError naming the key.

    iou_loc_norm is a number > 0 (the constant w_loc of eq. 6) or the string 'eq7' (eq. 7's normalisation, which
    keeps the positives' total localisation loss unchanged).
    """
    eta = _check_balance_power("iou_cls_eta", settings.get("iou_cls_eta", 0.0), "1.5")
    lam = _check_balance_power("iou_loc_lambda", settings.get("iou_loc_lambda", 0.0), "1.5")
    norm = settings.get("iou_loc_norm", 1.0)
    if norm == "eq7":
        return eta, lam, norm
    if isinstance(norm, bool) or not isinstance(norm, (int, float)) or not 0 < norm < float("inf"):
        raise ConfigError(
            f"iou_loc_norm must be a finite number > 0 (the constant w_loc of eq. 6) or 'eq7' (eq. 7's normalisation: "
            f"the positives' total localisation loss unchanged), got {norm!r}"
        )
    return eta, lam, float(norm)


def split_alpha_keys(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (yolo-alpha's loss keys, everything else) from one flat settings dict."""
    ours = {k: v for k, v in settings.items() if k in ALPHA_KEYS}
    return ours, {k: v for k, v in settings.items() if k not in ALPHA_KEYS}
