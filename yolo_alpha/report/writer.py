"""``write_report(sweep_dir)``: the sweep's Markdown report, CSV tables and figures under ``<sweep>/report/``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display is ever needed

import matplotlib.pyplot as plt

from yolo_alpha.charts.files import write_csv
from yolo_alpha.config_labels import config_label
from yolo_alpha.metrics import AP_CONF, AP_NMS_IOU, COUNT_CONF, COUNT_KEYS, COUNT_NMS_IOU, TABLE_METRICS
from yolo_alpha.report import figures
from yolo_alpha.report.claims_section import claims_section
from yolo_alpha.report.diagnostics_section import diagnostics_section
from yolo_alpha.report.sources_section import sources_section
from yolo_alpha.report.sweep_base import read_sweep_base
from yolo_alpha.report.tables import (
    evaluators,
    improvement_csv_rows,
    relative_improvement,
    summarise,
    summary_csv_rows,
    varied_keys,
)
from yolo_alpha.report.verdict_glance import baseline_ap50, baseline_sentence, glance_section, read_claims
from yolo_alpha.reproduce.verdicts import DEFAULT_MARGINS
from yolo_alpha.sweep_folder import RUNS_DIR, ResultsFileError, load_results, relative_to_sweep, run_folder

HOW_TO_READ = (
    "**How to read.** Values are AP in percent on the validation set, as the mean over seeds; with more than one seed "
    "a cell reads `mean ± std (n)` (sample std, n runs). A *rela. improv.* row sits under each α-loss row: "
    "(α-loss − baseline) / baseline of the means, where the baseline is the classic loss (α = 1) with otherwise "
    "identical settings, or the same loss at α = 1 when the sweep varies α. The paper reports large relative gains at "
    "high IoU thresholds (AP90, AP95) where the baseline AP is small, so a small absolute change there is a large "
    "relative one. One seed is not a result: a difference smaller than the seed-to-seed std is noise."
)
NO_PAIR = (
    "no α-loss in this sweep has its baseline (an `alpha_X` loss is compared with X, or with itself at α = 1, under "
    "otherwise identical settings)"
)


def environment_lines(rows: list[dict]) -> list[str]:
    """Return the report's lines on where its rows trained: each environment a row records, with its row count.

    A row's ``environment`` (:func:`yolo_alpha.environment.numerics_environment`) holds what sets its numerics beyond
    its keys; rows of two environments differ by about a seed's spread, so a report that mixes them says so.
    """
    counts = Counter(json.dumps(row["environment"], sort_keys=True) for row in rows if row.get("environment"))
    unrecorded = sum(1 for row in rows if not row.get("environment"))
    if not counts:
        return []
    described = [", ".join(f"{k} {v}" for k, v in json.loads(env).items()) for env in counts]
    if len(counts) == 1 and not unrecorded:
        return [f"Trained in one environment: {described[0]}.", ""]
    lines = [f"**Rows of {len(counts) + bool(unrecorded)} environments** (a comparison across them holds both):", ""]
    lines += [f"- {n} rows: {text}" for text, n in zip(described, counts.values())]
    lines += [f"- {unrecorded} rows: not recorded (trained before rows recorded it)"] if unrecorded else []
    return [*lines, ""]


def write_report(sweep_dir: str | Path, margins: Mapping[str, float] = DEFAULT_MARGINS) -> Path:
    """Return the path of ``<sweep>/report/report.md``, written with summary.csv, relative_improvement.csv and figures.

    Figures (each a PNG plus a CSV of the plotted numbers): ap_vs_iou, tp_counts (paper Fig. 2; skipped with a note
    when no row has counts), map_over_epochs, alpha_sensitivity (only
    when the grid varies ``alpha``) and improvement_vs_noise (only when it varies ``noise_eta``). Last, when the rows
    allow any, the claims of the α-IoU paper (:mod:`~yolo_alpha.report.claims_section`; claims.csv always), C1 and C3
    on each val source image where the rows were scored per source (:mod:`~yolo_alpha.report.sources_section`), and the
    training diagnostics of runs that recorded them (:mod:`~yolo_alpha.report.diagnostics_section`). `margins`: the
    claims' equivalence margin m per metric (a suite's ``margins``; by default 0.5 AP points on every AP metric).

    Raises ResultsFileError, writing nothing, when results.jsonl is missing, malformed or has no rows yet.
    """
    sweep_dir = Path(sweep_dir)
    rows = local_run_dirs(load_results(sweep_dir), sweep_dir)
    if not rows:  # a report of 0 runs would still say "every configuration has a single run"
        raise ResultsFileError(
            f"report {sweep_dir}: results.jsonl has no rows yet; run the sweep first: yolo-alpha sweep cfg=<its sweep "
            f"file> (rerunning it resumes this folder), then yolo-alpha report {sweep_dir}"
        )
    out = sweep_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    improvements = relative_improvement(summary)
    write_csv(out / "summary.csv", summary_csv_rows(summary))
    write_csv(out / "relative_improvement.csv", improvement_csv_rows(improvements))

    varied = varied_keys(rows)
    lines = [
        f"# Sweep report: {sweep_dir.name}",
        "",
        f"{len(rows)} runs, {len(summary)} configurations"
        + (f"; varied: {', '.join(varied)}" if varied else "")
        + ". Source: the sweep's [results.jsonl](../results.jsonl).",  # no path of the machine: the folder moves
        "",
        *environment_lines(rows),
        f"## AP per IoU threshold ({_evaluator_title(rows)})",
        "",
        *_evaluator_note(rows),
        *_markdown_table(summary, improvements),
        "",
        *_improvement_notes(summary, improvements),
        HOW_TO_READ,
        "",
        *(
            [
                "**Every configuration has a single run (one seed)**: no std is shown, and no difference here "
                "is a result.",
                "",
            ]
            if all(s["n"] == 1 for s in summary)
            else []
        ),
        "Tables as CSV: [summary.csv](summary.csv) (mean and std of every metric), "
        "[relative_improvement.csv](relative_improvement.csv) (fractions, not percent).",
        "",
        "## Figures",
        "",
    ]
    lines += _figure(
        out,
        "ap_vs_iou",
        "AP vs IoU threshold, one line per configuration (error bars: std over seeds).",
        figures.plot_ap_vs_iou(summary),
        figures.ap_vs_iou_data(summary),
    )

    lines += _tp_counts_figure(out, summary, improvements)

    epoch_rows, missing, unvalidated = figures.map_over_epochs_data(summary)
    runs = sum(1 for s in summary for run in s["runs"] if run.get("run_dir"))
    if unvalidated and len(unvalidated) == runs:
        for stale in ("map_over_epochs.png", "map_over_epochs.csv"):  # drawn by an earlier report of these runs
            (out / stale).unlink(missing_ok=True)
        lines += [
            "No mAP50-95 per epoch (paper Fig. 3): every run trained with `val=False`, which validates after the "
            "last epoch only.",
            "",
        ]
    else:
        lines += _figure(
            out,
            "map_over_epochs",
            "Validation mAP50-95 per epoch, mean over seeds (paper Fig. 3).",
            figures.plot_map_over_epochs(summary),
            epoch_rows,
        )
    if unvalidated and len(unvalidated) < runs:
        lines += [f"Note: {len(unvalidated)} run(s) trained with `val=False` have no per-epoch series.", ""]
    if missing:
        lines += [
            f"Note: no usable results.csv for {len(missing)} run(s), left out of this figure: "
            + ", ".join(f"`{relative_to_sweep(m, sweep_dir)}`" for m in missing),
            "",
        ]

    if "alpha" in varied:
        lines += _two_metric_figure(
            out,
            "alpha_sensitivity",
            "mAP50-95 and mAP75-95 vs α per loss (paper Fig. 6); dashed: α = 1 (black) and α = 3 (red).",
            lambda metric, ax: figures.plot_alpha_sensitivity(summary, metric, ax=ax),
            figures.alpha_sensitivity_data(summary),
        )

    if "noise_eta" in varied:
        lines += _two_metric_figure(
            out,
            "improvement_vs_noise",
            "Relative improvement of mAP50-95 and mAP75-95 over the α = 1 baseline vs noise rate η (paper Table 3).",
            lambda metric, ax: figures.plot_improvement_vs_noise(improvements, metric, ax=ax),
            figures.improvement_vs_noise_data(improvements),
        )

    base = read_sweep_base(sweep_dir)
    lines += claims_section(out, rows, base, margins)  # writes claims.csv, which the report then leads with
    lines += sources_section(out, rows, base, margins)
    lines += diagnostics_section(out, rows, base)
    protocol = "[PROTOCOL.md](../PROTOCOL.md)" if (sweep_dir / "PROTOCOL.md").is_file() else None
    level = baseline_sentence(baseline_ap50(rows, base.model, base.keys), protocol)
    lead = glance_section(read_claims(out / "claims.csv"), level)
    if lead:  # the verdicts first, right after the header and the environment lines
        at = lines.index(f"## AP per IoU threshold ({_evaluator_title(rows)})")
        lines[at:at] = lead

    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def local_run_dirs(rows: list[dict], sweep_dir: Path) -> list[dict]:
    """Return `rows` with ``run_dir`` the path of each cell's run folder: ``<sweep_dir>/runs/<cell_id>`` where it is.

    Otherwise the row's own ``run_dir``, resolved against `sweep_dir`: rows record it relative to the sweep folder
    (older rows: an absolute path, where the run was trained), so a folder that was moved, copied or committed, or
    is reached by another spelling of its path, reads its runs' per-epoch files from wherever it now lies.
    """
    out = []
    for row in rows:
        local = sweep_dir / RUNS_DIR / str(row.get("cell_id", ""))
        run_dir = local if row.get("cell_id") and local.is_dir() else run_folder(row, sweep_dir)
        out.append({**row, "run_dir": str(run_dir)} if run_dir is not None else row)
    return out


def _evaluator_title(rows: list[dict]) -> str:
    names = evaluators(rows)
    if set(names) == {"pycocotools"}:
        return "COCO-style, pycocotools"
    return "Ultralytics' validator" if set(names) == {"ultralytics"} else "mixed evaluators"


def _evaluator_note(rows: list[dict]) -> list[str]:
    """Return the lines saying which evaluator produced the AP table (and a warning when the rows mix two)."""
    names = evaluators(rows)
    lines = []
    if "pycocotools" in names:
        lines.append(
            f"AP from pycocotools' COCOeval of each run's best.pt on its val split (Ultralytics' detections at conf "
            f"{AP_CONF:g}, NMS IoU {AP_NMS_IOU:g}; all areas; up to 300 detections per image); a run trained with "
            "`val=False` validates after its last epoch only, so its best.pt is its final weights. Ultralytics' own "
            "mAP50-95 of the same detections is in summary.csv as `ultralytics_mAP50-95`."
        )
    if "ultralytics" in names:
        lines.append(
            "AP from Ultralytics' final validation of best.pt (`metrics.box.all_ap`): these rows predate the COCO "
            "evaluation."
        )
    if len(names) > 1:
        counts = ", ".join(f"{name}: {n} run(s)" for name, n in sorted(names.items()))
        lines.append(f"**The runs were scored by different evaluators** ({counts}); compare them with care.")
    return [*lines, ""]


def _tp_counts_figure(out: Path, summary: list[dict], improvements: list[dict]) -> list[str]:
    """Return the report lines of Fig. 2 (true positives at IoU ≥ 0.5 … 0.9), or a note when no run has counts."""
    data = figures.tp_counts_data(summary)
    if not data:
        return [
            "Fig. 2 (true positives at IoU ≥ 0.5 … 0.9) skipped: no run has counts (results from before the COCO "
            "evaluation; rerun the sweep in a new folder to get them).",
            "",
        ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    figures.plot_tp_counts(summary, ax=axes[0])
    figures.plot_tp_count_improvement(improvements, ax=axes[1])
    lines = _figure(
        out,
        "tp_counts",
        f"Detections after NMS (IoU {COUNT_NMS_IOU:g}, conf ≥ {COUNT_CONF:g}) matched one-to-one to a ground truth of "
        "their class at IoU ≥ 0.5 … 0.9, mean over seeds (paper Fig. 2); right: relative difference of each α-loss to "
        "its baseline "
        "([tp_counts_improvement.csv](tp_counts_improvement.csv)).",
        (fig, axes),
        data,
    )
    differences = figures.tp_count_improvement_data(improvements)
    # The header always: an empty table must still say what it would hold.
    write_csv(out / "tp_counts_improvement.csv", differences, columns=figures.TP_COUNT_IMPROVEMENT_COLUMNS)
    if not improvements:
        lines += [f"Note: {NO_PAIR}, so the right panel and tp_counts_improvement.csv are empty.", ""]
    elif not differences:
        lines += [
            "Note: no α-loss/baseline pair has counts on both sides (a baseline without counts, or with 0 true "
            "positives at IoU ≥ 0.5), so the right panel and tp_counts_improvement.csv are empty.",
            "",
        ]
    without = [config_label(s["params"]) for s in summary if s["mean"].get(COUNT_KEYS[0]) is None]
    if without:
        lines += [f"Note: no counts for {len(without)} configuration(s), left out: " + "; ".join(without), ""]
    return lines


def _two_metric_figure(out: Path, name: str, caption: str, plot, rows: list[dict]) -> list[str]:
    """Return the report lines of figure `name`: `plot(metric, ax)` drawn for mAP50-95 and mAP75-95 side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for metric, ax in zip(("mAP50-95", "mAP75-95"), axes):
        plot(metric, ax)
    return _figure(out, name, caption, (fig, axes), rows)


