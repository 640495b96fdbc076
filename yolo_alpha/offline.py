"""Keep Ultralytics off the network when data and weights are local.

Ultralytics fetches Arial.ttf (and Arial.Unicode.ttf for non-Latin names) from its assets server the first time it
draws labels or checks a data set, whether or not YOLO_OFFLINE is set. A font file already in its config folder stops
that, so we place matplotlib's DejaVu Sans there under those names (never replacing a file that is already there).
"""

from __future__ import annotations

import shutil
from pathlib import Path

FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")


def provide_fonts(config_dir: Path) -> list[Path]:
    """Return the font files written into `config_dir` (none when each name already exists there)."""
    from matplotlib import font_manager  # matplotlib ships DejaVu Sans with every install

    source = Path(font_manager.findfont("DejaVu Sans", fallback_to_default=True))
    written = []
    for name in FONT_NAMES:
        target = Path(config_dir) / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(target)  # atomic: a concurrent reader never sees half a font
            written.append(target)
    return written
