"""The report's "Diagnostics" section: what the box loss saw in training, from each run's diagnostics.csv.

Written by training with ``diagnostics=True`` (``yolo_alpha/ultralytics/diagnostics.py``): per epoch, the assigner's
positives per batch, their mean IoU with their targets, and per IoU bin the share of the box-loss gradient
Σ w_i ‖∂ℓ_i/∂b_i‖. With results.csv's training losses it shows why an α-loss can or cannot change a detector: where
its gradient goes (α-IoU's Property 3), how many positives it gets, and how large the box term is against the rest.
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import matplotlib.pyplot as plt

from yolo_alpha.charts.files import write_csv
from yolo_alpha.config_labels import config_label
from yolo_alpha.report.claims_section import REGIME_NAMES
from yolo_alpha.report.sweep_base import SweepBase
from yolo_alpha.reproduce import pairing

DIAGNOSTICS_FILE = "diagnostics.csv"  # the name yolo_alpha.ultralytics.diagnostics writes (a test holds them equal)
BINS = [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(10)]
BANDS = (("IoU < 0.5", 0, 5), ("0.5-0.7", 5, 7), ("0.7-0.9", 7, 9), ("≥ 0.9", 9, 10))
_POWERS = ("iou", "alpha_iou")  # α = 1 and α = 3 of the plain IoU loss, as the paper's Table 3 (noisy boxes)


def read_csv_rows(path: Path) -> list[dict[str, float]]:
    """Return a CSV's rows as floats (blank or non-numeric cells left out); [] for a missing file."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        rows = []
        for row in csv.DictReader(f):
            values = {}
            for key, value in row.items():
                try:
                    values[key.strip()] = float(value)
                except (TypeError, ValueError, AttributeError):
                    continue
            rows.append(values)
    return rows


def box_share(run_dir: Path) -> float | None:
    """Return the box term's share of the summed training losses at the last epoch (results.csv), or None."""
    rows = read_csv_rows(run_dir / "results.csv")
    if not rows:
        return None
    losses = {k: v for k, v in rows[-1].items() if k.startswith("train/") and k.endswith("_loss")}
    total = sum(losses.values())
    return losses.get("train/box_loss", math.nan) / total if total > 0 else None


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.fmean(values) if values else None


def summarise_diagnostics(rows: list[dict], base: SweepBase) -> list[dict]:
    """Return one summary per regime × configuration on the whole training set (clean or noisy boxes) whose runs
    wrote diagnostics (means over epochs and seeds)."""
    groups: dict[tuple, dict] = {}
    for row in pairing.clean_rows(rows) + pairing.noisy_rows(rows):
        run_dir = Path(str(row.get("run_dir", "")))
        epochs = read_csv_rows(run_dir / DIAGNOSTICS_FILE)
        if not epochs:
            continue
        params = {k: v for k, v in row["params"].items() if k not in ("seed", "pretrained", "model", "nbs")}
        regime = pairing.regime_of(row["params"], base.model)
        key = (regime, config_label(params))
        group = groups.setdefault(key, {"regime": regime, "config": key[1], "params": params, "runs": []})
        group["runs"].append((epochs, box_share(run_dir)))
    out = []
    for group in groups.values():
        epochs = [e for run, _ in group["runs"] for e in run]
        summary = {
            "regime": group["regime"],
            "config": group["config"],
            "runs": len(group["runs"]),
            "positives_per_batch": _mean([e.get("positives_per_batch") for e in epochs]),
            "mean_iou": _mean([e.get("mean_iou") for e in epochs]),
            "box_loss_share": _mean([share for _, share in group["runs"]]),
        }
        for b in BINS:
            summary[f"grad_share_{b}"] = _mean([e.get(f"grad_share_{b}") for e in epochs])
            summary[f"share_{b}"] = _mean([e.get(f"share_{b}") for e in epochs])
        summary["_params"] = group["params"]
        out.append(summary)
    return sorted(out, key=lambda s: (s["regime"], pairing.noise_eta(s["_params"]), s["config"]))


