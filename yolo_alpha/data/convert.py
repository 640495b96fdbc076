"""Converters from a local PASCAL VOC tree or a local COCO JSON to the Ultralytics YOLO layout.

Both write ``out_dir/images/<folder>/`` (hard links to the source images, copies where a link is impossible),
``out_dir/labels/<folder>/<stem>.txt`` (``cls cx cy w h`` per line, normalised) and ``out_dir/data.yaml``, and return
the data.yaml path. They never write into an ``out_dir`` that exists and is not empty, and never move or modify the
source files. Inputs are read and checked before anything is written, so a missing or malformed file leaves no
partial set behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import yaml

from yolo_alpha.data.synthetic import format_labels
from yolo_alpha.ultralytics.converters import convert_coco_boxes, voc_class_names

__all__ = ["VOC_SPLITS", "convert_coco", "convert_voc", "voc_box_to_yolo", "voc_class_names"]

# The paper's protocol: train on VOC2007+2012 trainval, evaluate on VOC2007 test.
VOC_SPLITS = (("2007", "trainval"), ("2012", "trainval"), ("2007", "test"))


# --- shared ---


def refuse_nonempty(out_dir: Path) -> Path:
    """Return ``out_dir`` if it is missing or an empty folder; raise FileExistsError naming it otherwise."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"refusing to write into {out_dir}: it exists and is not empty")
    return out_dir


