"""The axes a figure draws on and the lines it draws: shared by every chart of the plot and report packages."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display is ever needed

import matplotlib.pyplot as plt


def figure_axes(ax=None):
    """Return (fig, ax): `ax` with its figure, or a new 6.4 × 4.2 in figure's axes when `ax` is None."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        return fig, ax
    return ax.figure, ax


def group_rows(rows: list[dict], key: str) -> dict[str, list[dict]]:
    """Return `rows` grouped by the value of `key` (one line or bar group each), groups and rows in first-seen order."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups
