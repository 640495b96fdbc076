"""`yolo-alpha demo` (`make demo`): one cell of the committed CPU study, trained here, printed beside the study's.

It trains α-CIoU (α = 3) exactly as the CPU suite's task-aligned cells do — yolov5nu from the study's committed warm
start, the suite's fine-tune keys, seed 0 — evaluates it as every cell is evaluated (pycocotools on the embedded
val set), and prints its AP at each IoU threshold above the study's CIoU and α-CIoU rows (mean ± std over seeds).
Training is deterministic on one machine type (Ultralytics' deterministic=True, seed 0, the synthetic set is
generated from a seed): the same command prints the same table there; other CPUs, BLAS builds or torch versions
may differ in the last digits of a few thresholds.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any, Callable

from yolo_alpha import run
from yolo_alpha.errors import ConfigError
from yolo_alpha.evaluate.detector import evaluate_training
from yolo_alpha.suites.definitions import CPU, warm_start_weights
from yolo_alpha.sweep.results import RESULTS_FILE, load_results

DEFAULT_STUDY = "docs/reproduction/cpu"
DEMO_REGIME = "task_aligned"
DEMO_LOSS = "alpha_ciou"
COLUMNS = ("AP50", "AP60", "AP70", "AP75", "AP80", "AP85", "AP90", "AP95", "mAP50-95", "mAP75-95")


def demo_settings(study: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the train keys of the demo: the CPU suite's task-aligned α-CIoU cell of seed 0, then `overrides`."""
    regime = next(r for r in CPU.regimes if r.name == DEMO_REGIME)
    weights = warm_start_weights(study, DEMO_REGIME)
    if not weights.is_file():
        raise ConfigError(
            f"study={study}: no warm start {weights}; run the demo from the repository's root (the CPU study is "
            f"committed under {DEFAULT_STUDY}), or produce one: yolo-alpha reproduce suite=cpu project=<dir>"
        )
    settings = {**CPU.base, "model": regime.model, "pretrained": str(weights), "loss": DEMO_LOSS, "seed": 0}
    # Absolute: Ultralytics 8.4 would put a relative project under its runs_dir (runs/detect/runs/demo).
    return {**settings, "project": str(Path("runs/demo").resolve()), "name": DEMO_LOSS, **(overrides or {})}


def study_rows(study: str | Path, loss: str) -> list[dict]:
    """Return the study's clean task-aligned rows of `loss` (its C1 cells: no α, noise, fraction or schedule set)."""
    if not (Path(study) / RESULTS_FILE).is_file():
        return []
    model = next(r.model for r in CPU.regimes if r.name == DEMO_REGIME)
    own = {"model", "seed", "loss", "pretrained"}
    return [
        row
        for row in load_results(study)
        if row["params"].get("model") == model and row["params"].get("loss") == loss and set(row["params"]) <= own
    ]


def table_lines(mine: dict[str, float], study: str | Path) -> list[str]:
    """Return the demo's table: this run, then the study's CIoU and α-CIoU (mean ± std over seeds), in percent."""
    width = 13
    lines = ["".ljust(34) + "".join(c.rjust(width) for c in COLUMNS)]
    lines.append(f"{'α-CIoU, this run (seed 0)':<34}" + "".join(f"{100 * mine[c]:.2f}".rjust(width) for c in COLUMNS))
    for loss, label in (("ciou", "CIoU"), (DEMO_LOSS, "α-CIoU")):
        rows = study_rows(study, loss)
        if not rows:
            lines.append(f"{label + ', study':<34}(no rows in {Path(study) / RESULTS_FILE} yet)")
            continue
        cells = []
        for column in COLUMNS:
            values = [100 * r[column] for r in rows if isinstance(r.get(column), float) and math.isfinite(r[column])]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append((f"{statistics.fmean(values):.2f}±{std:.2f}" if values else "–").rjust(width))
        lines.append(f"{f'{label}, study ({len(rows)} seeds)':<34}" + "".join(cells))
    return lines


def demo(
    study: str | Path = DEFAULT_STUDY,
    overrides: dict[str, Any] | None = None,
    train: Callable[..., Any] = run.train,
) -> tuple[Path, list[str]]:
    """Train the demo's cell; return its run folder and the table lines (printed by the verb)."""
    model = train(**demo_settings(study, overrides))
    trainer = model.trainer
    mine = evaluate_training(trainer)
    return Path(trainer.save_dir), table_lines(mine, study)
