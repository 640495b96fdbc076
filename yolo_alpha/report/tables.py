"""Sweep results as tables: mean ± std over seeds, the paper's "rela. improv.", and the labels of configurations.

``results.jsonl`` itself is read by :mod:`yolo_alpha.sweep.results` (``load_results``, re-exported here), the one
reader the sweep runner uses too.
"""

from __future__ import annotations

import json
import math
from typing import Any

from yolo_alpha.checks import is_number
from yolo_alpha.evaluate.coco import COUNT_KEYS
from yolo_alpha.losses import LOSSES, resolve_loss
from yolo_alpha.losses.registry import CORE_KEYS, all_loss_params, alpha_form_of, takes_alpha
from yolo_alpha.metrics import IOU_THRESHOLDS
from yolo_alpha.sweep.results import ResultsFileError, load_results  # noqa: F401  (re-exported: public names of yolo_alpha.report)

AP_KEYS = tuple(f"AP{round(t * 100)}" for t in IOU_THRESHOLDS)  # AP50, AP55, …, AP95
TABLE_METRICS = (*AP_KEYS, "mAP50-95", "mAP75-95")  # the columns of the paper's Tables 1 and 3
# Summarised too, but not in the AP table: Fig. 2's true-positive counts, Ultralytics' own mAP (for comparison), …
EXTRA_METRICS = (*COUNT_KEYS, "n_gt", "ultralytics_mAP50-95", "noise_mean_iou", "epochs", "seconds")
NOT_METRICS = ("cell_id", "params", "run_dir")
IMPROVEMENT_METRICS = (*TABLE_METRICS, *COUNT_KEYS)  # "rela. improv." of AP and of Fig. 2's counts
# alpha_X is compared with X, its α = 1 form: the pairs come from the loss registry, not a list kept here.
BASE_LOSSES = {alpha_form_of(name): name for name in LOSSES if alpha_form_of(name)}


def evaluators(rows: list[dict]) -> dict[str, int]:
    """Return {evaluator: number of rows}; rows from before the COCO evaluation count as "ultralytics"."""
    counts: dict[str, int] = {}
    for row in rows:
        name = str(row.get("evaluator", "ultralytics"))
        counts[name] = counts.get(name, 0) + 1
    return counts


def base_loss(loss: Any) -> str | None:
    """Return X for an ``alpha_X`` loss whose classic (α = 1) form X is registered, else None."""
    return BASE_LOSSES.get(loss) if isinstance(loss, str) else None


def varied_keys(rows: list[dict]) -> list[str]:
    """Return the params keys that take more than one value across `rows` (rows or summary rows), sorted."""
    values: dict[str, set] = {}
    for row in rows:
        for key, value in row["params"].items():
            values.setdefault(key, set()).add(json.dumps(value, sort_keys=True))
    return sorted(k for k, v in values.items() if len(v) > 1)


def config_label(params: dict, keys: list[str] | None = None, *, powers: bool = True) -> str:
    """Return "loss=alpha_ciou (α=3), noise_eta=0.2" for `params` (only `keys` when given; loss first).

    An α-loss shows the α it trained with (and α₂ when that differs), resolved from `params` as training resolves
    them, unless the label shows ``alpha`` (``alpha2``) as a key already: ``loss=alpha_ciou`` alone would hide its
    power. ``powers=False`` leaves them out, for a label naming a line that spans several α.
    """
    keys = list(params) if keys is None else [k for k in keys if k in params]
    keys = sorted(keys, key=lambda k: (k != "loss", k))
    note = loss_powers(params, shown=keys) if powers and "loss" in keys else ""
    return ", ".join(f"{k}={params[k]}" + (note if k == "loss" else "") for k in keys) or "(all runs)"


def loss_powers(params: dict, shown: list[str] = ()) -> str:
    """Return " (α=3)" or " (α=3, α₂=1)": the resolved powers of the α-loss in `params` that `shown` keys omit.

    "" for a classic loss (α = 1 by definition), for params without a loss, and for params no training would accept
    (such a row is labelled as given). The α of a sweep's base keys is not in the params: only the grid's keys are.
    """
    loss = params.get("loss")
    if not isinstance(loss, str) or loss not in LOSSES or not takes_alpha(loss):
        return ""
    loss_keys = {k: v for k, v in params.items() if k in CORE_KEYS or k in all_loss_params()}
    try:
        spec = resolve_loss(**loss_keys)
    except (ValueError, TypeError):
        return ""
    parts = [f"α={spec.alpha:g}"] if "alpha" not in shown else []
    if "alpha2" not in shown and spec.alpha2 != spec.alpha:
        parts.append(f"α₂={spec.alpha2:g}")
    return f" ({', '.join(parts)})" if parts else ""


def sort_key(params: dict) -> tuple:
    """Return a key that orders configurations as the paper does: other params, then X before alpha_X, then α."""
    loss = params.get("loss")
    family = base_loss(loss) or loss
    others = tuple((k, _value_key(params[k])) for k in sorted(params) if k not in ("loss", "alpha"))
    return (
        others,
        _value_key(family),
        base_loss(loss) is not None,
        _value_key(params.get("alpha")),
        _value_key(loss),
    )