def _band(summary: dict, low: int, high: int, prefix: str = "grad_share_") -> float:
    return sum(summary[f"{prefix}{b}"] or 0.0 for b in BINS[low:high])


def _cell(value: float | None, scale: float = 100, places: int = 1) -> str:
    return "–" if value is None else f"{scale * value:.{places}f}"


def diagnostics_section(out: Path, rows: list[dict], base: SweepBase) -> list[str]:
    """Return the section's lines ([] when no run wrote diagnostics); writes diagnostics.csv and its figure."""
    summaries = summarise_diagnostics(rows, base)
    if not summaries:
        return []
    write_csv(out / "diagnostics.csv", [{k: v for k, v in s.items() if k != "_params"} for s in summaries])
    bands = " | ".join(f"grad {name}" for name, *_ in BANDS)
    lines = [
        "## Diagnostics: what the box loss saw in training",
        "",
        "Means over every training epoch and seed of the configurations trained on the whole set, clean boxes first, "
        "then noisy (`diagnostics=True`). *Positives*: the assigner's positives per batch; *IoU*: their mean IoU with "
        "their targets (the noisy boxes, where noisy); *grad*: the share (%) of "
        "the box-loss gradient Σ w_i ‖∂ℓ_i/∂b_i‖ carried by positives in each IoU band (w_i: the positive's weight "
        "in the box term, its target score in the task-aligned regime, 1 in the anchor-based); *box share*: the box "
        "term's share (%) of the summed training losses at the last epoch. α-IoU's Property 3: relative to α = 1, "
        "α = 3 multiplies each positive's IoU gradient by 3·IoU², more above IoU 3^(−1/2) ≈ 0.58 and less below.",
        "",
        f"| Regime | Configuration | Runs | Positives | IoU | {bands} | Box share |",
        "|---|---|---:|---:|---:|" + "---:|" * len(BANDS) + "---:|",
    ]
    for s in summaries:
        grads = " | ".join(_cell(_band(s, low, high)) for _, low, high in BANDS)
        positives = _cell(s["positives_per_batch"], 1, 0)
        lines.append(
            f"| {REGIME_NAMES[s['regime']]} | {s['config']} | {s['runs']} | {positives} | "
            f"{_cell(s['mean_iou'], 1, 3)} | {grads} | {_cell(s['box_loss_share'])} |"
        )
    lines += [
        "",
        *_readings(summaries),
        *_noise_readings(summaries),
        *_figure(out, summaries),
        "Data: [diagnostics.csv](diagnostics.csv) (fractions).",
        "",
    ]
    return lines


def _readings(summaries: list[dict]) -> list[str]:
    """Return one sentence per regime on α = 3 against α = 1 (α-IoU vs IoU): where the gradient and the loss went."""
    out = []
    for regime in sorted({s["regime"] for s in summaries}):
        by_loss = {
            s["_params"].get("loss"): s for s in summaries if s["regime"] == regime and set(s["_params"]) == {"loss"}
        }
        one, three = by_loss.get("iou"), by_loss.get("alpha_iou")
        if not (one and three):
            continue
        high = [_band(s, 7, 10) for s in (one, three)]
        low = [_band(s, 0, 5) for s in (one, three)]
        share = [s["box_loss_share"] for s in (one, three)]
        name, positives, iou = REGIME_NAMES[regime], _cell(three["positives_per_batch"], 1, 0), three["mean_iou"]
        gradient = (
            f"{100 * high[1]:.0f} % of the box gradient on positives with IoU ≥ 0.7 (α = 1: {100 * high[0]:.0f} %)"
        )
        below = f"{100 * low[1]:.0f} % on those below 0.5 ({100 * low[0]:.0f} %)"
        term = f"the box term is {_cell(share[1], 100, 0)} % of the training loss ({_cell(share[0], 100, 0)} %)"
        out.append(f"- {name}: α = 3 puts {gradient} and {below}; {term}, with {positives} positives per batch "
                   f"of mean IoU {_cell(iou, 1, 2)}.")  # fmt: skip
    return [*out, ""] if out else []


