"""Paths in a sweep folder: weights that cells name relative to it, and paths recorded relative to it.

A sweep folder (``<project>/<name>/``) is a study that can be moved, committed, copied to another machine or reached
by another spelling of its path (absolute, relative from another folder, through a symlink) and still resume, so
nothing that decides its cells holds the machine's path of the folder, and nothing it records needs it:

- **Weights relative to the sweep folder.** A cell's ``pretrained``, or its ``model`` when that is a ``.pt``, given
  as a relative path is looked up first in the sweep folder, then (as Ultralytics would) in the current folder. So a
  study names its own weights relative to itself — the suites write ``pretrained: warm/anchor.pt`` (relative to
  ``<project>/<suite>/``), a warm start ``../task_aligned.pt`` (relative to ``<suite>/warm/anchor/``), the committed
  ablation ``../cpu/warm/anchor.pt`` (relative to ``docs/reproduction/cpu_obj_target/``) — while a sweep file that
  gives paths relative to where it is run from (``pretrained: weights/mine.pt``) trains as before. A relative path that
  names a file in both places, two different files, is refused (SweepError naming the key and both files): the rule
  never picks one silently. Cell ids and ``sweep.yaml`` keep the value as written, never the resolved path.
- **Paths recorded relative to the sweep folder.** A results row's ``run_dir`` is ``runs/<cell_id>``; after a cell
  finishes, every absolute path inside the sweep folder in its run's ``args.yaml`` (``project``, ``save_dir``, a
  resumed run's ``model`` and ``resume``, resolved weights) is written relative to the sweep folder, and every other
  absolute path that the tool or Ultralytics made of a value the cell gave (``data: synthetic`` → the cache's
  data.yaml, ``model: yolov5nu.yaml`` → the installed cfg file, weights outside the folder) is written back as the cell
  gave it. Readers resolve a relative ``run_dir`` against the sweep folder (:func:`yolo_alpha.sweep_folder.run_folder`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from yolo_alpha.sweep.grid import SweepError
from yolo_alpha.sweep_folder import relative_to_sweep, write_atomically

WEIGHTS_KEYS = ("pretrained", "model")  # the cell keys that may name a weights file
ARGS_FILE = "args.yaml"  # Ultralytics' record of a run's settings


def resolve_weights(settings: dict[str, Any], sweep_dir: Path, must_exist: bool = False) -> dict[str, Any]:
    """Return `settings` with each relative weights path that names a file in `sweep_dir` made a path there.

    Raises SweepError when such a path also names a different file relative to the current folder, and with
    `must_exist` when a relative ``pretrained`` names no file in either (a ``model`` may be official weights that
    Ultralytics downloads; a dry run of a suite lists cells whose warm start does not exist yet).
    """
    resolved = dict(settings)
    for key in WEIGHTS_KEYS:
        value = settings.get(key)
        if not (isinstance(value, str) and value.endswith(".pt") and not Path(value).is_absolute()):
            continue
        # ".." taken lexically: the sweep folder may not exist yet (a warm start's, before it trains)
        in_sweep, in_cwd = Path(os.path.normpath(sweep_dir / value)), Path(value)
        if must_exist and key == "pretrained" and not (in_sweep.is_file() or in_cwd.is_file()):
            raise SweepError(
                f"{key}={value}: no such weights file, neither in the sweep folder ({in_sweep}) nor in the current "
                f"folder ({in_cwd.resolve()}); a relative weights path names a file of one of them"
            )
        if not in_sweep.is_file():
            continue  # relative to the current folder, as Ultralytics reads it
        if in_cwd.is_file() and not in_cwd.samefile(in_sweep):
            raise SweepError(
                f"{key}={value} names two different files: {in_sweep} (relative to the sweep folder, which a relative "
                f"weights path names first) and {in_cwd.resolve()} (relative to the current folder); give the one "
                "meant as an absolute path, or run from another folder"
            )
        resolved[key] = str(in_sweep.resolve())  # ../ spelled out: the path a run records is the plain one
    return resolved


def portable_args(args: dict[str, Any], given: dict[str, Any], sweep_dir: Path) -> dict[str, Any]:
    """Return a run's `args` with no machine path: absolute paths inside `sweep_dir` made relative to it, and other
    absolute paths made of a value the cell gave (`given`: its merged settings) written back as given."""
    portable = {}
    for key, value in args.items():
        if isinstance(value, str) and Path(value).is_absolute():
            inside = relative_to_sweep(value, sweep_dir)
            value = inside if inside != value else given.get(key, value)
        portable[key] = value
    return portable


def write_portable_args(run_dir: Path, given: dict[str, Any], sweep_dir: Path) -> None:
    """Rewrite ``<run_dir>/args.yaml`` as :func:`portable_args` (nothing when the run wrote none)."""
    path = run_dir / ARGS_FILE
    if not path.is_file():
        return
    args = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(args, dict):
        text = yaml.safe_dump(portable_args(args, given, sweep_dir), sort_keys=False, allow_unicode=True)
        write_atomically(path, text)
