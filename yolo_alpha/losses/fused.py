"""Fused α-IoU losses: forward and closed-form backward in one pass, a drop-in for the reference loss functions.

Which code runs: training (:class:`~.spec.LossSpec` called by the Ultralytics seam, and :func:`~.spec.box_loss`) runs
this fused path for ``alpha_iou alpha_giou alpha_diou alpha_ciou iou giou diou ciou`` on every non-empty batch on
CPU or CUDA (:func:`use_fused`). The documented functions of :mod:`~.iou_family` are the reference: they define
the losses (formulas, equation numbers, gradient stops) and run for every other loss, device and empty input.
tests/losses/test_fused.py holds the two equal (values and gradients to 1e-10 in float64, degenerate boxes
included), so a change to one of these losses is made in :mod:`~.iou_family` first and then in its piece of
:mod:`~.fused_kernel` (one function per penalty kind, :data:`~.fused_kernel.PENALTIES`).

``fused_loss(name)`` returns, for ``alpha_iou alpha_giou alpha_diou alpha_ciou`` and the classic ``iou giou diou
ciou``, a function with the registry signature ``fn(pred, target, *, alpha, alpha2, iou_term, eps) -> (N,)`` that
gives the same values and gradients as :data:`~.registry.LOSSES` ``[name]`` (the reference path, kept as it is),
or None for a loss with no fused form. ``use_fused(n_pairs, device)`` says where the fused form is the faster one.

How: a custom :class:`torch.autograd.Function` whose forward calls :func:`~.fused_kernel.loss_and_grads`, which
computes the loss and ``∂loss_i/∂boxes_i`` together, saves only those gradients (``(N, 4)`` per input that needs
one), and whose backward scales them by the incoming gradient. No autograd graph of ~100 nodes is built or walked.
For large inputs (``n_pairs >= COMPILE_MIN_PAIRS``) the kernel is also compiled with ``torch.compile`` into one
vectorised loop over blocks of pairs (:func:`to_blocks`), lazily, once per setting, and the eager kernel is used
instead if compiling fails; compiling can be switched off with ``set_compile(False)`` or ``YOLO_ALPHA_COMPILE=0``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from yolo_alpha.losses.fused_kernel import loss_and_grads
from yolo_alpha.losses.registry import IoUTerm, LossFn
from yolo_alpha.losses.terms import EPS, IOU_TERMS

FUSED_KINDS = {
    "alpha_iou": "iou",
    "alpha_giou": "giou",
    "alpha_diou": "diou",
    "alpha_ciou": "ciou",
    "iou": "iou",
    "giou": "giou",
    "diou": "diou",
    "ciou": "ciou",
}
"""Loss name -> its penalty kind in :mod:`~.fused_kernel`; names absent here have no fused form."""

CLASSIC = frozenset({"iou", "giou", "diou", "ciou"})

COMPILE_MIN_PAIRS = 100_000
"""Compile the kernel from this many pairs on. A compile costs 15-60 s once per setting on a 2-core CPU, so smaller
inputs (a training batch has ~10³ foreground pairs; the tests use a few dozen) take the eager fused kernel."""

_TERM_KINDS = {fn: kind for kind, fn in IOU_TERMS.items()}  # IoU term function -> "power" / "boxcox"
_compile_enabled = os.environ.get("YOLO_ALPHA_COMPILE", "1") != "0"
_compiled_fns: dict[tuple, Callable[..., Any] | None] = {}  # key -> compiled function, None where compiling failed


def set_compile(enabled: bool) -> None:
    """Allow or forbid ``torch.compile`` of the fused kernel for large inputs (allowed unless YOLO_ALPHA_COMPILE=0)."""
    global _compile_enabled
    _compile_enabled = bool(enabled)


def use_fused(n_pairs: int, device: torch.device | str) -> bool:
    """Return whether the fused loss is faster than the reference path for ``n_pairs`` pairs on ``device``.

    Measured on a 2-core CPU (scripts/bench.py, docs/benchmarks.md): the eager fused path is faster than the
    reference from 10³ pairs (a training batch) to 10⁶ (it launches fewer kernels and builds no graph), and compiled
    it is faster still on large inputs. On CUDA it is chosen for the same reason (half the kernel launches, which
    dominate at batch sizes); bench.py adds the CUDA figures where a GPU is present. An empty input has nothing
    to gain and takes the reference path (the fused one handles it too).
    """
    return n_pairs > 0 and torch.device(device).type in ("cpu", "cuda")


BLOCK = 16
"""Pairs per block of the compiled path's ``(N / B, 4, B)`` layout: one or two SIMD vectors of float32."""


def _compiled_kernel(options: dict[str, Any]) -> Callable[[Tensor, Tensor], tuple] | None:
    """Return the compiled kernel for these options (compiled lazily, once), or None where compiling is off/failed."""
    key = tuple(sorted(options.items()))
    if not _compile_enabled or _compiled_fns.get(key, True) is None:
        return None
    if key not in _compiled_fns:
        # The options are closed over, so the compiler sees α, α₂ as constants (α = 3 becomes x·x·x, not pow).
        _compiled_fns[key] = torch.compile(
            lambda pred, target: loss_and_grads(pred, target, coord_dim=1, stack=False, **options)
        )
    return _compiled_fns[key]


