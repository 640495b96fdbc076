"""scripts/bench.py and scripts/benchmarks/: the per-loss step figures and tables on fake medians, the goals' judging,
the box-loss section without compiling (what --quick runs), and --suite-only end to end.

The whole benchmark is not run here (minutes even with --quick); `python scripts/bench.py --quick` is its smoke run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # bench.py imports its measurements as the package `benchmarks`

import bench  # noqa: E402
from benchmarks import loss_kernel, registry_step  # noqa: E402
from benchmarks.common import Figure, Measurements  # noqa: E402
from benchmarks.registry_step import LossRow, loss_table, paired_rows, registry_criteria, worst_figure  # noqa: E402

from yolo_alpha.losses import LOSSES, list_losses, resolve_loss  # noqa: E402

STEP_S = 0.5  # a fake baseline step of 500 ms


def test_step_figure_is_the_criterion_difference_over_the_baseline_step():
    # 17 ms of criterion against 15 ms for the baseline adds 2 ms to a 500 ms step: 1 + 0.002 / 0.5.
    assert LossRow("x", 0.017, 0.015).figure(STEP_S) == pytest.approx(1 + 0.002 / 0.5)
    # A loss faster than the baseline gives a figure below 1, not clipped.
    assert LossRow("y", 0.010, 0.015).figure(STEP_S) == pytest.approx(1 - 0.005 / 0.5)


def test_worst_figure_names_the_slowest_loss():
    rows = [LossRow("a", 0.016, 0.015), LossRow("b", 0.030, 0.016), LossRow("c", 0.020, 0.015)]
    figure = worst_figure("training step, worst registry loss / stock", rows, STEP_S)
    # b adds 14 ms (its own paired baseline counts, not another row's): 1 + 0.014 / 0.5 = 1.028.
    assert figure == Figure("training step, worst registry loss / stock (b)", pytest.approx(1.028))


def test_worst_figure_is_not_measured_when_a_loss_failed():
    rows = [LossRow("a", 0.016, 0.015), LossRow("broken", why_not="RuntimeError: boom"), LossRow("c", 0.020, 0.015)]
    figure = worst_figure("worst", rows, STEP_S)
    assert figure.ratio is None and figure.label == "worst"
    assert figure.why_not == "1 of 3 losses failed (broken); worst of the others 1.010 (c)"


def test_loss_table_has_one_row_per_loss_with_ratio_and_figure():
    rows = [LossRow("alpha_ciou", 0.018, 0.015), LossRow("nwd", why_not="ValueError: bad")]
    table = loss_table("Family: every loss", "a note", rows, STEP_S)
    assert table.startswith("### Family: every loss\n\na note\n")
    assert "| alpha_ciou | 18.000 ms | 15.000 ms | 1.200 | 1.006 |" in table
    assert "| nwd | not measured: ValueError: bad | | | |" in table
    assert len([line for line in table.splitlines() if line.startswith("| ")]) == 1 + len(rows)


def test_registry_criteria_cover_every_registered_loss_and_keep_failures():
    def build(spec):
        if spec.loss == "giou":
            raise RuntimeError("no criterion")
        return spec

    criteria, failed = registry_criteria(build)
    assert [*criteria, *(row.name for row in failed)] == [n for n in list_losses() if n != "giou"] + ["giou"]
    assert criteria["alpha_ciou"] == resolve_loss("alpha_ciou") and criteria["alpha_ciou"].alpha == 3.0  # α = 3
    assert failed == [LossRow("giou", why_not="RuntimeError: no criterion")]


class FakeModel:
    """A network whose forward returns one tensor: criterion_only detaches it into fresh leaves per call."""

    def forward(self, img):
        return img * 2


def test_paired_rows_time_each_loss_right_after_the_baseline(monkeypatch):
    calls = []

    def criterion(name):
        def run(preds, batch):
            calls.append(name)
            if name == "broken":
                raise ValueError("bad shape")
            return preds.sum(), None

        return run

    monkeypatch.setattr(registry_step, "interleaved_medians", fake_medians(calls))
    batch = {"img": torch.ones(1, 3, 4, 4)}
    criteria = {"a": criterion("a"), "broken": criterion("broken"), "b": criterion("b")}
    rows = paired_rows(FakeModel(), criterion("base"), criteria, batch, repeats=2)
    assert [row.name for row in rows] == ["a", "broken", "b"]
    assert rows[1] == LossRow("broken", why_not="ValueError: bad shape")
    assert rows[0].criterion_s == 1.0 and rows[0].baseline_s == 1.0
    # After one trial call each, every repeat runs the baseline then a loss, for each loss that works.
    assert calls == ["a", "broken", "b", *["base", "a", "base", "b"] * 2]


def fake_medians(calls):
    """Return a stand-in for interleaved_medians: runs the candidates in order `repeats` times, 1 s each."""

    def medians(candidates, repeats):
        for _ in range(repeats):
            for fn in candidates.values():
                fn()
        return dict.fromkeys(candidates, 1.0)

    return medians


def test_guarded_keeps_the_figures_measured_before_a_failure():
    report = bench.Report()
    goals = [("first", "≤ 1.02"), ("second", "≤ 1.02")]

    def run(out: Measurements):
        out.sections.append("### kept\n")
        out.figures.append(Figure("first (name)", 1.01))
        raise RuntimeError("second part failed")

    bench.guarded(report, "Section", goals, run)
    assert report.sections == ["### kept\n", "### Section\n\nnot measured: RuntimeError: second part failed\n"]
    assert [(g.figure, g.status()) for g in report.goals] == [
        ("first (name)", "MET"),
        ("second", "not measured: RuntimeError: second part failed"),
    ]


def test_a_figure_without_ratio_is_reported_as_not_measured():
    report = bench.Report()
    bench.guarded(report, "S", [("x", "≥ 5")], lambda out: out.figures.append(Figure("x (cpu)", None, "skipped")))
    text = bench.render(report, quick=True, command="python scripts/bench.py --quick")
    assert "| x (cpu) | — | ≥ 5 | not measured: skipped |" in text


def test_every_step_goal_row_is_named_per_family():
    labels = [goal for goal, _ in bench.STEP_GOALS + bench.ANCHOR_GOALS]
    assert "training step (task-aligned), worst registry loss / stock" in labels
    assert "anchor training step, worst registry loss / CIoU" in labels
    assert all(bound == "≤ 1.02" for _, bound in bench.STEP_GOALS + bench.ANCHOR_GOALS)


def test_the_eager_candidate_is_the_registered_definition():
    g = torch.Generator().manual_seed(3)
    pred, target = loss_kernel.random_boxes(64, g, "cpu"), loss_kernel.random_boxes(64, g, "cpu")
    eager = loss_kernel.registered_call(LOSSES["alpha_ciou"].fn)
    torch.testing.assert_close(eager(pred, target), resolve_loss("alpha_ciou", alpha=3.0)(pred, target))


def test_box_loss_section_without_compiling_marks_its_goals_not_measured():
    out = Measurements()
    loss_kernel.bench_loss(out, "cpu", 256, [64], repeats=1, compiling=False)
    (table,) = out.sections  # no small-size table: it compares eager with compiled
    for row in (loss_kernel.EAGER, loss_kernel.SPEC, loss_kernel.ULTRALYTICS, loss_kernel.TORCHVISION):
        assert f"| {row} |" in table
    assert f"| {loss_kernel.COMPILED} |" not in table
    assert [f.ratio for f in out.figures] == [None, None]
    assert [f.label.rsplit(": ", 1)[1] for f in out.figures] == ["ultralytics / compiled", "compiled / memory bound"]
    assert all(f.why_not == "skipped by --quick (no compiling)" for f in out.figures)


def test_a_compile_that_falls_back_to_eager_is_not_reported_as_compiled(monkeypatch):
    def falling_back(fn):
        def run(*args, **kwargs):
            warnings.warn("torch.compile of alpha_ciou failed (no compiler); using the eager function", stacklevel=2)
            return fn(*args, **kwargs)

        return run

    monkeypatch.setattr(loss_kernel, "compiled", falling_back)
    call, why = loss_kernel.compiled_alpha_ciou("cpu")
    assert call is None and why.startswith("torch.compile failed: torch.compile of alpha_ciou failed")


def test_compiling_is_requested_for_that_candidate_only(monkeypatch):
    seen = []

    def recording(fn):
        from yolo_alpha.losses.compiled import compile_requested

        seen.append(compile_requested())
        return fn

    monkeypatch.delenv("YOLO_ALPHA_COMPILE", raising=False)
    monkeypatch.setattr(loss_kernel, "compiled", recording)
    call, why = loss_kernel.compiled_alpha_ciou("cpu")
    assert seen == [True] and call is not None and why == ""
    assert "YOLO_ALPHA_COMPILE" not in os.environ  # the other candidates (and the rest of the bench) stay eager


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


def test_cell_cost_table_and_figure_on_fake_rows():
    from benchmarks import cell_cost

    def row(seconds, ap50=0.6, ap=0.37):
        return {"seconds": seconds, "AP50": ap50, "mAP50-95": ap}

    # Old cells of 100 and 110 s (median 105), new ones of 48 and 52 s (median 50): 50 / 105 = 0.476.
    rows = {cell_cost.OLD: [row(100), row(110, 0.597)], cell_cost.NEW: [row(48), row(52, 0.5912, 0.3654)]}
    settings = {cell_cost.OLD: {"epochs": 15, "batch": 16, "imgsz": 160}, cell_cost.NEW: {"batch": 32, "val": False}}
    section, figure = cell_cost.cell_cost_section(rows, settings)
    assert figure == Figure("cell cost, new settings / old", pytest.approx(50 / 105))
    assert "the two alternating, 2 time(s) each" in section
    # AP of each candidate's last run
    assert "| committed cpu suite | epochs=15, batch=16 | 105.0 | 1.000 | 59.70 | 37.00 |" in section
    assert "| cheaper cells | batch=32, val=False | 50.0 | 0.476 | 59.12 | 36.54 |" in section
    assert [goal for goal, _ in bench.CELL_GOALS] == [figure.label]


def test_cell_cost_trains_the_study_cell_with_the_suite_keys_and_the_fast_keys():
    from benchmarks import cell_cost

    from yolo_alpha.suites.definitions import CPU
    from yolo_alpha.suites.fast_cells import fast_cell_base

    cells = cell_cost.study_cells(ROOT / "docs" / "reproduction" / "cpu")
    old, new = cells[cell_cost.OLD].settings, cells[cell_cost.NEW].settings
    assert old == {**CPU.base, "model": "yolov5nu.yaml", "seed": 0, "loss": "ciou", "pretrained": old["pretrained"]}
    assert Path(old["pretrained"]).is_file() and new["pretrained"] == old["pretrained"]  # the committed warm start
    # the fast keys over the suite's; the task-aligned regime's own batch over both
    assert new == {**fast_cell_base(CPU.base), **dict(cells[cell_cost.NEW].params)} and new["batch"] == 32
    assert new["epochs"] == old["epochs"]


def test_splice_section_adds_then_replaces_the_cell_cost_section_and_its_goal_row():
    existing = "\n".join(
        ["# B", "## Goals", "", "| figure | measured | goal | status |", "|---|---:|---:|---|", "| a | 1 | ≥ 1 | MET |",
         "", "## Measurements", "", "### Noisy loader", "", "kept", "### CUDA", "", "kept too", ""]
    )  # fmt: skip

    def report(seconds_ratio, text):
        made = bench.Report()
        made.sections.append(f"### Cell cost: fake\n\n{text}\n")
        made.goals.append(bench.Goal("cell cost, new settings / old", "≤ 0.5", seconds_ratio))
        return made

    once = bench.splice_section(existing, report(0.8, "first"), bench.CELL_TITLE)
    assert "| cell cost, new settings / old | 0.800 | ≤ 0.5 | NOT MET |" in once and "first" in once
    assert once.index("### Noisy loader") < once.index("### Cell cost") < once.index("### CUDA")
    twice = bench.splice_section(once, report(0.4, "second"), bench.CELL_TITLE)
    assert "first" not in twice and "second" in twice and twice.count("| cell cost, new settings / old |") == 1
    assert "kept" in twice and "kept too" in twice and "| a | 1 | ≥ 1 | MET |" in twice
