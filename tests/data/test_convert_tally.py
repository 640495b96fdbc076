"""What the converters keep, clip and drop, counted per reason: VOC XML of any tool (own classes, any image format,
a plain folder or a VOCdevkit) and COCO boxes that are NaN, empty or outside the image. No written coordinate ever
leaves [0, 1], and the source is never touched."""

import json
import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from yolo_alpha.cli import main
from yolo_alpha.data.coco import DUPLICATE
from yolo_alpha.data.convert import convert_coco, convert_voc, parse_names
from yolo_alpha.data.voc import DIFFICULT, UNKNOWN_CLASS, XML_MISSING
from yolo_alpha.data.yolo_layout import IMAGE_MISSING, NON_FINITE, NOT_POSITIVE, OUTSIDE, Tally, normalised_box
from yolo_alpha.errors import ConfigError


def voc_xml(objects: list, size: tuple[int, int] | None = (50, 40)) -> str:
    """Return a LabelImg-style VOC XML of ``objects`` ``(name, (xmin, ymin, xmax, ymax), difficult)``."""
    parts = "".join(
        f"<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{box[0]}</xmin>"
        f"<ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>"
        for name, box, difficult in objects
    )
    tag = "" if size is None else f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>"
    return f"<annotation><folder>x</folder>{tag}{parts}</annotation>"


