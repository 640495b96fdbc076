"""VOC and COCO converters: labels against hand-computed values and Ultralytics' own VOC rule, the source left
untouched, data.yaml splits, Ultralytics loading the result, and the refusals (out= taken or impossible, missing or
malformed input). What the converters drop, clip and count: tests/data/test_convert_tally.py."""

import json
import os
import re
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from yolo_alpha.data.convert import (
    coco_class_index,
    convert_coco,
    convert_voc,
    voc_box_to_yolo,
    voc_class_names,
    voc_roles,
)
from yolo_alpha.errors import ConfigError

VOC_LABEL_LINE = re.compile(r"^\d+ -?\d\.\d{6} -?\d\.\d{6} \d\.\d{6} \d\.\d{6}$")

# VOC images: (year, split, id, (width, height), [(name, (xmin, ymin, xmax, ymax), difficult or None = no tag)])
VOC_IMAGES = [
    ("2007", "trainval", "000001", (64, 48), [
        ("dog", (11, 9, 31, 29), 0),
        ("person", (2, 2, 20, 40), 1),  # difficult: skipped
        ("person", (1, 1, 64, 48), 0),  # the whole image
    ]),
    ("2007", "trainval", "000002", (50, 40), [("cat", (5, 5, 25, 35), 0), ("unicorn", (1, 1, 9, 9), 0)]),
    ("2007", "test", "000003", (40, 32), [("car", (10, 8, 30, 24), 0)]),
    ("2007", "test", "000004", (40, 32), [("car", (10, 8, 30, 24), 1)]),  # only a difficult object
    ("2012", "trainval", "2012_000001", (60, 60), [("bird", (1, 1, 60, 60), None)]),  # no <difficult> tag
]  # fmt: skip

# Hand-computed labels. VOC.yaml's rule: cx = ((xmin + xmax) / 2 - 1) / W, w = (xmax - xmin) / W, same for y with H.
VOC_EXPECTED = {
    ("trainval2007", "000001"): [
        (11, ((11 + 31) / 2 - 1) / 64, ((9 + 29) / 2 - 1) / 48, (31 - 11) / 64, (29 - 9) / 48),  # dog = class 11
        (14, ((1 + 64) / 2 - 1) / 64, ((1 + 48) / 2 - 1) / 48, 63 / 64, 47 / 48),  # person = 14; the 1-px shift
    ],
    ("trainval2007", "000002"): [(7, ((5 + 25) / 2 - 1) / 50, ((5 + 35) / 2 - 1) / 40, 20 / 50, 30 / 40)],  # cat 7
    ("test2007", "000003"): [(6, ((10 + 30) / 2 - 1) / 40, ((8 + 24) / 2 - 1) / 32, 20 / 40, 16 / 32)],  # car = 6
    ("test2007", "000004"): [],  # its only object is difficult: an empty label file, as Ultralytics' script writes
    ("trainval2012", "2012_000001"): [(2, 29.5 / 60, 29.5 / 60, 59 / 60, 59 / 60)],  # bird = 2; missing tag kept
}


def voc_xml(size: tuple[int, int], objects: list) -> str:
    """Return the text of a VOC annotation of an image of ``size`` (w, h) holding ``objects``."""
    parts = []
    for name, (xmin, ymin, xmax, ymax), difficult in objects:
        tag = "" if difficult is None else f"<difficult>{difficult}</difficult>"
        parts.append(
            f"<object><name>{name}</name>{tag}<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
        )
    width, height = size
    return f"<annotation><size><width>{width}</width><height>{height}</height><depth>3</depth></size>{''.join(parts)}</annotation>"  # noqa: E501


