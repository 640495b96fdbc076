"""The α-IoU paper's Fig. 2 as bars: true positives at IoU ≥ 0.5 … 0.9, one bar per configuration or model."""

from __future__ import annotations

from yolo_alpha.charts.axes import figure_axes, group_rows
from yolo_alpha.metrics import COUNT_THRESHOLDS


def plot_count_bars(rows: list[dict], ax=None, title: str = "Detections after NMS (Fig. 2)"):
    """Return (fig, ax) with rows ``{config, iou_threshold, mean, std}`` as grouped bars, one group per threshold.

    Shared by the report (mean over seeds) and ``yolo-alpha plot iou-hist`` (one model per bar, std None).
    """
    fig, ax = figure_axes(ax)
    groups = group_rows(rows, "config")
    width = 0.8 / max(len(groups), 1)
    for i, (config, bars) in enumerate(groups.items()):
        xs = [j + (i - (len(groups) - 1) / 2) * width for j in range(len(bars))]
        spread = [r["std"] or 0.0 for r in bars] if any(r["std"] is not None for r in bars) else None  # one run: none
        ax.bar(xs, [r["mean"] for r in bars], width, yerr=spread, capsize=2, label=config)
    ax.set_xticks(range(len(COUNT_THRESHOLDS)), [f"≥ {t:.1f}" for t in COUNT_THRESHOLDS])
    ax.set(xlabel="IoU with the matched ground truth", ylabel="true positives", title=title)
    ax.grid(alpha=0.3, axis="y")
    if groups:
        ax.legend(fontsize="small")
    return fig, ax