def write_image(path: Path, size: tuple[int, int] = (50, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((size[1], size[0], 3), 127, np.uint8))
    return path


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def all_rows(out: Path) -> list[list[float]]:
    lines = [line for f in sorted(out.glob("labels/*/*.txt")) for line in f.read_text().splitlines()]
    return [[float(v) for v in line.split()] for line in lines]


# --- a plain folder of images and XML, as LabelImg writes it ---

HELMET, VEST = ("helmet", (5, 5, 25, 21), 0), ("vest", (30, 10, 45, 30), 0)


@pytest.fixture
def labelimg(tmp_path) -> Path:
    """Return a folder of 6 PNG/JPEG images with LabelImg XML files beside them, with the tool's own classes."""
    root = tmp_path / "labelimg"
    for i in range(6):
        write_image(root / f"shot{i}.{'png' if i % 2 else 'JPG'}")
        (root / f"shot{i}.xml").write_text(voc_xml([HELMET, VEST] if i < 5 else [HELMET]))
    return root


def test_a_labelimg_folder_keeps_its_own_classes_and_image_formats(labelimg, tmp_path):
    before = tree_bytes(labelimg)
    done = convert_voc(labelimg, tmp_path / "out")
    out = tmp_path / "out"

    assert tree_bytes(labelimg) == before
    assert done.names == ["helmet", "vest"]
    data = yaml.safe_load(done.data_yaml.read_text())
    assert (data["train"], data["val"], data["names"]) == ("images/train", "images/val", {0: "helmet", 1: "vest"})
    images = sorted(p.name for p in out.glob("images/*/*"))
    assert images == ["shot0.JPG", "shot1.png", "shot2.JPG", "shot3.png", "shot4.JPG", "shot5.png"]
    assert len(list(out.glob("images/val/*"))) == round(6 * 0.2)  # val_fraction's default
    assert (done.tally.kept_images, done.tally.kept_boxes, sum(done.tally.boxes.values())) == (6, 11, 0)
    label = next(out.glob("labels/*/shot0.txt"))
    # VOC's rule: x1 = (xmin - 1) / W, x2 = (xmax - 1) / W. helmet: x 4..24 of 50, y 4..20 of 40.
    expected = [(0, 14 / 50, 12 / 40, 20 / 50, 16 / 40), (1, (29 + 44) / 2 / 50, (9 + 29) / 2 / 40, 15 / 50, 20 / 40)]
    assert [[float(v) for v in line.split()] for line in label.read_text().splitlines()] == [
        pytest.approx(row, abs=1e-6) for row in expected
    ]


def test_the_split_is_seeded_and_val_fraction_sizes_it(labelimg, tmp_path):
    def val_images(out, **keys):
        convert_voc(labelimg, tmp_path / out, **keys)
        return sorted(p.name for p in (tmp_path / out / "images" / "val").iterdir())

    assert val_images("a") == val_images("b")  # the same seed gives the same split
    assert len(val_images("c", val_fraction=0.5)) == 3
    assert len(val_images("d", val_fraction=0.01)) == 1  # at least one val image, and one train image
    seeds = {tuple(val_images(f"seed{s}", seed=s, val_fraction=0.5)) for s in range(4)}
    assert len(seeds) > 1


def test_names_keep_their_order_and_drop_other_classes_with_a_count(labelimg, tmp_path):
    (tmp_path / "classes.txt").write_text("vest\nhelmet\n")
    done = convert_voc(labelimg, tmp_path / "out", names=parse_names(str(tmp_path / "classes.txt")))
    assert done.names == ["vest", "helmet"]
    done = convert_voc(labelimg, tmp_path / "out2", names=parse_names("helmet"))
    assert done.tally.boxes == {UNKNOWN_CLASS: 5} and done.tally.examples[UNKNOWN_CLASS] == ["vest"]
    assert {row[0] for row in all_rows(tmp_path / "out2")} == {0}


def test_ultralytics_loads_a_labelimg_folder(labelimg, tmp_path):
    from ultralytics.data.utils import check_det_dataset

    from yolo_alpha.offline import provide_fonts

    provide_fonts(__import__("ultralytics.utils").utils.USER_CONFIG_DIR)
    data = check_det_dataset(str(convert_voc(labelimg, tmp_path / "out").data_yaml))
    assert (data["nc"], Path(data["train"]).name, Path(data["val"]).name) == (2, "train", "val")


def test_cvat_layout_and_name_collisions(tmp_path):
    """CVAT exports Annotations/ beside JPEGImages/; two sub-folders may hold the same file name."""
    root = tmp_path / "cvat"
    for sub in ("a", "b"):
        write_image(root / sub / "JPEGImages" / "frame.png")
        (root / sub / "Annotations").mkdir(parents=True)
        (root / sub / "Annotations" / "frame.xml").write_text(voc_xml([HELMET]))
    convert_voc(root, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").glob("images/*/*"))
    assert names == ["a__JPEGImages__frame.png", "b__JPEGImages__frame.png"]
    assert len(list((tmp_path / "out").glob("labels/*/*.txt"))) == 2


# --- every reason a VOC box or image is left out, counted ---


def test_every_voc_drop_reason_is_counted_and_the_rest_kept(tmp_path):
    root = tmp_path / "odd"
    write_image(root / "a.png")
    (root / "a.xml").write_text(
        voc_xml([
            ("cat", (1, 1, 51, 41), 0),  # the whole 50 x 40 image: kept as is
            ("cat", (-9, 5, 20, 30), 0),  # sticks out on the left: clipped
            ("cat", (60, 5, 80, 30), 0),  # wholly right of the image
            ("cat", (10, 10, 10, 30), 0),  # zero width
            ("cat", (20, 10, 10, 30), 0),  # negative width
            ("cat", ("nan", 10, 20, 30), 0),
            ("cat", (5, 5, 20, 20), 1),  # difficult
        ])
    )  # fmt: skip
    write_image(root / "no_size.png", (64, 32))
    (root / "no_size.xml").write_text(voc_xml([("dog", (1, 1, 65, 33), 0)], size=None))  # size read from the image
    (root / "orphan.xml").write_text(voc_xml([("dog", (1, 1, 5, 5), 0)]))  # its image is missing
    done = convert_voc(root, tmp_path / "out")

    tally = done.tally
    assert tally.boxes == {OUTSIDE: 1, NOT_POSITIVE: 2, NON_FINITE: 1, DIFFICULT: 1}
    assert tally.images == {IMAGE_MISSING: 1} and tally.examples[IMAGE_MISSING] == ["orphan.*"]
    assert (tally.kept_images, tally.kept_boxes, tally.clipped) == (2, 3, 1)
    rows = all_rows(tmp_path / "out")
    # Clipped: x -10..19 of 50 becomes 0..19; y 4..29 of 40 is inside. The image without <size> is 64 x 32.
    assert sorted(rows) == [
        pytest.approx([0, 19 / 2 / 50, (4 + 29) / 2 / 40, 19 / 50, 25 / 40], abs=1e-6),
        [0, 0.5, 0.5, 1.0, 1.0],
        [1, 0.5, 0.5, 1.0, 1.0],
    ]
    lines = tally.lines()
    assert lines[0] == "kept 3 boxes in 2 images" and "clipped 1 boxes to the image (they stuck out of it)" in lines
    assert f"dropped 1 images: {IMAGE_MISSING} (e.g. orphan.*)" in lines


def test_a_vocdevkit_with_png_images_and_missing_files(tmp_path):
    year = tmp_path / "voc" / "VOCdevkit" / "VOC2007"
    (year / "ImageSets" / "Main").mkdir(parents=True)
    (year / "Annotations").mkdir()
    for split, ids in (("trainval", ["1", "2", "3"]), ("test", ["4"])):
        (year / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    for image_id in ("1", "2", "4"):
        write_image(year / "JPEGImages" / f"{image_id}.png")
    for image_id in ("1", "3", "4"):
        (year / "Annotations" / f"{image_id}.xml").write_text(voc_xml([HELMET]))
    done = convert_voc(tmp_path / "voc", tmp_path / "out", splits=[("2007", "trainval"), ("2007", "test")])

    assert sorted(p.name for p in (tmp_path / "out" / "images" / "trainval2007").iterdir()) == ["1.png"]
    assert done.tally.images == {IMAGE_MISSING: 1, XML_MISSING: 1}
    assert done.tally.examples[IMAGE_MISSING] == ["VOC2007/JPEGImages/3.*"]
    (year / "JPEGImages" / "4.png").unlink()  # the test split is left with no image at all
    with pytest.raises(ConfigError, match=re.escape("no image with its annotation found for test2007")):
        convert_voc(tmp_path / "voc", tmp_path / "out2", splits=[("2007", "trainval"), ("2007", "test")])
    assert not (tmp_path / "out2").exists()


def test_a_vocdevkit_refuses_a_random_split_and_unreadable_images_leave_no_out_folder(tmp_path):
    year = tmp_path / "voc" / "VOCdevkit" / "VOC2007"
    (year / "ImageSets" / "Main").mkdir(parents=True)
    (year / "Annotations").mkdir()
    for split, image_id in (("trainval", "1"), ("test", "2")):
        (year / "ImageSets" / "Main" / f"{split}.txt").write_text(f"{image_id}\n")
        write_image(year / "JPEGImages" / f"{image_id}.jpg")
        (year / "Annotations" / f"{image_id}.xml").write_text(voc_xml([HELMET], size=None))  # size from the image
    splits = [("2007", "trainval"), ("2007", "test")]
    for keys in ({"val_fraction": 0.3}, {"seed": 1}):
        with pytest.raises(ConfigError, match=r"is a VOCdevkit, whose ImageSets split files decide"):
            convert_voc(tmp_path / "voc", tmp_path / "out", splits=splits, **keys)
    (year / "JPEGImages" / "2.jpg").write_bytes(b"not an image")  # no <size>, and the header cannot be read
    with pytest.raises(ConfigError, match=re.escape("no image with its annotation found for test2007")):
        convert_voc(tmp_path / "voc", tmp_path / "out", splits=splits)
    assert not (tmp_path / "out").exists()  # every image was read before anything was written


# --- COCO ---


def coco_set(tmp_path: Path, boxes: list) -> tuple[Path, Path]:
    """Return ``(json, image folder)`` of one 100 x 50 image holding ``boxes`` (COCO top-left x, y, w, h)."""
    write_image(tmp_path / "coco" / "images" / "a.jpg", (100, 50))
    content = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 50},
                   {"id": 2, "file_name": "gone.jpg", "width": 100, "height": 50}],
        "annotations": [{"id": n, "image_id": 1, "category_id": 1, "bbox": b} for n, b in enumerate(boxes)],
        "categories": [{"id": 1, "name": "thing"}],
    }  # fmt: skip
    path = tmp_path / "coco" / "instances_val.json"
    path.write_text(json.dumps(content))  # json writes NaN and Infinity as JavaScript does; json.loads reads them
    return path, tmp_path / "coco" / "images"


