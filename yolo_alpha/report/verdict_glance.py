"""The claims' verdicts at a glance: a line per claim × comparison × metric, the two regimes side by side.

What a report leads with, and what the README's finding block shows (``scripts/readme_verdicts.py`` writes it from a
study's committed claims.csv, and a test holds the two equal): the paired α − baseline difference in AP points with
its 95 % interval and the verdict, for the claims about AP (C1, C3, C4, C7, S) in mAP50-95, mAP75-95 and AP50. The
full table, with the paper's figures, counts and slopes, is the report's claims section.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from yolo_alpha.model_families import FAMILIES
from yolo_alpha.reproduce.pairing import regime_of
from yolo_alpha.reproduce.stats import mean_std

GLANCE_CLAIMS = ("C1", "C3", "C4", "C7", "S")
GLANCE_METRICS = ("mAP50-95", "mAP75-95", "AP50")
TITLE = "## Verdicts at a glance"
_REGIME_TITLES = {"anchor": "anchor-based YOLOv5", "task_aligned": "task-aligned"}
BASELINE_LOSS = "ciou"  # the fork's classic default: how well a study's detectors detect, beside its verdicts
_NOT_BASELINE = ("alpha", "noise_eta", "alpha_warmup", "fraction")  # set and non-zero: not the clean baseline


def read_claims(path: str | Path) -> list[dict[str, str]]:
    """Return the rows of a claims.csv (its header's keys, values as text); [] when the file is missing."""
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def glance_table(claims: Iterable[Mapping[str, object]]) -> list[str]:
    """Return the Markdown table of `claims` (claims.csv rows) at a glance; [] when none is about AP.

    One line per (claim, comparison, metric, setting) in the order the rows come, a column per regime: Δ [95 %
    interval] in AP points and the verdict (bold when decisive); an inconclusive one adds its half-width and the seeds
    that would reach ±m. A setting is what tells apart rows of one regime within a comparison (C3's η, C7's
    fraction); a regime without that line shows "–".
    """
    return studies_table({"": claims})


def studies_table(studies: Mapping[str, Iterable[Mapping[str, object]]]) -> list[str]:
    """Return :func:`glance_table` of several studies side by side: a column per study × regime (headed
    "<study>: <regime>"), a line per (claim, comparison, metric, setting) in the order the studies' rows come; a study
    without that line shows "–". Settings are told apart within each study (its own C3 η values)."""
    lines: dict[tuple, dict[tuple[str, str], Mapping[str, object]]] = {}
    for study, claims in studies.items():
        groups: dict[tuple[str, str, str], list[Mapping[str, object]]] = {}
        for row in claims:
            if row["claim"] in GLANCE_CLAIMS and row["metric"] in GLANCE_METRICS:
                groups.setdefault((str(row["claim"]), str(row["compared"]), str(row["metric"])), []).append(row)
        for (claim, compared, metric), rows in groups.items():
            varying = _varying_keys(rows)
            for row in rows:
                setting = tuple((k, v) for k, v in _config(row).items() if k in varying)
                lines.setdefault((claim, compared, metric, setting), {})[(study, str(row["regime"]))] = row
    if not lines:
        return []
    columns = [(s, r) for s in studies for r in FAMILIES if any((s, r) in by_column for by_column in lines.values())]
    titles = [f"{s}: {_REGIME_TITLES.get(r, r)}" if s else _REGIME_TITLES.get(r, r) for s, r in columns]
    header = ["claim", "compared", "metric, claimed", *titles, "seeds"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (claim, compared, metric, setting), by_column in lines.items():
        first = next(iter(by_column.values()))
        where = "".join(f" at {k}={v}" for k, v in setting)
        seeds = " / ".join(str(by_column[c]["n_seeds"]) if c in by_column else "–" for c in columns)
        cells = [claim, compared.replace("loss=", "") + where, f"{metric} {_claimed(first)}"]
        cells += [_cell(by_column[c]) if c in by_column else "–" for c in columns]
        table.append("| " + " | ".join(c.replace("|", "\\|") for c in [*cells, seeds]) + " |")
    return table


def _config(row: Mapping[str, object]) -> dict[str, str]:
    """Return claims.csv's ``config`` label ("model=…, noise_eta=0.1, …") as key -> value text."""
    items = (item.partition("=") for item in str(row.get("config") or "").split(", "))
    return {key: value for key, sep, value in items if sep}


def _varying_keys(rows: list[Mapping[str, object]]) -> set[str]:
    """Return the config keys whose value differs between rows of one regime (C3's noise_eta, C7's fraction)."""
    values: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        for key, value in _config(row).items():
            values.setdefault((str(row["regime"]), key), set()).add(value)
    return {key for (_, key), seen in values.items() if len(seen) > 1}


def sign_flips(claims: Iterable[Mapping[str, object]], earlier: Iterable[Mapping[str, object]]) -> list[str]:
    """Return a line per glance row whose mean difference changed sign against an `earlier` study's same row (same
    claim, regime, comparison, metric and setting, e.g. C3's η) while one of the two is at least its margin away from
    0 (a flip between two differences inside ±m is no finding); each line gives both differences and verdicts.
    """

    def key(row: Mapping[str, object]) -> tuple:
        setting = tuple(sorted((k, v) for k, v in _config(row).items() if k in _SETTING_KEYS))
        return str(row["claim"]), str(row["regime"]), str(row["compared"]), str(row["metric"]), setting

    before = {key(row): row for row in earlier if row["claim"] in GLANCE_CLAIMS and row["metric"] in GLANCE_METRICS}
    lines = []
    for row in claims:
        old = before.get(key(row)) if row["claim"] in GLANCE_CLAIMS and row["metric"] in GLANCE_METRICS else None
        if old is None or _blank(row.get("difference_mean")) or _blank(old.get("difference_mean")):
            continue
        new_diff, old_diff = _number(row["difference_mean"]), _number(old["difference_mean"])
        margin = _number(row["margin"]) if not _blank(row.get("margin")) else 0.0
        if new_diff * old_diff < 0 and max(abs(new_diff), abs(old_diff)) >= margin:
            claim, regime, compared, metric, setting = key(row)
            where = "".join(f" at {k}={v}" for k, v in setting)
            lines.append(
                f"{claim} {compared.replace('loss=', '')}{where}, {metric}, {_REGIME_TITLES.get(regime, regime)}: "
                f"{old_diff * 100:+.2f} ({old['verdict']}) → {new_diff * 100:+.2f} ({row['verdict']})"
            )
    return lines


_SETTING_KEYS = ("noise_eta", "fraction", "alpha", "alpha_warmup")  # what tells apart rows of one comparison


def baseline_ap50(
    rows: Iterable[Mapping[str, Any]], default_model: str | None = None, base_keys: Mapping[str, Any] | None = None
) -> dict[str, tuple[float, int]]:
    """Return per regime the CIoU baseline's AP50 in %, mean over its runs, and their number.

    The baseline: sweep rows of ``loss=ciou`` on clean boxes with the whole training set and no α key (`base_keys`,
    the sweep base's claim keys, under each row's params; `default_model` for rows without a ``model``).
    """
    found: dict[str, list[float]] = {}
    for row in rows:
        params = {**(base_keys or {}), **row["params"]}
        if params.get("loss") == BASELINE_LOSS and not any(params.get(k) for k in _NOT_BASELINE) and "AP50" in row:
            found.setdefault(regime_of(params, default_model), []).append(100 * float(row["AP50"]))
    return {regime: (mean_std(values)[0], len(values)) for regime, values in found.items()}


def baseline_sentence(level: Mapping[str, tuple[float, int]], protocol: str | None = None) -> list[str]:
    """Return the lines stating the level the verdicts are read at (:func:`baseline_ap50`), and the link to the
    study's `protocol` (its criteria, and where the study fell short of them); [] when there is neither."""
    text = []
    if level:
        regimes = [r for r in FAMILIES if r in level]  # regime_of gives a family's name
        runs = {r: f"{level[r][1]} run" + ("s" if level[r][1] != 1 else "") for r in regimes}
        levels = ", ".join(f"{_REGIME_TITLES.get(r, r)} {level[r][0]:.1f} % ({runs[r]})" for r in regimes)
        text.append(f"The level these verdicts are read at, the CIoU baseline's AP50 (clean boxes): {levels}.")
    if protocol:
        text.append(
            f"The pre-registered protocol, with the criteria it was fixed by and whether they were met: {protocol}."
        )
    return [" ".join(text), ""] if text else []


def glance_section(claims: Iterable[Mapping[str, object]], context: Iterable[str] = ()) -> list[str]:
    """Return the report's leading section: a title, the table, how to read it and `context` lines (the baseline's
    level, :func:`baseline_sentence`); [] without AP claims."""
    table = glance_table(claims)
    if not table:
        return []
    how = (
        "α − baseline in AP points, paired by seed, with its 95 % interval. **reproduced** / **opposite**: the "
        "interval excludes 0 on the paper's side / the other; **equivalent**: it lies within ±m (no effect larger "
        "than the margin); inconclusive: neither (its half-width, and the seeds that would reach ±m at the spread "
        "measured). Every row, with the paper's figures, counts and slopes, is in the claims section and claims.csv."
    )
    return [TITLE, "", *table, "", how, "", *context]


def _claimed(row: Mapping[str, object]) -> str:
    expected = str(row["expected"])
    if expected == "flat":
        return f"about flat (±{_number(row['margin']) * 100:.1f})"
    return expected


def _cell(row: Mapping[str, object]) -> str:
    low, high = row.get("ci_low"), row.get("ci_high")
    mean = _number(row["difference_mean"]) * 100
    if _blank(low) or _blank(high):
        return f"{mean:+.2f} (no interval)"
    text = f"{mean:+.2f} [{_number(low) * 100:+.2f}, {_number(high) * 100:+.2f}]"
    verdict = str(row["verdict"])
    if verdict != "inconclusive":
        return f"{text} **{verdict}**"
    if _blank(row.get("seeds_needed")):
        return f"{text} inconclusive"
    half = _number(row["half_width"]) * 100
    return f"{text} inconclusive (±{half:.2f}; {int(_number(row['seeds_needed']))} seeds)"


def _blank(value: object) -> bool:
    return value is None or value == ""


def _number(value: object) -> float:
    return float(value)  # type: ignore[arg-type]  # claims.csv text or a computed float
