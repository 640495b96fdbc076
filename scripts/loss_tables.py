"""Rewrite the generated loss blocks of docs/losses.md, docs/configuration.md and cfg/default.yaml from the registry.

    .venv/bin/python scripts/loss_tables.py [--check]

Run it after adding or changing a loss; ``--check`` only reports stale blocks (exit 1), as
tests/losses/test_catalogue.py does. Only the text between each file's two marker lines
(``yolo_alpha.losses.catalogue.GENERATED_BLOCKS``) changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yolo_alpha.losses import catalogue

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale blocks, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for relative in catalogue.GENERATED_BLOCKS:
        path = ROOT / relative
        text = path.read_text(encoding="utf-8")
        updated = catalogue.with_block(text, relative)
        if updated != text:
            stale.append(relative)
            if not args.check:
                path.write_text(updated, encoding="utf-8")
    verb = "stale" if args.check else "rewritten"
    print(f"{verb}: {', '.join(stale)}" if stale else "every generated loss block is up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
