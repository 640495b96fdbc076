"""The report's "Claims of the α-IoU paper" section: :mod:`yolo_alpha.reproduce`'s ClaimRows as a table and claims.csv.

The rows are the sweep's rows with the base's claim keys added (:mod:`~yolo_alpha.report.sweep_base`), the default
model is the sweep's, and C6 reads each run's per-epoch mAP50-95 with the reader of the mAP-over-epochs figure. The
section leads with the count of each verdict (:mod:`~yolo_alpha.reproduce.verdicts`) and states the equivalence
margins it judged by.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from yolo_alpha.charts.files import write_csv
from yolo_alpha.config_labels import config_label
from yolo_alpha.metrics import AP_KEYS, COUNT_KEYS
from yolo_alpha.model_families import ANCHOR_FAMILY, FAMILIES, TASK_ALIGNED_FAMILY
from yolo_alpha.report import figures
from yolo_alpha.report.sweep_base import SweepBase, with_base_keys
from yolo_alpha.reproduce import claims as paper
from yolo_alpha.reproduce import pairing, stats
from yolo_alpha.reproduce.missing import missing_claims
from yolo_alpha.reproduce.verdicts import DEFAULT_MARGINS, VERDICTS

TITLE = "## Claims of the α-IoU paper"
REGIME_NAMES = {ANCHOR_FAMILY: "anchor-based YOLOv5", TASK_ALIGNED_FAMILY: "task-aligned"}
CLAIMS_CSV_COLUMNS = (
    "claim",
    "regime",
    "compared",
    "config",
    "metric",
    "expected",
    "paper",
    "alpha_mean",
    "alpha_std",
    "baseline_mean",
    "baseline_std",
    "difference_mean",
    "difference_std",
    "ci_low",
    "ci_high",
    "confidence",
    "relative",
    "verdict",
    "margin",
    "half_width",
    "seeds_needed",
    "sign_flip_p",
    "n_seeds",
    "seeds",
    "note",
)
TABLE_COLUMNS = (
    "Claim",
    "Regime",
    "Compared",
    "Metric",
    "Paper",
    "Ours: α",
    "Ours: baseline",
    "Δ α − baseline [95 % CI]",
    "Rela. change",
    "Verdict",
    "Seeds",
)
TABLE_HEADER = "| " + " | ".join(TABLE_COLUMNS) + " |"


def how_to_read() -> str:
    """Return the section's paragraph on how to read its table: the four verdicts first."""
    return (
        "**How to read.** Each row answers a claim with one of four verdicts, read from the 95 % interval of Δ: "
        "*reproduced* when it excludes 0 on the side the paper claims, *opposite* when it excludes 0 on the other "
        "side, *equivalent* when it contains 0 and lies wholly within ±m, the row's equivalence margin (no effect "
        "larger than m), *inconclusive* when it contains 0 and crosses ±m; an inconclusive row gives the half-width "
        "achieved and the seeds that would bring it to m at the spread measured (the fewest n with "
        "t*(n − 1) · s / √n ≤ m). A claim that a metric stays about flat (AP50) is itself one of equivalence: "
        "*reproduced* when the whole interval lies within ±m, *opposite* when it lies wholly outside. Slopes (C2, "
        "C3's trend) and changes over epochs (C6) are no metric's difference and have no margin: they are reproduced, "
        "opposite or inconclusive. One seed has no interval, so it never gives a verdict. Each row pairs an α-loss "
        "with its α = 1 form (C4: α values of one loss) trained with the same seed and otherwise identical settings, "
        "and takes per seed the difference α − baseline of the row's metric; Δ is their mean over the seeds with its "
        "95 % Student-t interval, mean ± t*(n − 1) · s / √n. *Ours* is each side's mean ± std over the seeds, AP in "
        "percent as in the table above (Δ in AP points), counts as counts; *rela. change* is (α − baseline) / "
        "baseline of the means, the paper's rela. improv. The paper's figures are its YOLOv5s on VOC and COCO after "
        "300 epochs: compare directions, not sizes."
    )


def epoch_series(rows: list[dict]) -> dict[str, list[float]]:
    """Return {run_dir: mAP50-95 per epoch} of the rows whose run has a usable results.csv (C6's input)."""
    series = {}
    for row in rows:
        curve = figures.read_epoch_curve(row["run_dir"]) if row.get("run_dir") else None
        if curve is not None:
            series[str(row["run_dir"])] = [value for _, value in curve]
    return series


