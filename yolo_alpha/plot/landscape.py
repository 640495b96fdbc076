"""``yolo-alpha plot landscape``: each loss as a heat map over the shift (dx, dy) of a predicted box, with arrows.

A predicted box of the ground truth's size is moved over a grid of shifts around the ground truth; every panel shows
the loss (colour) and −∂L/∂(dx, dy) (arrows, from autograd through :func:`yolo_alpha.losses.box_loss`). Outside the
dashed rectangle the boxes are disjoint: there IoU is 0 for every shift, so the plain IoU loss is flat (no arrows),
while GIoU/DIoU/CIoU still point towards the ground truth ("Why IoU loss beats L1", loss landscapes).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display is ever needed

import matplotlib.pyplot as plt
import numpy as np
import torch

from yolo_alpha.losses import box_loss
from yolo_alpha.plot.files import DEFAULT_OUT, save_figure
from yolo_alpha.plot.keys import int_at_least, loss_label, loss_names, positive_float

DEFAULT_LOSSES = ("l1", "iou", "giou", "diou", "ciou", "alpha_ciou", "soft_iou")
# Ground truth centred at the origin, 4 × 3: the size of an object in Ultralytics' grid units (stride-8..32 cells),
# the units the losses see in training and for which their constants (e.g. soft_iou's κ) are chosen.
TARGET_BOX = (-2.0, -1.5, 2.0, 1.5)
ARROWS_PER_SIDE = 13  # quiver on a coarser grid than the heat map, so arrows stay readable
MAX_STEPS = 201
"""Most grid points per axis: a panel's heat map is ~400 px wide at the figure's 120 dpi, so 201 points are already
2 px each; more are not drawn, only computed (steps² pairs per loss, with autograd, and a CSV row each)."""
STEPS_WHY = f"a panel is ~400 px wide: more than {MAX_STEPS} points per axis would not be drawn"


def shift_grid(extent: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the shifts (dx, dy), each ``(steps,)``, spanning ± ``extent`` × the target's width (dx) / height (dy)."""
    x1, y1, x2, y2 = TARGET_BOX
    return np.linspace(-extent, extent, steps) * (x2 - x1), np.linspace(-extent, extent, steps) * (y2 - y1)