def test_coco_boxes_are_clipped_or_dropped_with_counts(tmp_path):
    boxes = [
        [10, 10, 20, 20],  # kept
        [90, 40, 30, 30],  # sticks out right and bottom: clipped to x 90..100, y 40..50
        [-5, -5, 10, 10],  # sticks out left and top: clipped to 0..5
        [float("nan"), 1, 2, 3],
        [1, 1, float("inf"), 3],
        [1, 1, None, 3],
        [10, 10, -4, 5],  # negative width
        [10, 10, 0, 5],
        [150, 10, 10, 10],  # wholly outside
        [10, 10, 20, 20],  # the first again
    ]
    json_path, images = coco_set(tmp_path, boxes)
    done = convert_coco(json_path, images, tmp_path / "out")

    rows = all_rows(tmp_path / "out")
    assert rows == [
        pytest.approx([0, 0.2, 0.4, 0.2, 0.4]),
        pytest.approx([0, 0.95, 0.9, 0.1, 0.2]),
        pytest.approx([0, 0.025, 0.05, 0.05, 0.1]),
    ]
    assert all(0 <= v <= 1 for row in rows for v in row[1:])
    assert done.tally.boxes == {
        NON_FINITE: 3,
        NOT_POSITIVE: 2,
        OUTSIDE: 1,
        DUPLICATE: 1,
    }
    assert (done.tally.clipped, done.tally.kept_boxes, done.tally.kept_images) == (2, 3, 1)
    assert done.tally.images == {IMAGE_MISSING: 1}


