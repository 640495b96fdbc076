"""COCO-style evaluation with pycocotools on COCO-format dicts: AP per IoU threshold and Fig. 2's true positives.

Inputs are plain COCO data: a ground-truth dataset dict (``images``, ``annotations``, ``categories``) and a list of
detections (``image_id``, ``category_id``, ``bbox`` = [x, y, w, h] in pixels, ``score``), as Ultralytics writes them to
predictions.json. Nothing here knows about YOLO; :mod:`yolo_alpha.evaluate.detector` produces these inputs.
"""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from yolo_alpha.metrics import COUNT_KEYS, COUNT_THRESHOLDS, IOU_THRESHOLDS, ap_by_threshold


def evaluate_coco(
    ground_truth: dict, detections: list[dict], iou_thresholds=IOU_THRESHOLDS, max_det: int = 300, image_ids=None
) -> COCOeval:
    """Return pycocotools' COCOeval of `detections` against `ground_truth`, evaluated and accumulated (bbox, all areas).

    `max_det` replaces COCO's 100 detections per image by Ultralytics' ``max_det`` (300), so both evaluators see the
    same detections. Annotation ids must be ≥ 1: COCOeval stores the matched ground-truth id, and 0 means "no match".
    `image_ids`: score those images only (COCOeval's ``imgIds``), e.g. the tiles of one source image; None: all.
    """
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress on every call
        gt = COCO()
        gt.dataset = copy.deepcopy(ground_truth)
        gt.createIndex()
        if detections:
            dt = gt.loadRes(copy.deepcopy(detections))  # loadRes adds ids and areas to the dicts it is given
        else:  # loadRes refuses an empty list; no detections is a valid result (every AP is 0)
            dt = COCO()
            dt.dataset = {"images": gt.dataset["images"], "categories": gt.dataset["categories"], "annotations": []}
            dt.createIndex()
        cocoeval = COCOeval(gt, dt, iouType="bbox")
        cocoeval.params.iouThrs = np.asarray(iou_thresholds, dtype=float)
        cocoeval.params.maxDets = [max_det]
        if image_ids is not None:
            cocoeval.params.imgIds = list(image_ids)
        cocoeval.evaluate()
        cocoeval.accumulate()
    return cocoeval


def per_class_ap(cocoeval: COCOeval) -> np.ndarray:
    """Return the (nc, T) AP of each category that has ground truth, at each of the eval's T IoU thresholds.

    AP is COCO's: the mean of the interpolated precision at 101 recall points (``eval["precision"]``, all areas, the
    largest max_det). Categories without ground truth hold -1 there and are left out, as Ultralytics leaves them out of
    ``metrics.box.all_ap``.
    """
    precision = cocoeval.eval["precision"][:, :, :, 0, -1]  # (T, R, K)
    has_gt = (precision > -1).any(axis=(0, 1))
    return precision[:, :, has_gt].mean(axis=1).T


def coco_ap_table(cocoeval: COCOeval) -> dict[str, float]:
    """Return {"AP50", …, "AP95", "mAP50-95", "mAP75-95"} (fractions) from a COCOeval at COCO's ten thresholds."""
    thresholds = np.asarray(cocoeval.params.iouThrs)
    if thresholds.shape != IOU_THRESHOLDS.shape or not np.allclose(thresholds, IOU_THRESHOLDS):
        raise ValueError(f"an AP table needs the IoU thresholds {IOU_THRESHOLDS.tolist()}")
    return ap_by_threshold(per_class_ap(cocoeval))


def true_positive_counts(cocoeval: COCOeval, min_score: float = 0.0) -> dict[float, int]:
    """Return {IoU threshold: number of detections with score ≥ `min_score` matched to a ground truth at IoU ≥ it}.

    The matches are COCOeval's own (``evalImgs[*]["dtMatches"]``): per image and category, detections in descending
    score order each take the unmatched ground truth of highest IoU ≥ the threshold, so a ground truth counts at most
    once and a count never exceeds the number of ground truths. Filtering by score after matching equals matching
    only the detections above `min_score`, because a detection is matched before every lower-scored one.
    """
    thresholds = cocoeval.params.iouThrs
    counts = np.zeros(len(thresholds), dtype=int)
    all_areas = cocoeval.params.areaRng[0]
    for image in cocoeval.evalImgs:
        if image is None or list(image["aRng"]) != list(all_areas):
            continue
        keep = np.asarray(image["dtScores"], dtype=float) >= min_score
        matched = (np.asarray(image["dtMatches"]) > 0) & ~np.asarray(image["dtIgnore"], dtype=bool)
        if matched.size:
            counts += matched[:, keep].sum(axis=1)
    return {float(round(t, 2)): int(c) for t, c in zip(thresholds, counts)}


def count_keys(counts: dict[float, int]) -> dict[str, int]:
    """Return {"TP50": …, "TP90": …}: `counts` at COUNT_THRESHOLDS under their results-row key names."""
    return {key: counts[t] for key, t in zip(COUNT_KEYS, COUNT_THRESHOLDS)}
