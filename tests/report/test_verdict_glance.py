"""The verdicts at a glance (yolo_alpha.report.verdict_glance): claims.csv rows → one line per comparison."""

import csv

from yolo_alpha.report.verdict_glance import (
    baseline_ap50,
    baseline_sentence,
    glance_section,
    glance_table,
    read_claims,
    sign_flips,
    studies_table,
)


def claim(regime, verdict="inconclusive", metric="mAP50-95", claim="C1", config=None, **values):
    row = {
        "claim": claim, "regime": regime, "compared": "loss=alpha_iou (α=3) vs loss=iou", "metric": metric,
        "config": config or f"model={'yolov5n-anchor' if regime == 'anchor' else 'yolov5nu'}.yaml",
        "expected": "flat" if metric == "AP50" else "up", "difference_mean": "0.0012", "ci_low": "-0.0031",
        "ci_high": "0.0055", "verdict": verdict, "margin": "0.005", "half_width": "0.0043", "seeds_needed": "",
        "n_seeds": "10",
    }  # fmt: skip
    return {**row, **values}


def test_regimes_side_by_side_in_ap_points_with_the_verdict():
    rows = [claim("anchor", "equivalent"), claim("task_aligned", "inconclusive", seeds_needed="14")]
    table = glance_table(rows)
    assert table[0] == "| claim | compared | metric, claimed | anchor-based YOLOv5 | task-aligned | seeds |"
    assert table[2] == (
        "| C1 | alpha_iou (α=3) vs iou | mAP50-95 up | +0.12 [-0.31, +0.55] **equivalent** "
        "| +0.12 [-0.31, +0.55] inconclusive (±0.43; 14 seeds) | 10 / 10 |"
    )
    assert len(table) == 3


def test_about_flat_shows_its_margin_and_a_missing_regime_a_dash():
    table = glance_table([claim("task_aligned", "reproduced", metric="AP50")])
    assert table[0].endswith("| task-aligned | seeds |") and "anchor" not in table[0]
    assert "| AP50 about flat (±0.5) | +0.12 [-0.31, +0.55] **reproduced** | 10 |" in table[2]
    both = glance_table([claim("anchor", metric="AP50"), claim("task_aligned", metric="mAP75-95")])
    assert both[2].endswith("| +0.12 [-0.31, +0.55] inconclusive | – | 10 / – |")


def test_a_setting_that_varies_within_a_regime_gets_its_own_line():
    rows = [claim(r, claim="C3", config=f"model={r}.yaml, noise_eta={eta}") for eta in (0.1, 0.3) for r in ("anchor",)]
    table = glance_table(rows)
    assert [line.split(" | ")[1] for line in table[2:]] == [
        "alpha_iou (α=3) vs iou at noise_eta=0.1",
        "alpha_iou (α=3) vs iou at noise_eta=0.3",
    ]


def test_counts_and_slopes_are_left_to_the_full_table():
    assert glance_table([claim("anchor", metric="TP50"), claim("anchor", claim="C2", metric="AP50")]) == []
    assert glance_section([]) == []


def test_no_interval_is_said(tmp_path):
    assert "+0.12 (no interval)" in glance_table([claim("anchor", ci_low="", ci_high="")])[2]


def test_the_section_reads_claims_csv(tmp_path):
    path = tmp_path / "claims.csv"
    rows = [claim("anchor", "opposite"), claim("task_aligned", "reproduced")]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    section = glance_section(read_claims(path))
    assert section[0] == "## Verdicts at a glance" and "**opposite**" in section[4] and "**reproduced**" in section[4]
    assert read_claims(tmp_path / "missing.csv") == []


