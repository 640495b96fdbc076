"""Sweep results as tables: mean ± std over seeds, the paper's "rela. improv.", and the labels of configurations.

``results.jsonl`` itself is read by :mod:`yolo_alpha.sweep_folder` (``load_results``, re-exported here), the one
reader the sweep runner uses too; configurations are labelled and ordered by :mod:`yolo_alpha.config_labels`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from yolo_alpha.checks import is_number
from yolo_alpha.config_labels import base_loss, config_label, sort_key
from yolo_alpha.metrics import COUNT_KEYS, IMPROVEMENT_METRICS, TABLE_METRICS
from yolo_alpha.sweep_folder import ResultsFileError, load_results  # noqa: F401  (re-exported: public names of yolo_alpha.report)

# Summarised too, but not in the AP table: Fig. 2's true-positive counts, Ultralytics' own mAP (for comparison), …
EXTRA_METRICS = (*COUNT_KEYS, "n_gt", "ultralytics_mAP50-95", "noise_mean_iou", "epochs", "seconds")
NOT_METRICS = ("cell_id", "params", "run_dir")


def evaluators(rows: list[dict]) -> dict[str, int]:
    """Return {evaluator: number of rows}; rows from before the COCO evaluation count as "ultralytics"."""
    counts: dict[str, int] = {}
    for row in rows:
        name = str(row.get("evaluator", "ultralytics"))
        counts[name] = counts.get(name, 0) + 1
    return counts


def varied_keys(rows: list[dict]) -> list[str]:
    """Return the params keys that take more than one value across `rows` (rows or summary rows), sorted."""
    values: dict[str, set] = {}
    for row in rows:
        for key, value in row["params"].items():
            values.setdefault(key, set()).add(json.dumps(value, sort_keys=True))
    return sorted(k for k, v in values.items() if len(v) > 1)


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
