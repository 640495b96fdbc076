"""Claims C1 … C7 and the pairing by seed on small hand-made sweeps whose answers are worked out in the comments.

Every hand-made run has one value for all its metrics unless a test overrides some. The baselines of the three
seeds are 0.40, 0.50, 0.60: far apart, so only the pairing by seed shows an α gain of 0.01 (an unpaired comparison
of two groups of spread 0.1 would not). With differences 0.010, 0.011, 0.009 (mean 0.01, sd 0.001) the 95 %
interval is 0.01 ± 4.303 · 0.001 / √3 = [0.0075, 0.0125]: reproduced.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from yolo_alpha.metrics import AP_KEYS
from yolo_alpha.reproduce import (
    DEFAULT_MARGINS,
    ClaimDataError,
    all_claims,
    claim_c1,
    claim_c2,
    claim_c3,
    claim_c4,
    claim_c5,
    claim_c6,
    claim_c7,
    claim_schedule,
    compared_families,
    config_alpha,
    epoch_differences,
    missing_claims,
    pair_by_seed,
    regime_of,
    seeds_needed,
    t_critical,
)
from yolo_alpha.reproduce.pairing import loss_at

ANCHOR, TASK = "yolov5s-anchor.yaml", "yolov8n.yaml"
BASE = (0.40, 0.50, 0.60)  # the baseline's value at seeds 0, 1, 2
GAIN = (0.010, 0.011, 0.009)  # α − base: mean 0.01, sd 0.001
METRICS = (*AP_KEYS, "mAP50-95", "mAP75-95")
HALF = t_critical(2) * 0.001 / math.sqrt(3)  # 0.00248: the half-width of the interval of GAIN


def run(loss, seed, value, model=ANCHOR, metrics=None, **params):
    """Return a results.jsonl row: every AP metric `value`, TP50 = 1000·value, TP90 = 100·value, then `metrics`."""
    params = {"model": model, "loss": loss, **params, "seed": seed}
    cell = "__".join(f"{k}-{v}" for k, v in params.items())
    row = {"cell_id": cell, "params": params, "run_dir": f"/sweep/runs/{cell}", **dict.fromkeys(METRICS, value)}
    return row | {"TP50": 1000 * value, "TP90": 100 * value, "n_gt": 2000} | (metrics or {})


def sweep(gains=GAIN, model=ANCHOR, loss="iou", alpha_loss="alpha_iou", base=BASE, **params):
    """Return the rows of `loss` at `base` and `alpha_loss` at base + gain, one pair per seed 0, 1, 2."""
    rows = [run(loss, seed, b, model, **params) for seed, b in enumerate(base)]
    return rows + [run(alpha_loss, seed, b + g, model, **params) for seed, (b, g) in enumerate(zip(base, gains))]


def by_metric(rows, metric):
    return [r for r in rows if r.metric == metric]


# --- regimes, α, pairing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "regime"),
    [
        ("yolov5s-anchor.yaml", "anchor"),
        ("cfg/models/yolov5n-anchor.yaml", "anchor"),
        ("YOLOV5X-ANCHOR.YML", "anchor"),
        ("yolov5su.yaml", "task_aligned"),
        ("yolov8n.yaml", "task_aligned"),
        ("runs/detect/train/weights/best.pt", "task_aligned"),  # weights: the name does not say
    ],
)
def test_regime_of(model, regime):
    assert regime_of({"model": model}) == regime


def test_regime_of_params_without_a_model_needs_a_default():
    assert regime_of({"loss": "iou"}, default_model="yolov5s-anchor.yaml") == "anchor"
    with pytest.raises(ClaimDataError, match=r"regime of loss=iou: its params have no 'model'.*default_model="):
        regime_of({"loss": "iou"})


def test_config_alpha_resolves_as_training_does():
    assert config_alpha({"loss": "alpha_iou"}) == 3.0  # the α-losses' default
    assert config_alpha({"loss": "alpha_iou", "alpha": 2}) == 2.0
    assert config_alpha({"loss": "iou"}) == 1.0
    assert config_alpha({"loss": "no_such_loss"}) is None
    assert config_alpha({"loss": "iou", "alpha": 3}) is None  # training refuses it


def test_pair_by_seed_pairs_each_seed_with_the_same_other_params():
    rows = sweep() + sweep(noise_eta=0.2)
    pairs = pair_by_seed(rows, "mAP50-95", {"loss": "alpha_iou"}, {"loss": "iou"})
    assert [p.context for p in pairs] == [{"model": ANCHOR}, {"model": ANCHOR, "noise_eta": 0.2}]
    assert pairs[0].seeds == (0, 1, 2)
    assert pairs[0].alpha == pytest.approx((0.41, 0.511, 0.609)) and pairs[0].baseline == BASE
    assert pairs[0].compared == "loss=alpha_iou (α=3) vs loss=iou"
    # A function selector picks the same configurations.
    assert pair_by_seed(rows, "mAP50-95", loss_at("iou", 3), loss_at("iou", 1)) == pairs


def test_a_sweep_still_running_pairs_the_seeds_both_sides_have_and_lists_the_others():
    rows = sweep()[:-1]  # alpha_iou has no seed 2 yet
    (pairs,) = pair_by_seed(rows, "mAP50-95", {"loss": "alpha_iou"}, {"loss": "iou"})
    assert pairs.seeds == (0, 1) and pairs.unpaired == (2,) and pairs.unscored == ()
    (row, *_) = claim_c1(rows)
    assert row.seeds == (0, 1) and "seeds of one side only (not yet paired): 2" in row.note


def test_a_seed_twice_and_two_baselines_are_refused_by_name():
    with pytest.raises(ClaimDataError, match=rf"two rows of loss=iou, model={ANCHOR} have seed=0"):
        pair_by_seed([*sweep(), run("iou", 0, 0.3)], "mAP50-95", {"loss": "alpha_iou"}, {"loss": "iou"})
    rows = [run("iou", s, b) for s, b in enumerate(BASE)]  # iou and alpha_iou at α = 1: the same baseline twice
    rows += [run("alpha_iou", s, b, alpha=a) for s, b in enumerate(BASE) for a in (1, 3)]
    with pytest.raises(ClaimDataError, match=r"alpha=3.* has 2 baselines: .*loss=iou.*; .*alpha=1"):
        pair_by_seed(rows, "mAP50-95", loss_at("iou", 3), loss_at("iou", 1))


def test_a_missing_baseline_is_no_pair_and_a_missing_metric_no_seed():
    assert pair_by_seed(sweep()[3:], "mAP50-95", {"loss": "alpha_iou"}, {"loss": "iou"}) == []
    rows = sweep()
    del rows[0]["TP50"]  # iou, seed 0: a row from before the COCO evaluation
    (pairs,) = pair_by_seed(rows, "TP50", {"loss": "alpha_iou"}, {"loss": "iou"})
    assert (pairs.seeds, pairs.unscored) == ((1, 2), (0,))


# --- C1 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gains", "verdict"),
    [
        (GAIN, "reproduced"),
        ((0.02, -0.02, 0.02), "inconclusive"),  # mean 0.0067, sd 0.023: interval ± 0.057 contains 0
        ((-0.010, -0.011, -0.009), "opposite"),
        # mean 0.00017, sd 0.00104: interval ± 0.0026 contains 0 and lies within ±0.005: no effect beyond 0.5 points
        ((0.001, -0.001, 0.0005), "equivalent"),
    ],
)
def test_c1_verdicts(gains, verdict):
    rows = claim_c1(sweep(gains))
    assert [r.verdict for r in by_metric(rows, "mAP50-95")] == [verdict]
    assert [r.verdict for r in by_metric(rows, "mAP75-95")] == [verdict]
    assert {r.margin for r in rows} == {0.005}


def test_an_inconclusive_row_says_how_many_seeds_would_reach_the_margin():
    (row,) = by_metric(claim_c1(sweep((0.02, -0.02, 0.02))), "mAP50-95")
    # sd 0.0231: t*(n − 1) · 0.0231 / √n ≤ 0.005 first at n = 85 (≈ (1.99 · 0.0231 / 0.005)²)
    assert row.seeds_needed == seeds_needed(row.difference, 0.005) == 85
    assert all(r.seeds_needed is None for r in claim_c1(sweep()))  # decisive rows need no more seeds


def test_the_margins_are_per_metric():
    tiny = (0.001, -0.001, 0.0005)
    rows = claim_c1(sweep(tiny), margins={"AP50": 0.005, "mAP75-95": 0.0001})
    assert [(r.metric, r.margin, r.verdict) for r in rows] == [
        ("mAP50-95", None, "inconclusive"),  # no margin stated for it: contains 0, and that is all
        ("mAP75-95", 0.0001, "inconclusive"),  # a margin narrower than the interval
        ("AP50", 0.005, "reproduced"),
    ]
    assert rows[0].seeds_needed is None and rows[1].seeds_needed > 3


def test_c1_row_hand_worked():
    (row,) = by_metric(claim_c1(sweep()), "mAP50-95")
    assert (row.claim, row.regime, row.compared, row.config) == (
        "C1",
        "anchor",
        "loss=alpha_iou (α=3) vs loss=iou",
        f"model={ANCHOR}",
    )
    assert row.paper == "Table 1 YOLOv5s IoU → α-IoU: VOC 52.74 → 53.61 (+1.65%), COCO 36.29 → 37.01 (+1.98%)"
    assert (row.alpha_mean, row.baseline_mean) == (pytest.approx(0.51), pytest.approx(0.5))  # 0.41, 0.511, 0.609
    assert (row.alpha_std, row.baseline_std) == (pytest.approx(0.0995, abs=1e-4), pytest.approx(0.1))
    assert row.relative == pytest.approx(0.02)  # (0.51 − 0.50) / 0.50
    d = row.difference
    assert (d.n, d.mean, d.std) == (3, pytest.approx(0.01), pytest.approx(0.001))
    assert (d.low, d.high) == (pytest.approx(0.01 - HALF), pytest.approx(0.01 + HALF))
    assert row.seeds == (0, 1, 2) and row.expected == "up"


def test_c1_ap50_is_about_flat():
    # AP50 differences 0.001, 0.002, 0.0015: interval [0.00026, 0.00274] lies inside ±0.005 → flat reproduced;
    # the mAPs' gain of 0.01 is not flat: [0.0075, 0.0125] lies above +0.005 → opposite for a flat claim.
    rows = sweep()
    for row, g in zip(rows[3:], (0.001, 0.002, 0.0015)):
        row["AP50"] = row["AP50"] - GAIN[row["params"]["seed"]] + g
    (flat,) = by_metric(claim_c1(rows), "AP50")
    assert (flat.expected, flat.verdict) == ("flat", "reproduced")
    assert flat.paper.startswith("Table 1 YOLOv5s IoU → α-IoU: VOC 78.81 → 78.62 (-0.24%)")
    assert by_metric(claim_c1(sweep()), "AP50")[0].verdict == "opposite"
    assert by_metric(claim_c1(rows, margins={**DEFAULT_MARGINS, "AP50": 0.002}), "AP50")[0].verdict == "inconclusive"


def test_c1_both_regimes_in_one_input_give_two_rows_side_by_side():
    rows = sweep(model=TASK, gains=[-g for g in GAIN]) + sweep(model=ANCHOR)
    result = by_metric(claim_c1(rows), "mAP50-95")
    assert [(r.regime, r.verdict) for r in result] == [("anchor", "reproduced"), ("task_aligned", "opposite")]


def test_c1_compares_diou_too_and_alpha_1_of_an_alpha_sweep():
    rows = sweep(loss="diou", alpha_loss="alpha_diou")
    (row,) = by_metric(claim_c1(rows), "mAP75-95")
    assert row.compared == "loss=alpha_diou (α=3) vs loss=diou" and "32.17 → 34.66 (+7.72%)" in row.paper
    # An α sweep has no plain iou: its α = 1 run is the baseline.
    alpha_sweep = [run("alpha_iou", s, b, alpha=1) for s, b in enumerate(BASE)]
    alpha_sweep += [run("alpha_iou", s, b + g, alpha=3) for s, (b, g) in enumerate(zip(BASE, GAIN))]
    (row,) = by_metric(claim_c1(alpha_sweep), "mAP50-95")
    assert row.compared == "loss=alpha_iou, alpha=3 vs loss=alpha_iou, alpha=1" and row.verdict == "reproduced"


def test_one_seed_is_never_a_verdict():
    rows = [r for r in sweep() if r["params"]["seed"] == 0]
    result = claim_c1(rows)
    assert {r.verdict for r in result} == {"inconclusive"}
    assert all(r.difference.n == 1 and r.difference.low is None for r in result)


def test_no_baseline_gives_no_row_and_missing_claims_says_why():
    rows = sweep()[3:]  # α runs only
    assert claim_c1(rows) == []
    reasons = {(m.claim, m.regime): m.reason for m in missing_claims(rows)}
    assert reasons["C1", "anchor"].startswith("no pair in the clean rows (noise_eta 0, full data): needs an α-loss")
    assert reasons["C1", "task_aligned"] == "no rows of the task_aligned regime"


# --- C2 -----------------------------------------------------------------------------------------------------------


def ap_curve(gain_slope, seed_scale):
    # Baseline AP_t = 0.9 − t (slope −1); α adds 0.01 + gain_slope · k_s · (t − 0.5): ΔAP has slope gain_slope · k_s.
    return lambda t, alpha: 0.9 - t + (0.01 + gain_slope * seed_scale * (t - 0.5) if alpha else 0)


@pytest.mark.parametrize(("gain_slope", "verdict"), [(0.1, "reproduced"), (-0.1, "opposite")])
def test_c2_slope_of_the_gain_over_the_threshold(gain_slope, verdict):
    rows = []
    for seed, k in enumerate((1.0, 1.1, 0.9)):  # slopes 0.1, 0.11, 0.09: mean 0.1, sd 0.01
        for loss in ("iou", "alpha_iou"):
            curve = ap_curve(gain_slope, k)
            aps = {f"AP{round(t * 100)}": curve(t, loss == "alpha_iou") for t in [0.5 + 0.05 * i for i in range(10)]}
            rows.append(run(loss, seed, 0.5, metrics=aps))
    (row,) = claim_c2(rows)
    assert row.verdict == verdict and row.relative is None and row.margin is None  # a slope has no margin
    assert row.difference.mean == pytest.approx(gain_slope) and row.difference.std == pytest.approx(0.01)
    assert row.baseline_mean == pytest.approx(-1.0) and row.alpha_mean == pytest.approx(-1.0 + gain_slope)
    assert "AP95 +55.56%" in row.paper


# --- C3 -----------------------------------------------------------------------------------------------------------


def noisy_sweep(model=ANCHOR, scales=(1.0, 1.1, 0.9)):
    # Per seed s and η: baseline 0.2 + 0.01 s, α = base · (1 + k_s η): relative gain k_s η, slope over η k_s.
    rows = []
    for eta in (0.1, 0.2, 0.3):
        for seed, k in enumerate(scales):
            base = 0.2 + 0.01 * seed
            rows += [
                run("iou", seed, base, model, noise_eta=eta),
                run("alpha_iou", seed, base * (1 + k * eta), model, noise_eta=eta),
            ]
    return rows


def test_c3_alpha_wins_at_each_eta_and_the_gain_grows_with_eta():
    rows = claim_c3(noisy_sweep())
    per_eta = [r for r in rows if not r.metric.startswith("slope")]
    assert [(r.metric, r.context["noise_eta"]) for r in per_eta] == [
        (m, eta) for m in ("mAP75-95", "mAP50-95") for eta in (0.1, 0.2, 0.3)
    ]
    assert {r.verdict for r in per_eta} == {"reproduced"}
    assert per_eta[1].paper == "Table 3 VOC η = 0.2, IoU → α-IoU: 9.02 → 10.56 (+17.03%)"
    assert per_eta[4].paper == "Table 3 VOC η = 0.2, IoU → α-IoU: 32.45 → 33.62 (+3.61%)"
    (trend,) = [r for r in rows if r.metric.startswith("slope")]
    # Slopes k_s = 1.0, 1.1, 0.9: mean 1.0, sd 0.1, interval 1 ± 4.303 · 0.1 / √3.
    assert trend.difference.mean == pytest.approx(1.0) and trend.difference.std == pytest.approx(0.1)
    assert trend.verdict == "reproduced" and trend.alpha_mean is None and trend.context == {"model": ANCHOR}
    assert trend.margin is None and {r.margin for r in per_eta} == {0.005}
    assert trend.note == "η = 0.1, 0.2, 0.3" and "+0.51 per unit η" in trend.paper


def test_c3_a_gain_that_shrinks_with_eta_is_opposite_in_that_regime_only():
    rows = noisy_sweep(ANCHOR) + noisy_sweep(TASK, scales=(-1.0, -1.1, -0.9))
    trends = [r for r in claim_c3(rows) if r.metric.startswith("slope")]
    assert [(r.regime, r.verdict) for r in trends] == [("anchor", "reproduced"), ("task_aligned", "opposite")]


# --- C4 -----------------------------------------------------------------------------------------------------------

CURVE = {0.5: 0.30, 1: 0.40, 2: 0.45, 3: 0.47, 4: 0.46, 5: 0.42}  # mAP50-95 by α, then + 0.1 per seed


def alpha_sweep(curve=CURVE, seeds=(0, 1, 2)):
    # α = 3 gets + 0.001 s and α = 0.5 + 0.002 s, so that the per-seed differences spread a little.
    extra = {3: 0.001, 0.5: 0.002}
    return [run("alpha_iou", s, v + 0.1 * s + extra.get(a, 0) * s, alpha=a) for a, v in curve.items() for s in seeds]


def test_c4_best_alpha_in_2_4_and_alpha_below_1():
    window, low = claim_c4(alpha_sweep())
    # best in [2, 4]: α = 3, 0.47 + 0.101 s; best outside: α = 5, 0.42 + 0.1 s → 0.050, 0.051, 0.052.
    assert window.compared == "alpha_iou: best α in [2, 4] (2, 3, 4) vs best α outside (0.5, 1, 5)"
    assert window.difference.mean == pytest.approx(0.051) and window.difference.std == pytest.approx(0.001)
    assert window.verdict == "reproduced" and window.note == "argmax α per seed: 3, 3, 3 (3 of 3 in [2, 4])"
    # α = 0.5 − α = 1: −0.10 + 0.002 s → −0.100, −0.098, −0.096: below 0, as claimed.
    assert (low.compared, low.expected, low.verdict) == ("alpha_iou: α = 0.5 vs α = 1", "down", "reproduced")
    assert low.difference.mean == pytest.approx(-0.098)


def test_c4_a_peak_outside_the_window_is_opposite():
    (window, _) = claim_c4(alpha_sweep({**CURVE, 5: 0.55}))  # 0.55 + 0.1 s beats 0.471 + 0.101 s
    assert window.verdict == "opposite" and window.note.startswith("argmax α per seed: 5, 5, 5 (0 of 3")


def test_c4_needs_an_alpha_sweep_and_uses_the_seeds_every_alpha_has():
    assert claim_c4(sweep()) == []  # α = 1 and 3 only: C1's comparison, not a sensitivity curve
    rows = [r for r in alpha_sweep() if not (r["params"]["alpha"] == 4 and r["params"]["seed"] == 2)]
    (window, *_) = claim_c4(rows)
    assert window.seeds == (0, 1) and window.note.endswith("; seeds not at every α yet: 2")


# --- C5, C7 -------------------------------------------------------------------------------------------------------


def test_c5_true_positives_relative_to_the_baseline():
    # TP50 = 1000 · value: 400, 500, 600 → +10, +11, +9; TP90 = 100 · value → +1, +1.1, +0.9.
    tp50, tp90 = claim_c5(sweep())
    assert (tp50.metric, tp90.metric) == ("TP50", "TP90")
    assert tp50.difference.mean == pytest.approx(10) and tp50.relative == pytest.approx(10 / 500)
    assert tp90.difference.mean == pytest.approx(1) and tp90.verdict == "reproduced"
    assert tp50.margin is None and claim_c5(sweep(), margins={"TP50": 20})[0].margin == 20  # counts: none by default
    assert "+1% true positives at IoU ≥ 0.5" in tp50.paper and "+11% true positives at IoU ≥ 0.9" in tp90.paper


def test_c5_rows_without_counts_give_no_row_and_say_so():
    rows = [{k: v for k, v in r.items() if not k.startswith("TP")} for r in sweep()]
    assert claim_c5(rows) == []
    reasons = {(m.claim, m.regime): m.reason for m in missing_claims(rows)}
    assert "TP50/TP90" in reasons["C5", "anchor"]


def test_c7_gain_at_each_fraction_and_fractions_stay_out_of_c1():
    rows = sweep(fraction=0.25) + sweep(gains=[-g for g in GAIN], fraction=0.5)
    result = claim_c7(rows)
    assert [(r.metric, r.context["fraction"], r.verdict) for r in result] == [
        ("mAP50-95", 0.25, "reproduced"),
        ("mAP50-95", 0.5, "opposite"),
        ("mAP75-95", 0.25, "reproduced"),
        ("mAP75-95", 0.5, "opposite"),
    ]
    assert claim_c1(rows) == []  # a quarter of the data is not Table 1's setting


# --- C6 -----------------------------------------------------------------------------------------------------------

BASE_SERIES = [0.11, 0.21, 0.30, 0.40, 0.50, 0.60]
ALPHA_SERIES = [0.10, 0.20, 0.30, 0.42, 0.52, 0.62]  # Δ: −0.01, −0.01, 0, +0.02, +0.02, +0.02 → crossing at epoch 4


def series_of(rows, late=0.001):
    # α's last two epochs get + late · seed: the per-seed change then spreads a little.
    out = {}
    for r in rows:
        seed, alpha = r["params"]["seed"], r["params"]["loss"].startswith("alpha")
        values = [*ALPHA_SERIES[:4], *(v + late * seed for v in ALPHA_SERIES[4:])] if alpha else BASE_SERIES
        out[r["run_dir"]] = values
    return out


def test_s_compares_the_schedule_with_alpha_1_and_with_alpha_3_without_it():
    rows = sweep() + [run("alpha_iou", seed, b + 0.02, alpha_warmup=5) for seed, b in enumerate(BASE)]
    found = by_metric(claim_schedule(rows), "mAP50-95")
    assert [r.compared for r in found] == [
        "loss=alpha_iou (α=3), alpha_warmup=5 vs loss=iou",
        "alpha_warmup=5 vs no alpha_warmup",  # the same α-IoU (α = 3) with and without the schedule
    ]
    assert [r.config for r in found] == [f"model={ANCHOR}", f"loss=alpha_iou (α=3), model={ANCHOR}"]
    # +0.02 over IoU per seed; over α-IoU (IoU + GAIN): 0.02 − GAIN = 0.010, 0.009, 0.011
    assert [r.difference.mean for r in found] == pytest.approx([0.02, 0.01])
    assert [r.verdict for r in found] == ["reproduced", "reproduced"]


def test_c6_crossing_epoch_and_late_gain():
    rows = sweep()
    (d,) = epoch_differences(rows, series_of(rows))
    assert d.crossing_epoch == 4 and len(d.mean_difference) == 6
    assert d.mean_difference[:3] == pytest.approx((-0.01, -0.01, 0)) and d.mean_difference[3] == pytest.approx(0.02)
    (row,) = claim_c6(rows, series_of(rows))
    # k = 2. Baseline: mean(0.50, 0.60) − mean(0.11, 0.21) = 0.39; α: 0.57 + 0.001 s − 0.15 = 0.42 + 0.001 s.
    assert row.baseline_mean == pytest.approx(0.39) and row.alpha_mean == pytest.approx(0.421)
    assert row.difference.mean == pytest.approx(0.031) and row.difference.std == pytest.approx(0.001)
    assert row.verdict == "reproduced" and row.note == "mean Δ > 0 from epoch 4 of 6; early epochs 1-2, late 5-6"
    assert row.margin is None  # a change over epochs: no margin


def test_c6_series_by_cell_id_cut_to_the_shortest_and_never_crossing():
    rows = sweep()
    series = {r["cell_id"]: list(reversed(v)) for r, v in zip(rows, series_of(rows).values())}
    series[rows[0]["cell_id"]] = [*series[rows[0]["cell_id"]], 0.9]  # a longer run: cut to 6 epochs
    (d,) = epoch_differences(rows, series)
    assert len(d.mean_difference) == 6 and d.crossing_epoch is None  # reversed: Δ ends at −0.01
    assert claim_c6(rows, series)[0].verdict == "opposite"
    assert claim_c6(rows, {}) == []


# --- all claims, missing claims, imports --------------------------------------------------------------------------


def test_all_claims_and_missing_claims_of_a_clean_anchor_sweep():
    rows = sweep() + sweep(loss="diou", alpha_loss="alpha_diou")
    claims = all_claims(rows, series_of(rows))
    assert {c.claim for c in claims} == {"C1", "C2", "C5", "C6"}
    narrow = all_claims(rows, series_of(rows), margins={**DEFAULT_MARGINS, "mAP50-95": 0.0001})
    assert {c.margin for c in narrow if c.metric == "mAP50-95"} == {0.0001}
    reasons = {(m.claim, m.regime): m.reason for m in missing_claims(rows, series_of(rows), claims=claims)}
    assert reasons == {
        **{
            (c, "task_aligned"): "no rows of the task_aligned regime"
            for c in ("C1", "C2", "C3", "C4", "C5", "C6", "C7")
        },
        ("C3", "anchor"): "no noisy rows (noise_eta > 0, full data)",
        ("C4", "anchor"): "no pair in the rows: needs one loss at 3 α or more, inside and outside [2, 4], or at α < 1 "
        "and α = 1",
        ("C7", "anchor"): "no rows with a 'fraction' param (noise_eta 0)",
    }


ALLOWED = (
    "yolo_alpha.losses",
    "yolo_alpha.config_labels",
    "yolo_alpha.metrics",
    "yolo_alpha.model_families",
    "yolo_alpha.errors",
    "yolo_alpha.checks",
    "yolo_alpha.reproduce",
)


def test_the_package_imports_neither_ultralytics_nor_the_adapter():
    package = Path(__file__).resolve().parents[2] / "yolo_alpha" / "reproduce"
    imported = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported.append(node.module or "")
    ours = [name for name in imported if name.split(".")[0] in ("yolo_alpha", "ultralytics")]
    assert ours and all(any(n == a or n.startswith(a + ".") for a in ALLOWED) for n in ours), ours


def test_the_compared_families_are_the_papers_and_every_other_trained_in_both_forms():
    assert compared_families(sweep()) == ("iou", "diou")  # the paper's, whether the rows hold them or not
    rows = sweep() + sweep(loss="ciou", alpha_loss="alpha_ciou") + sweep(loss="giou", alpha_loss="alpha_giou")
    assert compared_families(rows) == ("iou", "diou", "ciou", "giou")
    # a family trained in one form only is not compared
    lonely = [run("alpha_siou", 0, 0.5), run("eiou", 0, 0.4)]  # α-SIoU without SIoU, EIoU without α-EIoU
    assert compared_families(rows + lonely) == ("iou", "diou", "ciou", "giou")


def test_c1_compares_ciou_when_the_report_passes_its_families():
    rows = sweep() + sweep(loss="ciou", alpha_loss="alpha_ciou")
    found = claim_c1(rows, families=compared_families(rows))
    compared = {r.compared for r in found}
    assert "loss=alpha_ciou (α=3) vs loss=ciou" in compared and "loss=alpha_iou (α=3) vs loss=iou" in compared
    ciou = [r for r in found if "ciou" in r.compared and r.metric == "mAP50-95"]
    assert ciou[0].verdict == "reproduced" and ciou[0].paper.startswith("not in the paper")
