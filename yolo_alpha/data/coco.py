"""A local COCO detection JSON and its images to the YOLO layout, with Ultralytics' own label writer.

Boxes are checked before Ultralytics sees them (see :mod:`yolo_alpha.data.yolo_layout`): NaN/inf, zero or negative
sizes and boxes wholly outside the image are dropped and counted, boxes sticking out are clipped, so that no label
coordinate leaves [0, 1]. ``iscrowd`` regions are dropped as COCO's convention (a crowd is not one object; COCO's
evaluation ignores detections matched to it) and Ultralytics' converter does.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from yolo_alpha.data.yolo_layout import (
    IMAGE_MISSING,
    Conversion,
    Tally,
    check_out_dir,
    clip_box,
    create_out_dir,
    link_or_copy,
    require,
    write_data_yaml,
)
from yolo_alpha.errors import ConfigError
from yolo_alpha.ultralytics.converters import convert_coco_boxes

__all__ = ["coco_class_index", "convert_coco", "read_coco_json"]

ISCROWD = "iscrowd (COCO's convention: a crowd region is not one object; COCO's evaluation ignores it)"
DUPLICATE = "the same class and box again in the same image"


def is_coordinate(value: object) -> bool:
    """Return True for a JSON number or null (a null coordinate is counted as NaN, not refused)."""
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def read_coco_json(annotation_json: Path) -> dict:
    """Return the checked content of a COCO detection JSON; ConfigError naming ``json=`` and the file if malformed.

    Checked: ``images`` (unique int ``id`` and relative ``file_name`` without ``..``, positive ``width``/``height``),
    ``categories`` (unique int ``id``, ``name``) and ``annotations`` (known ``image_id`` and ``category_id``, a
    ``bbox`` of 4 numbers; NaN, inf and null are left for the box check to count).
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
            if not known or len(box) != 4 or not all(is_coordinate(v) for v in box):
                raise ValueError(f"bad annotation {annotation}")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"json={annotation_json}: not a COCO detection file: {error!r}") from error
    return data


def coco_class_index(categories: Sequence[dict]) -> dict[int, int]:
    """Return ``{category id: class index}``: the ids in ascending order numbered 0, 1, 2, ...

    For the official 80-category COCO JSON (ids 1-90 with gaps) this is exactly Ultralytics' ``cls91to80`` mapping;
    for any other JSON it keeps the classes contiguous whatever the ids are.
    """
    return {category_id: index for index, category_id in enumerate(sorted(c["id"] for c in categories))}


def kept_annotations(data: dict, images: dict[int, dict], class_index: dict[int, int], tally: Tally) -> list[dict]:
    """Return the annotations of ``images`` to write: clipped top-left ``xywh`` boxes, classes as ``index + 1``.

    Every annotation dropped (crowd, NaN, zero size, outside the image, a duplicate) is counted in ``tally``; the
    category id becomes ``class index + 1`` because Ultralytics' writer numbers classes ``category_id - 1``.
    """
    kept, seen = [], set()
    for annotation in data["annotations"]:
        image = images.get(annotation["image_id"])
        if image is None:  # its image file is missing: counted with the image
            continue
        if annotation.get("iscrowd", 0):
            tally.drop_box(ISCROWD)
            continue
        x, y, w, h = (float("nan") if v is None else float(v) for v in annotation["bbox"])
        box = clip_box(tally, (x, y, x + w, y + h), (image["width"], image["height"]), image["file_name"])
        if box is None:
            continue
        key = (annotation["image_id"], annotation["category_id"], box)
        if key in seen:
            tally.drop_box(DUPLICATE, image["file_name"])
            continue
        seen.add(key)
        category = class_index[annotation["category_id"]] + 1
        kept.append({**annotation, "category_id": category, "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
    return kept


def write_coco_labels(images: list[dict], annotations: list[dict], label_dir: Path) -> Path:
    """Return ``label_dir`` after writing one YOLO label file per image into it with Ultralytics' ``convert_coco``.

    That converter reads every JSON of a folder, so it is given a temporary JSON holding only ``images`` (renamed to
    flat stand-in names) and the already checked ``annotations``. It converts the top-left ``xywh`` box to a
    normalised centre box and writes ``%g`` (6 significant digits). Images without a kept box get an empty file.
    """
    # Flat stand-in names: Ultralytics 8.3 does not create the sub-folders of a file_name like "sub/b.jpg".
    stand_ins = [{**image, "file_name": f"{i:08d}.jpg"} for i, image in enumerate(images)]
    staging = Path(tempfile.mkdtemp(prefix=".coco-staging-", dir=label_dir.parent.parent))
    try:
        (staging / "json").mkdir()
        (staging / "json" / "split.json").write_text(json.dumps({"images": stand_ins, "annotations": annotations}))
        convert_coco_boxes(staging / "json", staging / "converted")
        converted = staging / "converted" / "labels" / "split"  # Ultralytics names the folder after the JSON's stem
        for i, image in enumerate(images):
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


def convert_coco(annotation_json: Path, images_dir: Path, out_dir: Path, split: str | None = None) -> Conversion:
    """Return the :class:`Conversion` of a YOLO-layout copy of a local COCO detection JSON and its images.

    Images (every image of the JSON found at its ``file_name`` under ``images_dir``; a missing one is counted and
    skipped) go to ``out_dir/images/<split>/``, labels to ``labels/<split>/``. ``split`` defaults to Ultralytics'
    rule, the JSON's stem without ``instances_`` (``instances_val2017.json`` -> ``val2017``). Class indices number the
    JSON's category ids in ascending order (``coco_class_index``; Ultralytics' cls91to80 for official COCO) and
    ``names`` are the categories' names in that order. One JSON is one split, so the data.yaml uses it for both train
    and val; edit it to combine splits converted separately.
    """
    annotation_json, images_dir = Path(annotation_json), Path(images_dir)
    out_dir, tally = check_out_dir(Path(out_dir)), Tally()
    require(annotation_json, "json", "COCO annotation file")
    require(images_dir, "images", "image folder")
    split = split or annotation_json.stem.replace("instances_", "")
    if not split or PurePosixPath(split).name != split or split in {".", ".."}:
        raise ConfigError(f"split={split!r}: give a plain folder name, e.g. split=val2017")
    data = read_coco_json(annotation_json)
    found = {}
    for image in data["images"]:
        if (images_dir / image["file_name"]).is_file():
            found[image["id"]] = image
        else:
            tally.drop_image(IMAGE_MISSING, image["file_name"])
    if not found:
        raise ConfigError(
            f"images={images_dir}: none of the {len(data['images'])} images of {annotation_json} is there"
        )
    class_index = coco_class_index(data["categories"])
    names = [c["name"] for c in sorted(data["categories"], key=lambda c: class_index[c["id"]])]
    annotations = kept_annotations(data, found, class_index, tally)

    create_out_dir(out_dir)
    write_coco_labels(list(found.values()), annotations, out_dir / "labels" / split)
    for image in found.values():
        link_or_copy(images_dir / image["file_name"], out_dir / "images" / split / image["file_name"])
    tally.kept_images, tally.kept_boxes = len(found), len(annotations)
    return Conversion(write_data_yaml(out_dir, [f"images/{split}"], [f"images/{split}"], names), names, tally)
