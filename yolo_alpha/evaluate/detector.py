"""COCO-style evaluation of trained weights on a YOLO-format data set: Ultralytics predicts, pycocotools scores.

Ultralytics' own validator (:func:`yolo_alpha.ultralytics.validator.run_validator`) runs the model and collects
COCO-format detections. The ground truth is built from the labels the validator itself loaded (so segment labels,
``single_cls`` and classes are read the way Ultralytics reads them) and written next to them as
``coco_ground_truth.json``; the user's label files are only read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yolo_alpha import checks, run
from yolo_alpha.data.named_sets import resolve_data
from yolo_alpha.data.tiling import tile_source
from yolo_alpha.evaluate.coco import (
    COUNT_THRESHOLDS,
    coco_ap_table,
    count_keys,
    evaluate_coco,
    true_positive_counts,
)
from yolo_alpha.metrics import AP_CONF, AP_NMS_IOU, COUNT_CONF, COUNT_NMS_IOU, ap_by_threshold
from yolo_alpha.ultralytics.validator import image_shape, run_validator

EVALUATOR = "pycocotools"


@dataclass
class ValidationRun:
    """What one validator pass produced: COCO ground truth and detections, Ultralytics' AP, and where it wrote."""

    ground_truth: dict
    detections: list[dict]
    ultralytics_all_ap: np.ndarray  # (nc, 10), metrics.box.all_ap of the same detections
    max_det: int
    save_dir: Path


def image_id_of(im_file: str | Path) -> int | str:
    """Return the COCO image id Ultralytics writes for an image: its file stem, as an int when it is all digits."""
    stem = Path(im_file).stem
    return int(stem) if stem.isnumeric() else stem


def ground_truth_from_labels(labels: list[dict], class_map: list[int]) -> dict:
    """Return a COCO ground-truth dict from Ultralytics dataset labels (normalised xywh, optional (h, w) ``shape``).

    Category ids are ``class_map[class]`` (Ultralytics' map: class + 1, or COCO's 91 ids on COCO itself), so they match
    the detections' ``category_id``. Raises ValueError when two images share a file stem (their detections would be
    indistinguishable).
    """
    images, annotations, seen = [], [], {}
    for label in labels:
        image_id = image_id_of(label["im_file"])
        if image_id in seen:
            raise ValueError(
                f"images {seen[image_id]} and {label['im_file']} share the file stem {image_id!r}; COCO-style "
                "evaluation identifies images by stem, so rename one of them"
            )
        seen[image_id] = label["im_file"]
        shape = label.get("shape")
        # Rectangular validation batches drop the labels' "shape": read it as Ultralytics' label check does.
        height, width = (int(v) for v in (image_shape(label["im_file"]) if shape is None else shape))
        images.append({"id": image_id, "width": width, "height": height, "file_name": Path(label["im_file"]).name})
        for (xc, yc, w, h), cls in zip(np.asarray(label["bboxes"]).reshape(-1, 4), np.asarray(label["cls"]).ravel()):
            box = [(xc - w / 2) * width, (yc - h / 2) * height, w * width, h * height]
            annotations.append(
                {
                    "id": len(annotations) + 1,  # ids start at 1: COCOeval reads a matched id of 0 as no match
                    "image_id": image_id,
                    "category_id": int(class_map[int(cls)]),
                    "bbox": [float(v) for v in box],
                    "area": float(box[2] * box[3]),
                    "iscrowd": 0,
                }
            )
    return {"images": images, "annotations": annotations, "categories": [{"id": int(c)} for c in class_map]}


def validate_for_coco(weights: str, data: str, *, conf: float, iou: float, **val_keys: Any) -> ValidationRun:
    """Return one Ultralytics validation pass of `weights` on `data` (its val split) as COCO ground truth + detections.

    `conf` and `iou` are the validator's confidence and NMS IoU thresholds; other keys go to ``YOLO.val`` (imgsz,
    batch, device, split, project, name, …). Writes predictions.json and coco_ground_truth.json to the val folder.
    """
    validated = run_validator(weights, data, conf=conf, iou=iou, **val_keys)
    ground_truth = ground_truth_from_labels(validated.labels, validated.class_map)
    (validated.save_dir / "coco_ground_truth.json").write_text(json.dumps(ground_truth), encoding="utf-8")
    return ValidationRun(
        ground_truth=ground_truth,
        detections=validated.detections,
        ultralytics_all_ap=validated.ultralytics_all_ap,
        max_det=validated.max_det,
        save_dir=validated.save_dir,
    )


def check_evaluation_keys(weights: str, data: str, thresholds: dict[str, float], val_keys: dict) -> str:
    """Return the data set's YAML path after checking weights, data, thresholds and Ultralytics keys (ConfigError)."""
    for key, value in thresholds.items():
        checks.number(key, value, low=0, high=1, low_open=True)
    if not str(weights).endswith(".pt") or not Path(weights).is_file():
        raise run.ConfigError(f"weights={weights}: no such trained weights file (.pt)")
    run.check_settings({**val_keys, "data": str(data)}, "val")  # Ultralytics' key and value checks, naming the key
    data = resolve_data(data)  # a named set: generated once, then cached
    run.check_local_files({**val_keys, "model": str(weights), "data": data}, "val", key="weights")
    return data


