"""The report's claims on each val source image: C1 and C3 read on each source's tiles alone (``by_source``)."""

from __future__ import annotations

import csv

from fake_sweep import LOSE, METRICS, WIN, claim_rows, write_sweep

from yolo_alpha.report import write_report
from yolo_alpha.report.sources_section import TITLE, source_rows, sources


def per_source_rows(root, yell_gains=WIN, osbs_gains=LOSE) -> list[dict]:
    """IoU vs α-IoU over 3 seeds; each row scored on Yellowstone with `yell_gains`, on OSBS with `osbs_gains`."""
    rows = claim_rows(root, yell_gains)
    for row, osbs in zip(rows, claim_rows(root, osbs_gains)):
        assert row["params"] == osbs["params"]
        row["by_source"] = {
            "yell": {**{m: row[m] for m in METRICS}, "n_gt": 279},
            "osbs": {**{m: osbs[m] for m in METRICS}, "n_gt": 61},
        }
    return rows


def section_table(text: str) -> list[dict]:
    section = text[text.index(TITLE) :].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split(" | ")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split(" | ")))) for line in lines[1:]]


def test_each_source_gets_its_own_verdicts_from_its_own_scores(tmp_path):
    sweep = tmp_path / "sweep"
    write_sweep(sweep, per_source_rows(sweep))
    text = write_report(sweep).read_text()
    assert text.count(TITLE) == 1 and "2 source images: yell (279 boxes), osbs (61 boxes)" in text
    table = {(r["Source"], r["Metric"]): r for r in section_table(text)}
    # mAP50-95's α − base is the seed's gain (fake_sweep.claim_row): +1.00 [+0.75, +1.25] on yell, its mirror on osbs
    assert table[("yell", "mAP50-95 (%)")]["Δ α − baseline [95 % CI]"] == "+1.00 [+0.75, +1.25]"
    assert table[("yell", "mAP50-95 (%)")]["Verdict"] == "reproduced"
    assert table[("osbs", "mAP50-95 (%)")]["Δ α − baseline [95 % CI]"] == "-1.00 [-1.25, -0.75]"
    assert table[("osbs", "mAP50-95 (%)")]["Verdict"] == "opposite"
    with (sweep / "report" / "claims_by_source.csv").open(newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert {r["source"] for r in written} == {"yell", "osbs"} and len(written) == len(table)


def test_a_source_row_holds_that_sources_metrics_and_no_pooled_one(tmp_path):
    rows = per_source_rows(tmp_path)
    rows[0]["TP50"] = 12  # a pooled count: not the source's
    view = source_rows(rows, "osbs")[0]
    assert view["params"] == rows[0]["params"] and "TP50" not in view and view["n_gt"] == 61
    assert view["mAP50-95"] == rows[0]["by_source"]["osbs"]["mAP50-95"]
    assert sources(rows) == {"yell": 279, "osbs": 61}


def test_rows_without_sources_have_no_section_and_no_file(tmp_path):
    sweep = tmp_path / "sweep"
    write_sweep(sweep, claim_rows(sweep, WIN))
    assert TITLE not in write_report(sweep).read_text()
    assert not (sweep / "report" / "claims_by_source.csv").exists()
