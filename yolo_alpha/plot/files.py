"""Where ``yolo-alpha plot`` writes: ``out=`` (default :data:`DEFAULT_OUT`), through :mod:`yolo_alpha.charts.files`.

``fresh_figure_path``, ``write_csv`` and ``save_figure`` live in :mod:`yolo_alpha.charts.files`, below both the plot
and the report packages; they are re-exported here for the plot modules and for older imports.
"""

from __future__ import annotations

from pathlib import Path

from yolo_alpha.charts.files import fresh_figure_path, save_figure, write_csv

DEFAULT_OUT = Path("runs/plots")
"""Folder of ``yolo-alpha plot`` figures when no ``out=`` is given (beside Ultralytics' runs/)."""

__all__ = ["DEFAULT_OUT", "fresh_figure_path", "save_figure", "write_csv"]
