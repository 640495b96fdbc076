"""The box loss: α-CIoU (α = 3) forward+backward, yolo-alpha's one definition eager and compiled, vs Ultralytics.

On N box pairs: the registered function ``LOSSES["alpha_ciou"].fn`` as training calls it by default (eager), the same
function under ``torch.compile`` (:func:`yolo_alpha.losses.compiled.compiled`, what ``YOLO_ALPHA_COMPILE=1`` makes
training run), ``LossSpec`` itself (the eager function plus its dtype and non-finite guards), Ultralytics
``bbox_iou(CIoU=True)``, torchvision ``complete_box_iou_loss`` and an elementwise pass over the same bytes (the memory
bound). At training-batch sizes, eager against compiled: where compiling starts to pay.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import torch
from torch import Tensor
from torchvision.ops import complete_box_iou_loss
from ultralytics.utils.metrics import bbox_iou

from benchmarks.common import Figure, Measurements, interleaved_medians, timing_table
from yolo_alpha.losses import LOSSES, resolve_loss
from yolo_alpha.losses.compiled import compiled
from yolo_alpha.losses.terms import EPS, IOU_TERMS

EAGER, COMPILED, SPEC, ULTRALYTICS, TORCHVISION, MEMORY = (
    "yolo-alpha alpha_ciou, eager",
    "yolo-alpha alpha_ciou, torch.compile",
    "yolo-alpha LossSpec (training's call, eager)",
    "ultralytics bbox_iou(CIoU=True)",
    "torchvision complete_box_iou_loss",
    "memory bound (pred + target)",
)
SPEC_ALPHA_CIOU = resolve_loss("alpha_ciou", alpha=3.0)
LossCall = Callable[[Tensor, Tensor], Tensor]


def registered_call(fn: Callable[..., Tensor]) -> LossCall:
    """Return ``fn`` (α-CIoU's registered function, or its compiled form) called with the keywords LossSpec gives it."""
    entry = LOSSES[SPEC_ALPHA_CIOU.loss]
    keywords = entry.core_keywords(SPEC_ALPHA_CIOU.alpha, SPEC_ALPHA_CIOU.alpha2, IOU_TERMS[SPEC_ALPHA_CIOU.iou_term])
    params = dict(SPEC_ALPHA_CIOU.params)
    return lambda pred, target: fn(pred, target, eps=EPS, **keywords, **params)


def compiled_alpha_ciou(device: str) -> tuple[LossCall | None, str]:
    """Return α-CIoU's registered function compiled as ``YOLO_ALPHA_COMPILE=1`` compiles it, or None and why not.

    The variable is set for this call only (the other candidates stay eager); one forward+backward compiles it here,
    outside the timings, and a fallback to the eager function (the compiled module warns) counts as not compiled.
    """
    before = os.environ.get("YOLO_ALPHA_COMPILE")
    os.environ["YOLO_ALPHA_COMPILE"] = "1"
    try:
        call = registered_call(compiled(LOSSES[SPEC_ALPHA_CIOU.loss].fn))
    finally:
        if before is None:
            del os.environ["YOLO_ALPHA_COMPILE"]
        else:
            os.environ["YOLO_ALPHA_COMPILE"] = before
    g = torch.Generator().manual_seed(1)
    pred, target = random_boxes(1_000, g, device).requires_grad_(), random_boxes(1_000, g, device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(pred, target).sum().backward()
    fallback = [str(w.message) for w in caught if "torch.compile" in str(w.message)]
    return (None, f"torch.compile failed: {fallback[0]}") if fallback else (call, "")


def random_boxes(n: int, generator: torch.Generator, device: str) -> Tensor:
    """Return n valid xyxy boxes in a 640-px image."""
    xy = torch.rand(n, 2, generator=generator) * 600
    wh = torch.rand(n, 2, generator=generator) * 200 + 1
    return torch.cat([xy, xy + wh], 1).to(device)


def loss_candidates(
    n: int, device: str, definitions: dict[str, LossCall], others: bool = True
) -> dict[str, Callable[[], None]]:
    """Return fwd+bwd closures of each of `definitions` and (with `others`) of the stock CIoUs, on the same n pairs.

    The memory bound is one elementwise pass reading both (n, 4) inputs and writing an (n, 4) result: about the bytes
    a fused forward+backward must move (read pred and target, write the loss and ∂loss/∂pred).
    """
    g = torch.Generator().manual_seed(0)
    pred, target = random_boxes(n, g, device).requires_grad_(), random_boxes(n, g, device)

    def fwd_bwd(loss_fn: Callable[[], Tensor]) -> Callable[[], None]:
        def step() -> None:
            pred.grad = None
            loss_fn().sum().backward()

        return step

    candidates = {name: fwd_bwd(lambda call=call: call(pred, target)) for name, call in definitions.items()}
    if others:
        detached = pred.detach()
        candidates[ULTRALYTICS] = fwd_bwd(lambda: 1 - bbox_iou(pred, target, xywh=False, CIoU=True))
        candidates[TORCHVISION] = fwd_bwd(lambda: complete_box_iou_loss(pred, target))
        candidates[MEMORY] = lambda: detached + target
    return candidates


def device_sync(device: str) -> Callable[[], None]:
    """Return what waits for `device`'s queued work, so that a timing covers it."""
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def measure_large(out: Measurements, device: str, n: int, repeats: int, compiled_call: LossCall | None, why: str):
    """Record the table of every candidate on n pairs and its two figures: Ultralytics / compiled, compiled / memory.

    Without a compiled function (``--quick``, or torch.compile failed) the figures are recorded as not measured, why.
    """
    definitions = {EAGER: registered_call(LOSSES[SPEC_ALPHA_CIOU.loss].fn), SPEC: SPEC_ALPHA_CIOU}
    if compiled_call is not None:
        definitions[COMPILED] = compiled_call
    medians = interleaved_medians(loss_candidates(n, device, definitions), repeats, device_sync(device))
    how = (
        "eager and under `torch.compile(dynamic=True)` (`yolo_alpha.losses.compiled`: what `YOLO_ALPHA_COMPILE=1` "
        "runs in training)"
        if compiled_call
        else f"eager (compiled: not measured, {why})"
    )
    out.sections.append(
        timing_table(
            f"α-CIoU (α = 3) forward+backward, {n:,} pairs, {device}",
            medians,
            ULTRALYTICS,
            f"The registered function `LOSSES['alpha_ciou'].fn`, {how}; `LossSpec` adds its dtype and non-finite "
            "guards to the eager call. Memory bound: `pred + target` on the same (N, 4) tensors.",
        )
    )
    where = f"α-CIoU fwd+bwd, {n:,} pairs ({device})"
    labels = (f"{where}: ultralytics / compiled", f"{where}: compiled / memory bound")
    if compiled_call is None:
        out.figures.extend(Figure(label, None, why) for label in labels)
        return
    out.figures.append(Figure(labels[0], medians[ULTRALYTICS] / medians[COMPILED]))
    out.figures.append(Figure(labels[1], medians[COMPILED] / medians[MEMORY]))


def measure_small(out: Measurements, device: str, sizes: list[int], repeats: int, compiled_call: LossCall) -> None:
    """Record the eager function against its compiled form at each of the training-batch `sizes`."""
    rows = ["| pairs | eager | torch.compile | compiled / eager |", "|---:|---:|---:|---:|"]
    definitions = {EAGER: registered_call(LOSSES[SPEC_ALPHA_CIOU.loss].fn), COMPILED: compiled_call}
    for n in sizes:
        small = interleaved_medians(loss_candidates(n, device, definitions, others=False), repeats, device_sync(device))
        ratio = small[COMPILED] / small[EAGER]
        rows.append(f"| {n:,} | {small[EAGER] * 1e3:.3f} ms | {small[COMPILED] * 1e3:.3f} ms | {ratio:.3f} |")
    out.sections.append(
        f"### α-CIoU eager vs compiled at training-batch sizes, {device}\n\n"
        "Where `YOLO_ALPHA_COMPILE=1` pays: a ratio below 1 means the compiled function is faster (forward+backward, "
        "compiling excluded).\n\n" + "\n".join(rows) + "\n"
    )


def bench_loss(out: Measurements, device: str, n_large: int, n_small: list[int], repeats: int, compiling: bool) -> None:
    """Record the box-loss tables on `device` and the two figures its goals are judged on.

    Without `compiling` (``--quick``) the compiled candidate, its figures and the small sizes are not measured.
    """
    compiled_call, why = compiled_alpha_ciou(device) if compiling else (None, "skipped by --quick (no compiling)")
    measure_large(out, device, n_large, repeats, compiled_call, why)
    if compiled_call is not None:
        measure_small(out, device, n_small, repeats, compiled_call)
