"""PASCAL VOC XML to the YOLO layout: a VOCdevkit tree (ImageSets split files), or a plain folder of images and XML.

The plain folder is what LabelImg, CVAT and most annotation tools write: ``<name>.xml`` beside ``<name>.<ext>`` (or
in ``Annotations/`` beside ``JPEGImages/``), with the tool's own class names. Class names come from the XML files
(sorted) unless ``names`` gives them; see :mod:`yolo_alpha.data.yolo_layout` for what is kept, clipped and dropped.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from yolo_alpha import checks
from yolo_alpha.data.synthetic import format_labels
from yolo_alpha.data.tiling import TiledTally, Tiling, make_tiling, tile_source_size, write_tiles
from yolo_alpha.data.yolo_layout import (
    IMAGE_MISSING,
    IMAGE_UNREADABLE,
    Conversion,
    Tally,
    check_out_dir,
    clip_box,
    create_out_dir,
    link_or_copy,
    normalise,
    normalised_box,
    require,
    write_data_yaml,
)
from yolo_alpha.errors import ConfigError
from yolo_alpha.ultralytics.converters import voc_class_names
from yolo_alpha.ultralytics.dataset import is_image

__all__ = ["VOC_SPLITS", "convert_voc", "parse_names", "read_voc_xml", "voc_box_to_yolo", "voc_class_names"]

# The paper's protocol: train on VOC2007+2012 trainval, evaluate on VOC2007 test.
VOC_SPLITS = (("2007", "trainval"), ("2012", "trainval"), ("2007", "test"))
# VOC's convention, kept from Ultralytics' VOC.yaml script: difficult objects are not trained on (VOC's own
# evaluation neither rewards nor penalises detecting them).
DIFFICULT = "difficult, <difficult>1</difficult> (VOC's convention: not trained on, ignored by VOC's evaluation)"
UNKNOWN_CLASS = "class not in names="
XML_MISSING = "listed in ImageSets but its annotation XML is missing"


@dataclass(frozen=True)
class VocObject:
    """One ``<object>`` of a VOC XML: class name, ``(xmin, ymin, xmax, ymax)`` as written (1-based) and difficult."""

    name: str
    box: tuple[float, float, float, float]
    difficult: bool


@dataclass(frozen=True)
class VocAnnotation:
    """One VOC XML file: its image size ``(w, h)`` (None when ``<size>`` is absent or zero) and its objects."""

    size: tuple[int, int] | None
    objects: list[VocObject]


def read_voc_xml(xml_path: Path) -> VocAnnotation:
    """Return the size and objects of one VOC XML file; ConfigError naming the file if it is not a VOC annotation.

    An object without a ``<difficult>`` tag is not difficult (LabelImg always writes it, other tools do not).
    """
    try:
        root = ET.parse(xml_path).getroot()
        size = root.find("size")
        width, height = (0, 0) if size is None else (int(float(size.find(k).text)) for k in ("width", "height"))
        objects = []
        for obj in root.iter("object"):
            name, difficult, bndbox = obj.find("name").text.strip(), obj.find("difficult"), obj.find("bndbox")
            if not name:
                raise ValueError("an object has an empty <name>")
            box = tuple(float(bndbox.find(key).text) for key in ("xmin", "ymin", "xmax", "ymax"))
            objects.append(VocObject(name, box, difficult is not None and int(difficult.text) == 1))
    except (ET.ParseError, AttributeError, TypeError, ValueError) as error:  # AttributeError: a missing tag
        raise ConfigError(f"malformed VOC annotation {xml_path}: {error}") from error
    return VocAnnotation((width, height) if width > 0 and height > 0 else None, objects)


def voc_pixel_box(box: Sequence[float]) -> tuple[float, float, float, float]:
    """Return the 0-based pixel-edge box of a VOC ``(xmin, ymin, xmax, ymax)``: each coordinate minus 1.

    This is the rule of ``convert_box`` in Ultralytics' VOC.yaml download script (centre shifted by -1 px, size
    ``xmax - xmin``, no +1), so our labels equal those of a set Ultralytics converted.
    """
    return box[0] - 1, box[1] - 1, box[2] - 1, box[3] - 1


def voc_box_to_yolo(size: tuple[float, float], box: Sequence[float]) -> tuple[float, float, float, float] | None:
    """Return the normalised ``(cx, cy, w, h)`` of a VOC box given as ``(xmin, xmax, ymin, ymax)`` (Ultralytics').

    Equal to Ultralytics' ``convert_box`` for every box inside the image; a box sticking out is clipped to it.
    """
    return normalised_box(Tally(), voc_pixel_box((box[0], box[2], box[1], box[3])), size)


def parse_names(value: str | Sequence[str]) -> list[str]:
    """Return the class names of ``names=``: a comma list (``cat,dog``), a list, or a ``.txt`` file of one per line.

    A ``classes.txt`` is what LabelImg and most tools write beside their labels. ConfigError naming ``names=`` for a
    missing file, an empty name or a name given twice.
    """
    if isinstance(value, str) and value.endswith(".txt"):
        names = require(Path(value), "names", "file (names= takes a .txt file of one name per line, or a,b,c)")
        items = names.read_text(encoding="utf-8").splitlines()
    else:
        items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    names = [item.strip() for item in items if item.strip()] if isinstance(value, str) else [i.strip() for i in items]
    if not names or not all(names) or len(set(names)) != len(names):
        raise ConfigError(f"names={value!r}: give distinct, non-empty class names: a,b,c or a .txt file, one a line")
    return names


# --- where the images and XML files are ---


def image_index(folder: Path) -> dict[str, Path]:
    """Return ``{stem: image path}`` of the files of ``folder`` that Ultralytics reads as images (any case)."""
    if not folder.is_dir():
        return {}
    files = sorted(p for p in folder.iterdir() if is_image(p) and p.is_file())
    return {p.stem: p for p in reversed(files)}  # the first in sorted order wins a stem shared by two extensions


def find_voc_year(voc_root: Path, year: str) -> Path:
    """Return ``voc_root/VOCdevkit/VOC<year>`` or else ``voc_root/VOC<year>``; ConfigError naming both otherwise."""
    candidates = (voc_root / "VOCdevkit" / f"VOC{year}", voc_root / f"VOC{year}")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"root={voc_root}: VOC{year} not found (looked for {candidates[0]} and {candidates[1]})")


def is_devkit(voc_root: Path) -> bool:
    """Return True when ``voc_root`` holds ``VOCdevkit/`` or ``VOC<year>/`` folders (the official layout)."""
    return (voc_root / "VOCdevkit").is_dir() or any(p.is_dir() for p in voc_root.glob("VOC[12][0-9][0-9][0-9]"))


def devkit_plan(voc_root: Path, splits: Iterable[tuple[str, str]], tally: Tally) -> dict[str, list[tuple[Path, Path]]]:
    """Return ``{'<split><year>': [(image, xml)]}`` from each year's ``ImageSets/Main/<split>.txt``, in file order.

    An id whose image (any extension Ultralytics reads, in ``JPEGImages/``) or XML is missing is counted and skipped.
    """
    plan = {}
    for year, split in splits:
        year_dir = find_voc_year(voc_root, year)
        split_file = year_dir / "ImageSets" / "Main" / f"{split}.txt"
        if not split_file.is_file():
            raise ConfigError(f"root={voc_root}: VOC image set {split_file} not found")
        images, items = image_index(year_dir / "JPEGImages"), []
        for image_id in dict.fromkeys(split_file.read_text().split()):  # an id listed twice is one image
            xml_path = year_dir / "Annotations" / f"{image_id}.xml"
            if image_id not in images:
                tally.drop_image(IMAGE_MISSING, f"{year_dir.name}/JPEGImages/{image_id}.*")
            elif not xml_path.is_file():
                tally.drop_image(XML_MISSING, f"{year_dir.name}/Annotations/{image_id}.xml")
            else:
                items.append((images[image_id], xml_path))
        plan[f"{split}{year}"] = items
    return plan


def folder_pairs(root: Path, tally: Tally) -> list[tuple[Path, Path]]:
    """Return ``(image, xml)`` for every XML under ``root``, sorted; the image has the XML's stem, any extension.

    The image is looked for beside the XML, then in ``JPEGImages/`` beside an ``Annotations/`` folder (CVAT's VOC
    export). XML files without an image are counted and skipped.
    """
    pairs, indexes = [], {}
    for xml_path in sorted(root.rglob("*.xml")):
        folders = [xml_path.parent]
        if xml_path.parent.name == "Annotations":
            folders.append(xml_path.parent.parent / "JPEGImages")
        found = [indexes.setdefault(f, image_index(f)).get(xml_path.stem) for f in folders]
        image = next((path for path in found if path is not None), None)
        if image is None:
            tally.drop_image(IMAGE_MISSING, str(xml_path.relative_to(root).with_suffix(".*")))
        else:
            pairs.append((image, xml_path))
    return pairs


def split_pairs(pairs: list, val_fraction: float, seed: int) -> dict[str, list]:
    """Return ``{'train': [...], 'val': [...]}``: a seeded shuffle of ``pairs``, ``val_fraction`` (>= 1) to val."""
    if len(pairs) < 2:
        raise ConfigError(
            f"root: a plain folder of images and VOC XML needs 2 or more annotated images (train and val), "
            f"found {len(pairs)}"
        )
    order = list(pairs)
    random.Random(seed).shuffle(order)
    n_val = min(max(round(len(order) * val_fraction), 1), len(order) - 1)
    return {"train": sorted(order[n_val:]), "val": sorted(order[:n_val])}


def output_names(images: list[Path], root: Path) -> list[str]:
    """Return a flat file name per image: its own, or its path under ``root`` joined by ``__`` where names collide.

    Flat, because Ultralytics finds a label by replacing the last ``/images/`` of the image path with ``/labels/``: a
    source sub-folder named ``images`` would send it to the wrong place.
    """
    counts: dict[str, int] = {}
    for image in images:
        counts[image.name] = counts.get(image.name, 0) + 1
    return [i.name if counts[i.name] == 1 else "__".join(i.relative_to(root).parts) for i in images]


# --- labels ---


def image_size(annotation: VocAnnotation, image: Path) -> tuple[int, int] | None:
    """Return ``(w, h)`` from the XML's ``<size>``, else read from the image's header; None if neither works."""
    if annotation.size is not None:
        return annotation.size
    try:
        with Image.open(image) as opened:
            return opened.size
    except Exception:  # not an image Pillow reads: UnidentifiedImageError, or a missing optional plugin (pi_heif)
        return None


def pixel_rows(annotation: VocAnnotation, size: tuple[int, int], names: Sequence[str], tally: Tally, source: str):
    """Return the ``(cls, x1, y1, x2, y2)`` pixel boxes of one annotation, clipped to the image; every object not
    kept is counted in ``tally``."""
    rows = []
    for obj in annotation.objects:
        if obj.difficult:
            tally.drop_box(DIFFICULT)
        elif obj.name not in names:
            tally.drop_box(UNKNOWN_CLASS, obj.name)
        elif (box := clip_box(tally, voc_pixel_box(obj.box), size, source)) is not None:
            rows.append((names.index(obj.name), *box))
    return rows


def label_rows(annotation: VocAnnotation, size: tuple[int, int], names: Sequence[str], tally: Tally, source: str):
    """Return the ``(cls, cx, cy, w, h)`` rows of one annotation; every object not kept is counted in ``tally``."""
    return [(cls, *normalise(box, size)) for cls, *box in pixel_rows(annotation, size, names, tally, source)]


def source_size(annotation: VocAnnotation, image: Path, tiling: Tiling | None) -> tuple[tuple[int, int] | None, str]:
    """Return ``(size, "")`` of an image to convert, or ``(None, why it is skipped)``.

    Whole images trust the XML's ``<size>``; tiles crop the pixels, so their size is the image's own.
    """
    if tiling is not None:
        return tile_source_size(annotation.size, image)
    size = image_size(annotation, image)
    return size, "" if size is not None else IMAGE_UNREADABLE


def convert_voc(
    voc_root: Path,
    out_dir: Path,
    splits: Iterable[tuple[str, str]] = VOC_SPLITS,
    names: Sequence[str] | None = None,
    val_fraction: float | None = None,
    seed: int | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    min_area: float | None = None,
    edge: str | None = None,
) -> Conversion:
    """Return the :class:`Conversion` of a YOLO-layout copy of a local VOC-XML set, written under ``out_dir``.

    A VOCdevkit ``voc_root`` (``VOCdevkit/VOC<year>/`` or ``VOC<year>/``, each with ``ImageSets/Main/<split>.txt``,
    ``Annotations/`` and ``JPEGImages/``): each ``(year, split)`` becomes ``images/<split><year>/``; the data.yaml
    trains on the non-test splits and validates on the test split(s), by default 07+12 trainval and 07 test. Any other
    folder: every XML under it with its image (see ``folder_pairs``), split at random (``seed``) into ``images/train``
    and ``images/val`` (``val_fraction`` of them, default 0.2, seed 0; refused for a VOCdevkit, whose split files
    decide). Class ids index ``names``, by default every class name of the XML
    files read, sorted (for VOC: Ultralytics' 20 names); objects of other classes are dropped and counted. Boxes follow
    Ultralytics' VOC rule (``voc_pixel_box``), clipped to the image. Everything is read and checked before anything is
    written; the source is never modified.

    ``tile``/``overlap``/``min_area``/``edge`` cut every image into tiles (:mod:`yolo_alpha.data.tiling`) after the
    split, so that whole source images go to train or val (by the seeded split, or by a VOCdevkit's split files); the
    tally and the data.yaml's comments name the source images of each split.
    """
    voc_root, out_dir = Path(voc_root), check_out_dir(Path(out_dir))
    tiling = make_tiling(tile, overlap, min_area, edge)
    tally = Tally() if tiling is None else TiledTally(tiling=tiling)
    require(voc_root, "root", "folder")
    if is_devkit(voc_root):
        if given := [k for k, v in (("val_fraction", val_fraction), ("seed", seed)) if v is not None]:
            raise ConfigError(
                f"{'/'.join(given)}: root={voc_root} is a VOCdevkit, whose ImageSets split files decide train and val; "
                "val_fraction= and seed= split a plain folder of images and XML files"
            )
        splits = list(dict.fromkeys(splits))
        train, val = voc_roles(splits)
        plan = devkit_plan(voc_root, splits, tally)
    else:
        fraction = 0.2 if val_fraction is None else val_fraction
        fraction = checks.number("val_fraction", fraction, low=0, high=1, low_open=True, high_open=True)
        plan = split_pairs(folder_pairs(voc_root, tally), fraction, checks.number("seed", seed or 0, integer=True))
        train, val = ["images/train"], ["images/val"]
    return write_voc_set(voc_root, out_dir, plan, (train, val), names, tally)


def write_voc_set(
    root: Path,
    out_dir: Path,
    plan: dict[str, list[tuple[Path, Path]]],
    roles: tuple[list[str], list[str]],
    names: Sequence[str] | None,
    tally: Tally,
    comments: Sequence[str] = (),
) -> Conversion:
    """Return the :class:`Conversion` of ``plan`` (``{folder: [(image, xml)]}`` under ``root``) written to ``out_dir``.

    ``roles`` are the data.yaml's ``(train, val)`` folders, ``comments`` its first lines; a :class:`TiledTally` tiles
    every image with its ``tiling``. Every file is read before anything is written: a bad file leaves no partial set.
    """
    tiling = tally.tiling if isinstance(tally, TiledTally) else None
    annotations = {xml: read_voc_xml(xml) for items in plan.values() for _, xml in items}
    sizes = {}
    for folder, items in plan.items():
        for image, xml in items:
            sizes[image], why = source_size(annotations[xml], image, tiling)
            if sizes[image] is None:
                tally.drop_image(why, str(image.relative_to(root)))
        plan[folder] = [(image, xml) for image, xml in items if sizes[image] is not None]
        if not plan[folder]:
            why = "; ".join(Tally.lines(tally)[1:]) or "its split file lists no image"
            raise ConfigError(f"root={root}: no image with its annotation found for {folder} ({why})")
    names = list(names) if names is not None else sorted({o.name for a in annotations.values() for o in a.objects})
    create_out_dir(out_dir)
    every_image = [image for items in plan.values() for image, _ in items]
    file_names = dict(zip(every_image, output_names(every_image, root)))  # one name per image, whatever its split
    if tiling is not None:  # tiles are named by stem: a.png and a.jpg of two folders would share their names
        stems = Counter(Path(name).stem for name in file_names.values())
        file_names = {i: n if stems[Path(n).stem] == 1 else n.replace(".", "_") for i, n in file_names.items()}
    for folder, items in plan.items():
        for image, xml in items:
            name, source = file_names[image], str(xml.relative_to(root))
            if tiling is not None:
                rows = pixel_rows(annotations[xml], sizes[image], names, tally, source)
                write_tiles(image, rows, out_dir, folder, name, tiling, tally)
                continue
            rows = label_rows(annotations[xml], sizes[image], names, tally, source)
            link_or_copy(image, out_dir / "images" / folder / name)
            label = out_dir / "labels" / folder / Path(name).with_suffix(".txt")
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text(format_labels(rows))
            tally.kept_images, tally.kept_boxes = tally.kept_images + 1, tally.kept_boxes + len(rows)
    if tiling is not None:
        comments = [*comments, *tally.comments()]
    return Conversion(write_data_yaml(out_dir, *roles, names, comments), names, tally)


def voc_roles(splits: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Return the ``(train, val)`` image folders (``images/<split><year>``) for VOC ``(year, split)`` pairs.

    ``val`` holds the ``test`` splits; without any, the ``val`` splits (VOC2012 publishes no test labels).
    ``train`` holds the rest, as in Ultralytics' VOC.yaml (which trains on val2007 and val2012 too).
    """
    splits = list(dict.fromkeys(splits))
    val_name = "test" if any(split == "test" for _, split in splits) else "val"
    train = [f"images/{split}{year}" for year, split in splits if split != val_name]
    val = [f"images/{split}{year}" for year, split in splits if split == val_name]
    if not train or not val:
        raise ConfigError(f"VOC splits {splits} need a '{val_name}' split for val and at least one other for train")
    return train, val
