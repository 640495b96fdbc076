"""A figure's files: ``<out>/<name>.png`` plus ``<out>/<name>.csv`` of the plotted numbers, never overwritten."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path


def fresh_figure_path(out: str | Path, name: str) -> Path:
    """Return ``<out>/<name>.png``, else ``<name>2.png``, ``<name>3.png``, …: the first whose .png and .csv are free.

    The numbering is Ultralytics' ``increment_path`` with ``sep=""`` (runs/detect/train, train2, …); it is not called
    directly because it checks one path and a figure is two files, and a lone CSV must not be overwritten either.
    """
    out = Path(out)
    for n in range(1, 10_000):
        png = out / f"{name}{n if n > 1 else ''}.png"
        if not png.exists() and not png.with_suffix(".csv").exists():
            return png
    raise FileExistsError(f"{out}: {name}.png to {name}9999.png all exist; choose another out=")


def write_csv(path: Path, rows: list[dict], columns: Sequence[str] = ()) -> None:
    """Write ``rows`` (dicts) as CSV; None is written as an empty cell.

    The header is ``columns``, then any other key of the rows in first-seen order. Give ``columns`` for a table that
    may have no rows: its file still names the columns, so a reader (pandas, a spreadsheet) sees an empty table, not an
    empty file.
    """
    fields = list(dict.fromkeys([*columns, *(key for row in rows for key in row)]))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)


def save_figure(fig, rows: list[dict], out: str | Path, name: str) -> Path:
    """Return the PNG path written for ``fig`` (closed afterwards), with ``rows`` as the CSV beside it.

    The files are ``<out>/<name>.png`` and ``.csv``, or the next free number (:func:`fresh_figure_path`).
    """
    import matplotlib.pyplot as plt  # here: `yolo-alpha plot`'s dispatcher imports this module before it draws

    Path(out).mkdir(parents=True, exist_ok=True)
    png = fresh_figure_path(out, name)
    try:
        fig.savefig(png, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    write_csv(png.with_suffix(".csv"), rows)
    return png
