"""Benchmark report: every figure of issues 5 and 17 as a ratio measured side by side in one process, into
docs/benchmarks.md.

    .venv/bin/python scripts/bench.py [--quick] [--out docs/benchmarks.md] [--repeats 15]

1. α-CIoU forward+backward on N box pairs: the registered function (the one definition training runs), eager and
   under ``torch.compile`` (``yolo_alpha.losses.compiled``, as ``YOLO_ALPHA_COMPILE=1`` runs it), vs Ultralytics
   ``bbox_iou(CIoU=True)`` vs torchvision vs an elementwise pass over the same bytes (memory bound). Goals: compiled
   ≥ 5× faster than Ultralytics, ≤ 3× the memory bound. Smaller N: eager vs compiled.
2. A yolov8n training step with every option on (α-CIoU, IoU-balanced cls and loc, ``iou_cls_eta=1.5
   iou_loc_lambda=1.5``) vs the stock criterion, and with each loss of the registry (``list_losses()``, default keys,
   α = 3) vs stock. Goals: ≤ 1.02 for every option and for the worst loss, each loss's figure in a table. The same for
   the anchor family: a yolov5n-anchor step with each registry loss vs CIoU in YOLOv5's ComputeLoss (what stock
   YOLOv5 trains; goals ≤ 1.02 for α-CIoU and for the worst loss), and its ratio to Ultralytics' task-aligned
   yolov5nu with the stock criterion (reported, no goal). Judged on the criterion alone (see
   scripts/benchmarks/registry_step.py).
3. The training data set (Ultralytics' loader and augmentations), noisy boxes (``noise_eta=0.2``) vs clean, as a
   speed ratio. Goal: ≥ 0.98.
4. A sweep of N tiny trainings on K process workers: efficiency N·t₁/(K·T), t₁ one run alone. Goal: ≥ 0.9.
5. The CPU reproduction suite's wall time, from the committed study's rows (no training). Goal: ≤ 4 h.
   ``--suite-only`` refreshes just that section and its goal row in an existing report.
6. One cell of the CPU study, trained and scored as the suite does it, with the cheaper cells' keys
   (``yolo_alpha.suites.fast_cells``) vs the committed suite's, alternating (~3 min). Goal: ≤ 0.5 (issue 18: a cell
   ≤ 50 s where it cost ~100-115 s). ``--cell-cost-only`` refreshes just that section and its goal row.
7. On a machine with CUDA, figure 1 on the GPU as well.

Candidates are interleaved within each repeat and the median is reported, so a busy shared machine slows all of
them alike. A section whose feature is missing or fails says "not measured: <why>" and the others still run.
``--quick`` is a smoke run (small sizes, no compiling, no sweep) that checks the script and the report's shape.
The measurements are in scripts/benchmarks/ (loss_kernel, training_step, anchor_step, registry_step, loader, sweep,
suite_time, cell_cost); this script judges the goals.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "True")

import torch
from benchmarks.anchor_step import bench_anchor_step
from benchmarks.cell_cost import FIGURE as CELL_FIGURE
from benchmarks.cell_cost import bench_cell_cost
from benchmarks.common import Measurements, machine_lines
from benchmarks.loader import bench_loader
from benchmarks.loss_kernel import bench_loss
from benchmarks.suite_time import bench_suite_time
from benchmarks.sweep import bench_sweep
from benchmarks.training_step import bench_training_step

ROOT = Path(__file__).resolve().parents[1]
THREADS = torch.get_num_threads()  # before any section: choosing Ultralytics' CPU device or a trainer changes it
STATUS_MET, STATUS_NOT_MET = "MET", "NOT MET"
STUDY = ROOT / "docs" / "reproduction" / "cpu"  # the committed CPU study, whose rows time the suite

# Each section's goals: (the figure's name when it is not measured, the bound), in the order its figures come.
LOSS_GOALS = [("α-CIoU fwd+bwd: ultralytics / compiled", "≥ 5"), ("α-CIoU fwd+bwd: compiled / memory bound", "≤ 3")]
STEP_GOALS = [
    ("training step, every option / stock", "≤ 1.02"),
    ("training step (task-aligned), worst registry loss / stock", "≤ 1.02"),
]
ANCHOR_GOALS = [
    ("anchor training step, α-CIoU / CIoU", "≤ 1.02"),
    ("anchor training step, worst registry loss / CIoU", "≤ 1.02"),
]
LOADER_GOALS = [("loader speed, noisy / clean", "≥ 0.98")]
SWEEP_GOALS = [("sweep efficiency, N runs on K workers", "≥ 0.9")]
SUITE_GOALS = [("CPU suite wall time / 4 h", "≤ 1")]
CELL_GOALS = [(CELL_FIGURE, "≤ 0.5")]
CRITERION_REPEATS_PER_REPEAT = 2  # the criterion is ~3 % of a step: twice the steps' repeats (2·15 + 1) cost little


def meets(ratio: float, bound: str) -> bool:
    """Return whether `ratio` meets a bound written "≥ x" or "≤ x"."""
    op, value = bound.split()
    return ratio >= float(value) if op == "≥" else ratio <= float(value)


@dataclass
class Goal:
    """One goal of the issue: the measured ratio against its bound, or why it was not measured."""

    figure: str
    goal: str
    ratio: float | None = None
    why_not: str = ""

    def status(self) -> str:
        if self.ratio is None:
            return f"not measured: {self.why_not}"
        return STATUS_MET if meets(self.ratio, self.goal) else STATUS_NOT_MET


@dataclass
class Report:
    """Markdown sections and goals, gathered as the benchmark runs."""

    sections: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)


def guarded(report: Report, title: str, goals: list[tuple[str, str]], run: Callable[[Measurements], None]) -> None:
    """Run one section and judge its figures; if it raises, record "not measured: <why>" for the goals it had not
    measured yet (its first figures and sections are kept) and go on."""
    torch.set_num_threads(THREADS)  # every section on the same threads, whatever the previous one set
    measured = Measurements()
    try:
        run(measured)
    except Exception as error:  # a missing feature or a failure must not lose the other figures
        why = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".strip()
        traceback.print_exc()
        measured.sections.append(f"### {title}\n\nnot measured: {why}\n")
        failed = [Goal(goal, bound, why_not=why) for goal, bound in goals[len(measured.figures) :]]
    else:
        failed = []
        assert len(measured.figures) == len(goals), (title, measured.figures)
    report.sections.extend(measured.sections)
    report.goals.extend(Goal(f.label, bound, f.ratio, f.why_not) for f, (_, bound) in zip(measured.figures, goals))
    report.goals.extend(failed)


def not_measured(report: Report, title: str, goals: list[tuple[str, str]], why: str) -> None:
    """Record a section that was not run, and its goals, with the reason."""
    report.sections.append(f"### {title}\n\nnot measured: {why}\n")
    report.goals.extend(Goal(goal, bound, why_not=why) for goal, bound in goals)


def render(report: Report, quick: bool, command: str) -> str:
    """Return the whole Markdown report."""
    goal_rows = ["| figure | measured | goal | status |", "|---|---:|---:|---|"]
    for goal in report.goals:
        measured = "—" if goal.ratio is None else f"{goal.ratio:.3f}"
        goal_rows.append(f"| {goal.figure} | {measured} | {goal.goal} | {goal.status()} |")
    header = [
        "# Benchmarks",
        "",
        f"Written by `{command}`{' (--quick: a smoke run, not the figures)' if quick else ''}. Every figure is a ratio"
        " of medians measured side by side in one process, candidates interleaved within each repeat.",
        "",
        "## Machine",
        "",
        *machine_lines(THREADS),
        "",
        "## Goals",
        "",
        *goal_rows,
        "",
        "## Measurements",
        "",
        "",
    ]
    return "\n".join(header) + "\n".join(report.sections)


SUITE_TITLE = "### CPU reproduction suite"


CELL_TITLE = "### Cell cost"


def splice_section(existing: str, report: Report, title: str = SUITE_TITLE) -> str:
    """Return the benchmarks file `existing` with its `title` section and goal row replaced by `report`'s (or added)."""
    section = next(s for s in report.sections if s.startswith(title))
    goal = report.goals[0]
    measured = "—" if goal.ratio is None else f"{goal.ratio:.3f}"
    row = f"| {goal.figure} | {measured} | {goal.goal} | {goal.status()} |"
    lines = [line for line in existing.split("\n") if not line.startswith(f"| {goal.figure} |")]
    goals_end = max(i for i, line in enumerate(lines) if line.startswith("| ") and i < lines.index("## Measurements"))
    text = "\n".join([*lines[: goals_end + 1], row, *lines[goals_end + 1 :]])
    start = text.find(title)
    if start < 0:
        cuda = text.find("### CUDA")
        return text[:cuda] + section + "\n" + text[cuda:] if cuda >= 0 else text.rstrip("\n") + "\n\n" + section
    end = text.find("\n### ", start + 1)
    return text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, no compiling, no sweep: a smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 15, 3 with --quick)")
    parser.add_argument(
        "--suite-only", action="store_true", help="only the CPU suite's time (from its rows), spliced into --out"
    )
    parser.add_argument(
        "--cell-cost-only", action="store_true", help="only section 6 (trains 4 cells, ~7 min), spliced into --out"
    )
    args = parser.parse_args(argv)
    if args.suite_only or args.cell_cost_only:  # refresh one section and its goal row; the other figures stay
        report = Report()
        if args.suite_only:  # reads rows, trains nothing
            guarded(report, "CPU reproduction suite", SUITE_GOALS, lambda out: bench_suite_time(out, STUDY))
        else:
            guarded(report, "Cell cost", CELL_GOALS, lambda out: bench_cell_cost(out, STUDY))
        title = SUITE_TITLE if args.suite_only else CELL_TITLE
        args.out.write_text(splice_section(args.out.read_text(encoding="utf-8"), report, title), encoding="utf-8")
        print(args.out.read_text(encoding="utf-8"))
        return
    quick = args.quick
    repeats = args.repeats or (3 if quick else 15)
    compiling = not quick
    criterion_repeats = CRITERION_REPEATS_PER_REPEAT * repeats + 1
    report = Report()

    with tempfile.TemporaryDirectory(prefix="yolo_alpha_bench_") as tmp:
        from yolo_alpha.data.synthetic import SyntheticSpec, synthetic_dataset, write_synthetic_dataset

        tiny = write_synthetic_dataset(Path(tmp) / "tiny", SyntheticSpec(n_train=16, n_val=8, imgsz=64))
        n_large, n_small = (2_000, [500]) if quick else (1_000_000, [1_000, 10_000, 100_000])
        guarded(
            report,
            "Box loss (cpu)",
            LOSS_GOALS,
            lambda out: bench_loss(out, "cpu", n_large, n_small, repeats, compiling),
        )
        step = (2, 64) if quick else (16, 160)
        timing = (*step, repeats, criterion_repeats)
        guarded(report, "Training step", STEP_GOALS, lambda out: bench_training_step(out, *timing))
        guarded(report, "Anchor training step", ANCHOR_GOALS, lambda out: bench_anchor_step(out, *timing))
        loader = (tiny, 64, 4) if quick else (synthetic_dataset(), 160, 320)  # a whole epoch of the embedded set
        guarded(report, "Noisy loader", LOADER_GOALS, lambda out: bench_loader(out, *loader, repeats))
        if quick:
            not_measured(report, "Sweep efficiency", SWEEP_GOALS, "skipped by --quick (it trains)")
        else:
            sweeps = Path(tmp) / "sweeps"
            guarded(report, "Sweep efficiency", SWEEP_GOALS, lambda out: bench_sweep(out, tiny, 4, 2, sweeps))
        guarded(report, "CPU reproduction suite", SUITE_GOALS, lambda out: bench_suite_time(out, STUDY))
        if quick:
            not_measured(report, "Cell cost", CELL_GOALS, "skipped by --quick (it trains two cells)")
        else:
            guarded(report, "Cell cost", CELL_GOALS, lambda out: bench_cell_cost(out, STUDY))
        if torch.cuda.is_available():
            cuda_goals = [(f"{goal} (cuda)", bound) for goal, bound in LOSS_GOALS]
            n_cuda = (n_large, n_small) if quick else (10_000_000, [1_000, 10_000, 100_000, 1_000_000])
            guarded(
                report, "Box loss (cuda)", cuda_goals, lambda out: bench_loss(out, "cuda", *n_cuda, repeats, compiling)
            )
        else:
            report.sections.append("### CUDA\n\nnot measured: no CUDA device on this machine\n")

    command = "python scripts/bench.py" + (" --quick" if quick else "")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(report, quick, command), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    sys.exit(main())
