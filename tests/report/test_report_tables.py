"""load_results, summarise and relative_improvement against hand-computed values (see conftest.VALUES)."""

from __future__ import annotations

import math
import subprocess

import pytest
from fake_sweep import make_row, write_sweep

from yolo_alpha.config_labels import config_label
from yolo_alpha.report import load_results, relative_improvement, summarise
from yolo_alpha.sweep import ResultsFileError


def _by_params(rows):
    return {tuple(sorted(r["params"].items())): r for r in rows}


def test_load_results_reads_every_line(noise_sweep, noise_rows):
    assert load_results(noise_sweep) == noise_rows


def test_load_results_missing_file(tmp_path):
    with pytest.raises(ResultsFileError, match=r"no results\.jsonl in sweep folder"):
        load_results(tmp_path)


def test_load_results_malformed_line_names_file_and_line(tmp_path):
    sweep = tmp_path / "bad"
    sweep.mkdir()
    good = '{"params": {"loss": "iou"}, "AP50": 0.5}\n'
    (sweep / "results.jsonl").write_text(good + '{"params": {"loss": \n' + good)
    with pytest.raises(ResultsFileError, match=r"results\.jsonl, line 2: not valid JSON \(Expecting value\)$"):
        load_results(sweep)  # a line in the middle is not cut short: no recovery recipe, which would drop a row


def test_a_cut_short_last_line_says_the_rows_before_are_intact_and_how_to_drop_it(tmp_path):
    rows = [make_row({"loss": "iou", "seed": s}, 0.5) for s in (0, 1)]
    sweep = write_sweep(tmp_path / "cut", rows)
    path = sweep / "results.jsonl"
    path.write_text(path.read_text() + '{"cell_id": "loss-iou__seed-2", "params": ')  # a write that stopped
    with pytest.raises(ResultsFileError) as error:
        load_results(sweep)
    assert str(error.value) == (
        f"{path}, line 3: not valid JSON (Expecting value). It is the last line and is cut short (a "
        "write or copy that did not finish); the 2 rows before it are intact. To recover, delete that line: "
        f"sed -i '3d' {path} (the sweep's next run then redoes that cell)"
    )
    subprocess.run(["sed", "-i", "3d", str(path)], check=True)  # the command the message gives
    assert load_results(sweep) == rows


def test_a_cut_short_only_line_and_blank_lines_after_it(tmp_path):
    sweep = tmp_path / "one"
    sweep.mkdir()
    (sweep / "results.jsonl").write_text('{"params": {"loss"\n\n')
    with pytest.raises(ResultsFileError, match=r"line 1: not valid JSON .* last line .* no row precedes it.* '1d'"):
        load_results(sweep)


def test_load_results_line_without_params(tmp_path):
    sweep = tmp_path / "bad"
    sweep.mkdir()
    (sweep / "results.jsonl").write_text("\n[1, 2]\n")  # blank lines are skipped; line 2 is a list
    with pytest.raises(ValueError, match=r"line 2"):
        load_results(sweep)


def test_summarise_mean_std_n(noise_rows):
    summary = _by_params(summarise(noise_rows))
    assert len(summary) == 4  # 2 losses × 2 noise levels; seed is averaged over
    s = summary[(("loss", "ciou"), ("noise_eta", 0.0))]
    assert s["n"] == 2
    assert s["mean"]["AP50"] == pytest.approx((0.40 + 0.60) / 2)
    # sample std (ddof=1) of {0.4, 0.6}: sqrt((0.1² + 0.1²) / 1)
    assert s["std"]["mAP50-95"] == pytest.approx(math.sqrt(0.1**2 + 0.1**2))
    assert s["mean"]["noise_mean_iou"] == pytest.approx(1.0)
    s = summary[(("loss", "alpha_ciou"), ("noise_eta", 0.2))]
    assert s["mean"]["mAP75-95"] == pytest.approx((0.30 + 0.50) / 2)
    assert s["mean"]["noise_mean_iou"] == pytest.approx(0.8)
    assert summary[(("loss", "ciou"), ("noise_eta", 0.2))]["mean"]["AP95"] == 0.0


def test_summarise_one_seed_has_no_std():
    summary = summarise([make_row({"loss": "iou", "seed": 0}, 0.5)])
    assert summary[0]["n"] == 1
    assert summary[0]["mean"]["AP50"] == 0.5
    assert summary[0]["std"]["AP50"] is None  # one seed has no spread: None, not 0


