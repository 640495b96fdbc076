"""NEON tree crowns as a YOLO set: the annotated airborne RGB crops that the DeepForest 2.1.0 wheel ships, tiled.

The wheel (``deepforest-2.1.0-py3-none-any.whl``, MIT licence, Weinstein et al.) holds four RGB crops of the National
Ecological Observatory Network's airborne imagery with Pascal-VOC XML of every tree crown in ``deepforest/data/``. It is
downloaded with pip (or given as a local file), checked by sha256, and read as a zip: only those PNG and XML files
are read, deepforest is never installed nor imported. The split is fixed by source image (:data:`SPLIT`): the large
Yellowstone crop trains; the other Yellowstone crop and the two crops of other sites validate, so that no tile of a
validation image, nor its neighbour, was trained on. See docs/configuration.md#neon-tree-crowns.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from yolo_alpha.data.tiling import TiledTally, make_tiling
from yolo_alpha.data.voc import write_voc_set
from yolo_alpha.data.yolo_layout import Conversion, check_out_dir
from yolo_alpha.errors import ConfigError

__all__ = ["SPLIT", "WHEEL_NAME", "WHEEL_SHA256", "convert_neon_trees", "download_wheel", "read_wheel_sources"]

REQUIREMENT = "deepforest==2.1.0"
WHEEL_NAME = "deepforest-2.1.0-py3-none-any.whl"
WHEEL_SHA256 = "8c2798d8e9be7f0004b194fe207b76c1d9fff6e711b3db67b9508dcd5d00ae54"  # PyPI's file, 20,639,595 bytes
DATA = "deepforest/data/"
CLASS_NAME = "Tree"  # SOAP_061 labels its crowns Alive or Dead: both are tree crowns, relabelled Tree
# Whole source images per split (pixels, crowns): train on the 2299 x 2472 Yellowstone crop (574); validate on the
# 1249 x 1035 one (279, same site, another tile of NEON's grid) and on two 400 x 400 crops of other sites (61 + 37).
SPLIT = {
    "2019_YELL_2_528000_4978000_image_crop2": "train",
    "2019_YELL_2_541000_4977000_image_crop": "val",
    "OSBS_029": "val",
    "SOAP_061": "val",
}
ORIGIN = [
    "NEON tree crowns: airborne RGB of the National Ecological Observatory Network with a box per tree crown, as",
    f"shipped in deepforest/data/ of {WHEEL_NAME} (DeepForest, Weinstein et al.; its licence file: MIT,",
    f"Copyright (c) 2019, Ben Weinstein), sha256 {WHEEL_SHA256}.",
    "One class, Tree: SOAP_061 labels its crowns Alive or Dead, both written as Tree.",
    "Split by whole source image, fixed: train 2019_YELL_2_528000_4978000_image_crop2 (Yellowstone, 574 crowns);",
    "val 2019_YELL_2_541000_4977000_image_crop (Yellowstone, a NEON tile 13 km away, 279 crowns) and the crops of",
    "two sites never trained on, OSBS_029 (61) and SOAP_061 (37): no val tile, nor a neighbour of one, is trained on.",
]


def download_wheel(folder: Path) -> Path:
    """Return the path of the wheel after ``pip download`` of it into ``folder``; ConfigError saying what pip said."""
    command = [sys.executable, "-m", "pip", "download", REQUIREMENT, "--no-deps", "--only-binary=:all:", "-d", folder]
    try:
        done = subprocess.run([str(part) for part in command], capture_output=True, text=True)
        said = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}").splitlines()[-1]
        failed = done.returncode != 0
    except OSError as error:
        said, failed = str(error), True
    wheel = Path(folder) / WHEEL_NAME
    if failed or not wheel.is_file():
        raise ConfigError(
            f"could not download {WHEEL_NAME} with pip ({said}); download it where you can "
            f"(pip download {REQUIREMENT} --no-deps --only-binary=:all:) and give wheel=PATH"
        )
    return wheel


def check_sha256(wheel: Path, expected: str) -> Path:
    """Return ``wheel`` if its sha256 is ``expected``; ConfigError naming the file and both hashes otherwise."""
    digest = hashlib.sha256()
    with open(wheel, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ConfigError(
            f"wheel={wheel}: sha256 {digest.hexdigest()} is not {expected}, that of {WHEEL_NAME} on PyPI; "
            "give the unmodified file"
        )
    return wheel


def read_wheel_sources(wheel: Path, folder: Path) -> dict[str, tuple[Path, Path]]:
    """Return ``{stem: (png, xml)}`` of :data:`SPLIT`'s images, written under ``folder`` from the wheel's data folder.

    Only ``deepforest/data/<stem>.png`` and ``.xml`` are read; every ``<name>`` becomes :data:`CLASS_NAME`.
    ConfigError naming ``wheel=`` when it is not a zip or lacks one of them.
    """
    sources = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = set(archive.namelist())
            if missing := [f"{DATA}{s}{e}" for s in SPLIT for e in (".png", ".xml") if f"{DATA}{s}{e}" not in members]:
                raise ConfigError(f"wheel={wheel}: lacks {', '.join(missing)}")
            for stem in SPLIT:
                png, xml = folder / f"{stem}.png", folder / f"{stem}.xml"
                png.write_bytes(archive.read(f"{DATA}{stem}.png"))
                annotation = ET.fromstring(archive.read(f"{DATA}{stem}.xml"))
                for name in annotation.iterfind("object/name"):
                    name.text = CLASS_NAME
                ET.ElementTree(annotation).write(xml, encoding="utf-8")
                sources[stem] = (png, xml)
    except (zipfile.BadZipFile, ET.ParseError) as error:
        raise ConfigError(f"wheel={wheel}: not the DeepForest wheel ({error})") from error
    return sources


def convert_neon_trees(
    out_dir: Path,
    wheel: Path | None = None,
    tile: int = 400,
    overlap: int = 0,
    min_area: float = 0.5,
    edge: str = "pad",
    sha256: str | None = None,
) -> Conversion:
    """Return the :class:`Conversion` of the NEON tree-crown set, tiled, written under ``out_dir``.

    ``wheel`` is a local copy of :data:`WHEEL_NAME`; without it pip downloads one into a temporary folder (removed
    after). Either must have the sha256 ``sha256`` (default :data:`WHEEL_SHA256`). ``tile``, ``overlap``,
    ``min_area`` and ``edge`` are those of :func:`yolo_alpha.data.tiling.make_tiling`; the split is :data:`SPLIT`,
    stated in the data.yaml's comments.
    """
    out_dir, tiling = check_out_dir(Path(out_dir)), make_tiling(tile, overlap, min_area, edge)
    with tempfile.TemporaryDirectory(prefix="yolo-alpha-neon-") as temporary:
        if wheel is None:
            wheel = download_wheel(Path(temporary))
        if not Path(wheel).is_file():
            raise ConfigError(f"wheel={wheel}: no such file (wheel= takes a downloaded {WHEEL_NAME})")
        wheel = check_sha256(Path(wheel), sha256 or WHEEL_SHA256)
        (Path(temporary) / "data").mkdir()
        sources = read_wheel_sources(wheel, Path(temporary) / "data")
        plan = {split: [pair for stem, pair in sources.items() if SPLIT[stem] == split] for split in ("train", "val")}
        roles = (["images/train"], ["images/val"])
        tally = TiledTally(tiling=tiling)
        return write_voc_set(Path(temporary) / "data", out_dir, plan, roles, [CLASS_NAME], tally, ORIGIN)
