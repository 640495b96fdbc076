"""Data sets that ``data=`` names instead of a YAML path, built once into the cache: the embedded synthetic set
(``synthetic``, ``synthetic:n_val=800``) and the NEON tree crowns (``neon-trees``, ``neon-trees:tile=320,…``).

A study names its data this way so that its rows say what they trained on on any machine, never a path of the
machine that trained them. The NEON set is built from the DeepForest wheel (pip-downloaded once; offline, build the
cache first with ``yolo-alpha data neon-trees wheel=PATH``); once built, nothing touches the network.
"""

from __future__ import annotations

import re
from pathlib import Path

from yolo_alpha.data.cache import build_once, default_cache_dir
from yolo_alpha.data.synthetic import is_synthetic, synthetic_folder_name, synthetic_yaml
from yolo_alpha.data.tiling import Tiling, make_tiling
from yolo_alpha.data.yolo_layout import Conversion
from yolo_alpha.errors import ConfigError

__all__ = [
    "NEON_DEFAULTS",
    "NEON_NAME",
    "build_neon_trees",
    "is_named",
    "named_set_of",
    "neon_trees_cache",
    "neon_trees_tiling",
    "resolve_data",
]

NEON_NAME = "neon-trees"
NEON_FIELDS = ("tile", "overlap", "min_area", "edge")
# The set's own default grid: 400-px tiles (the two small crops are 400 x 400), padded at the edge so that every val
# crown is counted once (docs/configuration.md#neon-tree-crowns).
NEON_DEFAULTS = {"tile": 400, "overlap": 0, "min_area": 0.5, "edge": "pad"}


def is_neon_trees(data: object) -> bool:
    """Return True when ``data=`` names the NEON tree-crown set: ``neon-trees`` or ``neon-trees:key=value,…``."""
    return isinstance(data, str) and (data == NEON_NAME or data.startswith(f"{NEON_NAME}:"))


def is_named(data: object) -> bool:
    """Return True when ``data=`` names a set this package builds (synthetic or NEON), not a YAML path."""
    return is_synthetic(data) or is_neon_trees(data)


def neon_trees_tiling(data: object) -> Tiling:
    """Return the tile grid ``data=neon-trees[:k=v,…]`` names (:data:`NEON_DEFAULTS` for the keys not given).

    ConfigError naming ``data=`` and the keys allowed (those of ``yolo-alpha data neon-trees``) otherwise.
    """
    text = str(data)[len(NEON_NAME) + 1 :] if str(data) != NEON_NAME else ""
    given: dict[str, object] = {}
    for item in filter(None, text.split(",")):
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or name not in NEON_FIELDS or name in given:
            why = "repeated" if name in given else "not one of " + ", ".join(NEON_FIELDS) + " as key=value"
            raise ConfigError(f"data={data}: '{item}' is {why} (e.g. data={NEON_NAME}:tile=320,edge=shift)")
        given[name] = value if name == "edge" else _number(value)
    try:
        return make_tiling(**{**NEON_DEFAULTS, **given})
    except ConfigError as error:
        raise ConfigError(f"data={data}: {error}") from None


def _number(text: str) -> int | float | str:
    """Return ``text`` as an int or a float when it reads as one (make_tiling then checks it), else as given."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def neon_trees_cache(tiling: Tiling, cache_dir: Path | None = None) -> Path:
    """Return the cache folder of the NEON set tiled by ``tiling``, e.g. ``neon-trees-tile400-overlap0-min0.5-pad``."""
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    name = f"{NEON_NAME}-tile{tiling.size}-overlap{tiling.overlap}-min{tiling.min_area:g}-{tiling.edge}"
    return cache_dir / name


def named_set_of(data_yaml: str | Path) -> str | None:
    """Return the ``data=`` name of the cached set ``data_yaml`` lies in (e.g. a checkpoint's data), or None.

    A NEON folder (:func:`neon_trees_cache`) names its set, keys included. A synthetic one (``synthetic-<key>``) holds
    a hash of its split sizes, which cannot be read back: only the default set's is known (``synthetic``).
    """
    folder = Path(str(data_yaml)).parent.name
    if folder == synthetic_folder_name():
        return "synthetic"
    neon = re.fullmatch(rf"{NEON_NAME}-tile(\d+)-overlap(\d+)-min([\d.]+)-(\w+)", folder)
    if neon is None:
        return None
    return f"{NEON_NAME}:" + ",".join(f"{key}={value}" for key, value in zip(NEON_FIELDS, neon.groups()))


def build_neon_trees(
    tiling: Tiling, wheel: Path | None = None, cache_dir: Path | None = None
) -> tuple[Path, Conversion | None]:
    """Return the cached data.yaml of the NEON set tiled by ``tiling`` and the :class:`Conversion` that built it now
    from ``wheel`` (or pip), None when it was built before."""
    from yolo_alpha.data.neon_trees import convert_neon_trees

    target, done = neon_trees_cache(tiling, cache_dir), []
    if not (target / "data.yaml").is_file():

        def write(staging: Path) -> None:
            done.append(convert_neon_trees(staging, wheel, tiling.size, tiling.overlap, tiling.min_area, tiling.edge))
            yaml_path = staging / "data.yaml"  # its path: names the staging folder; the set ends up at target
            text = yaml_path.read_text()
            yaml_path.write_text(re.sub(r"(?m)^path: .*$", f"path: {target.resolve()}", text, count=1))

        build_once(target, write)
    return target / "data.yaml", (done[0] if done else None)


def resolve_data(data: object, cache_dir: Path | None = None) -> str:
    """Return the data.yaml path ``data=`` stands for: a named set's cached one (built on first use), else ``data``.

    ConfigError naming ``data=`` when the NEON set is not cached and its wheel cannot be downloaded.
    """
    if is_synthetic(data):
        return synthetic_yaml(data, cache_dir)
    if is_neon_trees(data):
        tiling = neon_trees_tiling(data)
        try:
            return str(build_neon_trees(tiling, cache_dir=cache_dir)[0])
        except ConfigError as error:
            raise ConfigError(
                f"data={data}: the NEON tree-crown set is not built here and could not be ({error}); build it once "
                f"with yolo-alpha data neon-trees wheel=PATH tile={tiling.size} overlap={tiling.overlap} "
                f"min_area={tiling.min_area:g} edge={tiling.edge} (no out=: into the cache that "
                f"data={data} reads)"
            ) from None
    return str(data)
