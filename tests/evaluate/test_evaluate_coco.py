"""evaluate_coco / coco_ap_table / true_positive_counts on hand-made detections with exactly known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yolo_alpha.evaluate import (
    COUNT_THRESHOLDS,
    coco_ap_table,
    evaluate_coco,
    per_class_ap,
    true_positive_counts,
)
from yolo_alpha.evaluate.coco import count_keys


def ground_truth(boxes_by_image: dict[int, list[tuple[int, list[float]]]], categories=(1, 2)) -> dict:
    """COCO ground truth from {image_id: [(category_id, [x, y, w, h]), …]}; annotation ids from 1."""
    annotations = [
        {"id": 0, "image_id": i, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": 0}
        for i, boxes in boxes_by_image.items()
        for c, b in boxes
    ]
    for n, a in enumerate(annotations, start=1):
        a["id"] = n
    images = [{"id": i, "width": 640, "height": 640} for i in boxes_by_image]
    return {"images": images, "annotations": annotations, "categories": [{"id": c} for c in categories]}


def det(image_id, category_id, bbox, score):
    return {"image_id": image_id, "category_id": category_id, "bbox": list(bbox), "score": score}


GT = ground_truth({1: [(1, [10, 10, 100, 100]), (2, [200, 200, 50, 80])], 2: [(1, [300, 50, 120, 60])]})
PERFECT = [det(a["image_id"], a["category_id"], a["bbox"], 0.9) for a in GT["annotations"]]


def counts_of(gt, dets, min_score=0.0):
    return true_positive_counts(evaluate_coco(gt, dets, COUNT_THRESHOLDS), min_score)


def test_perfect_predictions_have_ap_one_and_count_every_box():
    table = coco_ap_table(evaluate_coco(GT, PERFECT))
    assert table == pytest.approx(dict.fromkeys(table, 1.0))
    assert counts_of(GT, PERFECT) == dict.fromkeys(COUNT_THRESHOLDS, 3)
    assert count_keys(counts_of(GT, PERFECT)) == {"TP50": 3, "TP60": 3, "TP70": 3, "TP80": 3, "TP90": 3}


def test_a_box_at_iou_076_is_a_hit_up_to_threshold_075_only():
    gt = ground_truth({1: [(1, [0, 0, 100, 100])]})
    shifted = [det(1, 1, [0, 0, 76, 100], 0.9)]  # inside the ground truth: IoU = 7600 / 10000 = 0.76
    table = coco_ap_table(evaluate_coco(gt, shifted))
    assert [table[f"AP{t}"] for t in range(50, 100, 5)] == pytest.approx([1.0] * 6 + [0.0] * 4)
    assert table["mAP50-95"] == pytest.approx(6 / 10)
    assert table["mAP75-95"] == pytest.approx(1 / 5)  # only AP75 of AP75 … AP95
    assert counts_of(gt, shifted) == {0.5: 1, 0.6: 1, 0.7: 1, 0.8: 0, 0.9: 0}


def test_ranked_hit_miss_hit_has_the_hand_computed_ap():
    # 2 ground truths; detections by score: hit, false positive, hit. Precision/recall: (1, 0.5), (0.5, 0.5),
    # (2/3, 1). COCO's interpolated precision is 1 at the 51 recall points 0.00 … 0.50 and 2/3 at the 50 above.
    gt = ground_truth({1: [(1, [0, 0, 50, 50]), (1, [100, 100, 50, 50])]})
    dets = [det(1, 1, [0, 0, 50, 50], 0.9), det(1, 1, [300, 300, 50, 50], 0.8), det(1, 1, [100, 100, 50, 50], 0.7)]
    table = coco_ap_table(evaluate_coco(gt, dets))
    assert table["AP50"] == pytest.approx((51 * 1 + 50 * 2 / 3) / 101)
    assert table["mAP50-95"] == pytest.approx(table["AP50"])  # exact boxes: the same at every threshold


def test_image_ids_score_those_images_alone():
    # image 1: its box found; image 2: its box missed, a false positive scored above image 1's hit
    gt = ground_truth({1: [(1, [0, 0, 50, 50])], 2: [(1, [0, 0, 50, 50])]})
    dets = [det(1, 1, [0, 0, 50, 50], 0.5), det(2, 1, [300, 300, 50, 50], 0.9)]
    assert coco_ap_table(evaluate_coco(gt, dets, image_ids=[1]))["AP50"] == pytest.approx(1.0)
    assert coco_ap_table(evaluate_coco(gt, dets, image_ids=[2]))["AP50"] == pytest.approx(0.0)
    # pooled: precision 1/2 at recall 1/2 (the false positive ranks first): 51 recall points of 101 at 1/2
    assert coco_ap_table(evaluate_coco(gt, dets))["AP50"] == pytest.approx(51 * 0.5 / 101)


def test_a_duplicate_counts_once_and_a_wrong_class_never():
    gt = ground_truth({1: [(1, [0, 0, 50, 50])]})
    duplicate = [det(1, 1, [0, 0, 50, 50], 0.9), det(1, 1, [0, 0, 50, 50], 0.8)]
    assert counts_of(gt, duplicate) == dict.fromkeys(COUNT_THRESHOLDS, 1)  # one ground truth, one match
    assert coco_ap_table(evaluate_coco(gt, duplicate))["AP95"] == pytest.approx(1.0)  # the FP ranks below recall 1
    wrong_class = [det(1, 2, [0, 0, 50, 50], 0.9)]
    assert counts_of(gt, wrong_class) == dict.fromkeys(COUNT_THRESHOLDS, 0)
    assert coco_ap_table(evaluate_coco(gt, wrong_class))["mAP50-95"] == 0.0


def test_min_score_drops_low_confidence_hits_from_counts():
    dets = [{**d, "score": s} for d, s in zip(PERFECT, (0.9, 0.3, 0.1))]
    assert counts_of(GT, dets, min_score=0.25) == dict.fromkeys(COUNT_THRESHOLDS, 2)
    assert counts_of(GT, dets, min_score=0.0) == dict.fromkeys(COUNT_THRESHOLDS, 3)


def test_no_detections_give_zeros():
    table = coco_ap_table(evaluate_coco(GT, []))
    assert table == dict.fromkeys(table, 0.0)
    assert counts_of(GT, []) == dict.fromkeys(COUNT_THRESHOLDS, 0)


def test_a_category_without_ground_truth_is_left_out_of_the_mean():
    gt = ground_truth({1: [(1, [0, 0, 50, 50])]}, categories=(1, 2, 3))
    dets = [det(1, 1, [0, 0, 50, 50], 0.9), det(1, 3, [200, 200, 50, 50], 0.9)]  # class 3: a false positive only
    assert per_class_ap(evaluate_coco(gt, dets)).shape == (1, 10)  # as Ultralytics: classes with labels only
    assert coco_ap_table(evaluate_coco(gt, dets))["mAP50-95"] == pytest.approx(1.0)


def test_an_ap_table_needs_cocos_ten_thresholds():
    with pytest.raises(ValueError, match="IoU thresholds"):
        coco_ap_table(evaluate_coco(GT, PERFECT, COUNT_THRESHOLDS))


boxes = st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(5, 120), st.integers(5, 120))


@settings(max_examples=25, deadline=None)
@given(
    gt_boxes=st.lists(boxes, min_size=1, max_size=6),
    jitter=st.lists(st.tuples(st.integers(-15, 15), st.integers(-15, 15), st.floats(0.01, 1.0)), max_size=8),
)
def test_counts_fall_with_the_threshold_and_never_exceed_the_ground_truths(gt_boxes, jitter):
    gt = ground_truth({1: [(1, list(map(float, b))) for b in gt_boxes]})
    dets = [
        det(1, 1, [b[0] + dx, b[1] + dy, b[2], b[3]], score)
        for b, (dx, dy, score) in zip(gt_boxes * 2, jitter)  # may put two detections on one box
    ]
    counts = list(counts_of(gt, dets).values())
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    assert counts[0] <= min(len(gt_boxes), len(dets))
    ap = np.array(list(coco_ap_table(evaluate_coco(gt, dets)).values()))
    assert ((ap >= 0) & (ap <= 1)).all()
