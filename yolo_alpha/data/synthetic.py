"""The embedded synthetic detection set: what ``yolo-alpha train`` uses when no ``data=`` is given.

Images hold 1-6 shapes of five classes on textured, cluttered backgrounds, with long sides from 12 px to 60 % of the
image side (short sides down to 6 px), aspect ratios 1:3 to 3:1, some rotated, some blurred, occluding each other;
label boxes are the tight boxes of each shape's visible pixels (rules in ``synthetic_scene``). The set is written in
the Ultralytics YOLO layout and is deterministic: image ``i`` of a split depends only on ``(seed, split, i)``, the
image size and the generator version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import cv2
import numpy as np
import yaml

from yolo_alpha.checks import did_you_mean, number
from yolo_alpha.data.cache import build_once, default_cache_dir
from yolo_alpha.data.synthetic_scene import render_scene
from yolo_alpha.data.synthetic_shapes import CLASS_NAMES
from yolo_alpha.errors import ConfigError

__all__ = [
    "CLASS_NAMES",
    "GENERATOR_VERSION",
    "SyntheticSpec",
    "is_synthetic",
    "synthetic_dataset",
    "synthetic_spec",
    "synthetic_yaml",
    "write_synthetic_dataset",
]

# Bump whenever a change to the generator changes any pixel or label: cached sets are keyed on it.
GENERATOR_VERSION = 1
SPLITS = ("train", "val")
_PNG_OPTIONS = [cv2.IMWRITE_PNG_COMPRESSION, 3]  # fixed, so the bytes do not depend on cv2's default

logger = logging.getLogger("yolo_alpha")


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """How many images of which size, from which seed."""

    n_train: int = 320
    n_val: int = 80
    imgsz: int = 160
    seed: int = 0

    def __post_init__(self):
        minimums = {"n_train": 1, "n_val": 1, "imgsz": 32, "seed": 0}
        for name, minimum in minimums.items():
            value = number(f"SyntheticSpec.{name}", getattr(self, name), low=minimum, integer=True)
            object.__setattr__(self, name, value)  # a plain int (not 320.0 or an int64): the key must not see the type

    def key(self) -> str:
        """Return a 12-character hex hash of the fields and ``GENERATOR_VERSION``, stable across runs."""
        fields = {**dataclasses.asdict(self), "generator_version": GENERATOR_VERSION}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def write_synthetic_dataset(root: Path, spec: SyntheticSpec = SyntheticSpec()) -> Path:
    """Return the path of ``root/data.yaml`` after writing the set that ``spec`` describes under ``root``.

    Layout: ``images/{train,val}/NNNNNN.png`` and ``labels/{train,val}/NNNNNN.txt`` (``cls cx cy w h`` per line,
    normalised, 6 decimals; an image without a visible shape has an empty file). ``root`` must be missing or empty:
    this function never overwrites files.
    """
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"refusing to write the synthetic data set into {root}: it exists and is not empty")
    for split, count in zip(SPLITS, (spec.n_train, spec.n_val)):
        image_dir, label_dir = root / "images" / split, root / "labels" / split
        image_dir.mkdir(parents=True)
        label_dir.mkdir(parents=True)
        for index in range(count):
            image, labels = render_scene(image_rng(spec, split, index), spec.imgsz)
            if not cv2.imwrite(str(image_dir / f"{index:06d}.png"), image, _PNG_OPTIONS):
                raise OSError(f"cv2 could not write {image_dir / f'{index:06d}.png'}")
            (label_dir / f"{index:06d}.txt").write_text(format_labels(labels))
    return write_data_yaml(root, root)


def image_rng(spec: SyntheticSpec, split: str, index: int) -> np.random.Generator:
    """Return the generator for image ``index`` of ``split``: seeded from (seed, split, index) only."""
    return np.random.default_rng([spec.seed, SPLITS.index(split), index])


def format_labels(labels: np.ndarray) -> str:
    """Return YOLO label text for float (N, 5) rows ``cls cx cy w h``: one line each, coordinates to 6 decimals."""
    return "".join(f"{int(c)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, cx, cy, w, h in labels)


def write_data_yaml(root: Path, dataset_path: Path) -> Path:
    """Return ``root/data.yaml`` after writing it with ``path: <dataset_path, absolute>`` and the class names.

    ``dataset_path`` differs from ``root`` when a set is written in a temporary directory and then moved.
    """
    content = {
        "path": str(Path(dataset_path).resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(CLASS_NAMES)),
    }
    yaml_path = Path(root) / "data.yaml"
    yaml_path.write_text(yaml.safe_dump(content, sort_keys=False))
    return yaml_path


def synthetic_folder_name(spec: SyntheticSpec = SyntheticSpec()) -> str:
    """Return the cache folder name of the set `spec` makes: ``synthetic-<spec.key()>``."""
    return f"synthetic-{spec.key()}"


def synthetic_dataset(spec: SyntheticSpec = SyntheticSpec(), cache_dir: Path | None = None) -> Path:
    """Return the data.yaml of the cached set ``<cache_dir>/synthetic-<spec.key()>/``, generating it on first use.

    Generation writes into a temporary sibling directory that is renamed into place when complete, so a crash never
    leaves a partial set under the final name, and concurrent processes each get a complete one: the first rename
    wins and the others discard their copy.
    """
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache_dir / synthetic_folder_name(spec)
    if target.exists():
        return _finished_yaml(target)
    logger.info(
        "Generating the synthetic data set (%d train + %d val images, %d px, seed %d) in %s",
        spec.n_train, spec.n_val, spec.imgsz, spec.seed, target,
    )  # fmt: skip

    def write(staging: Path) -> None:
        write_synthetic_dataset(staging, spec)
        write_data_yaml(staging, target)  # its `path:` must name where the set ends up, not the staging directory

    return _finished_yaml(build_once(target, write))


def _finished_yaml(target: Path) -> Path:
    """Return ``target/data.yaml``; a directory under the final name without one was not made by this module."""
    yaml_path = target / "data.yaml"
    if not yaml_path.is_file():
        raise FileExistsError(f"{target} exists but holds no data.yaml; delete it to regenerate the synthetic set")
    return yaml_path


SYNTHETIC_NAMES = (None, "", "synthetic")
"""Values of ``data=`` that mean the embedded synthetic set (the default)."""
SIZED_PREFIX = "synthetic:"
"""``data=synthetic:n_val=800`` (or ``n_train=…``, both comma-separated): the embedded set with other split sizes."""
SIZE_FIELDS = ("n_train", "n_val")


def is_synthetic(data: object) -> bool:
    """Return True when ``data=`` names the embedded synthetic set (``synthetic``, empty or not given) at any size."""
    return data in SYNTHETIC_NAMES or (isinstance(data, str) and data.startswith(SIZED_PREFIX))


def synthetic_spec(data: object) -> SyntheticSpec:
    """Return the SyntheticSpec that ``data=`` names: the default one, or its split sizes from ``synthetic:k=v,…``.

    Only the split sizes can be changed: image i of a split depends on (seed, split, i) only, so ``n_val=800`` holds
    the 80 default val images and 720 more (a larger evaluation of the same task); the image size and seed define
    the task. ConfigError naming ``data`` and the fields allowed for anything else.
    """
    if data in SYNTHETIC_NAMES:
        return SyntheticSpec()
    if not is_synthetic(data):
        raise ConfigError(f"data={data}: not the embedded synthetic set")
    text = str(data)[len(SIZED_PREFIX) :]
    example = f"e.g. data={SIZED_PREFIX}n_val=800"
    sizes: dict[str, int] = {}
    for item in text.split(","):
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or name not in SIZE_FIELDS or name in sizes:
            why = "repeated" if name in sizes else "not one of " + ", ".join(SIZE_FIELDS) + " as name=count"
            raise ConfigError(f"data={data}: '{item}' is {why} ({example}){did_you_mean(name, SIZE_FIELDS)}")
        try:
            count = int(value)
        except ValueError:
            raise ConfigError(f"data={data}: {name} must be a whole number of images >= 1, got '{value}'") from None
        sizes[name] = number(f"data={data}: {name}", count, low=1, integer=True)
    return SyntheticSpec(**sizes)


def synthetic_yaml(data: object, cache_dir: Path | None = None) -> str:
    """Return the path of the cached data.yaml of the synthetic set ``data=`` names (generated on first use)."""
    return str(synthetic_dataset(synthetic_spec(data), cache_dir))