def loss_landscape(loss: str, dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (L, ∂L/∂dx, ∂L/∂dy), each ``(len(dy), len(dx))``, of ``loss`` for the target box shifted by (dx, dy).

    Row i, column j is the predicted box ``TARGET_BOX + (dx[j], dy[i], dx[j], dy[i])``; float64, autograd.
    """
    grid_y, grid_x = np.meshgrid(dy, dx, indexing="ij")
    shift_x = torch.tensor(grid_x.ravel(), dtype=torch.float64, requires_grad=True)
    shift_y = torch.tensor(grid_y.ravel(), dtype=torch.float64, requires_grad=True)
    target = torch.tensor(TARGET_BOX, dtype=torch.float64).expand(shift_x.numel(), 4)
    pred = target + torch.stack((shift_x, shift_y, shift_x, shift_y), dim=-1)
    value = box_loss(pred, target, loss=loss)
    grad_x, grad_y = torch.autograd.grad(value.sum(), (shift_x, shift_y))  # pairs are independent: sum separates
    shape = grid_x.shape
    return value.detach().numpy().reshape(shape), grad_x.numpy().reshape(shape), grad_y.numpy().reshape(shape)


def landscape_data(losses: list[str], extent: float = 2.5, steps: int = 41) -> list[dict]:
    """Return rows ``{loss, dx, dy, iou, value, grad_dx, grad_dy}`` over the shift grid, one block per loss.

    ``dx``, ``dy`` are in box units (the target box is :data:`TARGET_BOX`); ``iou`` is the IoU of the shifted pair;
    ``grad_*`` is ∂L/∂(dx, dy) (the arrows point the other way).
    """
    dx, dy = shift_grid(extent, steps)
    iou = 1 - loss_landscape("iou", dx, dy)[0]
    grid_y, grid_x = np.meshgrid(dy, dx, indexing="ij")
    rows = []
    for loss in losses:
        value, grad_x, grad_y = loss_landscape(loss, dx, dy)
        rows += [
            {"loss": loss, "dx": x, "dy": y, "iou": i, "value": v, "grad_dx": gx, "grad_dy": gy}
            for x, y, i, v, gx, gy in zip(
                grid_x.ravel().tolist(),
                grid_y.ravel().tolist(),
                iou.ravel().tolist(),
                value.ravel().tolist(),
                grad_x.ravel().tolist(),
                grad_y.ravel().tolist(),
            )
        ]
    return rows


def _panel(ax, rows: list[dict], loss: str) -> None:
    """Draw one loss's heat map, its −gradient arrows, the ground truth and the disjoint-boxes boundary on ``ax``."""
    dx = np.array(sorted({r["dx"] for r in rows}))
    dy = np.array(sorted({r["dy"] for r in rows}))
    value, grad_x, grad_y = (
        np.array([r[k] for r in rows]).reshape(len(dy), len(dx)) for k in ("value", "grad_dx", "grad_dy")
    )
    x1, y1, x2, y2 = TARGET_BOX
    width, height = x2 - x1, y2 - y1
    mesh = ax.pcolormesh(dx / width, dy / height, value, shading="nearest", cmap="viridis")
    ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.03)
    step = max(1, math.ceil(len(dx) / ARROWS_PER_SIDE))
    sub = (slice(None, None, step), slice(None, None, step))
    # Axes are in box widths/heights, so the arrows are too. Gradient norms span orders of magnitude within a panel
    # (steep near the optimum, shallow far away), so arrow length grows with √|∇L|: far arrows stay visible, while
    # a zero gradient still draws nothing. Each panel's longest arrow is one arrow spacing long.
    u, v = -grad_x[sub] * width, -grad_y[sub] * height
    norm = np.hypot(u, v)
    if norm.max() > 0:
        length = np.sqrt(norm / norm.max()) * step * (dx[1] - dx[0]) / width
        direction = np.divide(length, norm, out=np.zeros_like(norm), where=norm > 0)
        ax.quiver(
            dx[::step] / width,
            dy[::step] / height,
            u * direction,
            v * direction,
            angles="xy",
            scale_units="xy",
            scale=1,
            color="white",
            width=0.006,
            minlength=0,  # a zero gradient draws nothing (not a dot): the flat region stays empty
        )
    # Outside this rectangle (centre shift beyond one width/height) the two boxes do not overlap.
    ax.add_patch(plt.Rectangle((-1, -1), 2, 2, fill=False, linestyle="--", edgecolor="white", linewidth=0.8))
    ax.plot(0, 0, marker="+", color="red", markersize=9)
    ax.set(title=loss_label(loss), xlabel="dx / w", ylabel="dy / h", aspect="equal")


def plot_landscape(rows: list[dict], axes=None):
    """Return (fig, axes) with one :func:`landscape_data` panel per loss, side by side (rows of up to 4 panels)."""
    losses = list(dict.fromkeys(r["loss"] for r in rows))
    if axes is None:
        ncols = min(len(losses), 4)
        nrows = math.ceil(len(losses) / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
        axes = axes.ravel()
        for ax in axes[len(losses) :]:
            ax.set_visible(False)
    fig = axes[0].figure
    for ax, loss in zip(axes, losses):
        _panel(ax, [r for r in rows if r["loss"] == loss], loss)
    fig.suptitle(
        "Loss over the shift (dx, dy) of a predicted box; arrows: −∂L/∂(dx, dy), length ∝ √|∇L|; "
        "outside the dashed square the boxes are disjoint"
    )
    fig.tight_layout()
    return fig, axes


def write_landscape(
    out: str | Path = DEFAULT_OUT, *, losses: Any = DEFAULT_LOSSES, extent: Any = 2.5, steps: Any = 41
) -> Path:
    """Return the PNG written to ``<out>/landscape.png`` (next free name if taken), with the CSV of its numbers.

    Args:
        out: output folder.
        losses: registered loss names (a list, or ``"iou,giou"`` as on the command line), one panel each.
        extent: the shifts span ± extent × the target's width (dx) and height (dy); > 0.
        steps: grid points per axis, 3 to :data:`MAX_STEPS` (odd keeps the zero shift on the grid).

    Raises:
        ConfigError: naming ``losses``, ``extent`` or ``steps`` for a bad value.
    """
    rows = landscape_data(
        loss_names("losses", losses),
        positive_float("extent", extent),
        int_at_least("steps", steps, 3, MAX_STEPS, STEPS_WHY),
    )
    fig, _ = plot_landscape(rows)
    return save_figure(fig, rows, out, "landscape")
