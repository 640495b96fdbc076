"""``yolo-alpha plot iou-hist``: the α-IoU paper's Fig. 2 for trained weights, true positives at IoU ≥ 0.5 … 0.9.

For each weights file, Ultralytics' validator predicts the data set's val split (NMS IoU 0.5 as the paper, confidence
``conf``, default 0.25) and pycocotools matches the detections to the ground truth
(:func:`yolo_alpha.evaluate.count_true_positives`, the same counting as a sweep's rows and its report). Several
weights share one chart, each labelled by the loss and α recorded in its checkpoint. It lives in ``evaluate/``, not
``plot/``: it runs a detector, and nothing under ``plot/`` reaches training or the Ultralytics adapter (the plot
dispatcher loads this module by name when the figure is asked for).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display is ever needed

from ultralytics import YOLO

from yolo_alpha.charts.counts import plot_count_bars
from yolo_alpha.charts.files import save_figure
from yolo_alpha.errors import ConfigError
from yolo_alpha.evaluate.detector import count_true_positives
from yolo_alpha.metrics import COUNT_CONF, COUNT_KEYS, COUNT_THRESHOLDS


def weights_label(weights: str) -> str:
    """Return "alpha_ciou α=3 (train3/best.pt)": the loss and α recorded in the checkpoint, then where it lies.

    The loss comes from the checkpoint's ``train_args``, else from the pickled model's ``args`` (Ultralytics may drop
    keys it does not know from ``train_args``); weights trained without yolo-alpha show only their path.
    """
    path = Path(weights)
    # An Ultralytics run keeps weights in <run>/weights/: the run's name is what tells two best.pt apart.
    folder = path.parent.parent.name if path.parent.name == "weights" else path.parent.name
    where = f"{folder}/{path.name}" if folder else path.name
    model = YOLO(str(weights))
    recorded = {**(getattr(model.model, "args", None) or {}), **(model.ckpt.get("train_args") or {})}
    loss = recorded.get("loss")
    if not loss:
        return where
    alpha = recorded.get("alpha")
    return f"{loss}{f' α={alpha:g}' if isinstance(alpha, (int, float)) else ''} ({where})"


def iou_hist_data(weights: list[str], data: str, *, out: Path, **val_keys: Any) -> list[dict]:
    """Return rows ``{config, weights, iou_threshold, mean, std, n_gt}``: each model's true positives per threshold.

    ``mean`` is the count (one model, so ``std`` is None), named as in the report's Fig. 2 rows. The validator's
    folders go under ``<out>/iou_hist_val/``.
    """
    rows = []
    for path in weights:
        counts = count_true_positives(
            str(path), data, **val_keys, project=str(Path(out) / "iou_hist_val"), name=Path(path).stem
        )
        label = weights_label(path)
        rows += [
            {"config": label, "weights": str(path), "iou_threshold": t, "mean": counts[key], "std": None,
             "n_gt": counts["n_gt"]}
            for t, key in zip(COUNT_THRESHOLDS, COUNT_KEYS)
        ]  # fmt: skip
    return rows


def plot_iou_hist(
    out: Path,
    *,
    weights: list[str] | None = None,
    data: str | None = None,
    conf: float = COUNT_CONF,
    **val_keys: Any,
) -> Path:
    """Return ``<out>/iou_hist.png`` (next free number if taken), written with ``iou_hist.csv`` of the counts.

    Keys: ``weights`` (one or more .pt files), ``data`` (a data set YAML, its val split is used), ``conf`` (minimum
    score of a counted detection, default 0.25), and Ultralytics' ``imgsz``, ``batch``, ``device``.
    """
    if not weights:
        raise ConfigError("plot iou-hist needs weights=<a.pt>[,<b.pt>,…] (trained detectors to compare)")
    if not data:
        raise ConfigError("plot iou-hist needs data=<data.yaml> (its val split is predicted)")
    val_keys = {k: v for k, v in val_keys.items() if v is not None}
    rows = iou_hist_data(list(weights), str(data), out=Path(out), conf=conf, **val_keys)
    n_gt = rows[0]["n_gt"]
    fig, _ = plot_count_bars(rows, title=f"Detections after NMS (IoU 0.5, conf ≥ {conf:g}); {n_gt} ground truths")
    return save_figure(fig, rows, out, "iou_hist")
