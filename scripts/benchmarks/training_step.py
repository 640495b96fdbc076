"""The task-aligned training step: a yolov8n forward+loss+backward with every option, and with every registry loss,
vs the stock criterion.

Every option: α-CIoU with IoU-balanced classification and localisation (``iou_cls_eta=1.5 iou_loc_lambda=1.5``),
installed the way the trainer installs them. The whole step is timed, with an A/A control (the stock step timed
twice); the criterion alone on one fixed forward pass, which the goals are judged on, is timed for every option and
for each loss of the registry (:mod:`benchmarks.registry_step`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from benchmarks.common import Measurements, interleaved_medians, timing_table
from benchmarks.registry_step import (
    bench_registry_losses,
    criterion_only,  # noqa: F401  (scripts/gpu_check.py imports it from here)
    worst_figure,
)

EVERY_OPTION = {"loss": "alpha_ciou", "alpha": 3, "iou_cls_eta": 1.5, "iou_loc_lambda": 1.5}


def synthetic_batch(batch_size: int, imgsz: int) -> dict[str, torch.Tensor]:
    """Return a fixed training batch of random images, four random boxes each, in Ultralytics' batch layout."""
    g = torch.Generator().manual_seed(0)
    n_boxes = 4 * batch_size
    centres = torch.rand(n_boxes, 2, generator=g) * 0.6 + 0.2
    sizes = torch.rand(n_boxes, 2, generator=g) * 0.3 + 0.05
    return {
        "img": torch.rand(batch_size, 3, imgsz, imgsz, generator=g),
        "batch_idx": torch.arange(batch_size).repeat_interleave(4).float(),
        "cls": torch.randint(0, 5, (n_boxes, 1), generator=g).float(),
        "bboxes": torch.cat([centres, sizes], 1),
    }


def yolov8n_and_criteria() -> tuple[Any, dict[str, Any]]:
    """Return one yolov8n in train mode and its two criteria, "stock" and "every option"."""
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils import DEFAULT_CFG

    from yolo_alpha.settings import from_flat
    from yolo_alpha.ultralytics.criterion import install_criterion

    # One network for both candidates (only the criterion differs), so that its memory layout and weights cannot
    # make the difference: each candidate sets its criterion before its step.
    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=5, verbose=False).train()
    model.args = get_cfg(DEFAULT_CFG)
    settings = from_flat(EVERY_OPTION)
    return model, {
        "stock": model.init_criterion(),
        "every option": install_criterion(model, settings.loss, settings.balance),
    }


def step_candidates(model: Any, criteria: dict[str, Any], batch: dict) -> dict[str, Callable[[], None]]:
    """Return closures of one whole training step (forward, loss, backward) with each criterion."""

    def step(criterion):
        def run() -> None:
            model.criterion = criterion
            model.zero_grad(set_to_none=True)
            loss, _ = model.loss(batch)
            loss.sum().backward()

        return run

    return {name: step(criterion) for name, criterion in criteria.items()}


def bench_training_step(out: Measurements, batch_size: int, imgsz: int, repeats: int, criterion_repeats: int) -> None:
    """Record the training-step table, the criterion table of every option and every registry loss, and the figures
    their goals are judged on: every option / stock, and the worst registry loss / stock."""
    from yolo_alpha.ultralytics.criterion import install_criterion

    batch = synthetic_batch(batch_size, imgsz)
    model, criteria = yolov8n_and_criteria()
    steps = step_candidates(model, criteria, batch)
    steps = {"stock": steps["stock"], "every option": steps["every option"], "stock (again)": steps["stock"]}
    medians = interleaved_medians(steps, repeats)
    options = " ".join(f"{k}={v}" for k, v in EVERY_OPTION.items())
    out.sections.append(
        timing_table(
            f"yolov8n training step, batch {batch_size} at {imgsz} px",
            medians,
            "stock",
            f'Every option: `{options}`. "stock (again)" times the stock step a second time in each repeat: its '
            "ratio is this machine's noise floor for whole steps, which cannot resolve 2 %; the goals are judged on "
            "the criterion (next table).",
        )
    )
    # The network's forward+backward, identical for every loss, is ~97 % of a step, and on a shared VM two timings of
    # the very same stock step differ by up to ~8 % (the "stock (again)" row). The losses and options only change the
    # criterion, so each goal is judged on (stock step + criterion difference) / stock step.
    step_s = medians["stock"]
    extra, registry = bench_registry_losses(
        out,
        f"yolov8n (task-aligned), batch {batch_size} at {imgsz} px",
        model,
        ("stock", criteria["stock"]),
        {"every option": criteria["every option"]},
        lambda spec: install_criterion(model, spec),
        (batch, criterion_repeats, step_s),
    )
    every_option = extra["every option"]
    out.figures.append(every_option.goal_figure("training step, every option / stock (via the criterion)", step_s))
    out.figures.append(worst_figure("training step (task-aligned), worst registry loss / stock", registry, step_s))
