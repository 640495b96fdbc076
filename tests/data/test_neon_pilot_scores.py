"""scripts/neon_pilot_scores.py: each NEON pilot's final weights scored as the study scores a cell, kept once scored."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest
import yaml
from test_named_sets import fake_pip  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("neon_pilot_scores", ROOT / "scripts" / "neon_pilot_scores.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_pilot_is_scored_pooled_and_per_val_site_once(fake_pip, tmp_path):  # noqa: F811
    from yolo_alpha.run import train

    pilots = tmp_path / "pilots"
    train(
        data="neon-trees", model="yolov8n.yaml", imgsz=64, epochs=2, batch=4, loss="ciou", plots=False,
        project=str(pilots), name="tiny", workers=0,
    )  # fmt: skip
    (pilots / "kept_without_weights").mkdir()  # an earlier pilot whose weights were not kept
    script = load_script()
    rows = script.main(pilots)
    assert [row["pilot"] for row in rows] == ["tiny"] and rows[0]["epochs"] == 2
    imgsz = yaml.safe_load((pilots / "tiny" / "args.yaml").read_text())["imgsz"]
    assert imgsz == 64 and set(rows[0]) >= {"AP50", "mAP50-95", "mAP75-95", "YELL AP50", "OSBS AP50", "SOAP AP50"}
    with (pilots / "scores.csv").open(newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert written == [{k: str(v) for k, v in rows[0].items()}]
    assert sorted(p.name for p in (pilots / "tiny").iterdir()) == ["args.yaml", "results.csv", "weights"]

    # finished: by its stripped last.pt; one without weights only once scores.csv has it
    assert script.finished(pilots / "tiny") and not script.finished(pilots / "kept_without_weights")
    (pilots / "tiny" / "weights" / "last.pt").write_bytes(b"")  # scored already: never evaluated again
    assert script.main(pilots) == written
    (pilots / "tiny" / "weights" / "last.pt").unlink()  # its weights not kept: scores.csv says it finished
    assert script.finished(pilots / "tiny")


@pytest.mark.parametrize(
    ("on_ta", "flipud", "chosen"),
    [
        ("41.20", "39.90", "on_ta"),
        ("38.00", "44.81", "flipud"),
        ("36.00", "37.10", "earlier"),  # neither beats the earlier recipe's 37.8 %
        ("37.80", "37.80", "earlier"),  # equal scores: the first in the order earlier, on_ta, flipud
        ("40.00", "40.00", "on_ta"),
    ],
)
def test_the_anchor_recipe_is_the_candidate_whose_seed0_fine_tune_scored_the_highest_ap50(on_ta, flipud, chosen):
    rows = [
        {"pilot": "ft20_anchor_flipud_seed0", "AP50": flipud},  # in any order
        {"pilot": "ta_b8_nbs8_pad_rerun", "AP50": "99.00"},  # not a candidate
        {"pilot": "ft20_anchor_on_ta_b8_seed0", "AP50": on_ta},
    ]
    assert load_script().anchor_recipe(rows) == chosen


def test_no_anchor_recipe_is_chosen_before_both_candidates_are_scored():
    with pytest.raises(SystemExit, match="no row of ft20_anchor_flipud_seed0"):
        load_script().anchor_recipe([{"pilot": "ft20_anchor_on_ta_b8_seed0", "AP50": "50.0"}])


def _seeds(prefix, ap50, map50_95, map75_95):
    return [
        {"pilot": f"{prefix}{seed}", "AP50": str(a), "mAP50-95": str(b), "mAP75-95": str(c)}
        for seed, (a, b, c) in enumerate(zip(ap50, map50_95, map75_95))
    ]


@pytest.mark.parametrize(
    ("ta_map50_95", "seeds_needed", "seeds", "half_width"),
    [
        # s = 0.5 AP, paired ≤ √2 · 0.5: t(0.975, 9) · 0.7071 / √10 = 0.506 > 0.5, t(0.975, 10) · 0.7071 / √11 = 0.475
        ((15.0, 15.5, 16.0), 11, 11, 0.4750),
        # s = 1.0: 34 would do (t(0.975, 33) · 1.4142 / √34 = 0.494); 12 (the cap) allow t(0.975, 11) · 1.4142 / √12
        ((15.0, 16.0, 17.0), 34, 12, 0.8985),
        # s = 0.1, so the anchor regime's 0.3 is the largest: 6 would do; the floor is 8: t(0.975, 7) · 0.4243 / √8
        ((15.0, 15.1, 15.2), 6, 8, 0.3547),
    ],
)
def test_the_seeds_follow_from_the_largest_spread_of_the_chosen_recipes_three_seeds(
    ta_map50_95, seeds_needed, seeds, half_width
):
    rows = [
        {"pilot": "ft20_anchor_on_ta_b8_seed0", "AP50": "41.0"},
        {"pilot": "ft20_anchor_flipud_seed0", "AP50": "39.0"},
        *_seeds("ft20_anchor_on_ta_b8_seed", (41.0, 38.0, 38.0), (12.0, 12.3, 12.6), (0.8, 0.9, 1.0)),
        *_seeds("ft20_b8_ta_rerun_seed", (45.0, 44.0, 46.0), ta_map50_95, (1.0, 1.2, 1.4)),
        *_seeds("ft20_ta_flipud_seed", (1, 1, 1), (99, 0, 50), (99, 0, 50)),  # another recipe's: not read
    ]
    found = load_script().decide(rows)
    assert found["anchor_recipe"] == "on_ta"
    anchor, ta = found["regimes"]["anchor"], found["regimes"]["task_aligned"]
    assert anchor["AP50"] == pytest.approx(39.0) and not anchor["meets"]
    assert ta["AP50"] == pytest.approx(45.0) and ta["meets"]
    assert anchor["std"] == pytest.approx({"mAP50-95": 0.3, "mAP75-95": 0.1})
    assert found["spread"] == pytest.approx(max(0.3, ta["std"]["mAP50-95"]))
    assert (found["seeds_needed"], found["seeds"]) == (seeds_needed, seeds)
    assert found["half_width"] == pytest.approx(half_width, abs=1e-4)


def test_no_decision_is_read_before_the_chosen_recipes_three_seeds_are_scored():
    rows = [{"pilot": "ft20_anchor_on_ta_b8_seed0", "AP50": "41.0"}, {"pilot": "ft20_anchor_flipud_seed0", "AP50": "9"}]
    with pytest.raises(SystemExit, match="no row of ft20_anchor_on_ta_b8_seed1, ft20_anchor_on_ta_b8_seed2"):
        load_script().decide(rows)


def test_a_regime_below_the_criterion_takes_its_300_epoch_round_where_its_three_seeds_score_higher():
    first = [
        {"pilot": "ft20_anchor_on_ta_b8_seed0", "AP50": "30.0"},
        {"pilot": "ft20_anchor_flipud_seed0", "AP50": "31.0"},  # neither beats 37.8: the earlier recipe
        *_seeds("ft20_anchor_b8_e150_seed", (36.0, 38.0, 37.0), (11.0, 11.2, 11.4), (0.7, 0.8, 0.9)),
        *_seeds("ft20_b8_ta_rerun_seed", (43.0, 39.0, 35.9), (13.6, 12.1, 11.9), (1.0, 0.7, 0.7)),
    ]
    script = load_script()
    assert script.below_criterion(first) == ["anchor", "task_aligned"]  # means 37.0 and 39.3
    longer = [
        *_seeds("ft20_anchor_e300_seed", (35.0, 36.0, 37.0), (9, 10, 11), (0.1, 0.2, 0.3)),  # lower: not taken
        *_seeds("ft20_ta_e300_seed", (41.0, 42.0, 43.0), (14.0, 14.1, 14.2), (1.1, 1.2, 1.3)),
    ]
    found = script.decide(first + longer)
    anchor, ta = found["regimes"]["anchor"], found["regimes"]["task_aligned"]
    assert found["anchor_recipe"] == "earlier"
    assert (anchor["round"], anchor["AP50"], anchor["meets"]) == ("first", pytest.approx(37.0), False)
    assert (ta["round"], ta["AP50"], ta["meets"]) == ("e300", pytest.approx(42.0), True)
    assert ta["pilots"] == ["ft20_ta_e300_seed0", "ft20_ta_e300_seed1", "ft20_ta_e300_seed2"]
    assert found["spread"] == pytest.approx(0.2)  # the chosen rounds' stds only: anchor's mAP50-95 (11.0-11.4)
    assert script.decide(first)["regimes"]["task_aligned"]["round"] == "first"  # before the longer round is scored
