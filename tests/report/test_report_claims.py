"""The report's "Claims of the α-IoU paper" section and claims.csv, end to end on fake sweep folders.

The sweeps (fake_sweep.claim_rows) pair iou with alpha_iou (α = 3) over seeds 0, 1, 2 whose baselines are far apart;
α − base of mAP50-95 is the seed's gain, of AP50 exactly 0. With WIN's gains 0.010, 0.011, 0.009 (mean 0.01, sd
0.001) the 95 % interval is 0.01 ± t*(2) · 0.001 / √3 = 0.01 ± 0.00248: +1.00 [+0.75, +1.25] in AP points.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_sweep import ALTERNATE, CLAIM_BASE, LOSE, WIN, claim_rows, write_results_csv, write_sweep, write_sweep_yaml

from yolo_alpha.report import load_results, write_report
from yolo_alpha.report.claims_section import (
    CLAIMS_CSV_COLUMNS,
    TITLE,
    _compared,
    epoch_series,
    margin_note,
    shared_settings,
    sign_flip_lines,
)
from yolo_alpha.report.figures import read_epoch_curve, validated_each_epoch
from yolo_alpha.report.verdict_glance import TITLE as GLANCE_TITLE
from yolo_alpha.reproduce import DEFAULT_MARGINS, all_claims, seeds_needed, t_critical
from yolo_alpha.reproduce.stats import difference_interval

GRID = {"loss": ["iou", "alpha_iou"], "seed": [0, 1, 2]}
C1_MAP = "Table 1 YOLOv5s IoU → α-IoU: VOC 52.74 → 53.61 (+1.65%), COCO 36.29 → 37.01 (+1.98%)"


def _report(tmp_path, name="sweep", gains=WIN, seeds=(0, 1, 2), models=None, base=None, grid=GRID):
    sweep = tmp_path / name
    if base is not None:
        write_sweep_yaml(sweep, base, grid)
    write_sweep(sweep, claim_rows(sweep, gains, seeds, models))
    return write_report(sweep).read_text()


def _section(text):
    assert text.count(TITLE) == 1
    return text[text.index(TITLE) :]


def _table(text):
    """Return the claims table's rows as dicts keyed by its header."""
    lines = [line for line in _section(text).splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split(" | ")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split(" | ")))) for line in lines[1:]]


def _row(table, claim, metric_start, regime=None):
    found = [r for r in table if r["Claim"] == claim and r["Metric"].startswith(metric_start)]
    found = [r for r in found if regime is None or r["Regime"] == regime]
    assert len(found) == 1, found
    return found[0]


