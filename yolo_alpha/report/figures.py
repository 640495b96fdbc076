"""Figures of a sweep, as in the α-IoU paper: AP vs IoU threshold, true positives above IoU 0.5 … 0.9 (Fig. 2), mAP
over epochs (Fig. 3), α sensitivity (Fig. 6) and relative improvement vs noise rate η (Table 3 as a plot).

Each figure has a ``*_data`` function returning the plotted numbers as flat rows (written next to the PNG as CSV) and
a ``plot_*`` function that draws exactly those rows. Plot functions take ``ax=None``, return ``(fig, ax)`` and never
call ``show``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import yaml

from yolo_alpha.charts.axes import figure_axes, group_rows
from yolo_alpha.charts.counts import plot_count_bars
from yolo_alpha.config_labels import base_loss, config_label, sort_key
from yolo_alpha.metrics import AP_KEYS, COUNT_KEYS, COUNT_THRESHOLDS, IOU_THRESHOLDS
from yolo_alpha.report.tables import varied_keys

MAP_COLUMN = "metrics/mAP50-95(B)"  # Ultralytics' results.csv column
TP_COUNT_IMPROVEMENT_COLUMNS = ("config", "baseline", "iou_threshold", "relative_difference")


def _label_keys(summary: list[dict]) -> list[str] | None:
    # Label lines by the keys that vary, so the legend stays short; with one configuration, label it fully.
    keys = varied_keys(summary)
    return keys or None


def ap_vs_iou_data(summary: list[dict]) -> list[dict]:
    """Return rows ``{config, iou_threshold, mean, std, n}``: each configuration's AP at IoU 0.50, 0.55, …, 0.95."""
    keys = _label_keys(summary)
    return [
        {
            "config": config_label(s["params"], keys),
            "iou_threshold": float(t),
            "mean": s["mean"].get(ap),
            "std": s["std"].get(ap),
            "n": s["n"],
        }
        for s in summary
        for t, ap in zip(IOU_THRESHOLDS, AP_KEYS)
    ]


def _mean_std_line(ax, xs: list, rows: list[dict], label: str) -> None:
    """Draw rows' mean (%) against xs with std (%) error bars; a missing std (one seed) draws no bar."""
    ax.errorbar(
        xs,
        [100 * r["mean"] for r in rows],
        yerr=[100 * (r["std"] or 0.0) for r in rows],
        marker="o",
        markersize=3,
        capsize=2,
        label=label,
    )


