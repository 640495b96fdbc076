"""Generated blocks in hand-written files: the text between two marker lines, rewritten from its source.

docs/losses.md's loss table, docs/configuration.md's own keys and cfg/default.yaml's lines come from the loss registry
(:mod:`yolo_alpha.losses.catalogue`); the README's powered verdicts from the study's claims.csv
(scripts/readme_verdicts.py). A test per block fails while it is stale.
"""

from __future__ import annotations

import re


def with_marked_block(text: str, start: str, end: str, content: str, where: str) -> str:
    """Return `text` with what lies between its lines `start` and `end` replaced by `content`.

    ValueError naming `where` (the file) unless the pair of markers occurs exactly once.
    """
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), flags=re.S)
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"{where}: expected one block between {start!r} and {end!r}")
    return pattern.sub(lambda _: f"{start}\n{content}\n{end}", text)
