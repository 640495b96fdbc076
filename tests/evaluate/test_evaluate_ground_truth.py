"""ground_truth_from_labels: Ultralytics' normalised labels to COCO pixel boxes, ids and categories (no model)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from yolo_alpha.evaluate import coco_ap_table, evaluate_coco, evaluate_training, ground_truth_from_labels


def label(im_file, cls, xywhn, shape=(100, 200)):
    return {"im_file": str(im_file), "cls": np.array(cls, float).reshape(-1, 1), "bboxes": np.array(xywhn, float),
            "shape": shape}  # fmt: skip


def test_boxes_become_top_left_pixel_boxes_with_mapped_categories():
    # A 200 × 100 (w × h) image; centre (0.5, 0.5), size (0.2, 0.4) → x 80, y 30, w 40, h 40.
    gt = ground_truth_from_labels([label("a/000012.jpg", [1], [[0.5, 0.5, 0.2, 0.4]])], class_map=[1, 2])
    assert gt["images"] == [{"id": 12, "width": 200, "height": 100, "file_name": "000012.jpg"}]
    (annotation,) = gt["annotations"]
    assert annotation["bbox"] == pytest.approx([80, 30, 40, 40])
    assert annotation["area"] == pytest.approx(1600)
    assert annotation["category_id"] == 2 and annotation["id"] == 1  # class 1 → id 2; ids start at 1
    assert gt["categories"] == [{"id": 1}, {"id": 2}]


def test_its_own_boxes_as_detections_score_ap_one():
    labels = [
        label("x/img_a.png", [0, 1], [[0.3, 0.3, 0.2, 0.2], [0.7, 0.6, 0.3, 0.5]]),
        label("x/img_b.png", [0], [[0.5, 0.5, 0.9, 0.9]]),
        label("x/empty.png", [], np.zeros((0, 4))),  # an image without objects stays in the set
    ]
    gt = ground_truth_from_labels(labels, class_map=[1, 2])
    assert [i["id"] for i in gt["images"]] == ["img_a", "img_b", "empty"]
    detections = [{**a, "score": 1.0} for a in gt["annotations"]]
    assert coco_ap_table(evaluate_coco(gt, detections))["mAP50-95"] == pytest.approx(1.0)


def test_missing_shape_is_read_from_the_image(tmp_path):
    Image.new("RGB", (64, 48)).save(tmp_path / "7.jpg")
    gt = ground_truth_from_labels([label(tmp_path / "7.jpg", [0], [[0.5, 0.5, 1, 1]], shape=None)], class_map=[1])
    assert (gt["images"][0]["width"], gt["images"][0]["height"]) == (64, 48)
    assert gt["annotations"][0]["bbox"] == pytest.approx([0, 0, 64, 48])


def test_two_images_with_one_stem_are_refused():
    labels = [label("a/1.jpg", [0], [[0.5, 0.5, 0.1, 0.1]]), label("b/1.png", [0], [[0.5, 0.5, 0.1, 0.1]])]
    with pytest.raises(ValueError, match="share the file stem 1"):
        ground_truth_from_labels(labels, class_map=[1])


def test_a_trainer_without_best_pt_reports_ultralytics_numbers_marked_so(tmp_path):
    metrics = SimpleNamespace(box=SimpleNamespace(all_ap=np.full((2, 10), 0.5)))
    trainer = SimpleNamespace(validator=SimpleNamespace(metrics=metrics), best=tmp_path / "missing.pt")
    row = evaluate_training(trainer)
    assert row["evaluator"] == "ultralytics" and row["mAP50-95"] == row["ultralytics_mAP50-95"] == 0.5
    assert "TP50" not in row  # no counts without weights: the report leaves such rows out of Fig. 2