def plot_ap_vs_iou(summary: list[dict], ax=None):
    """Return (fig, ax) with AP (%) vs IoU threshold, one line per configuration, error bars = std over seeds."""
    fig, ax = figure_axes(ax)
    for config, rows in group_rows(ap_vs_iou_data(summary), "config").items():
        rows = [r for r in rows if r["mean"] is not None]
        _mean_std_line(ax, [r["iou_threshold"] for r in rows], rows, config)
    ax.set(xlabel="IoU threshold", ylabel="AP (%)", title="AP vs IoU threshold (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig, ax


def validated_each_epoch(run_dir: str | Path) -> bool:
    """Return False when the run trained with ``val=False`` (its ``args.yaml``): Ultralytics then validates after the
    last epoch only and writes 0 as every other epoch's metrics, so its results.csv holds no mAP series. True when
    args.yaml is missing or unreadable (a run of another tool: its results.csv decides)."""
    path = Path(run_dir) / "args.yaml"
    try:
        args = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return True
    return not (isinstance(args, dict) and args.get("val") is False)


def read_epoch_curve(run_dir: str | Path) -> list[tuple[int, float]] | None:
    """Return [(epoch, mAP50-95), …] from ``<run_dir>/results.csv``, or None when the file or column is missing or
    the run did not validate each epoch (:func:`validated_each_epoch`)."""
    path = Path(run_dir) / "results.csv"
    if not path.is_file() or not validated_each_epoch(run_dir):
        return None
    with path.open(encoding="utf-8", newline="") as f:
        # Older Ultralytics versions pad the header names with spaces.
        rows = [{k.strip(): v for k, v in row.items() if k is not None} for row in csv.DictReader(f)]
    try:
        curve = [(int(float(r["epoch"])), float(r[MAP_COLUMN])) for r in rows]
    except (KeyError, ValueError, TypeError):
        return None
    return curve or None


def map_over_epochs_data(summary: list[dict]) -> tuple[list[dict], list[str], list[str]]:
    """Return (rows ``{config, epoch, mean, std, n_runs}``, missing run_dirs, unvalidated run_dirs): mAP50-95 per
    epoch, mean over runs.

    A run whose ``results.csv`` is missing or lacks the columns is skipped and its run_dir is listed as missing; a run
    trained with ``val=False`` has no series by design: it is skipped and listed as unvalidated instead.
    """
    keys = _label_keys(summary)
    rows, missing, unvalidated = [], [], []
    for s in summary:
        per_epoch: dict[int, list[float]] = {}
        for run in s["runs"]:
            curve = read_epoch_curve(run["run_dir"]) if run.get("run_dir") else None
            if curve is None:
                if run.get("run_dir") and not validated_each_epoch(run["run_dir"]):
                    unvalidated.append(str(run["run_dir"]))
                else:
                    missing.append(str(run.get("run_dir") or run.get("cell_id")))
                continue
            for epoch, value in curve:
                per_epoch.setdefault(epoch, []).append(value)
        for epoch in sorted(per_epoch):
            values = per_epoch[epoch]
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
            rows.append(
                {
                    "config": config_label(s["params"], keys),
                    "epoch": epoch,
                    "mean": mean,
                    "std": std,
                    "n_runs": len(values),
                }
            )
    return rows, missing, unvalidated


def plot_map_over_epochs(summary: list[dict], ax=None):
    """Return (fig, ax) with validation mAP50-95 (%) per epoch, mean over each configuration's runs (paper Fig. 3)."""
    fig, ax = figure_axes(ax)
    rows, *_ = map_over_epochs_data(summary)
    for config, curve in group_rows(rows, "config").items():
        ax.plot([r["epoch"] for r in curve], [100 * r["mean"] for r in curve], label=config)
    ax.set(xlabel="epoch", ylabel="mAP50-95 (%)", title="Validation mAP50-95 over epochs (mean over seeds)")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(fontsize="small")
    return fig, ax


def alpha_sensitivity_data(summary: list[dict]) -> list[dict]:
    """Return rows ``{group, alpha, metric, mean, std}`` for mAP50-95 and mAP75-95 of every row with an ``alpha``.

    A group is a loss with the other varied params (everything but ``alpha``), so each group is one line vs α.
    """
    keys = [k for k in varied_keys(summary) if k != "alpha"]
    keys = sorted({"loss", *keys})
    rows = []
    for s in sorted((s for s in summary if s["params"].get("alpha") is not None), key=lambda s: sort_key(s["params"])):
        for metric in ("mAP50-95", "mAP75-95"):
            rows.append(
                {
                    "group": config_label(s["params"], keys, powers=False),  # a line spans every α of its loss
                    "alpha": s["params"]["alpha"],
                    "metric": metric,
                    "mean": s["mean"].get(metric),
                    "std": s["std"].get(metric),
                }
            )
    return rows


def plot_alpha_sensitivity(summary: list[dict], metric: str = "mAP50-95", ax=None):
    """Return (fig, ax) with `metric` (%) vs α, one line per loss (paper Fig. 6); dashed lines mark α = 1 and 3."""
    fig, ax = figure_axes(ax)
    rows = [r for r in alpha_sensitivity_data(summary) if r["metric"] == metric and r["mean"] is not None]
    for group, line in group_rows(rows, "group").items():
        line = sorted(line, key=lambda r: r["alpha"])
        _mean_std_line(ax, [r["alpha"] for r in line], line, group)
    ax.axvline(1, color="black", linestyle="--", linewidth=0.8)  # the classic losses (α = 1)
    ax.axvline(3, color="red", linestyle="--", linewidth=0.8)  # the paper's choice (α = 3)
    ax.set(xlabel="α", ylabel=f"{metric} (%)", title=f"{metric} vs α")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(fontsize="small")
    return fig, ax


def improvement_vs_noise_data(improvements: list[dict]) -> list[dict]:
    """Return rows ``{group, noise_eta, metric, relative_improvement}`` (fractions) for mAP50-95 and mAP75-95.

    A group is an α-loss with the other varied params (everything but ``noise_eta``): one line vs η.
    """
    keys = [k for k in varied_keys(improvements) if k != "noise_eta"]
    keys = sorted({"loss", *keys})
    rows = []
    for r in improvements:
        if r["params"].get("noise_eta") is None or base_loss(r["params"].get("loss")) is None:
            continue
        for metric in ("mAP50-95", "mAP75-95"):
            rows.append(
                {
                    "group": config_label(r["params"], keys),
                    "noise_eta": r["params"]["noise_eta"],
                    "metric": metric,
                    "relative_improvement": r["improvement"].get(metric),
                }
            )
    return rows


def plot_improvement_vs_noise(improvements: list[dict], metric: str = "mAP50-95", ax=None):
    """Return (fig, ax) with the relative improvement (%) of `metric` vs noise rate η, one line per α-loss."""
    fig, ax = figure_axes(ax)
    rows = [
        r
        for r in improvement_vs_noise_data(improvements)
        if r["metric"] == metric and r["relative_improvement"] is not None
    ]
    for group, line in group_rows(rows, "group").items():
        line = sorted(line, key=lambda r: r["noise_eta"])
        ax.plot(
            [r["noise_eta"] for r in line], [100 * r["relative_improvement"] for r in line], marker="o", label=group
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(xlabel="noise rate η", ylabel=f"rela. improv. of {metric} (%)", title=f"Relative improvement of {metric}")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(fontsize="small")
    return fig, ax


def tp_counts_data(summary: list[dict]) -> list[dict]:
    """Return rows ``{config, iou_threshold, mean, std, n}``: Fig. 2's true positives at IoU ≥ 0.5, …, 0.9 per config.

    Configurations whose runs have no counts (results from before the COCO evaluation) are left out.
    """
    keys = _label_keys(summary)
    return [
        {
            "config": config_label(s["params"], keys),
            "iou_threshold": t,
            "mean": s["mean"][key],
            "std": s["std"].get(key),
            "n": s["n"],
        }
        for s in summary
        if s["mean"].get(COUNT_KEYS[0]) is not None
        for t, key in zip(COUNT_THRESHOLDS, COUNT_KEYS)
    ]


def tp_count_improvement_data(improvements: list[dict]) -> list[dict]:
    """Return rows ``{config, baseline, iou_threshold, relative_difference}``: α-loss vs baseline true positives.

    The difference is (α − base) / base of the mean counts per threshold, a fraction (the paper: about +1% at
    IoU ≥ 0.5, +11% at IoU ≥ 0.9).
    """
    keys = sorted({"loss", *varied_keys(improvements)}) if improvements else None
    return [
        {
            "config": config_label(r["params"], keys),
            "baseline": config_label(r["baseline_params"], keys),
            "iou_threshold": t,
            "relative_difference": r["improvement"].get(key),
        }
        for r in improvements
        if r["improvement"].get(COUNT_KEYS[0]) is not None
        for t, key in zip(COUNT_THRESHOLDS, COUNT_KEYS)
    ]


def plot_tp_counts(summary: list[dict], ax=None):
    """Return (fig, ax) with grouped bars: true positives at IoU ≥ 0.5 … 0.9, one bar per configuration (Fig. 2)."""
    return plot_count_bars(tp_counts_data(summary), ax=ax)


def plot_tp_count_improvement(improvements: list[dict], ax=None):
    """Return (fig, ax) with each α-loss's relative difference (%) in true positives vs its baseline per threshold."""
    fig, ax = figure_axes(ax)
    rows = [r for r in tp_count_improvement_data(improvements) if r["relative_difference"] is not None]
    for config, line in group_rows(rows, "config").items():
        ax.plot(
            [r["iou_threshold"] for r in line],
            [100 * r["relative_difference"] for r in line],
            marker="o",
            label=f"{config} vs {line[0]['baseline']}",
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(COUNT_THRESHOLDS)
    ax.set(xlabel="IoU threshold", ylabel="relative difference (%)", title="True positives: α-loss vs baseline")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(fontsize="small")
    return fig, ax
