"""Ultralytics' detection validator as a source of COCO-format detections and of the labels it loaded.

Ultralytics' validator runs the model (its letterbox, NMS and box rescaling, so nothing of that is re-written) and
collects COCO-format detections (its ``save_json`` path, written to ``predictions.json`` in the val folder). Upstream
then scores custom data sets' JSON with faster-coco-eval (not installed here, and not the reference this project tests
against); :class:`CocoJsonValidator` skips that, and :mod:`yolo_alpha.evaluate` scores with pycocotools instead.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from ultralytics import YOLO
from ultralytics.data.utils import exif_size
from ultralytics.models.yolo.detect import DetectionValidator
from ultralytics.utils import nms

from yolo_alpha.ultralytics.datasets_dir import use_datasets_dir


@contextmanager
def untimed_nms() -> Iterator[None]:
    """Within: Ultralytics' NMS never gives up on a batch, so a validation scores every image it was given.

    Upstream's ``non_max_suppression`` stops after 2 s + 0.05 s per image of a batch and returns the batch's remaining
    images with no detection at all (a log line, "NMS time limit … exceeded"). At the AP confidence 0.001 an anchor head
    keeps thousands of candidates per image (9,072 boxes at 384 px), and on a busy 2-core CPU that limit was crossed
    in every validation of the NEON anchor pilots: AP50 17 % instead of 37 % for the same weights, depending on what
    else ran. A validation is a measurement, so it waits. Validators call it as ``nms.non_max_suppression``; the
    module's function is swapped while the block runs (one process, one validation at a time) and restored after.
    """
    untimed = functools.partial(nms.non_max_suppression, max_time_img=math.inf)
    original, nms.non_max_suppression = nms.non_max_suppression, untimed
    try:
        yield
    finally:
        nms.non_max_suppression = original


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
    with use_datasets_dir(), untimed_nms():  # named sets live in yolo-alpha's cache; every image is scored
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
