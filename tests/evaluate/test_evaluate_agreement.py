"""pycocotools and Ultralytics' metrics agree on the same detections (a seeded set of hits, misses and duplicates).

Ultralytics is the reference of ``metrics.box.all_ap`` (the numbers `yolo val` prints); pycocotools is COCO's. They
differ by design only in how the precision envelope is integrated (Ultralytics: trapezoids over 101 recall points;
COCO: the mean of the 101 points) and in ties, so their APs agree closely
(measured on seeds 0-3: largest difference 0.0025).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ultralytics.models.yolo.detect import DetectionValidator
from ultralytics.utils.metrics import ap_per_class, box_iou

from yolo_alpha.evaluate import coco_ap_table, evaluate_coco
from yolo_alpha.metrics import ap_by_threshold

TOLERANCE = 0.005  # absolute, on AP fractions: twice the largest difference measured


def seeded_scene(seed: int = 0, n_images: int = 30, nc: int = 3):
    """Return (per-image ground truth and detections in xyxy pixels) with known noise: jittered hits, FPs, dups."""
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(n_images):
        n = rng.integers(1, 6)
        xy = rng.uniform(0, 400, (n, 2))
        wh = rng.uniform(20, 200, (n, 2))
        gt = np.concatenate([xy, xy + wh], 1)
        gt_cls = rng.integers(0, nc, n)
        found = rng.random(n) < 0.85
        pred = gt[found] + rng.normal(0, 0.08, (found.sum(), 4)) * np.tile(wh[found], 2)  # IoU spread 0.5 … 1
        pred_cls = np.where(rng.random(found.sum()) < 0.9, gt_cls[found], rng.integers(0, nc, found.sum()))
        n_fp = rng.integers(0, 3)
        fp_xy = rng.uniform(0, 400, (n_fp, 2))
        fp = np.concatenate([fp_xy, fp_xy + rng.uniform(20, 200, (n_fp, 2))], 1)
        pred = np.concatenate([pred, fp, pred[:1] + 3])  # plus one near-duplicate of the first hit
        pred_cls = np.concatenate([pred_cls, rng.integers(0, nc, n_fp), pred_cls[:1]])
        scenes.append((gt, gt_cls, pred, pred_cls, rng.random(len(pred))))
    return scenes


def ultralytics_table(scenes, nc: int = 3) -> dict[str, float]:
    validator = DetectionValidator()
    tps, confs, pred_classes, target_classes = [], [], [], []
    for gt, gt_cls, pred, pred_cls, score in scenes:
        order = np.argsort(-score)  # Ultralytics matches NMS output, which is sorted by confidence
        pred, pred_cls, score = pred[order], pred_cls[order], score[order]
        iou = box_iou(torch.tensor(gt), torch.tensor(pred))
        tps.append(validator.match_predictions(torch.tensor(pred_cls), torch.tensor(gt_cls), iou).numpy())
        confs.append(score)
        pred_classes.append(pred_cls)
        target_classes.append(gt_cls)
    result = ap_per_class(
        np.concatenate(tps), np.concatenate(confs), np.concatenate(pred_classes), np.concatenate(target_classes)
    )
    all_ap = result[5]  # (classes with labels, 10)
    return ap_by_threshold(all_ap)


def coco_table(scenes) -> dict[str, float]:
    images, annotations, detections = [], [], []
    for image_id, (gt, gt_cls, pred, pred_cls, score) in enumerate(scenes, start=1):
        images.append({"id": image_id, "width": 640, "height": 640})
        for box, c in zip(gt, gt_cls):
            ltwh = [*box[:2], *(box[2:] - box[:2])]
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image_id, "category_id": int(c) + 1, "bbox": ltwh,
                 "area": ltwh[2] * ltwh[3], "iscrowd": 0}
            )  # fmt: skip
        for box, c, s in zip(pred, pred_cls, score):
            ltwh = [*box[:2], *(box[2:] - box[:2])]
            detections.append({"image_id": image_id, "category_id": int(c) + 1, "bbox": ltwh, "score": float(s)})
    ground_truth = {"images": images, "annotations": annotations, "categories": [{"id": c} for c in (1, 2, 3)]}
    return coco_ap_table(evaluate_coco(ground_truth, detections))


@pytest.mark.parametrize("seed", [0, 1])
def test_pycocotools_and_ultralytics_agree(seed):
    scenes = seeded_scene(seed)
    coco, ultralytics = coco_table(scenes), ultralytics_table(scenes)
    assert 0.2 < coco["mAP50-95"] < 0.9  # a scene with real misses at every threshold, not all 0 or 1
    assert coco == pytest.approx(ultralytics, abs=TOLERANCE)
