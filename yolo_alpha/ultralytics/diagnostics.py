"""``diagnostics=True``: per epoch, the positives the assigner hands the box loss and where its gradient goes.

α-IoU's Property 3: with α > 1 the loss's gradient grows with the IoU up to α^{1/(1−α)} and so shifts weight to
high-IoU positives. Whether that happens in training depends on the IoUs the assigner's positives have, and on
the weights it gives them. Each training batch, for every positive i, the recorder takes its IoU with its target
(detached), its weight in the box term w_i (task-aligned: its target score; anchor-based: 1) and the norm of the
gradient of its box loss with respect to its predicted box, g_i = ‖∂ℓ_i/∂b_i‖ (one extra backward pass through the
box loss alone, not through the network). At each epoch's end one row goes to ``<run>/diagnostics.csv``: the
positives per batch, their mean IoU, and per IoU bin [0, 0.1) … [0.9, 1] the share of positives and of the box
gradient Σ w_i g_i.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch

DIAGNOSTICS_FILE = "diagnostics.csv"
IOU_BINS = 10  # bins of width 0.1 on [0, 1]


def bin_labels() -> list[str]:
    """Return the bins' names: "0.0-0.1" … "0.9-1.0"."""
    return [f"{i / IOU_BINS:.1f}-{(i + 1) / IOU_BINS:.1f}" for i in range(IOU_BINS)]


def columns() -> list[str]:
    """Return diagnostics.csv's header."""
    labels = bin_labels()
    return ["epoch", "batches", "positives_per_batch", "mean_iou", *(f"share_{b}" for b in labels),
            *(f"grad_share_{b}" for b in labels)]  # fmt: skip


class BoxDiagnostics:
    """Sums over one epoch's training batches of the positives' counts and box-loss gradients per IoU bin."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start a new epoch."""
        self.batches = 0
        self.iou_sum = 0.0
        self.counts = torch.zeros(IOU_BINS, dtype=torch.float64)
        self.gradient = torch.zeros(IOU_BINS, dtype=torch.float64)

    @torch.no_grad()
    def add(self, iou: torch.Tensor, gradient_norm: torch.Tensor, weight: torch.Tensor | None = None) -> None:
        """Add one batch: the ``(N,)`` IoUs, gradient norms g_i and box-term weights w_i (None = 1) of its positives."""
        self.batches += 1
        if not len(iou):
            return
        iou = iou.detach().double().cpu().clamp(0, 1)
        g = gradient_norm.detach().double().cpu()
        if weight is not None:
            g = g * weight.detach().double().cpu()
        bins = (iou * IOU_BINS).long().clamp(max=IOU_BINS - 1)
        self.iou_sum += float(iou.sum())
        self.counts += torch.bincount(bins, minlength=IOU_BINS).double()
        self.gradient += torch.zeros(IOU_BINS, dtype=torch.float64).index_add_(0, bins, torch.nan_to_num(g))

    def row(self, epoch: int) -> dict[str, float]:
        """Return this epoch's row of diagnostics.csv (epoch counted from 1)."""
        total, grad = float(self.counts.sum()), float(self.gradient.sum())
        row = {
            "epoch": epoch,
            "batches": self.batches,
            "positives_per_batch": round(total / self.batches, 3) if self.batches else 0.0,
            "mean_iou": round(self.iou_sum / total, 5) if total else float("nan"),
        }
        for label, n, g in zip(bin_labels(), self.counts.tolist(), self.gradient.tolist()):
            row[f"share_{label}"] = round(n / total, 5) if total else 0.0
            row[f"grad_share_{label}"] = round(g / grad, 5) if grad > 0 else 0.0
        return row


def per_box_gradient_norm(loss: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """Return ‖∂loss_i/∂pred_i‖ of each row of an ``(N,)`` per-box loss with respect to its ``(N, 4)`` boxes.

    The rows are independent, so one backward pass of their sum gives every row's own gradient; the graph is kept
    for the training step's backward.
    """
    (grad,) = torch.autograd.grad(loss.sum(), pred, retain_graph=True, allow_unused=True)
    return torch.zeros(len(pred), device=pred.device) if grad is None else grad.norm(dim=-1)


def append_row(run_dir: str | Path, row: dict[str, float]) -> Path:
    """Append `row` to ``<run_dir>/diagnostics.csv`` (the header first when the file is new)."""
    path = Path(run_dir) / DIAGNOSTICS_FILE
    new = not path.is_file()
    with path.open("a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns())
        if new:
            writer.writeheader()
        writer.writerow(row)
    return path
