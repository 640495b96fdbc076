"""The CPU reproduction suite's wall time, from the committed study's rows (each row records its cell's seconds).

Nothing is trained here: the rows are what `yolo-alpha reproduce suite=cpu` measured on the machine that ran it.
Cells not run yet are projected at the mean of the measured cells of their claim group and regime (else of every
measured full-data cell of their regime), so the figure is the whole suite's time, measured or projected.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from benchmarks.common import Figure, Measurements
from yolo_alpha.reproduce.pairing import regime_of
from yolo_alpha.suites.definitions import CPU, WARM_START_DIR
from yolo_alpha.suites.runner import suite_sweep
from yolo_alpha.sweep import read_results
from yolo_alpha.sweep.paths import relative_to_sweep

BUDGET_S = 4 * 3600  # the goal: at most 4 hours in total on the 2-core CPU


def group_of(params: dict) -> str:
    """Return the claim group of a cell's params (the suite's groups differ in their keys)."""
    for key, group in (("noise_eta", "C3 noisy"), ("fraction", "C7 fraction"), ("alpha_warmup", "S schedule")):
        if key in params:
            return group
    return "C4 α" if "alpha" in params else "C1 clean"


def bench_suite_time(out: Measurements, study: Path) -> None:
    """Record the suite's total wall time (measured + projected) over its 4-hour budget, with a table per group."""
    rows = {row["cell_id"]: row for row in read_results(study / "results.jsonl")}
    warm = [row for path in sorted((study / WARM_START_DIR).glob("*/results.jsonl")) for row in read_results(path)]
    cells = suite_sweep(CPU, study.parent).cells()
    seconds: dict[tuple[str, str], list[float]] = {}
    for row in rows.values():
        seconds.setdefault((regime_of(row["params"]), group_of(row["params"])), []).append(float(row["seconds"]))
    if not seconds:
        raise RuntimeError(f"{study}: no finished cell yet")
    by_regime = {r: [s for (reg, g), v in seconds.items() if reg == r and g != "C7 fraction" for s in v] for r in
                 ("anchor", "task_aligned")}  # fmt: skip
    projected, counts = 0.0, {}
    for cell in cells:
        params = dict(cell.params)
        key = (regime_of(params), group_of(params))
        counts[key] = counts.get(key, 0) + 1
        if cell.cell_id in rows:
            projected += float(rows[cell.cell_id]["seconds"])
        else:
            projected += statistics.fmean(seconds.get(key) or by_regime[key[0]] or next(iter(seconds.values())))
    warm_s = sum(float(r["seconds"]) for r in warm)
    warm_text = ", ".join(f"{r['cell_id']} {float(r['seconds']) / 60:.1f} min" for r in warm)
    total = warm_s + projected
    shown = relative_to_sweep(study.resolve(), Path.cwd().resolve())  # no machine path in the committed report
    lines = [
        f"### CPU reproduction suite (`yolo-alpha reproduce suite=cpu`, {shown})\n",
        f"{len(rows)} of {len(cells)} cells finished; warm starts {warm_s / 60:.1f} min ({warm_text}).\n",
        "| regime | group | cells | finished | mean per finished cell |",
        "|---|---|---:|---:|---:|",
    ]
    for key in sorted(counts):
        done = seconds.get(key, [])
        mean = f"{statistics.fmean(done):.0f} s" if done else "–"
        lines.append(f"| {key[0]} | {key[1]} | {counts[key]} | {len(done)} | {mean} |")
    lines.append(f"\nTotal, measured where finished and projected elsewhere: **{total / 3600:.2f} h** (goal ≤ 4 h).\n")
    out.sections.append("\n".join(lines))
    out.figures.append(Figure("CPU suite wall time / 4 h", total / BUDGET_S))