def to_blocks(boxes: Tensor, block: int = BLOCK) -> Tensor:
    """Return ``(N, 4)`` boxes as ``(ceil(N / block), 4, block)``: each block holds x1, y1, x2, y2 of block pairs.

    One pass over the boxes (a blocked transpose reads and writes whole cache lines, unlike an ``(N, 4) -> (4, N)``
    one). The last block is padded with zero boxes, whose loss is finite and is dropped.
    """
    n = boxes.shape[0]
    full, rest = divmod(n, block)
    blocks = boxes.new_empty((full + (rest > 0), 4, block))
    blocks[:full] = boxes[: full * block].view(full, block, 4).transpose(1, 2)
    if rest:
        blocks[full] = 0
        blocks[full, :, :rest] = boxes[full * block :].t()
    return blocks


def from_blocks(columns: Sequence[Tensor], n: int, scale: Tensor) -> Tensor:
    """Return ``(n, 4)`` rows from the four ``(N / B, B)`` coordinate blocks, each pair's row times ``scale[i]``."""
    rows = torch.stack(tuple(columns), -1)  # (N / B, B, 4): already the rows' memory order
    n_blocks, block, _ = rows.shape
    padded = scale.new_zeros(n_blocks * block)
    padded[:n] = scale
    return rows.mul_(padded.view(n_blocks, block, 1)).view(-1, 4)[:n]


def _run_kernel(
    pred: Tensor, target: Tensor, options: dict[str, Any]
) -> tuple[Tensor, Tensor | None, Tensor | None, bool]:
    """Return ``(loss, ∂pred, ∂target, blocked)``: compiled on blocks for large inputs where allowed, else eager."""
    n = pred.shape[0]
    kernel = _compiled_kernel(options) if n >= COMPILE_MIN_PAIRS else None
    if kernel is not None:
        try:
            pred_blocks, target_blocks = to_blocks(pred), to_blocks(target)
            # Only the number of blocks varies between calls: one compiled loop serves every N.
            torch._dynamo.mark_dynamic(pred_blocks, 0)
            torch._dynamo.mark_dynamic(target_blocks, 0)
            loss, grad_pred, grad_target = kernel(pred_blocks, target_blocks)
            return loss.reshape(-1)[:n], grad_pred, grad_target, True
        except Exception as error:  # any compiler failure: inductor, no C++ compiler, triton
            warnings.warn(f"torch.compile of the fused box loss failed ({error!r}); using eager code", stacklevel=2)
            _compiled_fns[tuple(sorted(options.items()))] = None
    return (*loss_and_grads(pred, target, **options), False)


class FusedAlphaIoU(torch.autograd.Function):
    """Autograd function of the fused α-IoU family: forward returns the loss ``(N,)``, saving its box gradients."""

    @staticmethod
    def forward(ctx, pred: Tensor, target: Tensor, options: dict[str, Any]) -> Tensor:
        want_pred, want_target = ctx.needs_input_grad[:2]
        loss, grad_pred, grad_target, ctx.blocked = _run_kernel(
            pred, target, {**options, "want_pred": want_pred, "want_target": want_target}
        )
        # Blocked gradients are four coordinate tensors each; they are stacked into rows in backward, with the scale.
        ctx.has_grad = (grad_pred is not None, grad_target is not None)
        parts = [grad for grad in (grad_pred, grad_target) if grad is not None]
        ctx.save_for_backward(*(tensor for grad in parts for tensor in (grad if ctx.blocked else (grad,))))
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        # Pairs are independent: row i of ∂loss/∂boxes times ∂out/∂loss_i.
        saved = list(ctx.saved_tensors)
        width = 4 if ctx.blocked else 1
        grads = []
        for has_grad in ctx.has_grad:
            if not has_grad:
                grads.append(None)
                continue
            part, saved = saved[:width], saved[width:]
            if ctx.blocked:
                grads.append(from_blocks(part, grad_loss.shape[0], grad_loss))
            else:
                grads.append(part[0] * grad_loss.unsqueeze(-1))
        return grads[0], grads[1], None


def _fused_form(name: str, kind: str) -> LossFn:
    def fused(
        pred: Tensor,
        target: Tensor,
        *,
        alpha: float = 1.0 if name in CLASSIC else 3.0,
        alpha2: float | None = None,
        iou_term: IoUTerm = IOU_TERMS["power"],
        eps: float = EPS,
    ) -> Tensor:
        if name in CLASSIC and (alpha != 1 or alpha2 not in (None, 1)):
            raise ValueError(f"{name} is the α = 1 loss; got alpha={alpha!r}, alpha2={alpha2!r} (use alpha_{name})")
        if iou_term not in _TERM_KINDS:
            raise ValueError(f"iou_term must be one of terms.IOU_TERMS' functions, got {iou_term!r}")
        # As LossSpec: half precision is computed (and returned) in float32, autocast off; float64 stays float64.
        dtype = torch.float64 if torch.promote_types(pred.dtype, target.dtype) == torch.float64 else torch.float32
        options = {
            "kind": kind,
            "term": _TERM_KINDS[iou_term],
            "alpha": float(alpha),
            "alpha2": float(alpha if alpha2 is None else alpha2),
            "eps": float(eps),
        }
        with torch.autocast(device_type=pred.device.type, enabled=False):
            return FusedAlphaIoU.apply(pred.to(dtype), target.to(dtype), options)

    fused.__name__ = fused.__qualname__ = f"fused_{name}_loss"
    fused.__doc__ = (
        f"Return the {name} loss of each aligned xyxy box pair, shape ``(N,)``: the reference ``LOSSES[{name!r}]`` "
        "computed with its closed-form gradient in one pass (see :mod:`yolo_alpha.losses.fused`)."
    )
    return fused


_FUSED: dict[str, LossFn] = {name: _fused_form(name, kind) for name, kind in FUSED_KINDS.items()}


def fused_loss(name: str) -> LossFn | None:
    """Return the fused form of registered loss ``name`` (registry signature, same values and gradients), or None."""
    return _FUSED.get(name)