def _csv(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_consistent_gain_reproduces_c1(tmp_path):
    text = _report(tmp_path)
    section = _section(text)
    # α's mAP50-95 per seed: 0.6 · base (0.24, 0.30, 0.36) + gain -> 0.250, 0.311, 0.369; the baseline's sd is 0.06.
    alpha = [0.6 * b + g for b, g in zip(CLAIM_BASE, WIN)]
    mean = sum(alpha) / 3
    sd = math.sqrt(sum((a - mean) ** 2 for a in alpha) / 2)
    assert (
        f"| C1 | task-aligned | loss=alpha_iou (α=3) vs loss=iou | mAP50-95 (%) | {C1_MAP} | {100 * mean:.2f} ± "
        f"{100 * sd:.2f} | 30.00 ± 6.00 | +1.00 [+0.75, +1.25] | +3.33% | reproduced | 3 |"
    ) in section
    table = _table(text)
    assert _row(table, "C1", "mAP75-95")["Verdict"] == "reproduced"  # gain 2 · 0.01 · 7/9 = 1.56 points
    assert _row(table, "C1", "mAP75-95")["Δ α − baseline [95 % CI]"] == "+1.56 [+1.17, +1.94]"
    flat = _row(table, "C1", "AP50")  # Δ exactly 0: the interval [0, 0] lies within ±0.5 points
    assert (flat["Δ α − baseline [95 % CI]"], flat["Verdict"]) == ("+0.00 [+0.00, +0.00]", "reproduced")
    assert {r["Claim"] for r in table} == {"C1", "C2", "C5", "C6"}  # clean rows with counts and results.csv
    assert {r["Verdict"] for r in table} == {"reproduced"}
    assert "**How to read.**" in section and "95 % Student-t interval" in section and "±0.50 AP points" in section
    assert "no verdicts" not in section and "Note: rows with 1 seed" not in section


def test_a_consistent_loss_is_opposite_and_alternating_gains_are_inconclusive(tmp_path):
    lose = _table(_report(tmp_path, "lose", LOSE))
    assert _row(lose, "C1", "mAP50-95")["Δ α − baseline [95 % CI]"] == "-1.00 [-1.25, -0.75]"
    assert [_row(lose, "C1", m)["Verdict"] for m in ("mAP50-95", "mAP75-95", "AP50")] == [
        "opposite",
        "opposite",
        "reproduced",  # AP50 stays flat: that part of the claim holds
    ]
    assert _row(lose, "C2", "slope")["Verdict"] == "opposite"
    # ALTERNATE: +0.02, −0.02, +0.01: mean 0.0033, sd 0.0208, half-width 4.303 · 0.0208 / √3 = 0.0517.
    half = t_critical(2) * math.sqrt(((0.02 - 0.01 / 3) ** 2 + (0.02 + 0.01 / 3) ** 2 + (0.01 - 0.01 / 3) ** 2) / 2)
    alternate = _table(_report(tmp_path, "alternate", ALTERNATE))
    row = _row(alternate, "C1", "mAP50-95")
    low, high = 100 * (0.01 / 3 - half / math.sqrt(3)), 100 * (0.01 / 3 + half / math.sqrt(3))
    assert row["Δ α − baseline [95 % CI]"] == f"+0.33 [{low:+.2f}, {high:+.2f}]"
    # inconclusive: the half-width achieved (5.17 points) and the seeds that would bring it to ±0.50 at this spread
    needed = seeds_needed(difference_interval(ALTERNATE), 0.005)
    assert row["Verdict"] == f"inconclusive (±{100 * half / math.sqrt(3):.2f}; {needed} seeds for ±0.50)"
    assert _row(alternate, "C1", "mAP75-95")["Verdict"].startswith("inconclusive (±")
    # counts and a change over epochs have no margin: inconclusive, without seeds to reach one
    assert {_row(alternate, c, m)["Verdict"] for c, m in (("C5", "TP50"), ("C6", "mAP"))} == {"inconclusive"}


def test_the_section_leads_with_the_four_verdicts_and_states_the_margin(tmp_path):
    section = _section(_report(tmp_path))
    lead = (
        "**Verdicts** (7 rows with an interval) — task-aligned: 7 reproduced, 0 opposite, 0 equivalent, 0 inconclusive."
    )
    assert section.splitlines()[2] == lead
    assert "*equivalent* when it contains 0 and lies wholly within ±m" in section
    margin = "Equivalence margin m (claims.csv: `margin`): ±0.50 AP points on AP50 … AP95, mAP50-95, mAP75-95"
    assert f"{margin}; other metrics have none." in section


def test_gains_too_small_to_matter_are_equivalent(tmp_path):
    # α − base of mAP50-95: +0.001, −0.001, +0.0005: the interval ±0.26 points holds 0 and lies within ±0.50.
    table = _table(_report(tmp_path, "tiny", gains=(0.001, -0.001, 0.0005)))
    assert _row(table, "C1", "mAP50-95")["Verdict"] == "equivalent"
    assert _row(table, "C2", "slope")["Verdict"] == "inconclusive"  # a slope has no margin: never equivalent


def test_a_suites_margins_change_the_verdicts_and_are_recorded(tmp_path):
    sweep = write_sweep(tmp_path / "narrow", claim_rows(tmp_path / "narrow", (0.001, -0.001, 0.0005)))
    text = write_report(sweep, margins={**DEFAULT_MARGINS, "mAP50-95": 0.001, "TP50": 1.0}).read_text()
    assert _row(_table(text), "C1", "mAP50-95")["Verdict"].startswith("inconclusive (±0.26; ")
    assert "±0.10 AP points on mAP50-95; ±1.0 counts on TP50" in text
    rows = {(r["claim"], r["metric"]): r for r in _csv(sweep / "report" / "claims.csv")}
    assert float(rows["C1", "mAP50-95"]["margin"]) == 0.001 and float(rows["C5", "TP50"]["margin"]) == 1.0


def test_the_margin_note_of_no_margins_says_none_can_be_equivalent():
    assert (
        margin_note({}) == "Equivalence margin m (claims.csv: `margin`): none stated (no row can be equivalent); "
        "other metrics have none."
    )


def test_the_sign_flip_check_is_reported_where_it_disagrees(tmp_path):
    section = _section(_report(tmp_path))
    # 6 of WIN's 7 rows exclude 0 by the t-interval (not AP50: Δ = 0); with 3 seeds the sign-flip p is at least 0.25
    assert "It agrees with the interval on 1 of 7 rows. With 3 seeds its smallest p-value is 2 / 2^3 = 0.25" in section
    assert "the 6 rows of fewer than 6 seeds whose interval excludes 0 rest on the t-interval's assumption" in section

    def row(differences, verdict):
        d = difference_interval(differences)
        where = {"claim": "C1", "regime": "anchor", "compared": "a vs b", "context": {"noise_eta": 0.1}}
        return SimpleNamespace(**where, metric="mAP50-95", verdict=verdict, difference=d)

    agree = row([0.010, 0.011, 0.009, 0.010, 0.012, 0.008], "reproduced")  # p = 2/64 and the interval excludes 0
    # one outlier: the t-interval holds 0 (sd inflated), yet every sign pattern but two is less extreme: p = 2/64
    outlier = row([0.001, 0.002, 0.003, 0.004, 0.005, 0.2], "inconclusive")
    assert outlier.difference.low < 0 and outlier.difference.sign_flip_p == pytest.approx(2 / 64)
    lines = sign_flip_lines([agree, outlier], {})
    assert "It agrees with the interval on 1 of 2 rows." in lines[0] and "smallest p-value" not in lines[0]
    assert (
        lines[-2] == "- C1, anchor-based YOLOv5, a vs b at noise_eta=0.1, mAP50-95: inconclusive by the interval, "
        "sign-flip p = 0.0312"
    )


def test_one_seed_gives_no_verdict_and_asks_for_a_seed_list(tmp_path):
    text = _report(tmp_path, "one", seeds=(0,))
    table = _table(text)
    assert table and {r["Verdict"] for r in table} == {"no verdict (1 seed)"}
    assert {r["Seeds"] for r in table} == {"1"}
    assert _row(table, "C1", "mAP50-95")["Δ α − baseline [95 % CI]"] == "+1.00 (no interval)"
    assert "**One seed per configuration: no verdicts.**" in text and "`seed:` list of 3 seeds or more" in text
    rows = _csv(tmp_path / "one" / "report" / "claims.csv")
    assert {(r["verdict"], r["n_seeds"], r["ci_low"], r["ci_high"]) for r in rows} == {("inconclusive", "1", "", "")}
    assert {(r["half_width"], r["seeds_needed"], r["sign_flip_p"]) for r in rows} == {("", "", "")}


def test_two_seeds_warn_of_a_wide_interval(tmp_path):
    text = _report(tmp_path, "two", seeds=(0, 1))
    assert f"rows with 2 an interval ±{t_critical(1):.2f} standard errors wide" in text
    assert "no verdicts" not in text


def test_both_regimes_in_one_sweep_sit_side_by_side(tmp_path):
    models = ["yolov8n.yaml", "yolov5s-anchor.yaml"]  # grid order: task-aligned first, the table puts anchor first
    grid = {"model": models, **GRID}
    text = _report(tmp_path, "both", models=models, base={}, grid=grid)
    table = _table(text)
    c1 = [(r["Regime"], r["Metric"]) for r in table if r["Claim"] == "C1"]
    assert c1 == [
        (regime, metric)
        for metric in ("mAP50-95 (%)", "mAP75-95 (%)", "AP50 (%)")
        for regime in ("anchor-based YOLOv5", "task-aligned")
    ]
    anchor = _row(table, "C1", "mAP50-95", "anchor-based YOLOv5")
    # Each regime's model is in all its rows: named once above the table, not in every row's Compared.
    assert anchor["Compared"] == "loss=alpha_iou (α=3) vs loss=iou"
    shared = "Settings every row of a regime shares (not repeated under *Compared*): "
    assert f"{shared}anchor-based YOLOv5: `model=yolov5s-anchor.yaml`; task-aligned: `model=yolov8n.yaml`." in text
    assert anchor["Verdict"] == _row(table, "C1", "mAP50-95", "task-aligned")["Verdict"] == "reproduced"
    assert "Model: the grid's `model` of each run" in text
    assert "Not tested:" in text and "no rows of the" not in text  # both regimes have rows


@pytest.mark.parametrize(
    ("base", "regime", "origin"),
    [
        ({"model": "yolov5s-anchor.yaml", "epochs": 3}, "anchor-based YOLOv5", "from sweep.yaml's base."),
        ({"cfg": "voc.yaml"}, "anchor-based YOLOv5", "from `voc.yaml`, the cfg file of sweep.yaml's base."),
        ({"epochs": 3}, "task-aligned", "from cfg/default.yaml (sweep.yaml's base sets none)."),
    ],
)
def test_the_default_model_comes_from_sweep_yaml(tmp_path, base, regime, origin):
    text = _report(tmp_path, base=base)
    assert {r["Regime"] for r in _table(text)} == {regime}
    model = "yolov8n.yaml" if regime == "task-aligned" else "yolov5s-anchor.yaml"
    assert f"Model: `{model}` ({regime}) for every run, {origin}" in text


def test_the_default_model_comes_from_a_cfg_file_named_by_path_and_the_base_wins(tmp_path):
    settings = tmp_path / "my_settings.yaml"
    settings.write_text("model: yolov5n-anchor.yaml\nepochs: 3\n")
    text = _report(tmp_path, "by_path", base={"cfg": str(settings)})
    assert {r["Regime"] for r in _table(text)} == {"anchor-based YOLOv5"}
    assert f"`yolov5n-anchor.yaml` (anchor-based YOLOv5) for every run, from `{settings}`, the cfg file" in text
    text = _report(tmp_path, "base_wins", base={"cfg": str(settings), "model": "yolov8s.yaml"})
    assert {r["Regime"] for r in _table(text)} == {"task-aligned"}


def test_without_sweep_yaml_the_regime_falls_back_to_the_default_model_and_says_so(tmp_path):
    text = _report(tmp_path, "old")
    assert {r["Regime"] for r in _table(text)} == {"task-aligned"}
    fallback = "Model: `yolov8n.yaml` (task-aligned) for every run, from cfg/default.yaml, assumed: this folder has no "
    assert f"{fallback}sweep.yaml (rows of an older sweep)." in text
    assert "- C1, C2, C3, C4, C5, C6, C7 (anchor-based YOLOv5): no rows of the anchor regime" in text


def test_a_cfg_file_that_cannot_be_found_falls_back_and_says_why(tmp_path):
    text = _report(tmp_path, "lost", base={"cfg": "no/such/settings.yaml"})
    assert "for every run, from cfg/default.yaml, assumed: the base of sweep.yaml cannot be read (cfg=no/such" in text


def test_a_noise_rate_set_in_the_base_makes_the_rows_noisy(tmp_path):
    # The rows' params hold only the grid's keys: without the base's η they would read as clean (C1, Table 1).
    text = _report(tmp_path, "noisy", base={"noise_eta": 0.2})
    table = _table(text)
    assert {r["Claim"] for r in table} == {"C3"}
    row = _row(table, "C3", "mAP75-95")
    assert row["Compared"] == "loss=alpha_iou (α=3) vs loss=iou"  # every row has η = 0.2: it is named above the table
    assert "(not repeated under *Compared*): task-aligned: `noise_eta=0.2`." in text
    assert row["Paper"].startswith("Table 3 VOC η = 0.2, IoU → α-IoU:")


def test_compared_keeps_only_what_tells_a_regimes_rows_apart():
    def row(regime, **context):
        return SimpleNamespace(regime=regime, context=context, compared="loss=alpha_iou (α=3) vs loss=iou")

    anchor = {"model": "yolov5n-anchor.yaml", "nbs": 16}
    rows = [row("anchor", **anchor), row("anchor", **anchor, noise_eta=0.1), row("task_aligned", model="yolov8n.yaml")]
    shared = shared_settings(rows)
    assert shared == {"anchor": anchor, "task_aligned": {"model": "yolov8n.yaml"}}
    assert [_compared(r, shared) for r in rows] == [
        "loss=alpha_iou (α=3) vs loss=iou",
        "loss=alpha_iou (α=3) vs loss=iou at noise_eta=0.1",
        "loss=alpha_iou (α=3) vs loss=iou",
    ]
    # A value that differs between rows is nobody's shared setting; a regime with nothing shared has no entry.
    rows = [row("anchor", nbs=16), row("anchor", nbs=64), row("task_aligned")]
    assert shared_settings(rows) == {}
    assert _compared(rows[1], {}) == "loss=alpha_iou (α=3) vs loss=iou at nbs=64"


def test_c6_reads_each_runs_results_csv(tmp_path):
    sweep = tmp_path / "c6"
    rows = claim_rows(sweep, WIN)
    (sweep / "runs" / "loss-alpha_iou__seed-2" / "results.csv").unlink()
    write_report(write_sweep(sweep, rows))
    c6 = [r for r in _csv(sweep / "report" / "claims.csv") if r["claim"] == "C6"]
    assert [(r["n_seeds"], r["seeds"]) for r in c6] == [("2", "0, 1")]
    # Per seed, last − first epoch: (m − m/4) of each side, so the difference is 0.75 · gain.
    assert float(c6[0]["difference_mean"]) == pytest.approx(0.75 * (WIN[0] + WIN[1]) / 2)


def test_runs_trained_with_val_false_have_no_epoch_series_so_no_c6_and_no_fig3(tmp_path):
    # Ultralytics with val=False validates after the last epoch only and writes 0 as every other epoch's mAP: read
    # as a series, that is a "late gain" of final mAP / epochs in every run — no measurement of C6.
    sweep = tmp_path / "no_val"
    rows = claim_rows(sweep, WIN)
    for row in rows:
        run = sweep / "runs" / row["run_dir"].rpartition("/")[2]
        (run / "args.yaml").write_text("epochs: 3\nval: false\n")
        write_results_csv(run, [0.0, 0.0, row["mAP50-95"]])
    (sweep / "report").mkdir(parents=True)
    (sweep / "report" / "map_over_epochs.png").write_bytes(b"an earlier report's figure of these runs")
    report = write_report(write_sweep(sweep, rows)).read_text(encoding="utf-8")
    assert not [r for r in _csv(sweep / "report" / "claims.csv") if r["claim"] == "C6"]
    assert "no per-epoch mAP50-95 series (a run trained with val=False records none)" in report  # C6: why not
    assert "No mAP50-95 per epoch (paper Fig. 3): every run trained with `val=False`" in report
    assert "map_over_epochs.png" not in report and not (sweep / "report" / "map_over_epochs.png").exists()
    assert "no usable results.csv" not in report  # not missing: not recorded, by the run's own settings
    run = sweep / "runs" / rows[0]["run_dir"].rpartition("/")[2]
    assert read_epoch_curve(run) is None and not validated_each_epoch(run)
    (run / "args.yaml").write_text("epochs: 3\nval: true\n")
    assert validated_each_epoch(run) and [m for _, m in read_epoch_curve(run)] == [0.0, 0.0, rows[0]["mAP50-95"]]


def test_claims_csv_holds_one_row_per_claim_row_in_fractions(tmp_path):
    _report(tmp_path)
    rows = _csv(tmp_path / "sweep" / "report" / "claims.csv")
    with (tmp_path / "sweep" / "report" / "claims.csv").open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == list(CLAIMS_CSV_COLUMNS)
    runs = load_results(tmp_path / "sweep")
    assert len(rows) == len(all_claims(runs, epoch_series(runs), default_model="yolov8n.yaml")) == 7
    row = next(r for r in rows if r["claim"] == "C1" and r["metric"] == "mAP50-95")
    assert row["regime"] == "task_aligned" and row["verdict"] == "reproduced" and row["seeds"] == "0, 1, 2"
    assert float(row["difference_mean"]) == pytest.approx(0.01)
    assert float(row["ci_low"]) == pytest.approx(0.01 - t_critical(2) * 0.001 / math.sqrt(3))
    assert float(row["relative"]) == pytest.approx(0.01 / 0.30)
    assert float(row["margin"]) == 0.005 and row["seeds_needed"] == ""  # decisive: no more seeds needed
    assert float(row["half_width"]) == pytest.approx(t_critical(2) * 0.001 / math.sqrt(3))
    assert float(row["sign_flip_p"]) == pytest.approx(0.25)  # 3 seeds, all gains positive: 2 of 8 sign patterns
    assert float(row["baseline_mean"]) == pytest.approx(0.30)
    counts = next(r for r in rows if r["metric"] == "TP50")
    assert float(counts["difference_mean"]) == pytest.approx(200 * 0.01)  # counts stay counts: N_GT · Δ mAP50-95


def test_a_sweep_without_claims_has_no_section_and_an_empty_claims_csv(noise_rows, tmp_path):
    # α-CIoU alone: no classic loss beside its α form, so nothing to compare (with CIoU beside it, C1 compares them)
    sweep = write_sweep(tmp_path / "alpha_only", [r for r in noise_rows if r["params"]["loss"] != "ciou"])
    text = write_report(sweep).read_text()
    assert TITLE not in text
    path = sweep / "report" / "claims.csv"
    assert path.read_text().splitlines() == [",".join(CLAIMS_CSV_COLUMNS)]


def test_a_sweep_still_running_gives_the_claims_of_the_seeds_that_pair(tmp_path):
    sweep = tmp_path / "running"
    rows = [r for r in claim_rows(sweep, WIN) if r["params"] != {"loss": "iou", "seed": 2}]  # still training
    text = write_report(write_sweep(sweep, rows)).read_text()
    assert "| Claim |" in text and "seeds of one side only (not yet paired): 2" in _section(text)
    with (sweep / "report" / "claims.csv").open() as f:
        claims = list(csv.DictReader(f))
    c1 = [c for c in claims if c["claim"] == "C1"]
    assert c1 and all(c["n_seeds"] == "2" and "2" not in c["seeds"] for c in c1)


def test_the_report_is_the_same_twice(tmp_path):
    sweep = write_sweep(tmp_path / "twice", claim_rows(tmp_path / "twice", ALTERNATE))
    first = write_report(sweep).read_bytes(), (sweep / "report" / "claims.csv").read_bytes()
    assert (write_report(sweep).read_bytes(), (sweep / "report" / "claims.csv").read_bytes()) == first


GOLDEN = Path(__file__).parent / "golden"  # report.md as written before the claims section existed, paths as <tmp>


def test_a_sweep_keeps_its_report_byte_for_byte_before_the_claims_section(noise_sweep, tmp_path):
    # CIoU and α-CIoU trained side by side: the claims compare them (compared_families), after the unchanged report
    # and the verdicts at a glance lead it (verdict_glance), between the header and the AP table
    text = write_report(noise_sweep).read_text(encoding="utf-8").replace(str(tmp_path), "<tmp>")
    before, claims = text.split(TITLE)
    assert "| C1 | alpha_ciou (α=3) vs ciou | mAP50-95 up |" in before.split("## AP per IoU threshold")[0]
    unchanged = _without_glance(before)
    assert unchanged.rstrip("\n") == (GOLDEN / "noise_sweep.md").read_text(encoding="utf-8").rstrip("\n")
    assert "loss=alpha_ciou (α=3) vs loss=ciou" in claims


def _without_glance(text: str) -> str:
    """Return a report without its leading verdicts-at-a-glance section (what it was before that section existed)."""
    head, rest = text.split(GLANCE_TITLE)
    return head + "## AP per IoU threshold" + rest.split("## AP per IoU threshold", 1)[1]


def test_the_claims_section_comes_after_the_unchanged_report(tmp_path):
    text = _without_glance(_report(tmp_path, "sweep_win").replace(str(tmp_path), "<tmp>"))
    before = (GOLDEN / "win_sweep_before_claims.md").read_text(encoding="utf-8")
    assert text.startswith(before)
    assert text[len(before) :].startswith(f"\n{TITLE}\n")
