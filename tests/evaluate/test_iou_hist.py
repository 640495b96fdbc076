"""plot_iou_hist end to end on the tiny set with two untrained checkpoints (labels, files, counts, key errors)."""

from __future__ import annotations

import csv

import matplotlib.image as mpimg
import pytest
import torch
from ultralytics import YOLO

from yolo_alpha.config import ConfigError
from yolo_alpha.evaluate.iou_hist import plot_iou_hist, weights_label

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_weights(tmp_path_factory):
    """Return two checkpoints of an untrained yolov8n: one with a recorded loss and α, one without (stock)."""
    folder = tmp_path_factory.mktemp("iou_hist_weights")
    paths = []
    for name, train_args in (("alpha", {"loss": "alpha_ciou", "alpha": 3.0}), ("stock", {})):
        path = folder / name / "weights" / "best.pt"
        path.parent.mkdir(parents=True)
        YOLO("yolov8n.yaml").save(path)
        ckpt = torch.load(path, weights_only=False)
        ckpt["train_args"] = {**(ckpt.get("train_args") or {}), **train_args, "imgsz": 64}
        torch.save(ckpt, path)
        paths.append(str(path))
    return paths


def test_labels_come_from_the_checkpoint(two_weights):
    assert weights_label(two_weights[0]) == "alpha_ciou α=3 (alpha/best.pt)"
    assert weights_label(two_weights[1]) == "stock/best.pt"  # no recorded loss: the run folder and file


def test_plot_iou_hist_writes_png_and_counts(two_weights, tiny_data, tmp_path):
    png = plot_iou_hist(tmp_path, weights=two_weights, data=str(tiny_data), imgsz=64, batch=8, device="cpu")
    assert png == tmp_path / "iou_hist.png"
    image = mpimg.imread(png)
    assert image.shape[0] > 100 and image.shape[1] > 100
    with png.with_suffix(".csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 5  # two weights × IoU ≥ 0.5, 0.6, 0.7, 0.8, 0.9
    assert [float(r["iou_threshold"]) for r in rows[:5]] == [0.5, 0.6, 0.7, 0.8, 0.9]
    assert {r["config"] for r in rows} == {"alpha_ciou α=3 (alpha/best.pt)", "stock/best.pt"}
    for r in rows:
        assert 0 <= int(r["mean"]) <= int(r["n_gt"]) and int(r["n_gt"]) > 0
    assert (tmp_path / "iou_hist_val").is_dir()  # the validator's folders stay under out


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"weights": None}, "needs weights="),
        ({"data": None}, "needs data="),
        ({"weights": ["missing.pt"]}, "weights=missing.pt: no such trained weights"),
        ({"conf": 2.0}, r"conf must be a finite number in \(0, 1\], got 2.0"),
    ],
)
def test_bad_keys_are_config_errors(two_weights, tiny_data, tmp_path, keys, message):
    keys = {"weights": two_weights[:1], "data": str(tiny_data), **keys}
    with pytest.raises(ConfigError, match=message):
        plot_iou_hist(tmp_path, **keys)
