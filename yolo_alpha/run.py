"""Python API behind the CLI verbs: train, val, predict, export (keyword arguments are the CLI's key=value)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ultralytics import YOLO
from ultralytics.cfg import get_cfg
from ultralytics.data.utils import check_det_dataset
from ultralytics.utils import ASSETS, USER_CONFIG_DIR
from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

from yolo_alpha.config import (
    ConfigError,
    check_balance_keys,
    check_known_keys,
    check_noise_keys,
    merge_settings,
    split_alpha_keys,
)
from yolo_alpha.data.synthetic import synthetic_dataset
from yolo_alpha.metrics import ap_by_threshold
from yolo_alpha.offline import provide_fonts
from yolo_alpha.seam import (
    SYNTHETIC_NAMES,
    TRAIN_KEYS,
    ULTRALYTICS_KEYS,
    AlphaDetectionTrainer,
    loss_spec_from,
)


def check_settings(settings: dict[str, Any], mode: str) -> None:
    """Raise ConfigError (or LossConfigError) naming any unknown key or bad value, before anything is built."""
    check_known_keys(settings, TRAIN_KEYS if mode == "train" else ULTRALYTICS_KEYS, mode)
    ours, theirs = split_alpha_keys(settings)
    try:
        get_cfg(overrides=theirs)  # Ultralytics' own type and range checks; their messages name the key
    except (TypeError, ValueError, SyntaxError) as e:
        raise ConfigError(str(e).strip()) from e
    if mode == "train":
        loss_spec_from(ours)
        check_noise_keys(ours)
        check_balance_keys(ours)


def check_local_files(settings: dict[str, Any]) -> None:
    """Raise ConfigError for weights or a data set that is neither on disk nor fetchable, before any run folder exists.

    Upstream would otherwise query GitHub for any missing .pt name, and report a missing data set only after it has
    created the run folder, as a RuntimeError from deep inside the trainer.
    """
    model, data = settings.get("model"), settings.get("data")
    # Official weights (yolo11n.pt, ...) are left to Ultralytics, which downloads them when online.
    if (
        isinstance(model, str)
        and model.endswith(".pt")
        and not Path(model).exists()
        and model not in GITHUB_ASSETS_NAMES
    ):
        raise ConfigError(f"model={model}: no such weights file")
    if data not in SYNTHETIC_NAMES and not settings.get("resume"):
        provide_fonts(USER_CONFIG_DIR)  # the data set check draws nothing, but it looks for the font
        try:
            check_det_dataset(str(data))  # downloads VOC/COCO when missing and online, as the trainer would
        except Exception as e:  # upstream raises FileNotFoundError, SyntaxError, ConnectionError, RuntimeError, ...
            raise ConfigError(f"data={data}: {str(e).strip()}") from e


def prepare(settings: dict[str, Any], mode: str) -> str:
    """Check keys, values and local files of `settings` (in place); remove and return its model."""
    check_settings(settings, mode)
    if not settings.get("model"):
        raise ConfigError(
            f"{mode} needs model=<weights .pt or model .yaml>, e.g. model=runs/detect/train/weights/best.pt"
        )
    check_local_files(settings)
    return str(settings.pop("model"))


def train(**overrides: Any) -> YOLO:
    """Train and return the YOLO model (best weights loaded); settings: cfg/default.yaml < cfg= file < overrides.

    With ``resume=True`` (or a path) only the given keys are used: the run continues with the settings, data and
    loss recorded in its checkpoint.
    """
    if overrides.get("resume"):
        settings = {k: v for k, v in overrides.items() if k != "cfg"}
        if not settings.get("model"):
            raise ConfigError("resume=True needs model=<run>/weights/last.pt")
    else:
        settings = merge_settings(overrides)
    model = YOLO(prepare(settings, "train"))
    model.train(trainer=AlphaDetectionTrainer, **settings)
    return model


def val(**overrides: Any) -> tuple[Any, dict[str, float]]:
    """Validate weights; return (Ultralytics' metrics, AP per IoU threshold with mAP50-95 and mAP75-95).

    The per-threshold table is also written to ``<save_dir>/ap_by_iou.csv``.
    """
    settings = dict(overrides)
    if "data" in settings and settings["data"] in SYNTHETIC_NAMES:
        settings["data"] = str(synthetic_dataset())
    model = prepare(settings, "val")
    provide_fonts(USER_CONFIG_DIR)
    metrics = YOLO(model).val(**settings)
    table = ap_by_threshold(metrics.box.all_ap)
    with open(Path(metrics.save_dir) / "ap_by_iou.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table))
        writer.writeheader()
        writer.writerow({k: f"{v:.6f}" for k, v in table.items()})
    return metrics, table


def predict(**overrides: Any) -> list:
    """Run prediction and return Ultralytics' Results list (saved under runs/detect/predict* by default)."""
    settings = {"save": True, "source": ASSETS, **overrides}  # as `yolo predict`: save, bundled sample images
    model = prepare(settings, "predict")
    provide_fonts(USER_CONFIG_DIR)
    return YOLO(model).predict(**settings)


def export(**overrides: Any) -> str:
    """Export weights (format=torchscript, onnx, …) with Ultralytics' exporter; return the exported file's path."""
    settings = dict(overrides)
    model = prepare(settings, "export")
    return YOLO(model).export(**settings)
