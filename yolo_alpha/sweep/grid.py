"""Sweep files (cfg/sweeps/<name>.yaml): shared train keys plus a grid whose cartesian product gives the cells."""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yolo_alpha.config import load_yaml, merge_settings, packaged_cfg_dir
from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.run import check_keys, check_settings

SWEEP_KEYS = ("name", "base", "grid", "project")
# The runner sets these per cell (each cell's run folder inside the sweep's folder), so a sweep may not.
RUNNER_KEYS = ("project", "name", "exist_ok", "resume")
MAX_CELL_ID = 120  # well under the 255-byte file name limit, with room for Ultralytics' own suffixes


class SweepError(YoloAlphaError):
    """A sweep file or its overrides are wrong; the message names the file and the key or cell."""


@dataclass(frozen=True)
class Cell:
    """One point of the grid: the swept keys' values (in grid order) on top of the sweep's shared base keys."""

    params: tuple[tuple[str, Any], ...]
    base: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def cell_id(self) -> str:
        """Return a readable, file-system-safe name such as ``loss-alpha_ciou__seed-1``."""
        readable = "__".join(f"{key}-{_slug(value)}" for key, value in self.params)
        if len(readable) <= MAX_CELL_ID:
            return readable
        # Long values (paths) would make names too long: keep a readable prefix, a hash keeps it unique.
        digest = hashlib.sha1(repr(self.params).encode()).hexdigest()[:10]
        return f"{readable[: MAX_CELL_ID - 11]}_{digest}"

    @property
    def settings(self) -> dict[str, Any]:
        """Return the train keys of this cell: the base keys, then the swept keys."""
        return {**self.base, **dict(self.params)}


@dataclass(frozen=True)
class SweepGrid:
    """A named sweep: train keys shared by every cell (`base`) and the values each swept key takes (`grid`)."""

    name: str
    base: dict[str, Any]
    grid: dict[str, tuple]
    project: str | None = None  # where the sweep's folder goes; None = the runner's default

    def cells(self) -> list[Cell]:
        """Return the cartesian product of the grid, first key varying slowest (file order)."""
        keys = list(self.grid)
        return [Cell(tuple(zip(keys, values)), dict(self.base)) for values in itertools.product(*self.grid.values())]

    def spec(self) -> dict[str, Any]:
        """Return the grid as plain YAML/JSON data: what decides the results (the project only decides where)."""
        return {"name": self.name, "base": dict(self.base), "grid": {k: list(v) for k, v in self.grid.items()}}


def _slug(value: Any) -> str:
    # YAML's spelling, so an id reads like the sweep file that produced it
    text = {None: "null", True: "true", False: "false"}[value] if value is None or isinstance(value, bool) else value
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(text)).strip(".") or "_"


def find_sweep_file(value: str | Path) -> Path:
    """Return the sweep file named by `value`: a path as given, else one shipped in cfg/sweeps/ (name or name.yaml)."""
    path = Path(value)
    if path.is_file():
        return path
    shipped_dir = packaged_cfg_dir() / "sweeps"
    name = path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml"
    if (shipped_dir / name).is_file():
        return shipped_dir / name
    choices = ", ".join(sorted(p.stem for p in shipped_dir.glob("*.yaml")))
    raise SweepError(f"sweep {value}: no such file (shipped sweeps: {choices or 'none'})")


def load_sweep(path_or_name: str | Path, overrides: dict[str, Any] | None = None) -> SweepGrid:
    """Return the validated sweep; every cell's settings are checked before anything trains.

    `overrides` (key=value from the command line) replace base keys; ``name`` and ``project`` rename and move the
    sweep instead.
    """
    path = find_sweep_file(path_or_name)
    try:
        data = load_yaml(path, key="sweep")
    except YoloAlphaError as e:
        raise SweepError(str(e)) from e
    unknown = [k for k in data if k not in SWEEP_KEYS]
    if unknown:
        raise SweepError(f"{path}: unknown top-level key(s) {unknown}; a sweep file has only {list(SWEEP_KEYS)}")
    overrides = dict(overrides or {})
    name = overrides.pop("name", data.get("name") or path.stem)
    project = overrides.pop("project", data.get("project"))
    base, grid = _mapping(data, "base", path), _mapping(data, "grid", path)
    swept = [k for k in overrides if k in grid]
    if swept:
        raise SweepError(f"{path}: {swept} are swept by the grid; edit the grid (or copy the file) to change them")
    base.update(overrides)
    sweep = SweepGrid(str(name), base, _grid_values(grid, path), None if project is None else str(project))
    _check_keys(sweep, path)
    validate_cells(sweep, where=str(path))
    return sweep


def _mapping(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise SweepError(f"{path}: '{key}' must be a mapping of train key: value, got {type(value).__name__}")
    return dict(value)


def _grid_values(grid: dict[str, Any], path: Path) -> dict[str, tuple]:
    if not grid:
        raise SweepError(f"{path}: 'grid' is empty; give at least one key with a list of values, e.g. loss: [ciou]")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{path}: grid key '{key}' must be a non-empty list of values, got {values!r}")
    return {key: tuple(values) for key, values in grid.items()}


def _check_keys(sweep: SweepGrid, path: Path) -> None:
    for section, keys in (("base", sweep.base), ("grid", sweep.grid)):
        reserved = [k for k in keys if k in RUNNER_KEYS]
        if reserved:
            raise SweepError(f"{path}: {section} sets {reserved}, which the sweep sets per cell (its run folder)")
        try:
            check_keys(keys, "train", where=f"{section} (train)")
        except YoloAlphaError as e:
            raise SweepError(f"{path}: {e}") from e
    both = [k for k in sweep.grid if k in sweep.base]
    if both:
        raise SweepError(f"{path}: {both} set both in base and in grid; keep each key in one place")


def validate_cells(sweep: SweepGrid, where: str = "sweep") -> None:
    """Raise SweepError naming the first cell whose settings would not train, or two cells sharing one id."""
    seen: dict[str, Cell] = {}
    for cell in sweep.cells():
        if cell.cell_id in seen:
            raise SweepError(f"{where}: cells {dict(seen[cell.cell_id].params)} and {dict(cell.params)} share the id "
                             f"'{cell.cell_id}'; use values that differ in letters or digits")  # fmt: skip
        seen[cell.cell_id] = cell
        try:
            # Merged as train() merges them, so a cfg= file in base is checked too.
            check_settings(merge_settings(cell.settings), "train")
        except YoloAlphaError as e:
            raise SweepError(f"{where}: cell {cell.cell_id}: {e}") from e
