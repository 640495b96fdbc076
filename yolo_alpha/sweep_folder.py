"""A sweep folder's files: their names, results.jsonl (one JSON row per finished cell) and failures.jsonl read and
written, and paths recorded relative to the folder.

The one reader and writer of these files, for the runner (which alone writes them) and the report (which reads
them): both accept exactly the same file. Writes replace the whole file atomically, so a reader, or a kill at any
moment, sees the old file or the new one, never half of it. Pure standard library, outside the ``yolo_alpha.sweep``
package: importing it runs neither the runner nor training, so the report reads a folder without them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

from yolo_alpha.errors import YoloAlphaError

RESULTS_FILE = "results.jsonl"
FAILURES_FILE = "failures.jsonl"  # cells that still failed after their retries
SPEC_FILE, LOCK_FILE, RUNS_DIR, LOGS_DIR = "sweep.yaml", ".lock", "runs", "logs"  # LOGS_DIR: parallel runs' output


class ResultsFileError(YoloAlphaError):
    """A sweep's results.jsonl is missing or malformed; the message names the file, the line and how to recover."""


def load_results(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """Return the runs of ``<sweep_dir>/results.jsonl``, one dict per non-blank line, in file order.

    Raises ResultsFileError when the file is missing, and naming the file and the line number for a line that is not
    a JSON object with a ``params`` object. A last line that is not valid JSON was cut short: the error says so and
    how to drop it (the rows before it are intact, and the sweep's next run redoes the cell it belonged to).
    """
    path = Path(sweep_dir) / RESULTS_FILE
    if not path.is_file():
        raise ResultsFileError(f"no {RESULTS_FILE} in sweep folder {Path(sweep_dir)} (expected {path})")
    lines = path.read_text(encoding="utf-8").splitlines()
    last = max((n for n, line in enumerate(lines, start=1) if line.strip()), default=0)
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            if number == last:
                raise ResultsFileError(_cut_short(path, number, len(rows), e.msg)) from e
            raise ResultsFileError(f"{path}, line {number}: not valid JSON ({e.msg})") from e
        if not isinstance(row, dict) or not isinstance(row.get("params"), dict):
            raise ResultsFileError(f"{path}, line {number}: expected a JSON object with a 'params' object")
        rows.append(row)
    return rows


def _cut_short(path: Path, number: int, intact: int, why: str) -> str:
    """Return the message for a last line that is not valid JSON: what happened, what is safe, the one-line fix."""
    if intact:
        before = f"the {intact} row{'s' if intact > 1 else ''} before it {'are' if intact > 1 else 'is'} intact"
    else:
        before = "no row precedes it"
    return (
        f"{path}, line {number}: not valid JSON ({why}). It is the last line and is cut short (a write or copy that "
        f"did not finish); {before}. To recover, delete that line: sed -i '{number}d' {shlex.quote(str(path))} "
        "(the sweep's next run then redoes that cell)"
    )


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Return the rows of the results.jsonl at `path` (none when it does not exist yet); ResultsFileError if broken."""
    path = Path(path)
    return load_results(path.parent) if path.is_file() else []


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace the JSON-lines file `path` by `rows`, one JSON object a line, atomically (see write_atomically)."""
    write_atomically(path, "".join(json.dumps(row, default=str) + "\n" for row in rows))


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` by `text` so that a reader, or a kill at any moment, sees the old file or the new, whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # makes the rename itself survive a power cut
    finally:
        os.close(dir_fd)


def relative_to_sweep(path: str | Path, sweep_dir: Path) -> str:
    """Return `path` relative to `sweep_dir` (POSIX spelling) when it lies inside it, else `path` as given."""
    try:
        return Path(path).relative_to(sweep_dir).as_posix()
    except ValueError:
        return str(path)


def run_folder(row: dict[str, Any], sweep_dir: Path) -> Path | None:
    """Return the run folder of a results row: its ``run_dir`` resolved against `sweep_dir` (None if it has none).

    Rows record ``run_dir`` relative to the sweep folder; rows written before that record an absolute path, which
    is returned as it is.
    """
    run_dir = row.get("run_dir")
    return sweep_dir / str(run_dir) if run_dir else None
