"""The two model families (the report's "regimes"), by how positives are chosen, and the rules that tell them apart.

Defined once, below the Ultralytics adapter and the settings: training (:mod:`yolo_alpha.ultralytics.families`, which
reads a model object, YAML or weights), the keys (:mod:`yolo_alpha.settings`), the suites and the reports of results
rows (:mod:`yolo_alpha.reproduce`, which know a model only by the name a row records) all name the families from here.
Plain Python: no torch, no Ultralytics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ANCHOR_FAMILY, TASK_ALIGNED_FAMILY = "anchor", "task_aligned"
FAMILIES = {
    ANCHOR_FAMILY: "the anchor-based YOLOv5 (model=yolov5{n,s,m,l,x}-anchor.yaml): YOLOv5's ComputeLoss, the paper's",
    TASK_ALIGNED_FAMILY: "Ultralytics' anchor-free detectors (yolov5u, yolov8, yolo11, yolo26): task-aligned assigner",
}
"""The model families, in the order reports list them; a key with ``families`` applies only to those."""

ANCHOR_HEAD = "AnchorDetect"
"""The module name, in a model YAML's last head line, that marks the anchor family."""

ANCHOR_NAME = re.compile(r"-anchor\.ya?ml$", re.IGNORECASE)
"""How the shipped anchor YAMLs are named (``yolov5{n,s,m,l,x}-anchor.yaml``); the tests check every shipped YAML."""


def has_anchor_head(model: Mapping[str, Any]) -> bool:
    """Return True if a model dict's last head line is ``[from, number, AnchorDetect, args]``: the anchor family.

    The rule training applies to a model YAML it can read (:func:`yolo_alpha.ultralytics.anchor_model.is_anchor_yaml`).
    """
    head = model.get("head") or []
    return bool(head) and len(head[-1]) == 4 and head[-1][2] == ANCHOR_HEAD


def family_of_name(model: Any) -> str:
    """Return ``"anchor"`` for a model named ``*-anchor.yaml`` (any folder, any case), else ``"task_aligned"``.

    The rule for a model known only by its name, as a results row records it: a row's YAML may not be readable where
    its report is written. Training holds a named YAML's head to it (:func:`~yolo_alpha.ultralytics.anchor_model.
    is_anchor_yaml` refuses a YAML whose head and name disagree), so a YAML has one family whichever rule reads it.
    Weights (``.pt``) count as task-aligned: their name does not say.
    """
    name = re.split(r"[\\/]", str(model))[-1]
    return ANCHOR_FAMILY if ANCHOR_NAME.search(name) else TASK_ALIGNED_FAMILY
