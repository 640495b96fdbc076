"""Ultralytics' detection validator as a source of COCO-format detections and of the labels it loaded.

Ultralytics' validator runs the model (its letterbox, NMS and box rescaling, so nothing of that is re-written) and
collects COCO-format detections (its ``save_json`` path, written to ``predictions.json`` in the val folder). Upstream
then scores custom data sets' JSON with faster-coco-eval (not installed here, and not the reference this project tests
against); :class:`CocoJsonValidator` skips that, and :mod:`yolo_alpha.evaluate` scores with pycocotools instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from ultralytics import YOLO
from ultralytics.data.utils import exif_size
from ultralytics.models.yolo.detect import DetectionValidator

from yolo_alpha.ultralytics.datasets_dir import use_datasets_dir


class CocoJsonValidator(DetectionValidator):
    """Ultralytics' detection validator that keeps its COCO-format detections and skips its own JSON scoring."""

    def eval_json(self, stats: dict[str, Any]) -> dict[str, Any]:
        return stats


@dataclass
class ValidatorPass:
    """What one validator pass produced: the labels it loaded, its detections and AP, and where it wrote."""

    labels: list[dict]  # Ultralytics dataset labels: im_file, normalised xywh bboxes, cls, optional (h, w) shape
    class_map: list[int]  # class index -> the category_id its detections carry
    detections: list[dict]  # COCO-format: image_id, category_id, bbox (xywh, pixels), score
    ultralytics_all_ap: np.ndarray  # (nc, 10), metrics.box.all_ap of the same detections
    max_det: int
    save_dir: Path


def run_validator(weights: str, data: str, *, conf: float, iou: float, **val_keys: Any) -> ValidatorPass:
    """Return one Ultralytics validation pass of ``weights`` on ``data`` (its val split) with COCO-format detections.

    ``conf`` and ``iou`` are the validator's confidence and NMS IoU thresholds; other keys go to ``YOLO.val`` (imgsz,
    batch, device, split, project, name, …). Writes predictions.json to the val folder.
    """
    passes = []
    model = YOLO(weights)
    model.add_callback("on_val_end", passes.append)  # the public hook that hands over the finished validator
    settings = {"plots": False, "verbose": False, **val_keys, "conf": conf, "iou": iou, "save_json": True}
    with use_datasets_dir():  # upstream's validator checks the data set: named sets live in yolo-alpha's cache
        model.val(validator=CocoJsonValidator, data=data, **settings)
    validator = passes[-1]
    return ValidatorPass(
        labels=list(validator.dataloader.dataset.labels),
        class_map=list(validator.class_map),
        detections=list(validator.jdict),
        ultralytics_all_ap=np.asarray(validator.metrics.box.all_ap, dtype=float).reshape(-1, 10),
        max_det=int(validator.args.max_det),
        save_dir=Path(validator.save_dir),
    )


def image_shape(im_file: str | Path) -> tuple[int, int]:
    """Return an image's (height, width) as Ultralytics' label check reads it (EXIF orientation applied)."""
    with Image.open(im_file) as image:
        width, height = exif_size(image)
    return height, width
