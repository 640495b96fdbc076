"""scripts/bench.py --quick writes a benchmark report with the machine, every goal and a status for each."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOALS = (
    "ultralytics / fused",
    "fused / memory bound",
    "training step, every option / stock",
    "loader speed, noisy / clean",
    "sweep efficiency",
    "CPU suite wall time / 4 h",
)


def test_quick_benchmark_writes_the_report(tmp_path):
    out = tmp_path / "benchmarks.md"
    env = {**os.environ, "YOLO_ALPHA_COMPILE": "0"}
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--repeats", "2", "--out", str(out)],
        check=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=300,
    )
    report = out.read_text(encoding="utf-8")
    for heading in ("# Benchmarks", "## Machine", "## Goals", "## Measurements"):
        assert f"\n{heading}\n" in f"\n{report}"
    assert re.search(r"torch \S+ \(\d+ threads\), ultralytics \S+", report)
    assert re.search(r"\d+ logical cores, [\d.]+ GiB RAM", report)
    goal_rows = [line for line in report.splitlines() if re.match(r"\| .* \| [≥≤] [\d.]+ \| ", line)]
    for goal in GOALS:
        (row,) = [line for line in goal_rows if goal in line]
        status = row.rstrip(" |").rsplit("| ", 1)[1]
        # Every goal is either measured (a ratio and MET / NOT MET) or says why not.
        assert status in ("MET", "NOT MET") or status.startswith("not measured: "), row
        if status in ("MET", "NOT MET"):
            assert re.search(r"\| \d+\.\d{3} \|", row), row
    assert "not measured: skipped by --quick" in report  # the sweep trains: never in a smoke run
    assert "| yolo-alpha fused |" in report and "| memory bound (pred + target) |" in report


def test_suite_only_replaces_that_section_and_row_and_keeps_the_rest(tmp_path):
    out = tmp_path / "benchmarks.md"
    before = [
        "# Benchmarks", "", "## Goals", "", "| figure | measured | goal | status |", "|---|---:|---:|---|",
        "| loader speed, noisy / clean | 1.000 | ≥ 0.98 | MET |",
        "| CPU suite wall time / 4 h | 9.000 | ≤ 1 | NOT MET |",
        "", "## Measurements", "", "### Noisy loader", "", "kept", "### CPU reproduction suite", "", "old figures",
        "### CUDA", "", "kept too", "",
    ]  # fmt: skip
    out.write_text("\n".join(before))
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--suite-only", "--out", str(out)],
        check=True, cwd=tmp_path, capture_output=True, timeout=120,
    )  # fmt: skip
    after = out.read_text(encoding="utf-8")
    assert "old figures" not in after and "9.000" not in after
    assert after.count("| CPU suite wall time / 4 h |") == 1 and after.count("### CPU reproduction suite") == 1
    assert "kept" in after and "kept too" in after and "| loader speed, noisy / clean | 1.000 |" in after
    assert after.index("### Noisy loader") < after.index("### CPU reproduction suite") < after.index("### CUDA")