def _noise_readings(summaries: list[dict]) -> list[str]:
    """Return one sentence per regime on IoU and α-IoU (α = 3) at each noise rate η: the paper's mechanism for C3.

    The paper credits α-IoU's robustness to noisy boxes to its focus on high-IoU positives, "a suppression effect on
    the learning of the noisy bbox examples" (§4.3): this shows how far the fit to the noisy targets falls with η and
    how much of the box gradient each loss still spends on positives below IoU 0.5.
    """
    out = []
    for regime in sorted({s["regime"] for s in summaries}):
        at: dict[float, dict] = {}
        for s in summaries:
            params = s["_params"]
            if s["regime"] == regime and set(params) <= {"loss", "noise_eta"} and params.get("loss") in _POWERS:
                at.setdefault(pairing.noise_eta(params), {})[params["loss"]] = s
        etas = sorted(eta for eta, losses in at.items() if eta > 0 and set(losses) == set(_POWERS))
        if not etas:
            continue
        iou = " / ".join(_cell(at[eta]["iou"]["mean_iou"], 1, 2) for eta in etas)
        clean = f" (clean: {_cell(at[0.0]['iou']['mean_iou'], 1, 2)})" if set(at.get(0.0, {})) == set(_POWERS) else ""
        low = {loss: " / ".join(f"{100 * _band(at[eta][loss], 0, 5):.0f}" for eta in etas) for loss in _POWERS}
        share = {loss: " / ".join(_cell(at[eta][loss]["box_loss_share"], 100, 0) for eta in etas) for loss in _POWERS}
        fit = f"the positives' mean IoU with their noisy targets is {iou} under the IoU loss{clean}"
        spend = f"α = 3 spends {low['alpha_iou']} % of the box gradient on positives below IoU 0.5"
        spend += f" (α = 1: {low['iou']} %)"
        term = f"the box term is {share['alpha_iou']} % of the training loss (α = 1: {share['iou']} %)"
        out.append(
            f"- {REGIME_NAMES[regime]}, noisy boxes (η = {' / '.join(f'{eta:g}' for eta in etas)}): {fit}; {spend} — "
            f"the suppression of badly fitting boxes that §4.3 credits for α-IoU's robustness; {term}."
        )
    return [*out, ""] if out else []


def _figure(out: Path, summaries: list[dict]) -> list[str]:
    """Draw the gradient share per IoU bin of α = 1 and α = 3 (IoU and α-IoU) per regime; [] without them."""
    wanted = {"iou": "α = 1 (IoU)", "alpha_iou": "α = 3 (α-IoU)"}
    picked = [s for s in summaries if s["_params"].get("loss") in wanted and set(s["_params"]) == {"loss"}]
    if not picked:
        return []
    regimes = sorted({s["regime"] for s in picked})
    fig, axes = plt.subplots(1, len(regimes), figsize=(5.5 * len(regimes), 3.8), squeeze=False)
    centres = [(i + 0.5) / 10 for i in range(10)]
    data = []
    for ax, regime in zip(axes[0], regimes):
        for s in (s for s in picked if s["regime"] == regime):
            shares = [s[f"grad_share_{b}"] or 0.0 for b in BINS]
            ax.plot(centres, shares, marker="o", label=wanted[s["_params"]["loss"]])
            data += [
                {"regime": regime, "config": s["config"], "iou_bin": b, "grad_share": v} for b, v in zip(BINS, shares)
            ]
        ax.axvline(3**-0.5, color="grey", linestyle="--", linewidth=1)
        ax.set(title=REGIME_NAMES[regime], xlabel="IoU of the positive with its target", ylabel="share of box gradient")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "gradient_share.png", dpi=120)
    plt.close(fig)
    write_csv(out / "gradient_share.csv", data)
    caption = "Share of the box-loss gradient per IoU bin in training, α = 1 vs α = 3; dashed: 3^(−1/2)."
    return [
        "![gradient_share](gradient_share.png)",
        "",
        f"*{caption}* Data: [gradient_share.csv](gradient_share.csv).",
        "",
    ]
