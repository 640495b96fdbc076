"""write_report end to end on fake sweep folders: Markdown, CSVs holding the plotted numbers, valid PNGs."""

from __future__ import annotations

import csv

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import pytest
from fake_sweep import make_row, write_results_csv, write_sweep

from yolo_alpha.report import plot_ap_vs_iou, summarise, write_report


def _csv(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _assert_png(path):
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_report_markdown(noise_sweep):
    path = write_report(noise_sweep)
    assert path == noise_sweep / "report" / "report.md"
    text = path.read_text()
    assert text.startswith("# Sweep report: sweep_noise")
    assert "8 runs" in text
    header = (
        "| Configuration | AP50 | AP55 | AP60 | AP65 | AP70 | AP75 | AP80 | AP85 | AP90 | AP95 | mAP50-95 | mAP75-95 |"
    )
    assert header in text
    lines = text.splitlines()
    # ciou at η 0: mean 50.00, std 100·sqrt(0.02) = 14.14, two seeds.
    assert "| loss=ciou, noise_eta=0.0 | 50.00 ± 14.14 (2) |" in text
    # The rela. improv. row sits right under its α row: (0.6 − 0.5)/0.5 = 20%, (0.4 − 0.3)/0.3 = 33.33%.
    i = next(n for n, line in enumerate(lines) if line.startswith("| loss=alpha_ciou (α=3), noise_eta=0.0 |"))
    assert lines[i + 1].startswith("| rela. improv. (vs loss=ciou, noise_eta=0.0) | 20.00% |")
    i = next(n for n, line in enumerate(lines) if line.startswith("| loss=alpha_ciou (α=3), noise_eta=0.2 |"))
    assert lines[i + 1].startswith("| rela. improv. (vs loss=ciou, noise_eta=0.2) | 33.33% |")
    assert lines[i + 1].split(" | ")[10] == "–"  # AP95: zero baseline, explained under the table
    assert (
        "Note: a *rela. improv.* cell is – where the baseline's mean is 0, as no relative change from 0 exists. "
        "Baselines with a mean of 0: loss=ciou, noise_eta=0.2 (AP95)." in lines
    )
    assert "also – where the α-loss or its baseline has no value" not in text
    assert "One seed is not a result" in text
    for name in ("ap_vs_iou", "map_over_epochs", "improvement_vs_noise"):
        assert f"![{name}]({name}.png)" in text
    assert "alpha_sensitivity" not in text  # α does not vary in this grid


def test_report_files(noise_sweep):
    out = write_report(noise_sweep).parent
    for name in ("ap_vs_iou", "map_over_epochs", "improvement_vs_noise"):
        _assert_png(out / f"{name}.png")
    assert not (out / "alpha_sensitivity.png").exists()

    summary = _csv(out / "summary.csv")
    assert len(summary) == 4
    row = next(r for r in summary if r["loss"] == "alpha_ciou" and float(r["noise_eta"]) == 0.2)
    assert float(row["mAP50-95_mean"]) == pytest.approx(0.40)
    assert float(row["mAP50-95_std"]) == pytest.approx(2**0.5 * 0.1)
    assert row["n"] == "2"

    improvements = _csv(out / "relative_improvement.csv")
    assert {(r["loss"], float(r["noise_eta"])) for r in improvements} == {("alpha_ciou", 0.0), ("alpha_ciou", 0.2)}
    noisy = next(r for r in improvements if float(r["noise_eta"]) == 0.2)
    assert float(noisy["mAP75-95"]) == pytest.approx(1 / 3)
    assert noisy["AP95"] == ""  # None: zero baseline

    ap = _csv(out / "ap_vs_iou.csv")
    assert len(ap) == 4 * 10  # 4 configurations × 10 thresholds
    row = next(r for r in ap if r["config"] == "loss=ciou, noise_eta=0.0" and float(r["iou_threshold"]) == 0.95)
    assert float(row["mean"]) == pytest.approx(0.5)

    epochs = _csv(out / "map_over_epochs.csv")
    assert len(epochs) == 4 * 3  # 4 configurations × 3 epochs
    # alpha_ciou at η 0, epoch 2: mean of 0.50/2 and 0.70/2.
    row = next(r for r in epochs if r["config"] == "loss=alpha_ciou (α=3), noise_eta=0.0" and r["epoch"] == "2")
    assert float(row["mean"]) == pytest.approx((0.25 + 0.35) / 2)
    assert row["n_runs"] == "2"

    noise = _csv(out / "improvement_vs_noise.csv")
    values = {(float(r["noise_eta"]), r["metric"]): float(r["relative_improvement"]) for r in noise}
    assert values == pytest.approx(
        {(0.0, "mAP50-95"): 0.2, (0.0, "mAP75-95"): 0.2, (0.2, "mAP50-95"): 1 / 3, (0.2, "mAP75-95"): 1 / 3}
    )


def test_report_alpha_grid_and_missing_results_csv(tmp_path):
    # One seed, α varies, noise does not; one run has no results.csv.
    rows = []
    for loss, alpha, value in (
        ("iou", 1, 0.40),
        ("alpha_iou", 1, 0.40),
        ("alpha_iou", 2, 0.44),
        ("alpha_iou", 3, 0.50),
    ):
        run_dir = tmp_path / "runs" / f"{loss}_{alpha}"
        if alpha != 2:
            write_results_csv(run_dir, [value / 2, value])
        rows.append(make_row({"loss": loss, "alpha": alpha, "seed": 0}, value, run_dir))
    out = write_report(write_sweep(tmp_path / "sweep_alpha", rows)).parent
    text = (out / "report.md").read_text()
    assert not any("±" in line for line in text.splitlines() if line.startswith("| loss="))  # one seed: plain means
    assert "Every configuration has a single run" in text
    assert "| loss=alpha_iou, alpha=3 | 50.00 |" in text
    assert "rela. improv. (vs loss=alpha_iou, alpha=1) | 25.00% |" in text  # (0.50 − 0.40) / 0.40
    assert "![alpha_sensitivity](alpha_sensitivity.png)" in text
    assert "improvement_vs_noise" not in text
    assert not (out / "improvement_vs_noise.png").exists()
    assert "no usable results.csv for 1 run(s)" in text and "alpha_iou_2" in text
    _assert_png(out / "alpha_sensitivity.png")
    sens = _csv(out / "alpha_sensitivity.csv")
    points = {(r["group"], float(r["alpha"]), r["metric"]): float(r["mean"]) for r in sens}
    assert points[("loss=alpha_iou", 2.0, "mAP50-95")] == pytest.approx(0.44)
    assert points[("loss=iou", 1.0, "mAP75-95")] == pytest.approx(0.40)
    assert len(_csv(out / "map_over_epochs.csv")) == 3 * 2  # the run without results.csv is left out


def test_a_baseline_at_zero_everywhere_is_named_under_the_table(tmp_path):
    rows = [make_row({"loss": "ciou", "seed": 0}, 0.0), make_row({"loss": "alpha_ciou", "seed": 0}, 0.1)]
    text = write_report(write_sweep(tmp_path / "untrained", rows)).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| rela. improv. (vs loss=ciou) |"))
    assert set(row.strip("| ").split(" | ")[1:]) == {"–"}
    assert "Baselines with a mean of 0: loss=ciou (every metric)." in text


def test_plot_takes_and_returns_ax(noise_rows):
    fig, ax = plt.subplots()
    fig2, ax2 = plot_ap_vs_iou(summarise(noise_rows), ax=ax)
    assert (fig2, ax2) == (fig, ax)
    assert len(ax.get_lines()) >= 4
    plt.close(fig)


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_an_empty_results_file_is_refused_and_nothing_is_written(tmp_path, content):
    # Issue 16: it wrote a report of "0 runs … every configuration has a single run".
    from yolo_alpha.sweep_folder import ResultsFileError

    sweep = tmp_path / "fresh"
    sweep.mkdir()
    (sweep / "results.jsonl").write_text(content)
    with pytest.raises(ResultsFileError) as error:
        write_report(sweep)
    assert str(error.value).startswith(f"report {sweep}: results.jsonl has no rows yet; run the sweep first: ")
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in sweep.iterdir()) == ["results.jsonl"]
