"""Where ``yolo-alpha plot`` writes: ``out=`` (default :data:`DEFAULT_OUT`), through :mod:`yolo_alpha.charts.files`.

``fresh_figure_path``, ``write_csv`` and ``save_figure`` live in :mod:`yolo_alpha.charts.files`, below both the plot
and the report packages; they are re-exported here for the plot modules and for older imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from yolo_alpha.charts.files import fresh_figure_path, save_figure, write_csv
from yolo_alpha.checks import nearest_existing
from yolo_alpha.errors import ConfigError

DEFAULT_OUT = Path("runs/plots")
"""Folder of ``yolo-alpha plot`` figures when no ``out=`` is given (beside Ultralytics' runs/)."""


def check_out(out: Path) -> None:
    """Raise ConfigError naming ``out=`` unless the figures can be written there (it is, or can be made, a folder).

    Checked before anything is computed or created, so that a file or a folder nobody may write in is one line
    naming the key, not a bare ``[Errno 17]``/``[Errno 13]`` after the figure was drawn.
    """
    existing = nearest_existing(out)
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == out else f"cannot be created: {existing} is a file"
        raise ConfigError(f"out={out} {where}; give a folder for the figures (it is created when missing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "" if existing == out else "cannot be created: "
        raise ConfigError(f"out={out} {what}{existing} is not writable; give a folder you may write in")


__all__ = ["DEFAULT_OUT", "check_out", "fresh_figure_path", "save_figure", "write_csv"]