def claims_section(
    out: Path, rows: list[dict], base: SweepBase, margins: Mapping[str, float] = DEFAULT_MARGINS
) -> list[str]:
    """Return the lines of the claims section, [] when the rows allow no claim; writes ``out/claims.csv`` either way.

    claims.csv has one row per ClaimRow (fractions, not percent) and its header even when empty. Rows that cannot be
    paired (:class:`~yolo_alpha.reproduce.ClaimDataError`, e.g. a sweep still running) give the section with the
    reason instead of the table. `margins`: the equivalence margin m per metric, in the metric's units.
    """
    claim_rows, series = with_base_keys(rows, base.keys), epoch_series(rows) or None
    try:
        families = paper.compared_families(claim_rows)  # IoU and DIoU, and e.g. CIoU where both forms trained
        found = paper.all_claims(claim_rows, series, families=families, margins=margins, default_model=base.model)
        missing = missing_claims(claim_rows, series, families=families, default_model=base.model, claims=found)
    except pairing.ClaimDataError as e:
        write_csv(out / "claims.csv", [], columns=CLAIMS_CSV_COLUMNS)
        return [TITLE, "", f"No claim evaluated, the runs cannot be paired by seed: {e}.", ""]
    write_csv(out / "claims.csv", [claim_csv_row(c) for c in found], columns=CLAIMS_CSV_COLUMNS)
    if not found:
        return []
    shared = shared_settings(found)
    lines = [TITLE, "", *verdict_counts(found), model_note(rows, base), "", *_shared_lines(shared), how_to_read()]
    lines += [
        "",
        margin_note(margins),
        "",
        *_seed_note(found),
        TABLE_HEADER,
        "|---|---|---|---|---|---:|---:|---:|---:|---|---:|",
    ]
    lines += [table_line(c, shared) for c in found]
    lines += ["", *sign_flip_lines(found, shared)]
    notes = [f"- {c.claim}, {_regime(c.regime)}, {_compared(c, shared)}, {c.metric}: {c.note}" for c in found if c.note]
    lines += ["Notes:", "", *notes, ""] if notes else []
    lines += _missing_lines(missing)
    lines += ["Data: [claims.csv](claims.csv) (one row per row above; fractions, not percent; counts as counts).", ""]
    return lines


def verdict_counts(found: list) -> list[str]:
    """Return the section's lead: how many rows of each regime got each of the four verdicts (rows with an interval)."""
    judged = [c for c in found if c.difference.n > 1]
    if not judged:
        return []
    parts = []
    for regime in sorted({c.regime for c in judged}, key=list(FAMILIES).index):
        verdicts = [c.verdict for c in judged if c.regime == regime]
        parts.append(f"{_regime(regime)}: " + ", ".join(f"{verdicts.count(v)} {v}" for v in VERDICTS))
    return [f"**Verdicts** ({len(judged)} rows with an interval) — {'; '.join(parts)}.", ""]


def margin_note(margins: Mapping[str, float]) -> str:
    """Return the sentence stating the equivalence margins judged by, in each metric's display unit."""
    by_value: dict[tuple[float, str, int], list[str]] = {}
    for metric, margin in margins.items():
        scale, unit, places = metric_unit(metric)
        by_value.setdefault((scale * margin, unit, places), []).append(metric)
    parts = []
    for (value, unit, places), metrics in by_value.items():
        if set(AP_KEYS) <= set(metrics):  # the ten thresholds read as one range
            metrics = [f"{AP_KEYS[0]} … {AP_KEYS[-1]}", *(m for m in metrics if m not in AP_KEYS)]
        amount = " ".join(filter(None, (f"±{value:.{places}f}", {"%": "AP points", "count": "counts"}.get(unit, unit))))
        parts.append(f"{amount} on {', '.join(metrics)}")
    stated = "; ".join(parts) if parts else "none stated (no row can be equivalent)"
    return f"Equivalence margin m (claims.csv: `margin`): {stated}; other metrics have none."


