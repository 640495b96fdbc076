"""``yolo-alpha plot reweighting``: the α-IoU paper's Fig. 1, L = 1 − IoU^α and |∂L/∂IoU| against IoU for several α.

Both curves come from the registered ``alpha_iou`` loss (:func:`yolo_alpha.losses.box_loss`) and autograd, not from
the closed forms, so the figure shows what training uses; the tests compare them with the closed forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display is ever needed

import matplotlib.pyplot as plt
import numpy as np
import torch

from yolo_alpha.losses import box_loss
from yolo_alpha.plot.files import DEFAULT_OUT, save_figure
from yolo_alpha.plot.keys import positive_floats

DEFAULT_ALPHAS = (0.5, 1.0, 2.0, 3.0)
# IoU 0.005 … 0.995. Both ends are left out: at IoU = 0 the gradient α·IoU^(α−1) is infinite for α < 1, and IoU = 1
# needs identical boxes, where min/max tie and autograd returns a subgradient of the box geometry, not ∂IoU/∂t.
IOU_GRID = np.linspace(0.0, 1.0, 201)[1:-1]


def turning_point(alpha: float) -> float | None:
    """Return the IoU where α-IoU's relative gradient weight is 1, ``α^(1/(1−α))``; None for α = 1 (Property 3).

    Property 3 of the paper: compared with the IoU loss, ``L = 1 − IoU^α`` reweights the gradient of every object by
    ``w∇r = |∂L/∂IoU| / |∂L_IoU/∂IoU| = α·IoU^(α−1)``; it crosses 1 at ``IoU = α^(1/(1−α))``, which lies in
    ``(0, 1/e)`` for ``0 < α < 1`` and in ``(1/e, 1)`` for ``α > 1``. Objects with a higher IoU are up-weighted for
    α > 1 (down-weighted for α < 1). For α = 1 the weight is 1 everywhere and there is no turning point.
    """
    if alpha == 1:
        return None
    return alpha ** (1 / (1 - alpha))


def alpha_iou_and_gradient(iou: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (IoU, L, ∂L/∂IoU) of the registered ``alpha_iou`` loss at the requested IoU values (float64, autograd).

    Each IoU value t is realised by the boxes pred = (0, 0, 1, t) inside target = (0, 0, 1, 1), whose IoU is t up to
    the loss's eps; the returned IoU is the one the loss computes (``1 − box_loss(…, "iou")``), and the derivative is
    ``∂L/∂t ÷ ∂IoU/∂t``, both by autograd, so it is exactly ∂L/∂IoU of the loss as trained.
    """
    t = torch.tensor(np.asarray(iou, dtype=np.float64), requires_grad=True)
    zeros, ones = torch.zeros_like(t), torch.ones_like(t)
    pred = torch.stack((zeros, zeros, ones, t), dim=-1)
    target = torch.stack((zeros, zeros, ones, ones), dim=-1)
    loss = box_loss(pred, target, loss="alpha_iou", alpha=alpha)
    (dloss_dt,) = torch.autograd.grad(loss.sum(), t)
    iou_value = 1 - box_loss(pred, target, loss="iou")
    (diou_dt,) = torch.autograd.grad(iou_value.sum(), t)
    return iou_value.detach().numpy(), loss.detach().numpy(), (dloss_dt / diou_dt).numpy()


def reweighting_data(alphas: list[float]) -> list[dict]:
    """Return rows ``{alpha, point, iou, loss, abs_grad}``: each α's curve (``point="curve"``) over IoU in (0, 1),
    plus one ``point="turning_point"`` row per α ≠ 1 at ``IoU = α^(1/(1−α))``, where ``abs_grad`` is 1 (Property 3).
    """
    rows = []
    for alpha in alphas:
        iou, loss, grad = alpha_iou_and_gradient(IOU_GRID, alpha)
        rows += [
            {"alpha": alpha, "point": "curve", "iou": i, "loss": v, "abs_grad": abs(g)}
            for i, v, g in zip(iou.tolist(), loss.tolist(), grad.tolist())
        ]
        point = turning_point(alpha)
        if point is not None:
            iou, loss, grad = alpha_iou_and_gradient(np.array([point]), alpha)
            rows.append(
                {"alpha": alpha, "point": "turning_point", "iou": iou[0], "loss": loss[0], "abs_grad": abs(grad[0])}
            )
    return rows


def plot_reweighting(rows: list[dict], axes=None):
    """Return (fig, (ax_loss, ax_grad)) drawing :func:`reweighting_data` rows as the paper's Fig. 1 (left, right).

    α = 1, the IoU loss, is dashed black; each turning point is a marker on both panels at the same IoU.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    fig = axes[0].figure
    ax_loss, ax_grad = axes
    alphas = list(dict.fromkeys(row["alpha"] for row in rows))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(alphas)))
    for alpha, colour in zip(alphas, colours):
        curve = [r for r in rows if r["alpha"] == alpha and r["point"] == "curve"]
        style = {"color": "black", "linestyle": "--"} if alpha == 1 else {"color": colour}
        label = f"α = {alpha:g}" + (" (IoU loss)" if alpha == 1 else "")
        ax_loss.plot([r["iou"] for r in curve], [r["loss"] for r in curve], label=label, **style)
        ax_grad.plot([r["iou"] for r in curve], [r["abs_grad"] for r in curve], label=label, **style)
        for r in rows:
            if r["alpha"] == alpha and r["point"] == "turning_point":
                for ax, y in ((ax_loss, r["loss"]), (ax_grad, r["abs_grad"])):
                    ax.plot(r["iou"], y, marker="o", markerfacecolor="white", color=style["color"], zorder=3)
                ax_grad.annotate(
                    f"{r['iou']:.2f}", (r["iou"], r["abs_grad"]), textcoords="offset points", xytext=(4, 6), fontsize=8
                )
    ax_loss.set(xlabel="IoU", ylabel="L = 1 − IoU^α", title="α-IoU loss", xlim=(0, 1), ylim=(0, 1.02))
    # |∂L/∂IoU| = α·IoU^(α−1) is unbounded near IoU = 0 for α < 1; cap the axis where α > 1 curves end (at α).
    top = 1.1 * max(max(alphas), 1.5)
    ax_grad.set(xlabel="IoU", ylabel="|∂L/∂IoU|", title="Absolute gradient", xlim=(0, 1), ylim=(0, top))
    ax_grad.axhline(1, color="grey", linewidth=0.6)
    ax_grad.plot([], [], marker="o", markerfacecolor="white", color="grey", linestyle="none", label="w∇r = 1 (Prop. 3)")
    for ax in axes:
        ax.grid(alpha=0.3)
    ax_grad.legend(fontsize="small")
    return fig, axes


def write_reweighting(out: str | Path = DEFAULT_OUT, *, alphas: Any = DEFAULT_ALPHAS) -> Path:
    """Return the PNG written to ``<out>/reweighting.png`` (next free name if taken), with the CSV of its numbers.

    Args:
        out: output folder.
        alphas: the α values, numbers > 0 (a list, or ``"0.5,1,2,3"`` as on the command line).

    Raises:
        ConfigError: naming ``alphas`` when a value is not a finite number > 0.
    """
    rows = reweighting_data(positive_floats("alphas", alphas))
    fig, _ = plot_reweighting(rows)
    return save_figure(fig, rows, out, "reweighting")
