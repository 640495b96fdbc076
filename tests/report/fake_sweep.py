"""Builders of a fake sweep folder: hand-made results.jsonl and Ultralytics-like results.csv, values easy to compute."""

from __future__ import annotations

import json
from pathlib import Path

from yolo_alpha.evaluate import COUNT_KEYS
from yolo_alpha.report.tables import AP_KEYS

# Every metric of a run takes one value (so means and stds are worked out once), except where a test overrides it.
# (loss, noise_eta, seed) -> value:
#   ciou,       η 0.0: 0.40, 0.60 -> mean 0.50, std sqrt(0.02)
#   alpha_ciou, η 0.0: 0.50, 0.70 -> mean 0.60, rela. improv. (0.60 - 0.50) / 0.50 = 0.2
#   ciou,       η 0.2: 0.20, 0.40 -> mean 0.30
#   alpha_ciou, η 0.2: 0.30, 0.50 -> mean 0.40, rela. improv. (0.40 - 0.30) / 0.30 = 1/3
# AP95 of ciou at η 0.2 is 0 in both seeds: a zero baseline, so its rela. improv. is None.
VALUES = {
    ("ciou", 0.0, 1): 0.40,
    ("ciou", 0.0, 2): 0.60,
    ("alpha_ciou", 0.0, 1): 0.50,
    ("alpha_ciou", 0.0, 2): 0.70,
    ("ciou", 0.2, 1): 0.20,
    ("ciou", 0.2, 2): 0.40,
    ("alpha_ciou", 0.2, 1): 0.30,
    ("alpha_ciou", 0.2, 2): 0.50,
}
METRICS = (*AP_KEYS, "mAP50-95", "mAP75-95")
# Fig. 2's true-positive counts of a run: N_GT · value · share, falling with the IoU threshold as real counts do.
# A run scaled by `value` makes relative differences equal the AP ones: alpha_ciou vs ciou at η 0 is +20% everywhere.
N_GT, COUNT_SHARES = 200, (1.0, 0.9, 0.8, 0.6, 0.3)


def make_row(params: dict, value: float, run_dir: Path | None = None, legacy: bool = False, **overrides) -> dict:
    """Return one results.jsonl object with every AP metric equal to `value` (then `overrides`).

    A row carries Fig. 2's counts (TP50 … TP90, n_gt) and ``evaluator: pycocotools`` as the sweep writes them now;
    with `legacy` it has neither, as rows written before the COCO evaluation.
    """
    cell_id = "__".join(f"{k}-{v}" for k, v in params.items())
    row = {"cell_id": cell_id, "params": params, **dict.fromkeys(METRICS, value), "epochs": 3, "seconds": 1.0}
    if not legacy:
        row.update({key: N_GT * value * share for key, share in zip(COUNT_KEYS, COUNT_SHARES)})
        row.update({"n_gt": N_GT, "ultralytics_mAP50-95": value + 0.001, "evaluator": "pycocotools"})
    row["run_dir"] = str(run_dir) if run_dir is not None else f"/nonexistent/{cell_id}"
    row.update(overrides)
    return row


def write_results_csv(run_dir: Path, maps: list[float]) -> None:
    """Write an Ultralytics-like results.csv (space-padded header, as older versions write it)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lines = ["                  epoch,  metrics/mAP50(B), metrics/mAP50-95(B)"]
    lines += [f"{epoch},{m + 0.1},{m}" for epoch, m in enumerate(maps, start=1)]
    (run_dir / "results.csv").write_text("\n".join(lines) + "\n")


def write_sweep(sweep: Path, rows: list[dict]) -> Path:
    sweep.mkdir(parents=True, exist_ok=True)
    (sweep / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return sweep