def test_a_sign_flip_against_an_earlier_study_is_named_when_one_side_is_beyond_the_margin():
    earlier = [
        claim("anchor", "inconclusive", difference_mean="0.0011"),  # +0.11 -> -0.60: named
        claim("task_aligned", "opposite", difference_mean="-0.0109"),  # -1.09 -> +0.20: named
        claim("anchor", metric="AP50", difference_mean="0.002"),  # +0.20 -> -0.10: both inside ±0.5, no finding
        claim("anchor", claim="C3", config="model=m.yaml, noise_eta=0.1", difference_mean="0.02"),  # another η
        claim("anchor", claim="C3", config="model=m.yaml, noise_eta=0.3", difference_mean="-0.0282"),  # same sign
    ]
    powered = [
        claim("anchor", "opposite", difference_mean="-0.0060"),
        claim("task_aligned", "equivalent", difference_mean="0.0020"),
        claim("anchor", metric="AP50", difference_mean="-0.001"),
        claim("anchor", claim="C3", config="model=m2.yaml, pretrained=../cpu/warm/anchor.pt, noise_eta=0.3",
              difference_mean="-0.01"),
        claim("anchor", claim="C4", difference_mean="0.01"),  # no earlier row: nothing to compare
    ]  # fmt: skip
    assert sign_flips(powered, earlier) == [
        "C1 alpha_iou (α=3) vs iou, mAP50-95, anchor-based YOLOv5: +0.11 (inconclusive) → -0.60 (opposite)",
        "C1 alpha_iou (α=3) vs iou, mAP50-95, task-aligned: -1.09 (opposite) → +0.20 (equivalent)",
    ]
    assert sign_flips(powered, []) == [] and sign_flips([], earlier) == []


def test_several_studies_side_by_side_each_with_its_own_settings():
    synthetic = [claim("anchor", "equivalent"), claim("task_aligned", "equivalent")]
    real = [
        claim("task_aligned", "opposite", difference_mean="-0.01", ci_low="-0.02", ci_high="-0.001", n_seeds="12"),
        # C3 at one η in this study: no setting of its own, though the other study's label differs
        claim("task_aligned", claim="C3", config="model=yolov5nu.yaml, noise_eta=0.3, pretrained=warm/t.pt"),
    ]
    table = studies_table({"synthetic": synthetic, "real": real})
    assert table[0] == (
        "| claim | compared | metric, claimed | synthetic: anchor-based YOLOv5 | synthetic: task-aligned "
        "| real: task-aligned | seeds |"
    )
    assert table[2].endswith("**equivalent** | -1.00 [-2.00, -0.10] **opposite** | 10 / 10 / 12 |")
    assert table[3].startswith("| C3 | alpha_iou (α=3) vs iou | mAP50-95 up | – | – | +0.12")
    assert studies_table({"": synthetic}) == glance_table(synthetic)


def test_the_baseline_level_is_the_clean_ciou_runs_ap50_per_regime():
    def row(ap50, **params):
        return {"params": {"model": "yolov5nu.yaml", "loss": "ciou", **params}, "AP50": ap50}

    rows = [
        row(0.40, seed=0),
        row(0.38, seed=1),
        row(0.9, noise_eta=0.3),  # noisy boxes, an α, a fraction: not the baseline
        row(0.9, alpha=2),
        row(0.9, fraction=0.5),
        row(0.9, loss="iou"),
        row(0.30, model="yolov5n-anchor.yaml"),
        row(0.35, noise_eta=0.0, model="yolov5n-anchor.yaml"),  # η 0 is clean
    ]
    level = baseline_ap50(rows)
    assert level.keys() == {"anchor", "task_aligned"}
    assert abs(level["task_aligned"][0] - 39.0) < 1e-9 and level["task_aligned"][1] == 2
    assert abs(level["anchor"][0] - 32.5) < 1e-9
    # a loss set by the sweep's base, a model by its default
    assert baseline_ap50([{"params": {"seed": 0}, "AP50": 0.5}], "yolov5nu.yaml", {"loss": "ciou"}) == {
        "task_aligned": (50.0, 1)
    }
    text = baseline_sentence(level, "[PROTOCOL.md](../PROTOCOL.md)")[0]
    assert text.startswith("The level these verdicts are read at, the CIoU baseline's AP50 (clean boxes): "
                           "anchor-based YOLOv5 32.5 % (2 runs), task-aligned 39.0 % (2 runs).")  # fmt: skip
    assert text.endswith("fixed by and whether they were met: [PROTOCOL.md](../PROTOCOL.md).")
    assert "task-aligned 50.0 % (1 run)." in baseline_sentence({"task_aligned": (50.0, 1)})[0]
    assert baseline_sentence({}) == [] and glance_section([claim("anchor")], ["x", ""])[-2:] == ["x", ""]
