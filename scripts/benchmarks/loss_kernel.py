"""The box loss: α-CIoU forward+backward, yolo-alpha's fused kernel vs its reference path, Ultralytics, torchvision.

On N box pairs: the fused kernel (compiled for large N) against Ultralytics ``bbox_iou(CIoU=True)`` and against an
elementwise pass over the same bytes (the memory bound); at training-batch sizes the eager fused path against the
reference, which backs the policy ``yolo_alpha.losses.fused.use_fused``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchvision.ops import complete_box_iou_loss
from ultralytics.utils.metrics import bbox_iou

from benchmarks.common import Figure, Measurements, interleaved_medians, timing_table
from yolo_alpha.losses import IOU_TERMS, LOSSES
from yolo_alpha.losses.fused import COMPILE_MIN_PAIRS, fused_loss, set_compile

FUSED, REFERENCE, ULTRALYTICS, TORCHVISION, MEMORY = (
    "yolo-alpha fused",
    "yolo-alpha reference",
    "ultralytics bbox_iou(CIoU=True)",
    "torchvision complete_box_iou_loss",
    "memory bound (pred + target)",
)


def random_boxes(n: int, generator: torch.Generator, device: str) -> torch.Tensor:
    """Return n valid xyxy boxes in a 640-px image."""
    xy = torch.rand(n, 2, generator=generator) * 600
    wh = torch.rand(n, 2, generator=generator) * 200 + 1
    return torch.cat([xy, xy + wh], 1).to(device)


def loss_candidates(n: int, device: str, others: bool = True) -> dict[str, Callable[[], None]]:
    """Return fwd+bwd closures of α-CIoU (α = 3), fused and reference, and of the stock CIoUs, on the same n pairs.

    The memory bound is one elementwise pass reading both (n, 4) inputs and writing an (n, 4) result: about the bytes
    a fused forward+backward must move (read pred and target, write the loss and ∂loss/∂pred).
    """
    g = torch.Generator().manual_seed(0)
    pred, target = random_boxes(n, g, device).requires_grad_(), random_boxes(n, g, device)
    reference = LOSSES["alpha_ciou"]  # the plain autograd path (LossSpec itself dispatches to the fused kernel)
    fused = fused_loss("alpha_ciou")
    power = IOU_TERMS["power"]

    def fwd_bwd(loss_fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def step() -> None:
            pred.grad = None
            loss_fn().sum().backward()

        return step

    candidates = {
        FUSED: fwd_bwd(lambda: fused(pred, target, alpha=3.0, alpha2=3.0, iou_term=power)),
        REFERENCE: fwd_bwd(lambda: reference(pred, target, alpha=3.0, alpha2=3.0, iou_term=power)),
    }
    if others:
        detached = pred.detach()
        candidates[ULTRALYTICS] = fwd_bwd(lambda: 1 - bbox_iou(pred, target, xywh=False, CIoU=True))
        candidates[TORCHVISION] = fwd_bwd(lambda: complete_box_iou_loss(pred, target))
        candidates[MEMORY] = lambda: detached + target
    return candidates


def device_sync(device: str) -> Callable[[], None]:
    """Return what waits for `device`'s queued work, so that a timing covers it."""
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def measure_large(out: Measurements, device: str, n: int, repeats: int, compiled: bool) -> None:
    """Record the table of every candidate on n pairs and its two figures: Ultralytics / fused, fused / memory."""
    how = "compiled (torch.compile)" if compiled and n >= COMPILE_MIN_PAIRS else "eager"
    medians = interleaved_medians(loss_candidates(n, device), repeats, device_sync(device))
    out.sections.append(
        timing_table(
            f"α-CIoU (α = 3) forward+backward, {n:,} pairs, {device}",
            medians,
            ULTRALYTICS,
            f"Fused kernel: {how}. Memory bound: `pred + target` on the same (N, 4) tensors.",
        )
    )
    where = f"α-CIoU fwd+bwd, {n:,} pairs ({device})"
    out.figures.append(Figure(f"{where}: ultralytics / fused", medians[ULTRALYTICS] / medians[FUSED]))
    out.figures.append(Figure(f"{where}: fused / memory bound", medians[FUSED] / medians[MEMORY]))


def measure_small(out: Measurements, device: str, sizes: list[int], repeats: int, compiled: bool) -> None:
    """Record the eager fused path against the reference at each of the training-batch `sizes`."""
    rows = ["| pairs | fused (eager) | reference | fused / reference |", "|---:|---:|---:|---:|"]
    set_compile(False)  # the policy's small sizes: the eager fused path, as training batches use it
    try:
        for n in sizes:
            small = interleaved_medians(loss_candidates(n, device, others=False), repeats, device_sync(device))
            ratio = small[FUSED] / small[REFERENCE]
            rows.append(f"| {n:,} | {small[FUSED] * 1e3:.3f} ms | {small[REFERENCE] * 1e3:.3f} ms | {ratio:.3f} |")
    finally:
        set_compile(compiled)
    out.sections.append(
        f"### Eager fused vs reference at training-batch sizes, {device}\n\n"
        "Backs `use_fused(n_pairs, device)`: a ratio below 1 means the fused path is faster.\n\n"
        + "\n".join(rows)
        + "\n"
    )


def bench_loss(out: Measurements, device: str, n_large: int, n_small: list[int], repeats: int, compiled: bool) -> None:
    """Record the box-loss tables on `device` and the two figures its goals are judged on."""
    measure_large(out, device, n_large, repeats, compiled)
    measure_small(out, device, n_small, repeats, compiled)