def _figure(out: Path, name: str, caption: str, fig_ax, data: list[dict]) -> list[str]:
    fig = fig_ax[0]
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=120)
    plt.close(fig)
    write_csv(out / f"{name}.csv", data)
    return [f"![{name}]({name}.png)", "", f"*{caption}* Data: [{name}.csv]({name}.csv).", ""]


def _markdown_table(summary: list[dict], improvements: list[dict]) -> list[str]:
    keys = varied_keys(summary) or None
    by_params = {_key(r["params"]): r for r in improvements}
    lines = [
        "| Configuration | " + " | ".join(TABLE_METRICS) + " |",
        "|---|" + "---:|" * len(TABLE_METRICS),
    ]
    for s in summary:
        cells = [_cell(s["mean"].get(m), s["std"].get(m), s["n"]) for m in TABLE_METRICS]
        lines.append(f"| {config_label(s['params'], keys)} | " + " | ".join(cells) + " |")
        improvement = by_params.get(_key(s["params"]))
        if improvement is not None:
            cells = [_percent(improvement["improvement"][m]) for m in TABLE_METRICS]
            base = config_label(improvement["baseline_params"], keys)
            lines.append(f"| rela. improv. (vs {base}) | " + " | ".join(cells) + " |")
    return lines


def _improvement_notes(summary: list[dict], improvements: list[dict]) -> list[str]:
    """Return the lines that explain the table's *rela. improv.* rows: why a cell is –, or why there is no row."""
    if not improvements:
        return [f"No *rela. improv.* row: {NO_PAIR}.", ""]
    keys = varied_keys(summary) or None
    by_params = {_key(s["params"]): s for s in summary}
    zero: dict[str, dict[str, None]] = {}  # baseline label -> the metrics where its mean is 0 (an ordered set)
    missing = False
    for improvement in improvements:
        baseline = by_params[_key(improvement["baseline_params"])]
        for metric in TABLE_METRICS:
            if improvement["improvement"][metric] is None:
                if baseline["mean"].get(metric) == 0:
                    zero.setdefault(config_label(baseline["params"], keys), {})[metric] = None
                else:
                    missing = True
    lines = []
    if zero:
        where = "; ".join(
            f"{label} ({'every metric' if len(metrics) == len(TABLE_METRICS) else ', '.join(metrics)})"
            for label, metrics in zero.items()
        )
        lines += [
            "Note: a *rela. improv.* cell is – where the baseline's mean is 0, as no relative change from 0 exists. "
            f"Baselines with a mean of 0: {where}.",
            "",
        ]
    if missing:
        lines += [
            "Note: a *rela. improv.* cell is also – where the α-loss or its baseline has no value for that metric "
            "(– in its own row).",
            "",
        ]
    return lines


def _key(params: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def _cell(mean: float | None, std: float | None, n: int) -> str:
    if mean is None:
        return "–"
    if n > 1 and std is not None:
        return f"{100 * mean:.2f} ± {100 * std:.2f} ({n})"
    return f"{100 * mean:.2f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"