def require(path: Path, what: str) -> Path:
    """Return ``path`` if it exists; raise FileNotFoundError naming it (as ``what``) otherwise."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    return Path(path)


def link_or_copy(source: Path, target: Path) -> Path:
    """Return ``target`` after hard-linking it to ``source``, or copying ``source`` where linking fails.

    Linking fails across file systems or where links are unsupported. An existing ``target`` is an error, never
    overwritten: a copy onto a hard link of ``source`` would write into the source itself.
    """
    if target.exists():
        raise FileExistsError(f"refusing to overwrite {target}")
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target


def write_data_yaml(out_dir: Path, train: list[str], val: list[str], names: Sequence[str]) -> Path:
    """Return ``out_dir/data.yaml`` after writing ``path`` (absolute), ``train``, ``val`` and ``names`` into it.

    A split given by one folder is written as a string, several as a list (Ultralytics accepts both).
    """
    content = {
        "path": str(Path(out_dir).resolve()),
        "train": train[0] if len(train) == 1 else train,
        "val": val[0] if len(val) == 1 else val,
        "names": dict(enumerate(names)),
    }
    yaml_path = Path(out_dir) / "data.yaml"
    yaml_path.write_text(yaml.safe_dump(content, sort_keys=False))
    return yaml_path


# --- PASCAL VOC ---


def voc_box_to_yolo(size: tuple[float, float], box: Sequence[float]) -> tuple[float, float, float, float]:
    """Return the normalised ``(cx, cy, w, h)`` of a VOC box ``(xmin, xmax, ymin, ymax)`` in an image ``(w, h)``.

    This is ``convert_box`` of Ultralytics' ``VOC.yaml`` download script, kept exactly so our labels equal those of a
    set Ultralytics converted: the centre is shifted by -1 px (VOC pixel coordinates are 1-based) and the size is
    ``xmax - xmin`` / ``ymax - ymin`` (no +1); nothing is clipped.
    """
    dw, dh = 1.0 / size[0], 1.0 / size[1]
    x, y = (box[0] + box[1]) / 2.0 - 1, (box[2] + box[3]) / 2.0 - 1
    w, h = box[1] - box[0], box[3] - box[2]
    return x * dw, y * dh, w * dw, h * dh


def read_voc_annotation(xml_path: Path, names: Sequence[str]) -> list[tuple[int, float, float, float, float]]:
    """Return the ``(cls, cx, cy, w, h)`` rows of one VOC XML file, with Ultralytics' VOC.yaml rules.

    Like that script, objects marked ``difficult`` and objects whose name is not one of ``names`` are skipped, and
    the image size comes from the XML's ``<size>``. An object without a ``<difficult>`` tag counts as not difficult
    (the script would crash on it). Raises ValueError naming the file if it is not a readable VOC annotation.
    """
    try:
        root = ET.parse(xml_path).getroot()
        size = root.find("size")
        width, height = int(size.find("width").text), int(size.find("height").text)
        if width <= 0 or height <= 0:
            raise ValueError(f"image size {width}x{height}")
        rows = []
        for obj in root.iter("object"):
            name, difficult = obj.find("name").text.strip(), obj.find("difficult")
            if name not in names or (difficult is not None and int(difficult.text) == 1):
                continue
            bndbox = obj.find("bndbox")
            box = [float(bndbox.find(key).text) for key in ("xmin", "xmax", "ymin", "ymax")]
            rows.append((names.index(name), *voc_box_to_yolo((width, height), box)))
    except (ET.ParseError, AttributeError, TypeError, ValueError) as error:  # AttributeError: a missing tag
        raise ValueError(f"malformed VOC annotation {xml_path}: {error}") from error
    return rows


def find_voc_year(voc_root: Path, year: str) -> Path:
    """Return ``voc_root/VOCdevkit/VOC<year>`` or else ``voc_root/VOC<year>``; FileNotFoundError if neither exists."""
    candidates = (voc_root / "VOCdevkit" / f"VOC{year}", voc_root / f"VOC{year}")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"VOC{year} folder not found: looked for {candidates[0]} and {candidates[1]}")


def read_voc_split(year_dir: Path, split: str, names: Sequence[str]) -> list[tuple[Path, list]]:
    """Return ``(image path, label rows)`` for each id of ``year_dir/ImageSets/Main/<split>.txt``, in file order."""
    ids = require(year_dir / "ImageSets" / "Main" / f"{split}.txt", "VOC image set").read_text().split()
    items = []
    for image_id in dict.fromkeys(ids):  # an id listed twice is one image
        image = require(year_dir / "JPEGImages" / f"{image_id}.jpg", "VOC image")
        xml_path = require(year_dir / "Annotations" / f"{image_id}.xml", "VOC annotation")
        items.append((image, read_voc_annotation(xml_path, names)))
    return items


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
        raise ValueError(f"VOC splits {splits} need a '{val_name}' split for val and at least one other for train")
    return train, val


def convert_voc(voc_root: Path, out_dir: Path, splits: Iterable[tuple[str, str]] = VOC_SPLITS) -> Path:
    """Return the ``data.yaml`` of a YOLO-layout copy of a local PASCAL VOC tree, written under ``out_dir``.

    ``voc_root`` holds ``VOCdevkit/VOC<year>/`` (or ``VOC<year>/`` directly), each with ``ImageSets/Main/<split>.txt``,
    ``Annotations/<id>.xml`` and ``JPEGImages/<id>.jpg``. Each ``(year, split)`` becomes ``images/<split><year>/`` and
    ``labels/<split><year>/`` (6 decimals; an image whose objects are all skipped gets an empty file). Boxes follow
    Ultralytics' VOC.yaml download script exactly (see ``voc_box_to_yolo`` and ``read_voc_annotation``: difficult
    objects skipped, centre shifted by -1 px, no clipping); class ids index Ultralytics' 20 VOC names. The data.yaml
    trains on the non-test splits and validates on the test split(s), by default 07+12 trainval and 07 test.
    """
    voc_root, out_dir = Path(voc_root), refuse_nonempty(Path(out_dir))
    require(voc_root, "VOC root")
    splits = list(dict.fromkeys(splits))
    train, val = voc_roles(splits)
    names = voc_class_names()
    # Everything is read before anything is written: a bad file must not leave a partial set.
    plan = {f"{split}{year}": read_voc_split(find_voc_year(voc_root, year), split, names) for year, split in splits}
    for folder, items in plan.items():
        image_dir, label_dir = out_dir / "images" / folder, out_dir / "labels" / folder
        image_dir.mkdir(parents=True)
        label_dir.mkdir(parents=True)
        for image, rows in items:
            link_or_copy(image, image_dir / image.name)
            (label_dir / f"{image.stem}.txt").write_text(format_labels(rows))
    return write_data_yaml(out_dir, train, val, names)


# --- COCO ---


def read_coco_json(annotation_json: Path) -> dict:
    """Return the checked content of a COCO detection JSON; ValueError naming the file if it is malformed.

    Checked: ``images`` (unique int ``id`` and relative ``file_name`` without ``..``, positive ``width``/``height``),
    ``categories`` (unique int ``id``, ``name``) and ``annotations`` (known ``image_id`` and ``category_id``, a
    4-number ``bbox``).
    """
    try:
        data = json.loads(Path(annotation_json).read_text(encoding="utf-8"))
        image_ids, file_names = set(), set()
        for image in data["images"]:
            name = PurePosixPath(image["file_name"])
            if not isinstance(image["id"], int) or name.is_absolute() or ".." in name.parts:
                raise ValueError(f"bad image entry {image}")
            if not (image["width"] > 0 and image["height"] > 0):
                raise ValueError(f"bad image size in {image}")
            if image["id"] in image_ids or name in file_names:
                raise ValueError(f"duplicate image id or file_name in {image}")
            image_ids.add(image["id"])
            file_names.add(name)
        category_ids = [category["id"] for category in data["categories"]]
        if len(set(category_ids)) != len(category_ids) or not all(isinstance(i, int) for i in category_ids):
            raise ValueError(f"category ids must be unique ints, got {category_ids}")
        if not all(isinstance(category["name"], str) for category in data["categories"]):
            raise ValueError("every category needs a string name")
        for annotation in data["annotations"]:
            known = annotation["image_id"] in image_ids and annotation["category_id"] in category_ids
            box = annotation["bbox"]
            if not known or len(box) != 4 or not all(isinstance(v, (int, float)) for v in box):
                raise ValueError(f"bad annotation {annotation}")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"malformed COCO annotation file {annotation_json}: {error!r}") from error
    return data


def coco_class_index(categories: Sequence[dict]) -> dict[int, int]:
    """Return ``{category id: class index}``: the ids in ascending order numbered 0, 1, 2, ...

    For the official 80-category COCO JSON (ids 1-90 with gaps) this is exactly Ultralytics' ``cls91to80`` mapping;
    for any other JSON it keeps the classes contiguous whatever the ids are.
    """
    return {category_id: index for index, category_id in enumerate(sorted(c["id"] for c in categories))}


def write_coco_labels(data: dict, class_index: dict[int, int], label_dir: Path) -> Path:
    """Return ``label_dir`` after writing one YOLO label file per image of ``data`` into it with Ultralytics.

    Ultralytics' ``convert_coco`` reads every JSON of a folder and numbers classes ``category_id - 1`` (or by its
    fixed 91-to-80 table), so it is given a temporary JSON holding only images and annotations, with category ids
    replaced by ``class index + 1``. It skips ``iscrowd`` and zero-size boxes, converts the top-left ``xywh`` box to a
    normalised centre box and writes ``%g`` (6 significant digits). Images without a kept box get an empty file.
    """
    annotations = [{**a, "category_id": class_index[a["category_id"]] + 1} for a in data["annotations"]]
    # Flat stand-in names: Ultralytics 8.3 does not create the sub-folders of a file_name like "sub/b.jpg".
    images = [{**image, "file_name": f"{i:08d}.jpg"} for i, image in enumerate(data["images"])]
    staging = Path(tempfile.mkdtemp(prefix=".coco-staging-", dir=label_dir.parent.parent))
    try:
        (staging / "json").mkdir()
        (staging / "json" / "split.json").write_text(json.dumps({"images": images, "annotations": annotations}))
        convert_coco_boxes(staging / "json", staging / "converted")
        converted = staging / "converted" / "labels" / "split"  # Ultralytics names the folder after the JSON's stem
        for i, image in enumerate(data["images"]):
            label = (label_dir / image["file_name"]).with_suffix(".txt")
            label.parent.mkdir(parents=True, exist_ok=True)
            produced = converted / f"{i:08d}.txt"
            if produced.exists():
                produced.rename(label)
            else:  # no kept box in this image: Ultralytics wrote no file
                label.touch()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return label_dir


def convert_coco(annotation_json: Path, images_dir: Path, out_dir: Path, split: str | None = None) -> Path:
    """Return the ``data.yaml`` of a YOLO-layout copy of a local COCO detection JSON and its images, under ``out_dir``.

    Images (every image of the JSON, at its ``file_name`` relative to ``images_dir``) go to ``images/<split>/``,
    labels to ``labels/<split>/`` (see ``write_coco_labels``). ``split`` defaults to Ultralytics' rule, the JSON's stem
    without ``instances_`` (``instances_val2017.json`` -> ``val2017``). Class indices number the JSON's category ids in
    ascending order (``coco_class_index``; the same as Ultralytics' cls91to80 for official COCO) and ``names`` are the
    categories' names in that order. One JSON is one split, so the data.yaml uses it for both train and val; edit it
    to combine splits converted separately.
    """
    annotation_json, images_dir = Path(annotation_json), Path(images_dir)
    out_dir = refuse_nonempty(Path(out_dir))
    require(annotation_json, "COCO annotation file")
    require(images_dir, "COCO image folder")
    split = split or annotation_json.stem.replace("instances_", "")
    if not split or PurePosixPath(split).name != split or split in {".", ".."}:
        raise ValueError(f"split must be a plain folder name, got {split!r}")
    data = read_coco_json(annotation_json)
    sources = [require(images_dir / image["file_name"], "COCO image") for image in data["images"]]
    class_index = coco_class_index(data["categories"])
    names = [c["name"] for c in sorted(data["categories"], key=lambda c: class_index[c["id"]])]

    out_dir.mkdir(parents=True, exist_ok=True)
    write_coco_labels(data, class_index, out_dir / "labels" / split)
    for source, image in zip(sources, data["images"]):
        target = out_dir / "images" / split / image["file_name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(source, target)
    return write_data_yaml(out_dir, [f"images/{split}"], [f"images/{split}"], names)