def sign_flip_lines(found: list, shared: dict[str, dict], level: float = 0.05) -> list[str]:
    """Return the paragraph on the sign-flip check beside the t-interval: where it disagrees, and why it must at n < 6.

    With n seeds the exact test's smallest p is 2 / 2ⁿ; below 6 seeds it cannot reject, so every interval that
    excludes 0 there is a disagreement of power, said once; from 6 seeds on each disagreement is listed.
    """
    checked = [c for c in found if c.difference.sign_flip_agrees is not None]
    if not checked:
        return []
    powerless = [c for c in checked if 2 / 2**c.difference.n >= level]
    blind = [c for c in powerless if not c.difference.sign_flip_agrees]
    listed = [c for c in checked if c not in powerless and not c.difference.sign_flip_agrees]
    agree = len(checked) - len(blind) - len(listed)
    text = (
        "**A check without normality.** Beside each t-interval, the sign-flip permutation test of the per-seed "
        "differences (claims.csv: `sign_flip_p`) asks whether 0 is excluded without assuming the differences are "
        f"normal. It agrees with the interval on {agree} of {len(checked)} rows."
    )
    if blind:
        fewest = min(c.difference.n for c in blind)
        text += (
            f" With {fewest} seeds its smallest p-value is 2 / 2^{fewest} = {2 / 2**fewest:.3g}, and below 6 seeds "
            f"it can never reach p < {level:g}: the {len(blind)} rows of fewer than 6 seeds whose interval excludes 0 "
            "rest on the t-interval's assumption of normal differences alone."
        )
    lines = [text, ""]
    if listed:
        lines += [f"Where it disagrees (p < {level:g} or not, against the interval) with 6 seeds or more:", ""]
        lines += [
            f"- {c.claim}, {_regime(c.regime)}, {_compared(c, shared)}, {c.metric}: {c.verdict} by the interval, "
            f"sign-flip p = {c.difference.sign_flip_p:.3g}"
            for c in listed
        ]
        lines.append("")
    return lines


def model_note(rows: list[dict], base: SweepBase) -> str:
    """Return the sentence saying which model, hence which regime, the runs trained (the grid's or the base's)."""
    regime = _regime(pairing.regime_of({}, base.model))
    default, origin = f"`{base.model}` ({regime})", f"from {base.origin}"
    with_model = sum("model" in row["params"] for row in rows)
    if with_model == len(rows):
        return "Model: the grid's `model` of each run (`*-anchor.yaml`: anchor-based YOLOv5, else task-aligned)."
    if with_model:
        return f"Model: the grid's `model` where a run has one, else {default}, {origin}."
    return f"Model: {default} for every run, {origin}."


def shared_settings(found: list) -> dict[str, dict]:
    """Return {regime: the params every claim row of that regime has, with equal values}.

    A suite's rows repeat their regime's model, warm start and gains in every row; the table names them once (see
    :func:`_shared_lines`) and *Compared* keeps what tells the rows apart (η, fraction). claims.csv keeps them all.
    """
    shared: dict[str, dict] = {}
    for c in found:
        if c.regime not in shared:
            shared[c.regime] = dict(c.context)
        else:
            shared[c.regime] = {k: v for k, v in shared[c.regime].items() if k in c.context and c.context[k] == v}
    return {regime: params for regime, params in shared.items() if params}


def _shared_lines(shared: dict[str, dict]) -> list[str]:
    if not shared:
        return []
    order = sorted(shared, key=list(FAMILIES).index)
    parts = [f"{_regime(regime)}: `{config_label(shared[regime])}`" for regime in order]
    return [f"Settings every row of a regime shares (not repeated under *Compared*): {'; '.join(parts)}.", ""]


def claim_csv_row(c) -> dict:
    """Return ClaimRow `c` flattened for claims.csv: values as computed (fractions, counts), seeds as "0, 1, 2"."""
    d = c.difference
    return {
        "claim": c.claim,
        "regime": c.regime,
        "compared": c.compared,
        "config": c.config,
        "metric": c.metric,
        "expected": c.expected,
        "paper": c.paper,
        "alpha_mean": c.alpha_mean,
        "alpha_std": c.alpha_std,
        "baseline_mean": c.baseline_mean,
        "baseline_std": c.baseline_std,
        "difference_mean": d.mean,
        "difference_std": d.std,
        "ci_low": d.low,
        "ci_high": d.high,
        "confidence": d.confidence,
        "relative": c.relative,
        "verdict": c.verdict,
        "margin": c.margin,
        "half_width": d.half_width,
        "seeds_needed": c.seeds_needed,
        "sign_flip_p": d.sign_flip_p,
        "n_seeds": d.n,
        "seeds": pairing.seeds_text(c.seeds),
        "note": c.note,
    }


