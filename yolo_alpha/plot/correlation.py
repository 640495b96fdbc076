"""``yolo-alpha plot correlation``: loss against IoU over random box pairs, with Pearson and Spearman coefficients.

A loss that tracks the evaluation metric gives a tight, monotone cloud (|Spearman| near 1); the L1 loss of box
coordinates gives a wide one: the same IoU can come with very different losses ("Why IoU loss beats L1", metric
correlation).
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
from yolo_alpha.plot.keys import int_at_least, loss_label, loss_names

DEFAULT_LOSSES = ("l1", "ciou", "alpha_ciou")
MAX_PAIRS = 100_000
"""Most box pairs: a scatter of more points is one blot, and r and ρ are already steady to ~0.01 at 10⁴."""
PAIRS_WHY = f"a scatter of more than {MAX_PAIRS} points is one blot"


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Return the 1-based ranks of ``x``, ties sharing the mean of their ranks (as ``scipy.stats.rankdata``).

    Ties matter here: every disjoint pair has IoU exactly 0.
    """
    _, inverse, counts = np.unique(np.asarray(x), return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # 0-based rank of each distinct value's first occurrence
    return (first + (counts + 1) / 2)[inverse.ravel()]


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Return Pearson's r = Σ(x − x̄)(y − ȳ) / √(Σ(x − x̄)² Σ(y − ȳ)²); NaN when x or y is constant."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denominator) if denominator > 0 else math.nan


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Return Spearman's ρ: Pearson's r of the average ranks of x and y (equal to 1 − 6Σd²/(n(n²−1)) without ties)."""
    return pearson(average_ranks(x), average_ranks(y))


def random_box_pairs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (pred, target), each ``(n, 4)`` float64 xyxy, spanning IoU from 0 (disjoint) to near 1.

    Targets: centres uniform in [0, 80]² (an 80-cell feature map), sides log-uniform in [1, 20] cells. Each
    prediction moves its target's centre by up to s·(w, h) and scales each side by up to 2^±s, with a per-pair
    strength s ~ U(0, 1.5), so near-perfect, partly overlapping and disjoint pairs all occur.
    """
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 80, (n, 2))
    size = np.exp(rng.uniform(math.log(1), math.log(20), (n, 2)))
    strength = rng.uniform(0, 1.5, (n, 1))
    pred_centre = centre + rng.uniform(-1, 1, (n, 2)) * strength * size
    pred_size = size * np.power(2.0, rng.uniform(-1, 1, (n, 2)) * strength)

    def xyxy(c: np.ndarray, s: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.concatenate((c - s / 2, c + s / 2), axis=1))

    return xyxy(pred_centre, pred_size), xyxy(centre, size)


def correlation_data(losses: list[str], n: int = 2000, seed: int = 0) -> list[dict]:
    """Return rows ``{loss, pair, iou, value, pearson, spearman}``: each loss of each random pair against its IoU.

    ``pearson`` and ``spearman`` are the coefficients of that loss's (iou, value) cloud, repeated on its rows.
    """
    pred, target = random_box_pairs(n, seed)
    iou = (1 - box_loss(pred, target, loss="iou")).numpy()
    rows = []
    for loss in losses:
        value = box_loss(pred, target, loss=loss).numpy()
        r, rho = pearson(iou, value), spearman(iou, value)
        rows += [
            {"loss": loss, "pair": k, "iou": i, "value": v, "pearson": r, "spearman": rho}
            for k, (i, v) in enumerate(zip(iou.tolist(), value.tolist()))
        ]
    return rows


def plot_correlation(rows: list[dict], axes=None):
    """Return (fig, axes) with one scatter of loss vs IoU per loss, its Pearson r and Spearman ρ in the title."""
    losses = list(dict.fromkeys(r["loss"] for r in rows))
    if axes is None:
        fig, axes = plt.subplots(1, len(losses), figsize=(4.2 * len(losses), 3.8), squeeze=False)
        axes = axes.ravel()
    fig = axes[0].figure
    for ax, loss in zip(axes, losses):
        panel = [r for r in rows if r["loss"] == loss]
        ax.scatter([r["iou"] for r in panel], [r["value"] for r in panel], s=3, alpha=0.35, linewidths=0)
        ax.set(
            title=f"{loss_label(loss)}\nPearson r = {panel[0]['pearson']:.3f}, Spearman ρ = {panel[0]['spearman']:.3f}",
            xlabel="IoU",
            ylabel=f"{loss} loss",
            xlim=(-0.02, 1.02),
        )
        ax.title.set_fontsize("medium")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Loss vs IoU over {len(panel)} random box pairs")
    fig.tight_layout()
    return fig, axes


def write_correlation(
    out: str | Path = DEFAULT_OUT, *, losses: Any = DEFAULT_LOSSES, n: Any = 2000, seed: Any = 0
) -> Path:
    """Return the PNG written to ``<out>/correlation.png`` (next free name if taken), with the CSV of its numbers.

    Args:
        out: output folder.
        losses: registered loss names (a list, or ``"l1,ciou"`` as on the command line), one panel each.
        n: number of random box pairs, 3 to :data:`MAX_PAIRS`.
        seed: seed of the box pairs, >= 0; the same seed draws the same pairs.

    Raises:
        ConfigError: naming ``losses``, ``n`` or ``seed`` for a bad value.
    """
    rows = correlation_data(
        loss_names("losses", losses), int_at_least("n", n, 3, MAX_PAIRS, PAIRS_WHY), int_at_least("seed", seed, 0)
    )
    fig, _ = plot_correlation(rows)
    return save_figure(fig, rows, out, "correlation")
