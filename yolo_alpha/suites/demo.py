"""`yolo-alpha demo` (`make demo`): one cell of the committed CPU study, trained here, read against the study's seeds.

It trains the cell where the loss visibly matters in that study: α-IoU (α = 3) on the anchor-based YOLOv5n, seed 0,
exactly as the CPU suite trains it (the anchor regime's committed warm start, the suite's fine-tune keys), evaluates
it as every cell is evaluated (pycocotools on the embedded val set), and prints its AP at each IoU threshold beside
the study's IoU and α-IoU rows (mean ± std over seeds), where it falls among the study's seeds, and how much one run
varies. One run is one draw: the same command on another CPU, BLAS build or package set moves it by about a seed's
spread, so the loss's effect is read from the study's paired seeds, not from this run.

``loss=`` (and the study's other grid keys: ``seed``, ``alpha``, ``noise_eta``, ``fraction``, ``alpha_warmup``)
pick another cell of the anchor regime; every label names the loss actually trained. A cell the study has no rows
for is refused before anything trains. Other train keys (``epochs=1``) train a run that is no study cell: it is
printed beside the study's rows, labelled with those keys and not placed among the seeds.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, Callable

from yolo_alpha import run
from yolo_alpha.config_labels import config_label
from yolo_alpha.errors import ConfigError
from yolo_alpha.evaluate.detector import evaluate_training
from yolo_alpha.losses.registry import alpha_form_of
from yolo_alpha.metrics import TABLE_METRICS
from yolo_alpha.model_families import ANCHOR_FAMILY
from yolo_alpha.reproduce.pairing import family_of
from yolo_alpha.reproduce.stats import mean_std, paired_difference
from yolo_alpha.suites.definitions import CPU, warm_start_weights
from yolo_alpha.sweep_folder import RESULTS_FILE, load_results

DEFAULT_STUDY = "docs/reproduction/cpu"
DEMO_REGIME = ANCHOR_FAMILY
DEMO_LOSS = "alpha_iou"
TEXT_WIDTH = 118
HEADLINES = ("mAP75-95", "AP50")  # where the study's anchor α-IoU gains, and where it pays
# Keys that say where a run goes and what it shows, not what it computes: they keep the run a study cell.
RUN_KEYS = frozenset({"project", "name", "exist_ok", "device", "workers", "verbose", "plots"})
# How far another machine moved one run (docs/reproduction.md, "The demo"): the study's task-aligned α-CIoU cell,
# seed 0, trained where the study ran and on another machine of the same type, with the same pinned packages.
MACHINE_SPREAD = (
    "the study's task-aligned α-CIoU cell, seed 0, printed mAP50-95 37.31 on one machine and 37.69 on another of "
    "the same type"
)


def _regime():
    return next(r for r in CPU.regimes if r.name == DEMO_REGIME)


def _regime_keys() -> dict[str, Any]:
    """Return the params every cell of the demo's regime has: its model and its own keys (nbs)."""
    regime = _regime()
    return {"model": regime.model, **regime.settings}


def split_overrides(overrides: dict[str, Any] | None) -> tuple[dict[str, Any], int, dict[str, Any], dict[str, Any]]:
    """Return (cell params, seed, extra keys, run keys) of the demo's key=value pairs.

    The cell params are what tells the study's cells of the anchor regime apart (model, nbs, loss and the grid's
    other keys), without the seed and the warm start, whose spelling the study folder decides. Extra keys change
    what trains, so the run is no study cell; run keys (RUN_KEYS) do not.
    """
    overrides = dict(overrides or {})
    grid_keys = {key for group in CPU.groups for key in group.grid} - {"seed"}
    cell = {**_regime_keys(), "loss": DEMO_LOSS}
    cell.update({k: overrides.pop(k) for k in sorted(grid_keys & set(overrides))})
    seed = overrides.pop("seed", 0)
    run_keys = {k: overrides.pop(k) for k in sorted(RUN_KEYS & set(overrides))}
    return cell, seed, overrides, run_keys


def _rows_of(rows: list[dict], cell: dict[str, Any]) -> list[dict]:
    """Return the rows whose params, seed and warm start aside, are exactly `cell`, in seed order."""

    def own(row):
        return {k: v for k, v in row["params"].items() if k not in ("seed", "pretrained")}

    return sorted((r for r in rows if own(r) == cell), key=lambda r: str(r["params"].get("seed")))


def load_study(study: str | Path) -> list[dict]:
    """Return every row of the study (read once per demo); none when it has no results.jsonl."""
    return load_results(study) if (Path(study) / RESULTS_FILE).is_file() else []


def study_rows(study: str | Path, cell: dict[str, Any]) -> list[dict]:
    """Return the study's rows of `cell` (one per seed); none when the study has no results.jsonl."""
    return _rows_of(load_study(study), cell)