@given(
    st.tuples(*[st.floats(-1e4, 1e4) | st.sampled_from([math.nan, math.inf, -math.inf])] * 4),
    st.tuples(st.integers(1, 4000), st.integers(1, 4000)),
)
def test_a_kept_box_lies_in_the_image_and_has_a_size(box, size):
    tally = Tally()
    kept = normalised_box(tally, box, size)
    if kept is None:
        assert sum(tally.boxes.values()) == 1
    else:
        cx, cy, w, h = kept
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in kept) and w > 0 and h > 0
        tolerance = 1e-12  # the corners are recomputed from the centre in floating point
        assert -tolerance <= cx - w / 2 and cx + w / 2 <= 1 + tolerance
        assert -tolerance <= cy - h / 2 and cy + h / 2 <= 1 + tolerance


# --- names= and the command line ---


def test_parse_names(tmp_path):
    (tmp_path / "classes.txt").write_text("cat\n\n dog \n")
    assert parse_names("cat, dog") == ["cat", "dog"] == parse_names(str(tmp_path / "classes.txt"))
    assert parse_names(["cat", "dog"]) == ["cat", "dog"]
    for bad in ("cat,cat", ",", str(tmp_path / "none.txt")):
        with pytest.raises(ConfigError, match=re.escape("names=")):
            parse_names(bad)


def test_the_data_verb_prints_the_tally_then_the_data_yaml(labelimg, tmp_path, capsys):
    (labelimg / "shot0.xml").write_text(voc_xml([HELMET, ("vest", (10, 10, 10, 30), 0)]))
    assert main(["data", "voc", f"root={labelimg}", f"out={tmp_path / 'out'}", "names=helmet,vest"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "classes (2): helmet, vest"
    assert f"dropped 1 boxes: {NOT_POSITIVE} (e.g. shot0.xml)" in lines
    assert lines[-1] == str(tmp_path / "out" / "data.yaml")


@pytest.mark.parametrize(
    "keys, message",
    [
        (["out=OUT"], "out=OUT: exists and is not an empty folder"),
        (["out=NEW", "val_fraction=1"], "val_fraction must be a finite number in (0, 1), got 1"),
        (["out=NEW", "names=a,a"], "names='a,a': give distinct"),
        (["out=NEW", "split=x"], "'split' is not a valid data voc key"),
    ],
)
def test_bad_data_keys_are_one_line_and_create_nothing(labelimg, tmp_path, capsys, keys, message):
    (tmp_path / "OUT").mkdir()
    (tmp_path / "OUT" / "mine").write_text("x")
    keys = [k.replace("OUT", str(tmp_path / "OUT")).replace("NEW", str(tmp_path / "NEW")) for k in keys]
    assert main(["data", "voc", f"root={labelimg}", *keys]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yolo-alpha: error: ") and message.replace("OUT", str(tmp_path / "OUT")) in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "NEW").exists() and tree_bytes(tmp_path / "OUT") == {"mine": b"x"}