def count_true_positives(
    weights: str, data: str, *, conf: float = COUNT_CONF, iou: float = COUNT_NMS_IOU, **val_keys: Any
) -> dict[str, int]:
    """Return {"TP50", …, "TP90", "n_gt"}: detections after NMS matched to a ground truth at IoU ≥ 0.5, …, 0.9.

    The paper's Fig. 2 ("number of positively predicted bboxes" after NMS at IoU 0.5). A detection counts when its
    score is ≥ `conf`, its class is right and COCOeval matched it one-to-one (see ``true_positive_counts``).
    """
    data = check_evaluation_keys(weights, data, {"conf": conf, "iou": iou}, val_keys)
    return _counts(validate_for_coco(str(weights), data, conf=conf, iou=iou, **val_keys), conf)


def _counts(run_: ValidationRun, conf: float) -> dict[str, int]:
    cocoeval = evaluate_coco(run_.ground_truth, run_.detections, COUNT_THRESHOLDS, run_.max_det)
    return {**count_keys(true_positive_counts(cocoeval, min_score=conf)), "n_gt": len(run_.ground_truth["annotations"])}


def evaluate_detector(
    weights: str,
    data: str,
    *,
    conf: float = AP_CONF,
    iou: float = AP_NMS_IOU,
    count_conf: float = COUNT_CONF,
    count_iou: float = COUNT_NMS_IOU,
    name: str = "coco_eval",
    **val_keys: Any,
) -> dict[str, Any]:
    """Return the COCO-style numbers of `weights` on `data`'s val split, as flat results-row keys.

    Keys: AP50 … AP95, mAP50-95, mAP75-95 (pycocotools, fractions; :func:`yolo_alpha.metrics.ap_by_threshold` names),
    ``ultralytics_mAP50-95`` (Ultralytics' ``metrics.box.all_ap`` of the same detections, for comparison), TP50 … TP90
    and n_gt (Fig. 2, from a second pass with NMS IoU `count_iou` and confidence `count_conf`), ``evaluator``, and
    for a val split of tiles from several source images ``by_source`` (:func:`ap_by_source`).
    The two passes write to ``<project>/<name>`` and ``<project>/<name>_counts`` (Ultralytics' val folders).
    """
    thresholds = {"conf": conf, "iou": iou, "count_conf": count_conf, "count_iou": count_iou}
    data = check_evaluation_keys(weights, data, thresholds, val_keys)
    ap_run = validate_for_coco(str(weights), data, conf=conf, iou=iou, name=name, **val_keys)
    table = coco_ap_table(evaluate_coco(ap_run.ground_truth, ap_run.detections, max_det=ap_run.max_det))
    (ap_run.save_dir / "coco_ap.json").write_text(json.dumps(table, indent=1), encoding="utf-8")
    by_source = ap_by_source(ap_run)
    count_run = validate_for_coco(str(weights), data, conf=count_conf, iou=count_iou, name=f"{name}_counts", **val_keys)
    return {
        **table,
        **({"by_source": by_source} if by_source else {}),
        "ultralytics_mAP50-95": ap_by_threshold(ap_run.ultralytics_all_ap)["mAP50-95"],
        **_counts(count_run, count_conf),
        "evaluator": EVALUATOR,
    }


MAX_SOURCES = 8  # beyond a few source images (sites, scenes), an AP per source is noise, and a report of pages


def source_groups(ground_truth: dict) -> dict[str, list]:
    """Return {source image stem: its image ids} when every image is a tile (``<stem>_x0400_y0000.png``) and they
    come from 2 to :data:`MAX_SOURCES` source images; {} otherwise (one source, many, or images that are no tiles)."""
    groups: dict[str, list] = {}
    for image in ground_truth["images"]:
        source = tile_source(image["file_name"])
        if source is None:
            return {}
        groups.setdefault(source, []).append(image["id"])
    return groups if 1 < len(groups) <= MAX_SOURCES else {}


def ap_by_source(run_: ValidationRun) -> dict[str, dict[str, float]]:
    """Return {source: AP table with ``n_gt``} of a val split tiled from several source images, each scored on its own
    tiles (the same detections; a source without ground truth has no AP and is left out); {} for any other split.

    Where the sources are sites (NEON's val split: one Yellowstone crop, one of OSBS, one of SOAP), this is the
    cross-site reading of the pooled AP.
    """
    out = {}
    for source, ids in source_groups(run_.ground_truth).items():
        wanted = set(ids)
        n_gt = sum(1 for a in run_.ground_truth["annotations"] if a["image_id"] in wanted)
        if n_gt:
            cocoeval = evaluate_coco(run_.ground_truth, run_.detections, max_det=run_.max_det, image_ids=ids)
            out[source] = {**coco_ap_table(cocoeval), "n_gt": n_gt}
    return out


def evaluate_training(trainer: Any) -> dict[str, Any]:
    """Return a sweep row's metrics for a finished Ultralytics trainer: :func:`evaluate_detector` of its best.pt.

    Every cell is evaluated with the same thresholds (the module defaults) on its own data set's val split, at its
    training image size, into ``<run>/coco_eval``. A trainer without a best.pt on disk (a stand-in, or a run that
    saved none) reports Ultralytics' final-validation AP instead, marked ``evaluator: "ultralytics"``.
    """
    ultralytics = ap_by_threshold(trainer.validator.metrics.box.all_ap)
    best = getattr(trainer, "best", None)
    if best is None or not Path(best).is_file():
        return {**ultralytics, "ultralytics_mAP50-95": ultralytics["mAP50-95"], "evaluator": "ultralytics"}
    args = trainer.args
    batch = args.batch if isinstance(args.batch, int) and args.batch > 0 else 16  # auto-batch (-1) is a train key
    return evaluate_detector(
        str(best), args.data, imgsz=args.imgsz, batch=batch, device=args.device, workers=args.workers,
        single_cls=args.single_cls, project=str(trainer.save_dir), exist_ok=True,
    )  # fmt: skip
