"""AP of a tiled val split on each source image's tiles alone (the cross-site reading of NEON's val split)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from yolo_alpha.evaluate.coco import coco_ap_table, evaluate_coco
from yolo_alpha.evaluate.detector import MAX_SOURCES, ValidationRun, ap_by_source, source_groups


def tiled_run(files_boxes: dict[str, list[list[float]]], detections: list[dict]) -> ValidationRun:
    """A validation pass over images named `files_boxes`' keys, one class, with the given boxes and detections."""
    images, annotations = [], []
    for file_name, boxes in files_boxes.items():
        images.append({"id": Path(file_name).stem, "width": 64, "height": 64, "file_name": file_name})
        for box in boxes:
            annotations.append(
                {"id": len(annotations) + 1, "image_id": Path(file_name).stem, "category_id": 1, "bbox": box,
                 "area": box[2] * box[3], "iscrowd": 0}
            )  # fmt: skip
    gt = {"images": images, "annotations": annotations, "categories": [{"id": 1}]}
    return ValidationRun(gt, detections, np.zeros((1, 10)), 300, Path("."))


def hit(image: str, box: list[float], score: float = 0.9) -> dict:
    return {"image_id": image, "category_id": 1, "bbox": box, "score": score}


BOX, OTHER = [4.0, 4.0, 20.0, 20.0], [40.0, 40.0, 16.0, 16.0]
SITES = {
    "yell_x0000_y0000.png": [BOX, OTHER],
    "yell_x0064_y0000.png": [BOX],
    "osbs_x0000_y0000.png": [BOX],
    "soap_x0000_y0000.png": [],  # a tile without crowns: its source has no AP
}


def test_each_source_is_scored_on_its_own_tiles_with_the_same_detections():
    # every Yellowstone crown found; the OSBS crown missed, with a false positive scored above every hit
    found = [hit("yell_x0000_y0000", BOX), hit("yell_x0000_y0000", OTHER), hit("yell_x0064_y0000", BOX)]
    run_ = tiled_run(SITES, [*found, hit("osbs_x0000_y0000", OTHER, score=0.95)])
    by_source = ap_by_source(run_)
    assert set(by_source) == {"yell", "osbs"}  # soap: no ground truth, no AP
    assert by_source["yell"]["AP50"] == pytest.approx(1.0) and by_source["yell"]["n_gt"] == 3
    assert by_source["osbs"]["AP50"] == pytest.approx(0.0) and by_source["osbs"]["n_gt"] == 1
    pooled = coco_ap_table(evaluate_coco(run_.ground_truth, run_.detections))["AP50"]
    assert 0 < pooled < 1  # the pooled AP mixes both; neither source's is it


def test_only_a_split_of_tiles_from_several_sources_is_grouped():
    assert source_groups(tiled_run(SITES, []).ground_truth) == {
        "yell": ["yell_x0000_y0000", "yell_x0064_y0000"], "osbs": ["osbs_x0000_y0000"], "soap": ["soap_x0000_y0000"]
    }  # fmt: skip
    one_source = {k: v for k, v in SITES.items() if k.startswith("yell")}
    assert source_groups(tiled_run(one_source, []).ground_truth) == {}
    many = {f"scene{i}_x0000_y0000.png": [BOX] for i in range(MAX_SOURCES + 1)}  # an AP per source would be noise
    assert len(source_groups(tiled_run(dict(list(many.items())[:-1]), []).ground_truth)) == MAX_SOURCES
    assert source_groups(tiled_run(many, []).ground_truth) == {}
    not_tiles = {"000001.png": [BOX], "yell_x0000_y0000.png": [BOX]}  # the synthetic set's names are no tiles
    assert source_groups(tiled_run(not_tiles, []).ground_truth) == {}
    assert ap_by_source(tiled_run(not_tiles, [])) == {}