def _value_key(value: Any) -> tuple:
    # Mixed types (numbers, strings, None) must still sort.
    if is_number(value):
        return (0, float(value), "")
    return (1, 0.0, "" if value is None else str(value))


def _metric_names(rows: list[dict]) -> list[str]:
    found = {k for row in rows for k, v in row.items() if k not in NOT_METRICS and _is_number(v)}
    known = [k for k in (*TABLE_METRICS, *EXTRA_METRICS) if k in found]
    return known + sorted(found - set(known))


def _is_number(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)


def summarise(rows: list[dict], over: str = "seed") -> list[dict]:
    """Return one row per configuration (params without `over`): mean, std and n of every metric over its runs.

    Each summary row is ``{"params", "n", "mean": {metric: …}, "std": {metric: …}, "runs": [run rows]}``, ordered
    by :func:`sort_key`. The std is the sample std (ddof=1); with one run it is None, not 0 (one seed has no spread).
    A metric missing from some runs (e.g. ``noise_mean_iou``) is averaged over the runs that have it; n counts runs.
    """
    groups: dict[str, dict] = {}
    for row in rows:
        params = {k: v for k, v in row["params"].items() if k != over}
        key = json.dumps(params, sort_keys=True)
        groups.setdefault(key, {"params": params, "runs": []})["runs"].append(row)
    metrics = _metric_names(rows)
    summary = []
    for group in groups.values():
        runs = group["runs"]
        mean, std = {}, {}
        for metric in metrics:
            values = [float(r[metric]) for r in runs if _is_number(r.get(metric))]
            mean[metric] = sum(values) / len(values) if values else None
            std[metric] = _sample_std(values)
        summary.append({"params": group["params"], "n": len(runs), "mean": mean, "std": std, "runs": runs})
    return sorted(summary, key=lambda s: sort_key(s["params"]))


def _sample_std(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def find_baseline(row: dict, summary: list[dict]) -> dict | None:
    """Return the summary row that `row` (an ``alpha_X`` configuration) is compared with, or None.

    The rule: (1) when the grid sets ``alpha`` and this row's α is not 1, the baseline is the same loss at α == 1 with
    otherwise identical params, if the sweep has it; (2) otherwise it is loss X with otherwise identical params (an
    ``alpha`` key on X must be 1 or None, as X is the α = 1 form). Rows at α == 1 are baselines themselves: None.
    """
    params = row["params"]
    if base_loss(params.get("loss")) is None or params.get("alpha") == 1:
        return None
    if "alpha" in params:
        wanted = {**params, "alpha": 1}
        for other in summary:
            if other["params"] == wanted:
                return other
    rest = {k: v for k, v in params.items() if k not in ("loss", "alpha")}
    for other in summary:
        p = other["params"]
        if (
            p.get("loss") == base_loss(params["loss"])
            and {k: v for k, v in p.items() if k not in ("loss", "alpha")} == rest
            and p.get("alpha") in (None, 1)
        ):
            return other
    return None


def relative_improvement(summary: list[dict]) -> list[dict]:
    """Return the paper's "rela. improv." (α − base) / base of each metric's mean, one row per α-loss configuration.

    Metrics: the AP table's and Fig. 2's counts (TP50 … TP90: the paper's "+1% at IoU ≥ 0.5, +11% at IoU ≥ 0.9").

    Each row is ``{"params", "baseline_params", "improvement": {metric: fraction or None}}``; the baseline is chosen
    by :func:`find_baseline`. A value is None when the baseline is 0 or either mean is missing. α rows without a
    baseline in the sweep are left out. Values are fractions (0.0355 is the paper's 3.55%).
    """
    rows = []
    for row in summary:
        baseline = find_baseline(row, summary)
        if baseline is None:
            continue
        improvement = {}
        for metric in IMPROVEMENT_METRICS:
            a, b = row["mean"].get(metric), baseline["mean"].get(metric)
            improvement[metric] = None if a is None or b is None or b == 0 else (a - b) / b
        rows.append({"params": row["params"], "baseline_params": baseline["params"], "improvement": improvement})
    return rows


def summary_csv_rows(summary: list[dict]) -> list[dict]:
    """Return `summary` flattened for CSV: params columns, n, then ``<metric>_mean`` and ``<metric>_std``."""
    keys = sorted({k for s in summary for k in s["params"]})
    metrics = list(dict.fromkeys(m for s in summary for m in s["mean"]))
    flat = []
    for s in summary:
        row = {k: s["params"].get(k) for k in keys} | {"n": s["n"]}
        for metric in metrics:
            row[f"{metric}_mean"] = s["mean"].get(metric)
            row[f"{metric}_std"] = s["std"].get(metric)
        flat.append(row)
    return flat


def improvement_csv_rows(improvements: list[dict]) -> list[dict]:
    """Return `improvements` flattened for CSV: params columns, ``baseline`` (its params), one column per metric.

    The count columns (TP50 … TP90) appear only when some row has them (rows from before the counts have none).
    """
    keys = sorted({k for r in improvements for k in r["params"]})
    counted = [m for m in COUNT_KEYS if any(r["improvement"].get(m) is not None for r in improvements)]
    return [
        {k: r["params"].get(k) for k in keys}
        | {"baseline": config_label(r["baseline_params"])}
        | {m: r["improvement"][m] for m in (*TABLE_METRICS, *counted)}
        for r in improvements
    ]
