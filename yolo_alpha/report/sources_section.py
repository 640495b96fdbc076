"""The report's per-source section: C1's and C3's paired differences on each source image of a tiled val split.

NEON's val split is the tiles of three source images from three sites (one Yellowstone crop 13 km from the training
crop, and one crop each of OSBS and SOAP, sites never trained on); the evaluation scores each source's tiles alone
too (``by_source`` in a row, :func:`~yolo_alpha.evaluate.detector.ap_by_source`). The claims section's verdicts are
on the whole split; this section reads the same paired comparisons on each source alone — the cross-site question
(does an effect hold where the detector never trained?). It is exploratory: few boxes per source give wide intervals,
and the study's verdicts are the pooled ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from yolo_alpha.charts.files import write_csv
from yolo_alpha.report.claims_section import (
    CLAIMS_CSV_COLUMNS,
    TABLE_COLUMNS,
    claim_csv_row,
    markdown_row,
    shared_settings,
    table_cells,
)
from yolo_alpha.report.sweep_base import SweepBase, with_base_keys
from yolo_alpha.reproduce import claims as paper
from yolo_alpha.reproduce import pairing
from yolo_alpha.reproduce.verdicts import DEFAULT_MARGINS

TITLE = "## The claims on each val source image (exploratory)"
# the claims table's columns but the paper's figures and the relative change (the same as in the pooled table)
_KEPT = [i for i, name in enumerate(TABLE_COLUMNS) if name not in ("Paper", "Rela. change")]


def sources(rows: list[dict]) -> dict[str, int]:
    """Return {source image: its ground-truth boxes} of the rows scored per source, in the order they first appear."""
    found: dict[str, int] = {}
    for row in rows:
        for source, table in (row.get("by_source") or {}).items():
            found.setdefault(source, int(table.get("n_gt", 0)))
    return found


def source_rows(rows: list[dict], source: str) -> list[dict]:
    """Return the rows that scored `source`, each as its params and that source's metrics alone (no pooled metric)."""
    return [
        {"params": row["params"], "run_dir": row.get("run_dir"), **row["by_source"][source]}
        for row in rows
        if source in (row.get("by_source") or {})
    ]


def sources_section(
    out: Path, rows: list[dict], base: SweepBase, margins: Mapping[str, float] = DEFAULT_MARGINS
) -> list[str]:
    """Return the section's lines and write ``out/claims_by_source.csv``; [] (and no file) when no row was scored per
    source. Each source's rows go through C1 and C3 (:mod:`yolo_alpha.reproduce.claims`) exactly as the pooled ones.
    """
    found_sources = sources(rows)
    if not found_sources:
        return []
    table, csv_rows = [], []
    for source in found_sources:
        claim_rows = with_base_keys(source_rows(rows, source), base.keys)
        try:
            families = paper.compared_families(claim_rows)
            common = {"families": families, "margins": margins, "default_model": base.model}
            found = [*paper.claim_c1(claim_rows, **common), *paper.claim_c3(claim_rows, **common)]
        except pairing.ClaimDataError as e:
            table.append(markdown_row([source, str(e)]))
            continue
        shared = shared_settings(found)
        table += [markdown_row([source, *(table_cells(c, shared)[i] for i in _KEPT)]) for c in found]
        csv_rows += [{"source": source, **claim_csv_row(c)} for c in found]
    write_csv(out / "claims_by_source.csv", csv_rows, columns=("source", *CLAIMS_CSV_COLUMNS))
    boxes = ", ".join(f"{source} ({n} boxes)" for source, n in found_sources.items())
    return [
        TITLE,
        "",
        f"The val split's tiles come from {len(found_sources)} source images: {boxes}. The claims above are judged "
        "on the whole split; here C1 and C3 are read on each source image's tiles alone, with the same pairing by "
        "seed, intervals and margins. Where the sources are different sites this asks whether an effect holds where "
        "the detector never trained. **Exploratory**: a source with few boxes gives a wide interval, and the study's "
        "verdicts are the pooled ones above.",
        "",
        markdown_row(["Source", *(TABLE_COLUMNS[i] for i in _KEPT)]),
        "|---|---|---|---|---|---:|---:|---:|---|---:|",
        *table,
        "",
        "Data: [claims_by_source.csv](claims_by_source.csv) (as claims.csv, with the source).",
        "",
    ]