def write_image(path: Path, size: tuple[int, int], seed: int) -> None:
    """Write a noise JPEG of ``size`` (w, h) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), image)


def make_voc_tree(root: Path) -> Path:
    """Return ``root`` after writing a tiny VOCdevkit of ``VOC_IMAGES`` under it."""
    for seed, (year, split, image_id, size, objects) in enumerate(VOC_IMAGES):
        year_dir = root / "VOCdevkit" / f"VOC{year}"
        write_image(year_dir / "JPEGImages" / f"{image_id}.jpg", size, seed)
        (year_dir / "Annotations").mkdir(exist_ok=True)
        (year_dir / "Annotations" / f"{image_id}.xml").write_text(voc_xml(size, objects))
        (year_dir / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        with open(year_dir / "ImageSets" / "Main" / f"{split}.txt", "a") as file:
            file.write(f"{image_id}\n")
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Return ``{relative path: content}`` of every file under ``root``."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def read_rows(label: Path) -> list[list[float]]:
    """Return the rows of a YOLO label file as lists of floats."""
    return [[float(v) for v in line.split()] for line in label.read_text().splitlines()]


@pytest.fixture(scope="module", autouse=True)
def fonts():
    """Put a font where Ultralytics looks, so check_det_dataset does not try to download one."""
    import ultralytics.utils

    from yolo_alpha.offline import provide_fonts

    provide_fonts(ultralytics.utils.USER_CONFIG_DIR)


@pytest.fixture
def voc_root(tmp_path) -> Path:
    return make_voc_tree(tmp_path / "voc")


def load_with_ultralytics(data_yaml: Path, split: str) -> dict[str, np.ndarray]:
    """Return ``{image stem: (N, 5) cls cx cy w h}`` of ``split`` as check_det_dataset and YOLODataset read it."""
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    data = check_det_dataset(str(data_yaml))
    dataset = YOLODataset(img_path=data[split], data=data, imgsz=64, augment=False)
    return {Path(lb["im_file"]).stem: np.hstack([lb["cls"], lb["bboxes"]]).reshape(-1, 5) for lb in dataset.labels}


# --- VOC ---


def test_voc_class_names_are_ultralytics_own():
    from ultralytics.utils import ROOT

    shipped = yaml.safe_load((ROOT / "cfg" / "datasets" / "VOC.yaml").read_text())["names"]
    assert voc_class_names() == [shipped[i] for i in range(20)]
    assert (voc_class_names()[2], voc_class_names()[6], voc_class_names()[7]) == ("bird", "car", "cat")
    assert (voc_class_names()[11], voc_class_names()[14]) == ("dog", "person")


def test_voc_box_rule_is_the_one_in_ultralytics_voc_yaml():
    """Run ``convert_box`` cut out of the download script that Ultralytics ships, against ours."""
    from ultralytics.utils import ROOT

    script = yaml.safe_load((ROOT / "cfg" / "datasets" / "VOC.yaml").read_text())["download"]
    source = re.search(r"( *)def convert_box\(.*?\n(?:\1 .*\n)+", script).group(0)
    namespace = {}
    exec(textwrap.dedent(source), namespace)
    for size, box in [((64, 48), (11, 31, 9, 29)), ((500, 375), (1, 500, 1, 375)), ((353, 500), (48.5, 195, 240, 371))]:
        assert voc_box_to_yolo(size, box) == pytest.approx(namespace["convert_box"](size, box), abs=1e-12)


def test_voc_labels_images_and_yaml(voc_root, tmp_path):
    before = tree_bytes(voc_root)
    done = convert_voc(voc_root, tmp_path / "out", names=voc_class_names())  # Ultralytics' ids: its labels exactly
    data_yaml, out = done.data_yaml, tmp_path / "out"

    assert tree_bytes(voc_root) == before  # the source is untouched
    for (folder, image_id), rows in VOC_EXPECTED.items():
        label = out / "labels" / folder / f"{image_id}.txt"
        expected = "".join(f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, x, y, w, h in rows)
        assert label.read_text() == expected, label
        assert all(VOC_LABEL_LINE.match(line) for line in label.read_text().splitlines())
        year = folder[-4:]
        image = out / "images" / folder / f"{image_id}.jpg"
        assert image.samefile(voc_root / "VOCdevkit" / f"VOC{year}" / "JPEGImages" / image.name)  # one file system
    assert sorted(p.name for p in (out / "images").iterdir()) == ["test2007", "trainval2007", "trainval2012"]

    data = yaml.safe_load(data_yaml.read_text())
    assert data_yaml == out / "data.yaml"
    assert data["path"] == str(out.resolve())
    assert data["train"] == ["images/trainval2007", "images/trainval2012"]
    assert data["val"] == "images/test2007"
    assert data["names"] == dict(enumerate(voc_class_names()))
    # What was left out is counted: the two difficult persons/cars and the unicorn, which is not a VOC class.
    assert (done.tally.kept_images, done.tally.kept_boxes, done.tally.clipped) == (5, 5, 0)
    assert sum(done.tally.boxes.values()) == 3 and done.tally.examples["class not in names="] == ["unicorn"]


def test_voc_names_default_to_the_sorted_names_of_the_xml_files(voc_root, tmp_path):
    done = convert_voc(voc_root, tmp_path / "out")
    names = ["bird", "car", "cat", "dog", "person", "unicorn"]  # every <name> of the fixture, difficult ones too
    assert done.names == names
    assert yaml.safe_load(done.data_yaml.read_text())["names"] == dict(enumerate(names))
    label = tmp_path / "out" / "labels" / "trainval2007" / "000002.txt"
    assert [row[0] for row in read_rows(label)] == [names.index("cat"), names.index("unicorn")]  # nothing dropped
    # On real VOC the rule gives Ultralytics' 20 names in its order: they are sorted.
    assert voc_class_names() == sorted(voc_class_names())


def test_ultralytics_loads_the_voc_set(voc_root, tmp_path):
    data_yaml = convert_voc(voc_root, tmp_path / "out", names=voc_class_names()).data_yaml
    for split, folders in (("train", ("trainval2007", "trainval2012")), ("val", ("test2007",))):
        loaded = load_with_ultralytics(data_yaml, split)
        expected = {i: rows for (folder, i), rows in VOC_EXPECTED.items() if folder in folders}
        assert loaded.keys() == expected.keys()
        for image_id, rows in expected.items():
            # Ultralytics reads our 6-decimal text and stores float32.
            assert loaded[image_id] == pytest.approx(np.array(rows).reshape(-1, 5), abs=1e-6), image_id
    assert tree_bytes(voc_root) == tree_bytes(make_voc_tree(tmp_path / "fresh"))  # loading left the source as well


def test_images_are_copied_where_hard_links_fail(voc_root, tmp_path, monkeypatch):
    def refuse(*args):
        raise OSError("cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    convert_voc(voc_root, tmp_path / "out")
    image, source = tmp_path / "out" / "images" / "test2007" / "000003.jpg", voc_root / "VOCdevkit" / "VOC2007"
    assert not image.samefile(source / "JPEGImages" / "000003.jpg")
    assert image.read_bytes() == (source / "JPEGImages" / "000003.jpg").read_bytes()


def test_voc_root_may_be_the_devkit_folder_and_splits_choose_roles(voc_root, tmp_path):
    splits = [("2007", "trainval"), ("2007", "test")]
    data = yaml.safe_load(convert_voc(voc_root / "VOCdevkit", tmp_path / "out", splits=splits).data_yaml.read_text())
    assert (data["train"], data["val"]) == ("images/trainval2007", "images/test2007")
    # Without a test split (VOC2012 publishes no test labels) the val split validates; Ultralytics' VOC.yaml order.
    assert voc_roles([("2012", "train"), ("2012", "val")]) == (["images/train2012"], ["images/val2012"])
    with pytest.raises(ConfigError, match="split"):
        voc_roles([("2007", "trainval"), ("2012", "trainval")])


# --- COCO ---

# Non-contiguous category ids, listed out of order: classes number them ascending (1 -> 0, 3 -> 1, 7 -> 2).
COCO_CATEGORIES = [{"id": 7, "name": "zebra"}, {"id": 1, "name": "cat"}, {"id": 3, "name": "dog"}]
COCO_IMAGES = [  # (id, file_name, (width, height))
    (10, "a.jpg", (100, 50)),
    (11, "sub/b.jpg", (30, 30)),
    (12, "c.jpg", (20, 20)),  # no annotation: an empty label file (background)
]
COCO_ANNOTATIONS = [  # (image id, category id, top-left xywh, iscrowd)
    (10, 1, [10, 5, 20, 10], 0),
    (10, 7, [0, 0, 100, 50], 0),
    (10, 3, [50, 10, 30, 30], 1),  # iscrowd: skipped
    (11, 3, [4, 8, 12, 16], 0),
]
# Hand-computed: cx = (x + w / 2) / W, cy = (y + h / 2) / H, w / W, h / H.
COCO_EXPECTED = {
    "a": [
        (0, (10 + 20 / 2) / 100, (5 + 10 / 2) / 50, 20 / 100, 10 / 50),  # cat: id 1 -> class 0
        (2, 0.5, 0.5, 1.0, 1.0),  # zebra: id 7 -> class 2; the whole image
    ],
    "b": [(1, (4 + 12 / 2) / 30, (8 + 16 / 2) / 30, 12 / 30, 16 / 30)],  # dog: id 3 -> class 1
    "c": [],
}


@pytest.fixture
def coco_files(tmp_path) -> tuple[Path, Path]:
    """Return ``(annotation json, image folder)`` of a tiny COCO set."""
    images_dir = tmp_path / "coco" / "images"
    for seed, (_, file_name, size) in enumerate(COCO_IMAGES):
        write_image(images_dir / file_name, size, seed)
    content = {
        "images": [{"id": i, "file_name": f, "width": w, "height": h} for i, f, (w, h) in COCO_IMAGES],
        "annotations": [
            {"id": n, "image_id": i, "category_id": c, "bbox": box, "area": box[2] * box[3], "iscrowd": crowd}
            for n, (i, c, box, crowd) in enumerate(COCO_ANNOTATIONS)
        ],
        "categories": COCO_CATEGORIES,
    }
    annotation_json = tmp_path / "coco" / "instances_val2017.json"
    annotation_json.write_text(json.dumps(content))
    return annotation_json, images_dir


def test_coco_labels_names_and_images(coco_files, tmp_path):
    annotation_json, images_dir = coco_files
    before = tree_bytes(annotation_json.parent)
    done = convert_coco(annotation_json, images_dir, tmp_path / "out")
    data_yaml, out = done.data_yaml, tmp_path / "out"

    assert tree_bytes(annotation_json.parent) == before
    for stem, rows in COCO_EXPECTED.items():
        name = next(f for _, f, _ in COCO_IMAGES if Path(f).stem == stem)
        label = (out / "labels" / "val2017" / name).with_suffix(".txt")  # split from the JSON name, as Ultralytics
        assert read_rows(label) == [pytest.approx(row, abs=1e-6) for row in rows], label
        assert (out / "images" / "val2017" / name).read_bytes() == (images_dir / name).read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["data.yaml", "images", "labels"]  # no staging left behind

    data = yaml.safe_load(data_yaml.read_text())
    assert data["names"] == {0: "cat", 1: "dog", 2: "zebra"}
    assert data["train"] == data["val"] == "images/val2017"
    assert done.tally.boxes == {"iscrowd (COCO's convention: a crowd region is not one object; COCO's evaluation "
                                "ignores it)": 1}  # fmt: skip


def test_ultralytics_loads_the_coco_set(coco_files, tmp_path):
    data_yaml = convert_coco(*coco_files, tmp_path / "out", split="mini").data_yaml
    loaded = load_with_ultralytics(data_yaml, "val")
    assert loaded.keys() == COCO_EXPECTED.keys()
    for stem, rows in COCO_EXPECTED.items():
        assert loaded[stem] == pytest.approx(np.array(rows).reshape(-1, 5), abs=1e-6), stem


def test_coco_class_index_equals_ultralytics_cls91to80_on_official_ids():
    from ultralytics.data.converter import coco91_to_coco80_class

    table = coco91_to_coco80_class()  # index: official id - 1; None where the id is unused
    official = [{"id": i + 1} for i, cls in enumerate(table) if cls is not None]
    assert coco_class_index(official) == {i + 1: cls for i, cls in enumerate(table) if cls is not None}


# --- refusals ---


def test_non_empty_out_dir_is_refused_and_kept(voc_root, coco_files, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    message = f"out={out}: exists and is not an empty folder; give a new folder"
    with pytest.raises(ConfigError, match=re.escape(message)):
        convert_voc(voc_root, out)
    with pytest.raises(ConfigError, match=re.escape(message)):
        convert_coco(*coco_files, out)
    assert tree_bytes(out) == {"mine.txt": b"keep"}


def test_empty_out_dir_is_used(voc_root, tmp_path):
    (tmp_path / "out").mkdir()
    assert convert_voc(voc_root, tmp_path / "out").data_yaml.is_file()


def test_out_dir_that_cannot_be_created_is_named(voc_root, coco_files, tmp_path):
    (tmp_path / "a_file").write_text("x")
    out = tmp_path / "a_file" / "out"
    for convert in (lambda: convert_voc(voc_root, out), lambda: convert_coco(*coco_files, out)):
        with pytest.raises(ConfigError, match=re.escape(f"out={out}: cannot be created ({tmp_path / 'a_file'} is not")):
            convert()
    assert (tmp_path / "a_file").read_text() == "x"


def test_missing_voc_inputs_are_named(voc_root, tmp_path):
    with pytest.raises(ConfigError, match=r"root=.*VOC2009 not found"):
        convert_voc(voc_root, tmp_path / "out", splits=[("2009", "trainval"), ("2007", "test")])
    with pytest.raises(ConfigError, match=re.escape("val.txt")):
        convert_voc(voc_root, tmp_path / "out", splits=[("2012", "trainval"), ("2012", "val")])
    with pytest.raises(ConfigError, match=re.escape(f"root={tmp_path / 'nowhere'}: no such folder")):
        convert_voc(tmp_path / "nowhere", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # everything is checked before anything is written


def test_missing_coco_inputs_are_named(coco_files, tmp_path):
    annotation_json, images_dir = coco_files
    missing = annotation_json.with_name("instances_train2017.json")
    with pytest.raises(ConfigError, match=re.escape(f"json={missing}: no such COCO annotation file")):
        convert_coco(missing, images_dir, tmp_path / "out")
    with pytest.raises(ConfigError, match=re.escape(f"images={tmp_path}: none of the 3 images")):
        convert_coco(annotation_json, tmp_path, tmp_path / "out")
    with pytest.raises(ConfigError, match=re.escape("split='a/b': give a plain folder name")):
        convert_coco(annotation_json, images_dir, tmp_path / "out", split="a/b")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text",
    ["<annotation><size><width>64", voc_xml((64, 48), [("dog", (1, 2, 3, 4), 0)]).replace("<xmax>3</xmax>", "")],
    ids=["truncated", "no-xmax"],
)
def test_malformed_xml_is_named(voc_root, tmp_path, text):
    bad = voc_root / "VOCdevkit" / "VOC2012" / "Annotations" / "2012_000001.xml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(str(bad))):
        convert_voc(voc_root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text[:-5],  # truncated JSON
        lambda text: text.replace('"category_id": 7', '"category_id": 8'),  # an id no category has
        lambda text: text.replace('"images"', '"pictures"'),
    ],
    ids=["truncated", "unknown-category", "no-images"],
)
def test_malformed_json_is_named(coco_files, tmp_path, edit):
    annotation_json, images_dir = coco_files
    annotation_json.write_text(edit(annotation_json.read_text()))
    with pytest.raises(ConfigError, match=re.escape(f"json={annotation_json}")):
        convert_coco(annotation_json, images_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()
