"""Sweep files (cfg/sweeps/<name>.yaml): shared train keys plus a grid whose cartesian product gives the cells.

A grid may also be a list of such mappings (as scikit-learn's ParameterGrid takes one): the cells are those of each
product in turn, so one sweep can hold comparisons whose keys differ (clean losses, an α sweep, noisy boxes, …).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
        if "yolov5" in readable or "yolov3" in readable:
            # Ultralytics rewrites any weights path that contains "yolov5"/"yolov3" and "u.yaml" (its
            # check_yolov5u_filename: yolov5nu.yaml -> yolov5n.yaml), so a run folder so named could not be loaded.
            readable = readable.replace("u.yaml", "u_yaml")
        if len(readable) <= MAX_CELL_ID:
            return readable
        # Long values (paths) would make names too long: keep a readable prefix, a hash keeps it unique.
        digest = hashlib.sha1(repr(self.params).encode()).hexdigest()[:10]
        return f"{readable[: MAX_CELL_ID - 11]}_{digest}"

    @property
    def settings(self) -> dict[str, Any]:
        """Return the train keys of this cell: the base keys, then the swept keys."""
        return {**self.base, **dict(self.params)}


Grid = dict[str, tuple]


@dataclass(frozen=True)
class SweepGrid:
    """A named sweep: train keys shared by every cell (`base`) and the values each swept key takes (`grid`).

    `grid` is one mapping of key -> values, or a tuple of them (their cells one product after the other).
    """

    name: str
    base: dict[str, Any]
    grid: Grid | tuple[Grid, ...]
    project: str | None = None  # where the sweep's folder goes; None = the runner's default

    @property
    def subgrids(self) -> tuple[Grid, ...]:
        """Return the grid's mappings: one for a plain grid."""
        return (self.grid,) if isinstance(self.grid, dict) else tuple(self.grid)

    @property
    def swept_keys(self) -> list[str]:
        """Return every key some mapping of the grid sweeps, in file order."""
        return list(dict.fromkeys(key for grid in self.subgrids for key in grid))

    def cells(self) -> list[Cell]:
        """Return the cartesian product of each mapping of the grid in turn, first key varying slowest (file order)."""
        return [
            Cell(tuple(zip(grid, values)), dict(self.base))
            for grid in self.subgrids
            for values in itertools.product(*grid.values())
        ]

    def spec(self) -> dict[str, Any]:
        """Return the grid as plain YAML/JSON data: what decides the results (the project only decides where)."""
        grids = [{k: list(v) for k, v in grid.items()} for grid in self.subgrids]
        return {"name": self.name, "base": dict(self.base), "grid": grids[0] if isinstance(self.grid, dict) else grids}


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
    base = _mapping(data, "base", path)
    grid = _grid_values(data.get("grid"), path)
    swept = [k for k in overrides if any(k in g for g in (grid if isinstance(grid, tuple) else (grid,)))]
    if swept:
        raise SweepError(f"{path}: {swept} are swept by the grid; edit the grid (or copy the file) to change them")
    base.update(overrides)
    sweep = SweepGrid(str(name), base, grid, None if project is None else str(project))
    _check_keys(sweep, path)
    validate_cells(sweep, where=str(path))
    return sweep


def _mapping(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise SweepError(f"{path}: '{key}' must be a mapping of train key: value, got {type(value).__name__}")
    return dict(value)


def _grid_values(grid: Any, path: Path) -> Grid | tuple[Grid, ...]:
    if isinstance(grid, list):
        if not grid:
            raise SweepError(f"{path}: 'grid' is an empty list; give mappings of key: [values], e.g. - loss: [ciou]")
        return tuple(_one_grid(g, path, f"grid[{i}]") for i, g in enumerate(grid))
    return _one_grid(grid, path, "grid")


def _one_grid(grid: Any, path: Path, where: str) -> Grid:
    if grid is not None and not isinstance(grid, dict):
        raise SweepError(
            f"{path}: '{where}' must be a mapping of train key: [values] (or 'grid' a list of them), "
            f"got {type(grid).__name__}"
        )
    if not grid:
        raise SweepError(f"{path}: '{where}' is empty; give at least one key with a list of values, e.g. loss: [ciou]")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{path}: {where} key '{key}' must be a non-empty list of values, got {values!r}")
    return {key: tuple(values) for key, values in grid.items()}


def _check_keys(sweep: SweepGrid, path: Path) -> None:
    for section, keys in (("base", sweep.base), ("grid", sweep.swept_keys)):
        reserved = [k for k in keys if k in RUNNER_KEYS]
        if reserved:
            raise SweepError(f"{path}: {section} sets {reserved}, which the sweep sets per cell (its run folder)")
        try:
            check_keys(keys, "train", where=f"{section} (train)")
        except YoloAlphaError as e:
            raise SweepError(f"{path}: {e}") from e
    # A key of base that some mappings of a grid list set is their cells' own value and the others' default (a suite
    # regime's batch); one that every mapping sets would never be used, which is a mistake, not a default.
    dead = [k for k in sweep.base if all(k in grid for grid in sweep.subgrids)]
    if dead:
        raise SweepError(
            f"{path}: {dead} set both in base and in every grid mapping, so base's value is never used; keep each key "
            "in one place (base: a default for the mappings of a grid list that do not set it)"
        )


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


def spec_identity(spec: Any) -> Any:
    """Return what decides a sweep's results: its spec without the name (anything that is not a spec, as it is)."""
    return {k: v for k, v in spec.items() if k != "name"} if isinstance(spec, dict) else spec


def spec_differences(recorded: Any, now: dict[str, Any]) -> list[str]:
    """Return what differs between a recorded sweep spec and this one: base keys, then grid keys, recorded vs now."""
    if not isinstance(recorded, dict):
        return ["the recorded spec is not a sweep spec (a mapping with base and grid)"]
    out = _key_differences("base", recorded.get("base"), now["base"])
    old_grids, new_grids = (g if isinstance(g, list) else [g] for g in (recorded.get("grid"), now["grid"]))
    if len(old_grids) != len(new_grids):
        out.append(f"grid: recorded {len(old_grids)} mapping(s), now {len(new_grids)}")
    single = len(old_grids) == len(new_grids) == 1
    for i, (old, new) in enumerate(zip(old_grids, new_grids)):
        out += _key_differences("grid" if single else f"grid[{i}]", old, new)
    return out


_UNSET = object()  # a key one side does not set (None is a value a key can have)


def _key_differences(where: str, recorded: Any, now: dict[str, Any]) -> list[str]:
    """Return "<where> <key>: recorded <value>, now <value>" for each key whose value differs or is set on one side."""
    recorded = recorded if isinstance(recorded, dict) else {}
    keys = [*recorded, *(k for k in now if k not in recorded)]
    return [
        f"{where} {key}: recorded {_shown(recorded.get(key, _UNSET))}, now {_shown(now.get(key, _UNSET))}"
        for key in keys
        if recorded.get(key, _UNSET) != now.get(key, _UNSET)
    ]


def _shown(value: Any) -> str:
    # YAML's flow spelling, as the sweep file writes it: [iou, ciou], warm/anchor.pt, null
    return "unset" if value is _UNSET else yaml.safe_dump([value], default_flow_style=True, width=10**9).strip()[1:-1]
