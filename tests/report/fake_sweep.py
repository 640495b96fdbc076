"""Builders of a fake sweep folder: hand-made results.jsonl and Ultralytics-like results.csv, values easy to compute."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from yolo_alpha.metrics import AP_KEYS, COUNT_KEYS

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


# --- sweeps that test the paper's claims -------------------------------------------------------------------------
# A classic loss (iou) and its α form (alpha_iou, α = 3) per seed; the baseline's value at seeds 0, 1, 2 is far apart,
# so only the pairing by seed shows a gain of 0.01 (as tests/reproduce/test_claims.py).
CLAIM_BASE = (0.40, 0.50, 0.60)
WIN = (0.010, 0.011, 0.009)  # α − base: mean 0.01, sd 0.001 → 95 % interval 0.01 ± 4.303·0.001/√3 = [0.0075, 0.0125]
LOSE = (-0.010, -0.011, -0.009)  # the mirror image: [−0.0125, −0.0075]
ALTERNATE = (0.020, -0.020, 0.010)  # mean 0.0033, sd 0.0208: the interval holds 0
THRESHOLDS = tuple(int(k[2:]) / 100 for k in AP_KEYS)  # 0.50, 0.55, …, 0.95


def claim_row(params: dict, value: float, gain: float, run_dir: Path) -> dict:
    """Return a results.jsonl row whose AP falls with the threshold, plus a gain rising from 0 (AP50) to 2·gain (AP95).

    AP_t = value · (1 − 0.8 s) + 2 · gain · s with s = (t − 0.5) / 0.45; mAP50-95 and mAP75-95 are the means of their
    APs, so α − base is exactly `gain` for mAP50-95 (mean s = 1/2), 2 · gain · 7/9 for mAP75-95 (mean s over AP75 …
    AP95 = 7/9) and 0 for AP50 (s = 0). The counts scale with mAP50-95 (make_row), the run's results.csv holds
    mAP50-95 / 4, / 2 and itself at epochs 1, 2, 3.
    """
    ap = {k: value * (1 - 0.8 * s) + 2 * gain * s for k, s in zip(AP_KEYS, ((t - 0.5) / 0.45 for t in THRESHOLDS))}
    m = sum(ap.values()) / len(ap)
    late = [ap[k] for k in AP_KEYS[5:]]
    write_results_csv(run_dir, [m / 4, m / 2, m])
    return make_row(params, m, run_dir, **ap, **{"mAP50-95": m, "mAP75-95": sum(late) / len(late)})


def claim_rows(root: Path, gains=WIN, seeds=(0, 1, 2), models=None, losses=("iou", "alpha_iou")) -> list[dict]:
    """Return the rows of `losses` (baseline, α form) × `seeds` (× `models`, in the params, when given).

    The α form's value at seed i is the baseline's CLAIM_BASE[i] plus gains[i]; each run has its results.csv.
    """
    rows = []
    for model in models or [None]:
        for loss in losses:
            for seed in seeds:
                params = ({"model": model} if model else {}) | {"loss": loss, "seed": seed}
                gain = gains[seed] if loss == losses[1] else 0.0
                run_dir = root / "runs" / "__".join(f"{k}-{v}" for k, v in params.items())
                rows.append(claim_row(params, CLAIM_BASE[seed], gain, run_dir))
    return rows


def write_sweep_yaml(sweep: Path, base: dict, grid: dict) -> None:
    """Write ``sweep.yaml`` as the sweep runner does: the sweep's name, base keys and grid."""
    sweep.mkdir(parents=True, exist_ok=True)
    (sweep / "sweep.yaml").write_text(yaml.safe_dump({"name": sweep.name, "base": base, "grid": grid}, sort_keys=False))
