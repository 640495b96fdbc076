"""COCO-style evaluation with pycocotools: AP at each IoU threshold and the paper's Fig. 2 true-positive counts."""

from yolo_alpha.evaluate.coco import (
    COUNT_KEYS,
    COUNT_THRESHOLDS,
    coco_ap_table,
    evaluate_coco,
    per_class_ap,
    true_positive_counts,
)
from yolo_alpha.evaluate.detector import (
    count_true_positives,
    evaluate_detector,
    evaluate_training,
    ground_truth_from_labels,
)

__all__ = [
    "COUNT_KEYS",
    "COUNT_THRESHOLDS",
    "coco_ap_table",
    "count_true_positives",
    "evaluate_coco",
    "evaluate_detector",
    "evaluate_training",
    "ground_truth_from_labels",
    "per_class_ap",
    "true_positive_counts",
]
