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

from yolo_alpha.model_families import FAMILIES

GLANCE_CLAIMS = ("C1", "C3", "C4", "C7", "S")
GLANCE_METRICS = ("mAP50-95", "mAP75-95", "AP50")
TITLE = "## Verdicts at a glance"
_REGIME_TITLES = {"anchor": "anchor-based YOLOv5", "task_aligned": "task-aligned"}


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
    groups: dict[tuple[str, str, str], list[Mapping[str, object]]] = {}
    for row in claims:
        if row["claim"] in GLANCE_CLAIMS and row["metric"] in GLANCE_METRICS:
            groups.setdefault((str(row["claim"]), str(row["compared"]), str(row["metric"])), []).append(row)
    lines: dict[tuple, dict[str, Mapping[str, object]]] = {}
    for (claim, compared, metric), rows in groups.items():
        varying = _varying_keys(rows)
        for row in rows:
            setting = tuple((k, v) for k, v in _config(row).items() if k in varying)
            lines.setdefault((claim, compared, metric, setting), {})[str(row["regime"])] = row
    if not lines:
        return []
    regimes = [r for r in FAMILIES if any(r in by_regime for by_regime in lines.values())]
    header = ["claim", "compared", "metric, claimed", *(_REGIME_TITLES.get(r, r) for r in regimes), "seeds"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (claim, compared, metric, setting), by_regime in lines.items():
        first = next(iter(by_regime.values()))
        where = "".join(f" at {k}={v}" for k, v in setting)
        seeds = " / ".join(str(by_regime[r]["n_seeds"]) if r in by_regime else "–" for r in regimes)
        cells = [claim, compared.replace("loss=", "") + where, f"{metric} {_claimed(first)}"]
        cells += [_cell(by_regime[r]) if r in by_regime else "–" for r in regimes]
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


def glance_section(claims: Iterable[Mapping[str, object]]) -> list[str]:
    """Return the report's leading section: a title, the table and how to read it; [] without AP claims."""
    table = glance_table(claims)
    if not table:
        return []
    how = (
        "α − baseline in AP points, paired by seed, with its 95 % interval. **reproduced** / **opposite**: the "
        "interval excludes 0 on the paper's side / the other; **equivalent**: it lies within ±m (no effect larger "
        "than the margin); inconclusive: neither (its half-width, and the seeds that would reach ±m at the spread "
        "measured). Every row, with the paper's figures, counts and slopes, is in the claims section and claims.csv."
    )
    return [TITLE, "", *table, "", how, ""]


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
