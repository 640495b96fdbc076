"""Render the docs' figures into docs/figures/: reweighting.png, landscape.png, correlation.png.

    .venv/bin/python scripts/make_figures.py [--out docs/figures]

Each figure is drawn with its defaults, exactly as `yolo-alpha plot <name>` draws it, into a temporary folder; only
the PNGs are copied over (replacing this script's earlier output). The numbers behind a figure are one command away:
`yolo-alpha plot <name>` writes them as CSV beside a fresh PNG.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from yolo_alpha.plot import make_plot

FIGURES = ("reweighting", "landscape", "correlation")


def make_figures(out: Path) -> list[Path]:
    """Return the PNGs written to ``out``, one per figure of :data:`FIGURES`, each drawn with its default keys."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in FIGURES:
            png = make_plot(name, {"out": scratch})[0]
            # docs/reproduction.md links these fixed names, so a rerun replaces them instead of numbering new files.
            written.append(Path(shutil.copyfile(png, out / f"{name}.png")))
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "figures")
    for path in make_figures(parser.parse_args().out):
        print(path)
