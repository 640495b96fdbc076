"""Fig. 2 in the report (true positives at IoU ≥ 0.5 … 0.9) and the evaluator label, on hand-made sweep rows."""

from __future__ import annotations

import csv

import matplotlib.image as mpimg
import pytest
from fake_sweep import COUNT_SHARES, N_GT, make_row, write_sweep

from yolo_alpha.report import relative_improvement, summarise, write_report
from yolo_alpha.report.figures import tp_count_improvement_data, tp_counts_data


def _csv(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_tp_counts_figure_means_and_relative_difference(noise_sweep):
    out = write_report(noise_sweep).parent
    text = (out / "report.md").read_text()
    assert "![tp_counts](tp_counts.png)" in text and "paper Fig. 2" in text
    image = mpimg.imread(out / "tp_counts.png")
    assert image.shape[0] > 100 and image.shape[1] > 100
    counts = _csv(out / "tp_counts.csv")
    assert len(counts) == 4 * 5  # 4 configurations × 5 thresholds
    # ciou at η 0: seeds 0.40 and 0.60 → mean N_GT · 0.5 · share; at IoU ≥ 0.9 the share is 0.3.
    row = next(r for r in counts if r["config"] == "loss=ciou, noise_eta=0.0" and float(r["iou_threshold"]) == 0.9)
    assert float(row["mean"]) == pytest.approx(N_GT * 0.5 * COUNT_SHARES[-1])
    assert float(row["std"]) == pytest.approx(N_GT * 0.1 * 2**0.5 * COUNT_SHARES[-1])
    differences = _csv(out / "tp_counts_improvement.csv")
    clean = [r for r in differences if r["config"] == "loss=alpha_ciou (α=3), noise_eta=0.0"]
    assert [float(r["iou_threshold"]) for r in clean] == [0.5, 0.6, 0.7, 0.8, 0.9]
    assert all(r["baseline"] == "loss=ciou, noise_eta=0.0" for r in clean)
    assert [float(r["relative_difference"]) for r in clean] == pytest.approx([0.2] * 5)  # (0.6 − 0.5) / 0.5
    improvements = _csv(out / "relative_improvement.csv")
    assert float(next(r for r in improvements if float(r["noise_eta"]) == 0.2)["TP90"]) == pytest.approx(1 / 3)


def test_report_names_the_evaluator(noise_sweep):
    text = write_report(noise_sweep).read_text()
    assert "## AP per IoU threshold (COCO-style, pycocotools)" in text
    assert "pycocotools' COCOeval" in text and "different evaluators" not in text
    summary = _csv(noise_sweep / "report" / "summary.csv")
    assert float(summary[0]["ultralytics_mAP50-95_mean"]) == pytest.approx(0.501)  # ciou at η 0: 0.5 + 0.001


def test_legacy_rows_still_report_without_fig_2(tmp_path):
    rows = [make_row({"loss": loss, "seed": 0}, v, legacy=True) for loss, v in (("ciou", 0.4), ("alpha_ciou", 0.5))]
    out = write_report(write_sweep(tmp_path / "old", rows)).parent
    text = (out / "report.md").read_text()
    assert "## AP per IoU threshold (Ultralytics' validator)" in text
    assert "Fig. 2 (true positives at IoU ≥ 0.5 … 0.9) skipped: no run has counts" in text
    assert "| loss=alpha_ciou (α=3) | 50.00 |" in text
    assert not (out / "tp_counts.png").exists()
    assert "TP50" not in _csv(out / "relative_improvement.csv")[0]  # no count columns for rows without counts


def test_mixed_rows_are_flagged_and_configurations_without_counts_left_out(tmp_path):
    rows = [
        make_row({"loss": "ciou", "seed": 0}, 0.4),
        make_row({"loss": "alpha_ciou", "seed": 0}, 0.5, legacy=True),
        make_row({"loss": "diou", "seed": 0}, 0.4),
    ]
    text = write_report(write_sweep(tmp_path / "mixed", rows)).read_text()
    assert "## AP per IoU threshold (mixed evaluators)" in text
    assert "**The runs were scored by different evaluators** (pycocotools: 2 run(s), ultralytics: 1 run(s))" in text
    assert "Note: no counts for 1 configuration(s), left out: loss=alpha_ciou (α=3)" in text
    summary = summarise(rows)
    assert {r["config"] for r in tp_counts_data(summary)} == {"loss=ciou", "loss=diou"}
    assert tp_count_improvement_data(relative_improvement(summary)) == []  # alpha_ciou has no counts to compare


def test_without_a_pair_the_differences_file_still_has_its_header_and_the_report_says_why(tmp_path):
    rows = [make_row({"loss": loss, "seed": 0}, 0.4) for loss in ("ciou", "alpha_giou")]  # no giou: no baseline
    out = write_report(write_sweep(tmp_path / "unpaired", rows)).parent
    assert (out / "tp_counts_improvement.csv").read_text().splitlines() == [
        "config,baseline,iou_threshold,relative_difference"
    ]
    text = (out / "report.md").read_text()
    assert "No *rela. improv.* row: no α-loss in this sweep has its baseline" in text
    assert "Note: no α-loss in this sweep has its baseline (an `alpha_X` loss is compared with X" in text
    assert "so the right panel and tp_counts_improvement.csv are empty." in text


def test_a_pair_whose_baseline_has_no_true_positives_is_explained(tmp_path):
    zero_counts = dict.fromkeys(("TP50", "TP60", "TP70", "TP80", "TP90"), 0)
    rows = [make_row({"loss": "ciou", "seed": 0}, 0.4, **zero_counts), make_row({"loss": "alpha_ciou", "seed": 0}, 0.5)]
    out = write_report(write_sweep(tmp_path / "zero", rows)).parent
    assert len((out / "tp_counts_improvement.csv").read_text().splitlines()) == 1  # the header only
    assert "no α-loss/baseline pair has counts on both sides" in (out / "report.md").read_text()
