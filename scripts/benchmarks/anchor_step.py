"""The anchor family's training step: yolov5n-anchor with every registry loss vs with CIoU (YOLOv5's ComputeLoss, our
box term: what stock YOLOv5 trains), and against Ultralytics' task-aligned yolov5nu with its stock criterion (a ratio to
report, not a goal).

As for yolov8n (training_step.py), the goals are judged on the criterion timed alone on one fixed forward pass, added
to the whole step (:mod:`benchmarks.registry_step`): the network is the same for every loss and dominates the step.
"""

from __future__ import annotations

from typing import Any

import torch

from benchmarks.common import Measurements, interleaved_medians, timing_table
from benchmarks.registry_step import bench_registry_losses, worst_figure
from benchmarks.training_step import step_candidates, synthetic_batch


def anchor_model_and_criteria() -> tuple[Any, dict[str, Any]]:
    """Return one yolov5n-anchor in train mode (YOLOv5's gains) and its "CIoU" and "α-CIoU" criteria."""
    from ultralytics.cfg import get_cfg
    from ultralytics.utils import DEFAULT_CFG

    from yolo_alpha.losses import resolve_loss
    from yolo_alpha.ultralytics.anchor_loss import AnchorComputeLoss
    from yolo_alpha.ultralytics.anchor_model import AnchorDetectionModel
    from yolo_alpha.ultralytics.families import YOLOV5_BOX_GAIN

    torch.manual_seed(0)
    model = AnchorDetectionModel("yolov5n-anchor.yaml", nc=5, verbose=False).train()
    model.args = get_cfg(DEFAULT_CFG, {"box": YOLOV5_BOX_GAIN})
    criteria = {
        name: AnchorComputeLoss(model, resolve_loss(loss))
        for name, loss in (("CIoU", "ciou"), ("α-CIoU", "alpha_ciou"))
    }
    return model, criteria


def stock_yolov5nu() -> tuple[Any, dict[str, Any]]:
    """Return Ultralytics' task-aligned yolov5nu in train mode with its stock criterion."""
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils import DEFAULT_CFG

    torch.manual_seed(0)
    model = DetectionModel("yolov5nu.yaml", nc=5, verbose=False).train()
    model.args = get_cfg(DEFAULT_CFG)
    return model, {"yolov5nu stock": model.init_criterion()}


def bench_anchor_step(out: Measurements, batch_size: int, imgsz: int, repeats: int, criterion_repeats: int) -> None:
    """Record the anchor family's step table, its registry-loss criterion table, its goals' figures (α-CIoU / CIoU,
    the worst registry loss / CIoU) and the ratio to yolov5nu."""
    from yolo_alpha.ultralytics.anchor_loss import AnchorComputeLoss

    batch = synthetic_batch(batch_size, imgsz)
    model, criteria = anchor_model_and_criteria()
    v5u, v5u_criteria = stock_yolov5nu()
    steps = step_candidates(model, criteria, batch)
    steps = {**steps, "CIoU (again)": steps["CIoU"], **step_candidates(v5u, v5u_criteria, batch)}
    medians = interleaved_medians(steps, repeats)
    versus_v5u = medians["CIoU"] / medians["yolov5nu stock"]
    out.sections.append(
        timing_table(
            f"yolov5n-anchor training step, batch {batch_size} at {imgsz} px",
            medians,
            "CIoU",
            '"CIoU (again)" is this machine\'s noise floor for whole steps; "yolov5nu stock" is Ultralytics\' '
            f"task-aligned YOLOv5n with its own criterion: the anchor step takes {versus_v5u:.2f}× its time.",
        )
    )
    step_s = medians["CIoU"]
    _, registry = bench_registry_losses(
        out,
        f"yolov5n-anchor (YOLOv5's ComputeLoss), batch {batch_size} at {imgsz} px",
        model,
        ("CIoU", criteria["CIoU"]),
        {},
        lambda spec: AnchorComputeLoss(model, spec),
        (batch, criterion_repeats, step_s),
        remark="The ciou row is the baseline itself, timed again: an A/A control of this table's figures.",
    )
    (alpha_ciou,) = [row for row in registry if row.name == "alpha_ciou"]
    out.figures.append(alpha_ciou.goal_figure("anchor training step, α-CIoU / CIoU (via the criterion)", step_s))
    out.figures.append(worst_figure("anchor training step, worst registry loss / CIoU", registry, step_s))