def metric_unit(metric: str) -> tuple[float, str, int]:
    """Return (scale, unit, decimals) for showing values of `metric`: AP-like values in percent, counts as counts.

    ClaimRow values are fractions (AP, mAP, their slopes and changes), counts (TP50 …), or C3's slope of a relative
    gain per unit η, shown as the paper shows it (+0.51 per unit η).
    """
    if metric in COUNT_KEYS:
        return 1.0, "count", 1
    if "relative gain" in metric:
        return 1.0, "fraction per unit η", 2
    if metric.startswith("slope of AP"):
        return 100.0, "% per unit IoU", 2
    if "AP" in metric:
        return 100.0, "%", 2
    return 1.0, "", 3


def table_line(c, shared: dict[str, dict]) -> str:
    """Return the claims table's row of ClaimRow `c` (:data:`TABLE_COLUMNS`)."""
    return markdown_row(table_cells(c, shared))


def markdown_row(cells: list[str]) -> str:
    """Return a Markdown table row of `cells`, a ``|`` inside one escaped."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def table_cells(c, shared: dict[str, dict]) -> list[str]:
    """Return the cells of ClaimRow `c` in :data:`TABLE_COLUMNS`' order."""
    scale, unit, places = metric_unit(c.metric)
    d = c.difference
    delta = _signed(scale * d.mean, places)
    if d.low is None or d.high is None:
        delta += " (no interval)"
    else:
        delta += f" [{_signed(scale * d.low, places)}, {_signed(scale * d.high, places)}]"
    cells = [
        c.claim,
        _regime(c.regime),
        _compared(c, shared),
        f"{c.metric} ({unit})" if unit else c.metric,
        c.paper,
        _mean_std(c.alpha_mean, c.alpha_std, scale, places),
        _mean_std(c.baseline_mean, c.baseline_std, scale, places),
        delta,
        "–" if c.relative is None else _signed(100 * c.relative, 2) + "%",
        _verdict_cell(c, scale, places),
        str(d.n),
    ]
    return cells


def _verdict_cell(c, scale: float, places: int) -> str:
    """Return the verdict; an inconclusive one with a margin adds its half-width and the seeds that would reach ±m."""
    if c.difference.n < 2:
        return "no verdict (1 seed)"
    if c.seeds_needed is None:
        return c.verdict
    half, margin = _plain(scale * c.difference.half_width, places), _plain(scale * c.margin, places)
    return f"{c.verdict} (±{half}; {c.seeds_needed} seeds for ±{margin})"


def _seed_note(found: list) -> list[str]:
    fewest = min(c.difference.n for c in found)
    if max(c.difference.n for c in found) < 2:
        return [
            "**One seed per configuration: no verdicts.** A verdict needs the spread of the per-seed differences, "
            "which one seed does not have: give the grid a `seed:` list of 3 seeds or more (e.g. `seed: [0, 1, 2]`) "
            "and run the sweep into a new folder.",
            "",
        ]
    if fewest < 3:
        wide = stats.t_critical(1)
        return [
            f"Note: rows with 1 seed give no verdict and rows with 2 an interval ±{wide:.2f} standard errors wide "
            "(t* at 1 degree of freedom); a `seed:` list of 3 seeds or more in the grid is needed for useful verdicts.",
            "",
        ]
    return []


def _missing_lines(missing: list) -> list[str]:
    """Return the list of claims not tested, one line per regime and reason (claims with the same reason grouped)."""
    if not missing:
        return []
    grouped: dict[tuple[str, str], list[str]] = {}
    for m in sorted(missing, key=lambda m: (list(FAMILIES).index(m.regime), paper.CLAIM_IDS.index(m.claim))):
        grouped.setdefault((m.regime, m.reason), []).append(m.claim)
    lines = [f"- {', '.join(ids)} ({_regime(regime)}): {reason}" for (regime, reason), ids in grouped.items()]
    return ["Not tested:", "", *lines, ""]


def _regime(regime: str) -> str:
    return REGIME_NAMES.get(regime, regime)


def _compared(c, shared: dict[str, dict]) -> str:
    common = shared.get(c.regime, {})
    rest = {k: v for k, v in c.context.items() if k not in common or common[k] != v}
    return f"{c.compared} at {config_label(rest)}" if rest else c.compared


def _mean_std(mean: float | None, std: float | None, scale: float, places: int) -> str:
    if mean is None:
        return "–"
    text = _plain(scale * mean, places)
    return text if std is None else f"{text} ± {_plain(scale * std, places)}"


def _plain(value: float, places: int) -> str:
    text = f"{value:.{places}f}"
    return f"{0:.{places}f}" if float(text) == 0 else text  # never "-0.00"


def _signed(value: float, places: int) -> str:
    text = f"{value:+.{places}f}"
    return f"{0:+.{places}f}" if float(text) == 0 else text
