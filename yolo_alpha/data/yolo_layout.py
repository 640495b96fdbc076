"""What the VOC and COCO converters share: the ``out=`` folder check, the box rule, the drop tally and the written set.

Every converter writes ``out/images/<folder>/`` (hard links to the source images, copies where a link is impossible),
``out/labels/<folder>/<stem>.txt`` (``cls cx cy w h`` per line, normalised to [0, 1]) and ``out/data.yaml``, never
moves or modifies a source file, and keeps every box it can: a box that sticks out of the image is clipped to it, and
what cannot be kept (an object of an unknown class, a NaN or zero-size box, a box wholly outside the image, an image
file that is missing, ...) is dropped and counted per reason, so that the user sees what the set lost.
"""

from __future__ import annotations

import math
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from yolo_alpha.checks import nearest_existing
from yolo_alpha.errors import ConfigError

# Reasons a box is dropped (the keys of Tally.boxes); converters add their own (difficult, iscrowd, unknown class).
NON_FINITE = "NaN or infinite coordinate"
NOT_POSITIVE = "zero or negative width or height"
OUTSIDE = "wholly outside the image"
# Reasons an image is skipped (the keys of Tally.images).
IMAGE_MISSING = "image file missing"
IMAGE_UNREADABLE = "image size unknown (no <size> and the image cannot be read)"


@dataclass
class Tally:
    """Counts of what a conversion kept, clipped and dropped; ``lines()`` is what the ``data`` verb prints.

    ``boxes``/``images`` map a drop reason to a count; ``examples`` keeps up to 3 names per reason (class names,
    image files) so that the user can find them.
    """

    kept_boxes: int = 0
    kept_images: int = 0
    clipped: int = 0
    boxes: Counter = field(default_factory=Counter)
    images: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def drop_box(self, reason: str, example: str = "") -> None:
        """Count one dropped box under ``reason`` (remembering ``example``, e.g. its class name)."""
        self.boxes[reason] += 1
        self._remember(reason, example)

    def drop_image(self, reason: str, example: str) -> None:
        """Count one skipped image (and so its boxes) under ``reason``, remembering its file name."""
        self.images[reason] += 1
        self._remember(reason, example)

    def _remember(self, reason: str, example: str) -> None:
        seen = self.examples.setdefault(reason, [])
        if example and example not in seen and len(seen) < 3:
            seen.append(example)

    def lines(self) -> list[str]:
        """Return the summary: kept counts, then one line per clip and drop reason with its count and examples."""
        out = [f"kept {self.kept_boxes} boxes in {self.kept_images} images"]
        if self.clipped:
            out.append(f"clipped {self.clipped} boxes to the image (they stuck out of it)")
        for unit, counts in (("boxes", self.boxes), ("images", self.images)):
            for reason, count in sorted(counts.items()):
                examples = self.examples.get(reason)
                out.append(f"dropped {count} {unit}: {reason}" + (f" (e.g. {', '.join(examples)})" if examples else ""))
        return out


@dataclass(frozen=True)
class Conversion:
    """The result of a converter: the ``data.yaml`` it wrote, the class names in index order and its tally."""

    data_yaml: Path
    names: list[str]
    tally: Tally


def check_out_dir(out_dir: Path) -> Path:
    """Return ``out_dir`` if the converter may create it; ConfigError naming ``out=`` and what is allowed otherwise.

    Allowed: a folder that does not exist yet under a writable folder, or an existing empty folder. A folder that holds
    anything is refused (the converter never writes beside the user's files), as is a path under a file.
    """
    out_dir = Path(out_dir)
    allowed = "give a new folder (or an empty one); the converter never writes into a folder that holds files"
    if out_dir.exists():
        if not out_dir.is_dir() or any(out_dir.iterdir()):
            raise ConfigError(f"out={out_dir}: exists and is not an empty folder; {allowed}")
        return out_dir
    parent = nearest_existing(out_dir.absolute())
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"out={out_dir}: cannot be created ({parent} is not a writable folder); {allowed}")
    return out_dir


def create_out_dir(out_dir: Path) -> Path:
    """Return ``out_dir`` after creating it (and its parents); ConfigError naming ``out=`` where the system refuses."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"out={out_dir}: cannot be created ({error.strerror}); give a new folder in a writable place"
        ) from error
    return out_dir


def require(path: Path, key: str, what: str) -> Path:
    """Return ``path`` if it exists; ConfigError naming ``key=`` and ``what`` it should be otherwise."""
    if not Path(path).exists():
        raise ConfigError(f"{key}={path}: no such {what}")
    return Path(path)


def clip_box(tally: Tally, box: Sequence[float], size: tuple[float, float], example: str = ""):
    """Return pixel box ``(x1, y1, x2, y2)`` clipped to an image ``size`` (w, h), or None with the reason counted.

    A clip is counted in ``tally.clipped``. None for a NaN/inf coordinate, a box of zero or negative width or height,
    or one wholly outside the image (nothing left after clipping).
    """
    if not all(math.isfinite(v) for v in box):
        tally.drop_box(NON_FINITE, example)
        return None
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        tally.drop_box(NOT_POSITIVE, example)
        return None
    width, height = size
    clipped = (min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width), min(max(y2, 0.0), height))
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        tally.drop_box(OUTSIDE, example)
        return None
    tally.clipped += clipped != tuple(box)
    return clipped


def normalised_box(tally: Tally, box: Sequence[float], size: tuple[float, float], example: str = ""):
    """Return the normalised ``(cx, cy, w, h)`` of pixel box ``(x1, y1, x2, y2)`` after ``clip_box``, or None.

    Every value lies in [0, 1]: the box is inside the image.
    """
    clipped = clip_box(tally, box, size, example)
    return None if clipped is None else normalise(clipped, size)


def normalise(box: Sequence[float], size: tuple[float, float]) -> tuple[float, float, float, float]:
    """Return the normalised ``(cx, cy, w, h)`` of a pixel box ``(x1, y1, x2, y2)`` lying in an image of ``size``."""
    (x1, y1, x2, y2), (width, height) = box, size
    return (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height


def link_or_copy(source: Path, target: Path) -> Path:
    """Return ``target`` after hard-linking it to ``source``, or copying ``source`` where linking fails.

    Linking fails across file systems or where links are unsupported. An existing ``target`` is an error, never
    overwritten: a copy onto a hard link of ``source`` would write into the source itself.
    """
    if target.exists():
        raise FileExistsError(f"refusing to overwrite {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target


def write_data_yaml(
    out_dir: Path, train: list[str], val: list[str], names: Sequence[str], comments: Sequence[str] = ()
) -> Path:
    """Return ``out_dir/data.yaml`` after writing ``path`` (absolute), ``train``, ``val`` and ``names`` into it.

    A split given by one folder is written as a string, several as a list (Ultralytics accepts both). ``comments``
    come first, one ``# `` line each (how the set was made: a tiling, the sources of each split, where the data is
    from).
    """
    content = {
        "path": str(Path(out_dir).resolve()),
        "train": train[0] if len(train) == 1 else train,
        "val": val[0] if len(val) == 1 else val,
        "names": dict(enumerate(names)),
    }
    yaml_path = Path(out_dir) / "data.yaml"
    header = "".join(f"# {line}".rstrip() + "\n" for line in comments)
    yaml_path.write_text(header + yaml.safe_dump(content, sort_keys=False))
    return yaml_path
