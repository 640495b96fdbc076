"""evaluate_detector end to end: one tiny trained model, Ultralytics' validator, pycocotools, files and keys."""

from __future__ import annotations

import hashlib
import json

import pytest

from yolo_alpha.errors import ConfigError
from yolo_alpha.evaluate import COUNT_KEYS, count_true_positives, evaluate_detector
from yolo_alpha.metrics import ap_by_threshold
from yolo_alpha.run import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_weights(tiny_data, tmp_path_factory):
    """Return best.pt of a one-epoch yolov8n on the tiny set (shared by this module's tests)."""
    project = tmp_path_factory.mktemp("evaluate_runs")
    model = train(
        data=str(tiny_data), model="yolov8n.yaml", epochs=1, imgsz=64, batch=8, workers=0, device="cpu", seed=0,
        deterministic=True, plots=False, optimizer="SGD", verbose=False, project=str(project), name="train",
    )  # fmt: skip
    return str(model.trainer.best)


def _label_hashes(data_yaml):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in data_yaml.parent.rglob("*.txt")}


def test_evaluate_detector_row_files_and_labels_untouched(tiny_weights, tiny_data, tmp_path):
    before = _label_hashes(tiny_data)
    row = evaluate_detector(tiny_weights, str(tiny_data), imgsz=64, batch=8, device="cpu", project=str(tmp_path))
    assert _label_hashes(tiny_data) == before  # the user's labels are only read
    assert set(row) == {*ap_by_threshold([[0.0] * 10]), "ultralytics_mAP50-95", *COUNT_KEYS, "n_gt", "evaluator"}
    assert row["evaluator"] == "pycocotools"
    # Same detections, two evaluators: within the tolerance of test_evaluate_agreement.
    assert row["mAP50-95"] == pytest.approx(row["ultralytics_mAP50-95"], abs=0.005)
    counts = [row[k] for k in COUNT_KEYS]
    assert all(a >= b for a, b in zip(counts, counts[1:])) and counts[0] <= row["n_gt"]
    ground_truth = json.loads((tmp_path / "coco_eval" / "coco_ground_truth.json").read_text())
    assert len(ground_truth["images"]) == 8 and len(ground_truth["annotations"]) == row["n_gt"] > 0
    detections = json.loads((tmp_path / "coco_eval" / "predictions.json").read_text())
    assert detections  # at conf 0.001 even a one-epoch model proposes boxes
    # The detections' ids are the ground truth's (else pycocotools would silently score every image as missed).
    assert {d["image_id"] for d in detections} <= {i["id"] for i in ground_truth["images"]}
    assert {d["category_id"] for d in detections} <= {c["id"] for c in ground_truth["categories"]}
    assert json.loads((tmp_path / "coco_eval" / "coco_ap.json").read_text())["AP50"] == pytest.approx(row["AP50"])
    assert (tmp_path / "coco_eval_counts").is_dir()  # the counting pass (no predictions.json when nothing is kept)


def test_count_true_positives_matches_the_rows_counts(tiny_weights, tiny_data, tmp_path):
    keys = dict(imgsz=64, batch=8, device="cpu", project=str(tmp_path), name="counts")
    counts = count_true_positives(tiny_weights, str(tiny_data), **keys)
    row = evaluate_detector(tiny_weights, str(tiny_data), **keys)
    assert counts == {k: row[k] for k in (*COUNT_KEYS, "n_gt")}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"count_conf": 0}, r"count_conf must be a finite number in \(0, 1\], got 0"),
        ({"iou": 1.5}, r"iou must be a finite number in \(0, 1\], got 1.5"),
        ({"imgsz_typo": 64}, r"'imgsz_typo' is not a valid"),
    ],
)
def test_bad_keys_are_config_errors(tiny_weights, tiny_data, keys, message):
    with pytest.raises(ConfigError, match=message):
        evaluate_detector(tiny_weights, str(tiny_data), **keys)


def test_missing_weights_is_a_config_error(tiny_data, tmp_path):
    with pytest.raises(ConfigError, match="no such"):
        evaluate_detector(str(tmp_path / "nope.pt"), str(tiny_data))