def compared_cells(cell: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (the α = 1 cell, the α cell) that `cell` belongs to: e.g. loss=iou and loss=alpha_iou, the rest equal."""
    family = family_of(cell["loss"])
    baseline = {**{k: v for k, v in cell.items() if k not in ("alpha", "alpha2")}, "loss": family}
    alpha_cell = cell if cell["loss"] != family else {**cell, "loss": alpha_form_of(family) or family}
    return baseline, alpha_cell


def label(cell: dict[str, Any]) -> str:
    """Return the cell's label by what tells it apart within the regime: ``loss=alpha_iou (α=3)``."""
    return config_label(cell, [k for k in cell if k not in _regime_keys()])


def clean_losses(rows: list[dict]) -> list[str]:
    """Return the losses of the study's clean cells (`rows`: all of it) in the demo's regime: `loss=` alone picks."""
    return sorted({r["params"]["loss"] for r in rows if _rows_of([r], {**_regime_keys(), "loss": r["params"]["loss"]})})


def check_study(study: str | Path, rows: list[dict], cell: dict[str, Any]) -> None:
    """Raise ConfigError naming study= or the cell's keys when the study (`rows`: all of it) cannot be compared."""
    weights = warm_start_weights(study, DEMO_REGIME)
    if not weights.is_file():
        raise ConfigError(
            f"study={study}: no CPU study there (no warm start {weights}); run the demo from the repository's root "
            f"(the study is committed under {DEFAULT_STUDY}), or produce one: yolo-alpha reproduce suite=cpu "
            "project=<dir>, then yolo-alpha demo study=<dir>/cpu"
        )
    if not _rows_of(rows, cell):
        raise ConfigError(
            f"{label(cell)}: study={study} has no rows of this anchor-regime cell to compare with (its clean cells: "
            f"loss={'|'.join(clean_losses(rows)) or 'none yet'}); train any other with yolo-alpha train"
        )


def demo_settings(study: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the train keys of the demo: the CPU suite's anchor α-IoU cell of seed 0, with `overrides` applied.

    Refused (ConfigError, before anything is created) when the study lacks the warm start or rows of the cell.
    The run goes to ./runs/demo/<loss>, numbered by Ultralytics when that exists (an earlier demo is kept).
    """
    return cell_settings(study, load_study(study), *split_overrides(overrides))


def cell_settings(
    study: str | Path, rows: list[dict], cell: dict[str, Any], seed: Any, extra: dict, run_keys: dict
) -> dict[str, Any]:
    """Return :func:`demo_settings` of the cell `split_overrides` made, checked against the study's `rows`."""
    check_study(study, rows, cell)
    weights = str(warm_start_weights(study, DEMO_REGIME))
    settings = {**CPU.base, **cell, "pretrained": weights, "seed": seed, **extra}
    return {**settings, "project": "runs/demo", "name": cell["loss"], **run_keys}  # relative: to the current folder


def _percent(row: dict[str, Any], metric: str) -> float | None:
    value = row.get(metric)
    return 100 * value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _values(rows: list[dict], metric: str) -> list[float]:
    return [v for v in (_percent(r, metric) for r in rows) if v is not None]


def _mean_std_text(values: list[float]) -> str:
    if not values:
        return "–"
    mean, std = mean_std(values)
    return f"{mean:.2f} ± {std:.2f}" if std is not None else f"{mean:.2f}"


def placement(mine: float, seeds: list[float]) -> tuple[int, float | None]:
    """Return (rank of `mine` among `seeds` and itself, 1 = highest; its distance from their mean in their std).

    The distance is None when the seeds have no spread (fewer than two, or all equal).
    """
    rank = 1 + sum(v > mine for v in seeds)
    mean, std = mean_std(seeds) if seeds else (mine, None)
    return rank, (mine - mean) / std if std else None


def _placement_text(mine: float | None, seeds: list[float]) -> str:
    if mine is None or not seeds:
        return "–"
    rank, z = placement(mine, seeds)
    return f"{rank} of {len(seeds) + 1}" + (f", {round(z, 1) + 0.0:+.1f} std" if z is not None else "")


def table_lines(mine: dict[str, Any], cell: dict[str, Any], seed: Any, extra: dict, rows: list[dict]) -> list[str]:
    """Return the demo's table: one line per metric, this run beside the study's (`rows`) α = 1 and α cells.

    The last column places this run among the study's seeds of the cell it trained: its rank (1 = highest) and
    its distance from their mean in their std; left empty when the run is no study cell (extra keys).
    """
    baseline, alpha_cell = compared_cells(cell)
    compared = [(c, _rows_of(rows, c)) for c in (baseline, alpha_cell)]
    own = _rows_of(rows, cell) if not extra else []
    this = f"this run, seed {seed}" + "".join(f", {k}={v}" for k, v in extra.items())
    header = [(label(cell), this), *((label(c), f"study, {len(rows)} seeds") for c, rows in compared)]
    header.append(("this run among", "the study's seeds") if own else ("", ""))
    body = []
    for metric in TABLE_METRICS:
        value = _percent(mine, metric)
        cells = ["–" if value is None else f"{value:.2f}"]
        cells += [_mean_std_text(_values(rows, metric)) for _, rows in compared]
        cells.append(_placement_text(value, _values(own, metric)) if own else "")
        body.append((metric, cells))
    width = 3 + max(len(text) for pair in header for text in pair)
    lines = ["AP (%)".ljust(10) + "".join(top.rjust(width) for top, _ in header).rstrip()]
    lines.append("".ljust(10) + "".join(bottom.rjust(width) for _, bottom in header).rstrip())
    lines += [metric.ljust(10) + "".join(c.rjust(width) for c in cells).rstrip() for metric, cells in body]
    return lines


def _by_seed(rows: list[dict]) -> dict[Any, dict]:
    return {row["params"].get("seed"): row for row in rows}


def effect_text(rows: list[dict], cell: dict[str, Any], metric: str) -> str:
    """Return "+2.32 [+0.40, +4.23]": the study's α − α = 1 difference in `metric`, paired by seed, 95 % t-interval."""
    baseline, alpha_cell = (_by_seed(_rows_of(rows, c)) for c in compared_cells(cell))
    seeds = [s for s in alpha_cell if s in baseline]
    a = [_percent(alpha_cell[s], metric) for s in seeds]
    b = [_percent(baseline[s], metric) for s in seeds]
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if not pairs:
        return "no paired seeds"
    d = paired_difference([x for x, _ in pairs], [y for _, y in pairs])
    interval = f" [{d.low:+.2f}, {d.high:+.2f}]" if d.low is not None else ""
    return f"{d.mean:+.2f}{interval}"


def _spread_text(rows: list[dict], metric: str) -> str:
    values = _values(rows, metric)
    if not values:
        return "no rows"
    _, std = mean_std(values)
    return f"{min(values):.2f}–{max(values):.2f}" + (f" (std {std:.2f})" if std is not None else "")


def reading_lines(
    mine: dict[str, Any], cell: dict[str, Any], extra: dict, study: str | Path, rows: list[dict]
) -> list[str]:
    """Return how to read the table: where this run falls, how much one run varies, what the loss does in the study."""
    baseline, alpha_cell = compared_cells(cell)
    own = _rows_of(rows, cell)
    lines = []
    if extra:
        keys = ", ".join(f"{k}={v}" for k, v in extra.items())
        lines.append(f"This run is no cell of the study ({keys}): it is not placed among the study's seeds.")
    else:
        places = []
        for metric in HEADLINES:
            value = _percent(mine, metric)
            if value is not None and _values(own, metric):
                places.append(f"{metric} {value:.2f}, {_placement_text(value, _values(own, metric))}")
        lines.append(
            f"Where this run falls beside the study's {len(own)} seeds of {label(cell)} (rank 1 = highest, "
            f"distance from their mean in their std): {'; '.join(places)}."
        )
    metric = HEADLINES[0]
    spreads = "; ".join(f"{label(c)} {_spread_text(_rows_of(rows, c), metric)}" for c in (alpha_cell, baseline))
    lines.append(
        f"How much one run varies: the study's seeds span {metric} {spreads}. Another CPU, BLAS build or "
        f"package set moves a single run by about as much ({MACHINE_SPREAD})."
    )
    effects = ", ".join(f"{m} {effect_text(rows, cell, m)}" for m in HEADLINES)
    lines.append(
        f"What the loss does, in the study ({label(alpha_cell)} − {label(baseline)}, paired by seed, 95 % "
        f"t-interval): {effects}; every claim: {Path(study) / 'report' / 'report.md'}."
    )
    return lines


def demo(
    study: str | Path = DEFAULT_STUDY,
    overrides: dict[str, Any] | None = None,
    train: Callable[..., Any] = run.train,
) -> tuple[Path, list[str]]:
    """Train the demo's cell; return its run folder and the lines to print (the table, then how to read it)."""
    rows = load_study(study)  # read once: the checks, the table and its reading all use it
    cell, seed, extra, run_keys = split_overrides(overrides)
    model = train(**cell_settings(study, rows, cell, seed, extra, run_keys))
    trainer = model.trainer
    mine = evaluate_training(trainer)
    reading = reading_lines(mine, cell, extra, study, rows)
    reading = [textwrap.fill(line, TEXT_WIDTH, subsequent_indent="  ") for line in reading]
    return Path(trainer.save_dir), [*table_lines(mine, cell, seed, extra, rows), "", *reading]