def test_summarise_orders_baseline_before_alpha_loss(noise_rows):
    losses = [(s["params"]["noise_eta"], s["params"]["loss"]) for s in summarise(noise_rows)]
    assert losses == [(0.0, "ciou"), (0.0, "alpha_ciou"), (0.2, "ciou"), (0.2, "alpha_ciou")]


def test_relative_improvement_pairs_and_zero_baseline(noise_rows):
    improvements = _by_params(relative_improvement(summarise(noise_rows)))
    assert set(improvements) == {
        (("loss", "alpha_ciou"), ("noise_eta", 0.0)),
        (("loss", "alpha_ciou"), ("noise_eta", 0.2)),
    }
    clean = improvements[(("loss", "alpha_ciou"), ("noise_eta", 0.0))]
    assert clean["baseline_params"] == {"loss": "ciou", "noise_eta": 0.0}
    assert clean["improvement"]["mAP50-95"] == pytest.approx((0.60 - 0.50) / 0.50)
    noisy = improvements[(("loss", "alpha_ciou"), ("noise_eta", 0.2))]
    assert noisy["baseline_params"] == {"loss": "ciou", "noise_eta": 0.2}
    assert noisy["improvement"]["AP50"] == pytest.approx((0.40 - 0.30) / 0.30)
    assert noisy["improvement"]["AP95"] is None  # the baseline's AP95 is 0


def test_relative_improvement_alpha_grid_uses_alpha_one():
    # alpha_iou at α = 3 is compared with alpha_iou at α = 1 when the grid has it, not with iou.
    rows = [
        make_row({"loss": "iou", "alpha": 1, "seed": 0}, 0.40),
        make_row({"loss": "alpha_iou", "alpha": 1, "seed": 0}, 0.50),
        make_row({"loss": "alpha_iou", "alpha": 3, "seed": 0}, 0.60),
    ]
    improvements = relative_improvement(summarise(rows))
    assert len(improvements) == 1  # α = 1 is the baseline itself
    assert improvements[0]["baseline_params"] == {"loss": "alpha_iou", "alpha": 1}
    assert improvements[0]["improvement"]["AP50"] == pytest.approx((0.60 - 0.50) / 0.50)


def test_relative_improvement_alpha_grid_falls_back_to_classic_loss():
    rows = [
        make_row({"loss": "diou", "alpha": 1, "seed": 0}, 0.40),
        make_row({"loss": "alpha_diou", "alpha": 2, "seed": 0}, 0.50),
        make_row({"loss": "alpha_giou", "alpha": 2, "seed": 0}, 0.50),  # no giou in the sweep: no row
    ]
    improvements = relative_improvement(summarise(rows))
    assert [r["params"]["loss"] for r in improvements] == ["alpha_diou"]
    assert improvements[0]["improvement"]["mAP50-95"] == pytest.approx((0.50 - 0.40) / 0.40)


@pytest.mark.parametrize(
    ("params", "keys", "label"),
    [
        ({"loss": "alpha_ciou", "seed": 0}, ["loss"], "loss=alpha_ciou (α=3)"),  # the default α, resolved
        ({"loss": "alpha_ciou", "alpha": 2}, ["loss"], "loss=alpha_ciou (α=2)"),  # α not shown as a key
        ({"loss": "alpha_ciou", "alpha": 2}, None, "loss=alpha_ciou, alpha=2"),  # shown as a key: as before
        ({"loss": "alpha_diou", "alpha2": 1}, None, "loss=alpha_diou (α=3), alpha2=1"),
        ({"loss": "alpha_diou", "alpha": 3, "alpha2": 1}, ["loss"], "loss=alpha_diou (α=3, α₂=1)"),
        ({"loss": "alpha_iou", "alpha": 0, "iou_term": "boxcox", "alpha2": 1}, ["loss"], "loss=alpha_iou (α=0, α₂=1)"),
        ({"loss": "ciou", "noise_eta": 0.2}, None, "loss=ciou, noise_eta=0.2"),  # classic losses are α = 1
        ({"loss": "alpha_ciou", "alpha": -1}, ["loss"], "loss=alpha_ciou"),  # no training accepts it: as given
        ({"loss": "not_a_loss"}, None, "loss=not_a_loss"),
        ({"noise_eta": 0.1}, None, "noise_eta=0.1"),
    ],
)
def test_labels_show_the_power_of_an_alpha_loss(params, keys, label):
    assert config_label(params, keys) == label


def test_write_sweep_roundtrip(tmp_path):
    rows = [make_row({"loss": "iou", "seed": 0}, 0.5)]
    assert load_results(write_sweep(tmp_path / "s", rows)) == rows
