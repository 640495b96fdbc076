"""Which model family a ``model=`` value is: the anchor-based YOLOv5 (ours) or Ultralytics' task-aligned detectors.

The family decides the criterion (YOLOv5's ComputeLoss or Ultralytics' v8 loss with our box term), the keys that
apply (:data:`yolo_alpha.model_families.FAMILIES`, where the families and their rules are defined) and a few
defaults (YOLOv5's box gain). Here a model is read the way training reads it: a module, a YAML, or weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.model_families import ANCHOR_FAMILY, TASK_ALIGNED_FAMILY
from yolo_alpha.ultralytics.anchor_loss import YOLOV5_HYP
from yolo_alpha.ultralytics.anchor_model import AnchorDetectionModel, is_anchor_yaml
from yolo_alpha.ultralytics.checkpoints import read_checkpoint

YOLOV5_BOX_GAIN = YOLOV5_HYP["box"]
"""YOLOv5's ``box`` gain (hyp.scratch-low.yaml and the α-IoU authors' hyp); Ultralytics' default 7.5 is for its loss."""


def model_family(model: Any) -> str:
    """Return ``"anchor"`` or ``"task_aligned"`` for a model object, a model YAML (name, path, dict) or a weights file.

    Anything that cannot be read here (a missing name, official weights to download) is task-aligned: Ultralytics
    then reports it as it would.
    """
    if isinstance(model, nn.Module):
        return ANCHOR_FAMILY if isinstance(model, AnchorDetectionModel) else TASK_ALIGNED_FAMILY
    if isinstance(model, dict) or str(model).lower().endswith((".yaml", ".yml")):
        return ANCHOR_FAMILY if is_anchor_yaml(model) else TASK_ALIGNED_FAMILY
    if isinstance(model, (str, Path)) and str(model).endswith(".pt") and Path(model).is_file():
        try:
            ckpt = read_checkpoint(model)
        except YoloAlphaError:
            return TASK_ALIGNED_FAMILY  # not weights: the weights check names the problem
        return model_family(ckpt.get("ema") or ckpt.get("model"))
    return TASK_ALIGNED_FAMILY
