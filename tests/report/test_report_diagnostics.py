"""The report's diagnostics section from hand-made diagnostics.csv files: bands, box share, figure, and its absence."""

import csv

import pytest
from fake_sweep import make_row, write_sweep

from yolo_alpha.report import diagnostics_section as section
from yolo_alpha.report import write_report
from yolo_alpha.ultralytics import diagnostics


def write_diagnostics(run_dir, grad_shares, positives=100.0, mean_iou=0.6):
    """One epoch's row: the given gradient share per bin (10 numbers), an even share of positives."""
    row = {"epoch": 1, "batches": 20, "positives_per_batch": positives, "mean_iou": mean_iou}
    row |= {f"share_{b}": 0.1 for b in diagnostics.bin_labels()}
    row |= {f"grad_share_{b}": g for b, g in zip(diagnostics.bin_labels(), grad_shares)}
    diagnostics.append_row(run_dir, row)


def test_the_file_name_and_bins_are_the_writers():
    assert section.DIAGNOSTICS_FILE == diagnostics.DIAGNOSTICS_FILE
    assert diagnostics.bin_labels() == section.BINS


def test_the_section_averages_seeds_and_bands_by_hand(tmp_path):
    rows = []
    # iou: all gradient below IoU 0.5; alpha_iou: half at 0.7-0.9, half at >= 0.9; two seeds each, equal.
    shares = {"iou": [0.2] * 5 + [0.0] * 5, "alpha_iou": [0.0] * 7 + [0.25, 0.25, 0.5]}
    for loss, grad in shares.items():
        for seed, positives in ((0, 90.0), (1, 110.0)):
            run_dir = tmp_path / "runs" / f"{loss}_{seed}"
            run_dir.mkdir(parents=True)
            # results.csv's training losses: box 1, cls 2, dfl 1 -> the box term's share is 25 %
            lines = ["epoch,metrics/mAP50(B),metrics/mAP50-95(B),train/box_loss,train/cls_loss,train/dfl_loss"]
            (run_dir / "results.csv").write_text("\n".join([*lines, "1,0.2,0.1,1,2,1", "2,0.3,0.2,1,2,1"]) + "\n")
            write_diagnostics(run_dir, grad, positives=positives)
            rows.append(make_row({"loss": loss, "seed": seed}, 0.5, run_dir))
    report = write_report(write_sweep(tmp_path / "sweep", rows)).read_text()
    assert "## Diagnostics: what the box loss saw in training" in report
    assert "| task-aligned | loss=iou | 2 | 100 | 0.600 | 100.0 | 0.0 | 0.0 | 0.0 | 25.0 |" in report
    assert "| task-aligned | loss=alpha_iou (α=3) | 2 | 100 | 0.600 | 0.0 | 0.0 | 50.0 | 50.0 | 25.0 |" in report
    assert (
        "- task-aligned: α = 3 puts 100 % of the box gradient on positives with IoU ≥ 0.7 (α = 1: 0 %) and 0 % on "
        "those below 0.5 (100 %); the box term is 25 % of the training loss (25 %), with 100 positives per batch"
    ) in report
    out = tmp_path / "sweep" / "report"
    assert (out / "gradient_share.png").is_file()
    with (out / "gradient_share.csv").open() as f:
        data = list(csv.DictReader(f))
    assert len(data) == 20 and {d["config"] for d in data} == {"loss=iou", "loss=alpha_iou (α=3)"}


def test_no_diagnostics_no_section(noise_sweep):
    report = write_report(noise_sweep).read_text()
    assert "Diagnostics" not in report and not (noise_sweep / "report" / "diagnostics.csv").exists()


@pytest.mark.parametrize("text", ["", "epoch,positives_per_batch\n"])
def test_an_empty_or_partial_file_gives_no_rows(tmp_path, text):
    (tmp_path / section.DIAGNOSTICS_FILE).write_text(text)
    rows = section.read_csv_rows(tmp_path / section.DIAGNOSTICS_FILE)
    assert rows == []


def test_noisy_rows_get_their_own_lines_and_the_papers_mechanism_is_read_out(tmp_path):
    rows = []
    # Per η the positives fit their noisy targets worse; IoU spends 60 % of its gradient below IoU 0.5, α-IoU 20 %.
    low = {"iou": [0.12] * 5 + [0.08] * 5, "alpha_iou": [0.04] * 5 + [0.16] * 5}
    for eta, mean_iou in ((0.0, 0.65), (0.1, 0.6), (0.3, 0.5)):
        for loss, grad in low.items():
            params = {"loss": loss, **({"noise_eta": eta} if eta else {}), "seed": 0}
            run_dir = tmp_path / "runs" / f"{loss}_{eta}"
            run_dir.mkdir(parents=True)
            write_diagnostics(run_dir, grad, mean_iou=mean_iou)
            rows.append(make_row(params, 0.5, run_dir))
    report = write_report(write_sweep(tmp_path / "sweep", rows)).read_text()
    lines = [line for line in report.splitlines() if line.startswith("| task-aligned |")]
    assert [line.split(" | ")[1] for line in lines] == [
        "loss=alpha_iou (α=3)",
        "loss=iou",
        "loss=alpha_iou (α=3), noise_eta=0.1",
        "loss=iou, noise_eta=0.1",
        "loss=alpha_iou (α=3), noise_eta=0.3",
        "loss=iou, noise_eta=0.3",
    ]
    assert (
        "- task-aligned, noisy boxes (η = 0.1 / 0.3): the positives' mean IoU with their noisy targets is 0.60 / 0.50 "
        "under the IoU loss (clean: 0.65); α = 3 spends 20 / 20 % of the box gradient on positives below IoU 0.5 "
        "(α = 1: 60 / 60 %)"
    ) in report
