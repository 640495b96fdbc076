"""What one cell of the CPU study costs with the cheaper cells' keys (:mod:`yolo_alpha.suites.fast_cells`) and with
the committed ``cpu`` suite's: the task-aligned CIoU cell, seed 0, from the study's committed warm start, trained and
scored as the suite does it (``train_cell``: training, then pycocotools on its weights; a row's ``seconds``).

The two cells alternate ``repeats`` times (the old one first); the figure is the ratio of their medians. The
task-aligned cell is the dearer of the two regimes (~115 s in the study against ~100 s for the anchor one), so it
is the one a goal of "≤ 50 s a cell" has to meet. Each cell's AP is beside its time: the cheaper cell must still
detect as the old one did (the outcome check is in docs/reproduction, not here: one seed says little).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, Measurements

OLD, NEW = "committed cpu suite", "cheaper cells"
FIGURE = "cell cost, new settings / old"
SHOWN_KEYS = ("epochs", "batch", "val", "cache", "channels_last")


def study_cells(study: Path, regime_name: str = "task_aligned") -> dict[str, Any]:
    """Return {OLD: cell, NEW: cell}: `regime_name`'s CIoU cell, seed 0, with the ``cpu`` suite's and the fast keys.

    The warm start is the committed study's, named by its absolute path (nothing is copied).
    """
    from yolo_alpha.suites.definitions import CPU, warm_start_name
    from yolo_alpha.suites.fast_cells import fast_cell_base, fast_regimes
    from yolo_alpha.sweep.grid import Cell

    warm = str((study / warm_start_name(regime_name)).resolve())

    def cell(regime, base: dict[str, Any]) -> Cell:
        params = (("model", regime.model), ("seed", 0), ("loss", "ciou"), *regime.settings.items())
        return Cell((*params, ("pretrained", warm)), base)

    old = next(r for r in CPU.regimes if r.name == regime_name)
    new = next(r for r in fast_regimes(CPU.regimes) if r.name == regime_name)
    return {OLD: cell(old, CPU.base), NEW: cell(new, fast_cell_base(CPU.base))}


def cell_cost_section(rows: dict[str, list[dict[str, Any]]], settings: dict[str, dict[str, Any]]) -> tuple[str, Figure]:
    """Return the Markdown section and the figure (median seconds, new / old) of the rows each candidate trained."""
    median = {name: statistics.median(float(r["seconds"]) for r in runs) for name, runs in rows.items()}
    lines = [
        "### Cell cost: the cheaper cells' keys vs the committed CPU suite's (task-aligned CIoU cell, seed 0)",
        "",
        "Each cell trained and scored as `yolo-alpha reproduce` does it (training, then pycocotools on its weights), "
        f"the two alternating, {len(next(iter(rows.values())))} time(s) each; AP (%) of the last run of each.",
        "",
        "| cell | keys | seconds (median) | ratio to old | AP50 | mAP50-95 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, runs in rows.items():
        keys = ", ".join(f"{k}={settings[name][k]}" for k in SHOWN_KEYS if k in settings[name])
        last = runs[-1]
        lines.append(
            f"| {name} | {keys} | {median[name]:.1f} | {median[name] / median[OLD]:.3f} | "
            f"{100 * last['AP50']:.2f} | {100 * last['mAP50-95']:.2f} |"
        )
    return "\n".join(lines) + "\n", Figure(FIGURE, median[NEW] / median[OLD])


def bench_cell_cost(out: Measurements, study: Path, repeats: int = 1) -> None:
    """Train the old and the new cell `repeats` times each, alternating; record the table and the figure."""
    from yolo_alpha import run
    from yolo_alpha.sweep.pool import output_to
    from yolo_alpha.sweep.runner import train_cell

    cells = study_cells(study)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in cells}
    with tempfile.TemporaryDirectory(prefix="yolo_alpha_cell_cost_") as tmp:
        for _ in range(repeats):
            for name, cell in cells.items():
                runs_dir = Path(tmp) / name.replace(" ", "_") / "runs"
                with output_to(Path(tmp) / "training.log"):  # two trainings' logs would bury the report
                    rows[name].append(train_cell(cell, runs_dir, run.train))
    section, figure = cell_cost_section(rows, {name: cell.settings for name, cell in cells.items()})
    out.sections.append(section)
    out.figures.append(figure)
