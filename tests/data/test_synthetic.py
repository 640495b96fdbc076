"""The embedded synthetic detection set: determinism, valid YOLO labels, variety, the visible-box rule, the cache,
and that Ultralytics loads what it writes."""

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from yolo_alpha.data import synthetic
from yolo_alpha.data.synthetic import (
    CLASS_NAMES,
    SyntheticSpec,
    is_synthetic,
    synthetic_dataset,
    synthetic_spec,
    synthetic_yaml,
    write_synthetic_dataset,
)
from yolo_alpha.data.synthetic_scene import MIN_VISIBLE_FRACTION, label_visible_objects, visible_box
from yolo_alpha.data.synthetic_shapes import coverage_mask, shape_polygons
from yolo_alpha.errors import ConfigError

TINY = SyntheticSpec(n_train=12, n_val=4, imgsz=64)
LABEL_LINE = re.compile(r"^\d+ \d\.\d{6} \d\.\d{6} \d\.\d{6} \d\.\d{6}$")


def split_files(root: Path, kind: str, split: str) -> list[Path]:
    """Return the sorted files of ``root/<kind>/<split>``."""
    return sorted((root / kind / split).iterdir())


def read_labels(root: Path, split: str) -> list[np.ndarray]:
    """Return one float (N, 5) array of ``cls cx cy w h`` rows per label file of ``split``, in file order."""
    return [
        np.array([line.split() for line in path.read_text().splitlines()], dtype=float).reshape(-1, 5)
        for path in split_files(root, "labels", split)
        if path.suffix == ".txt"
    ]


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    """A tiny set written once for the tests that only read it."""
    root = tmp_path_factory.mktemp("tiny") / "set"
    write_synthetic_dataset(root, TINY)
    return root


@pytest.fixture(scope="module")
def sample_labels(tmp_path_factory) -> list[np.ndarray]:
    """Labels of 60 training images at 128 px: enough for statistics on classes, shapes and occlusion."""
    root = tmp_path_factory.mktemp("sample") / "set"
    write_synthetic_dataset(root, SyntheticSpec(n_train=60, n_val=1, imgsz=128, seed=1))
    return read_labels(root, "train")


# --- determinism ---


def test_same_spec_writes_identical_bytes_and_another_seed_does_not(tmp_path, tiny_root):
    write_synthetic_dataset(tmp_path / "again", TINY)
    write_synthetic_dataset(tmp_path / "other_seed", SyntheticSpec(n_train=12, n_val=4, imgsz=64, seed=1))
    for kind in ("images", "labels"):
        for split in ("train", "val"):
            names = [p.name for p in split_files(tiny_root, kind, split)]
            assert names == [p.name for p in split_files(tmp_path / "again", kind, split)]
            for name in names:
                again = tmp_path / "again" / kind / split / name
                assert (tiny_root / kind / split / name).read_bytes() == again.read_bytes()
    differing = [
        p.name
        for p in split_files(tiny_root, "images", "train")
        if p.read_bytes() != (tmp_path / "other_seed" / "images" / "train" / p.name).read_bytes()
    ]
    assert len(differing) == TINY.n_train


def test_an_image_depends_only_on_seed_split_and_index(tmp_path, tiny_root):
    # A longer set starts with the same images: image i does not consume randomness that image i+1 needs.
    write_synthetic_dataset(tmp_path / "longer", SyntheticSpec(n_train=14, n_val=4, imgsz=64))
    for path in split_files(tiny_root, "images", "train"):
        assert path.read_bytes() == (tmp_path / "longer" / "images" / "train" / path.name).read_bytes()


# --- layout and label validity ---


def test_layout_and_data_yaml(tiny_root):
    for split, count in (("train", TINY.n_train), ("val", TINY.n_val)):
        images = split_files(tiny_root, "images", split)
        labels = split_files(tiny_root, "labels", split)
        assert [p.name for p in images] == [f"{i:06d}.png" for i in range(count)]
        assert [p.stem for p in labels] == [p.stem for p in images]
        for path in images:
            assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape == (TINY.imgsz, TINY.imgsz, 3)
    data = yaml.safe_load((tiny_root / "data.yaml").read_text())
    assert data == {
        "path": str(tiny_root.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(CLASS_NAMES)),
    }


def test_every_label_line_is_a_valid_normalised_box(tiny_root):
    lines = [line for path in tiny_root.glob("labels/*/*.txt") for line in path.read_text().splitlines()]
    assert lines, "a tiny set without a single object would test nothing"
    for line in lines:
        assert LABEL_LINE.match(line), line
        class_id, cx, cy, w, h = (float(v) for v in line.split())
        assert class_id in range(len(CLASS_NAMES))
        assert 0 < w <= 1 and 0 < h <= 1
        # 6 decimals: an edge may land 5e-7 outside [0, 1] after rounding, never more.
        assert cx - w / 2 >= -1e-6 and cx + w / 2 <= 1 + 1e-6
        assert cy - h / 2 >= -1e-6 and cy + h / 2 <= 1 + 1e-6
        # Boxes come from whole pixels: sides are multiples of 1/imgsz.
        assert w * TINY.imgsz == pytest.approx(round(w * TINY.imgsz), abs=1e-3)


# --- variety: a detection problem where box quality matters ---


def test_every_class_appears(sample_labels):
    classes = np.concatenate([labels[:, 0] for labels in sample_labels])
    assert set(classes.astype(int)) == set(range(len(CLASS_NAMES)))


def test_boxes_vary_in_aspect_ratio_and_area(sample_labels):
    boxes = np.concatenate(sample_labels)
    aspect = boxes[:, 3] / boxes[:, 4]
    area = boxes[:, 3] * boxes[:, 4]
    assert aspect.min() <= 0.5 and aspect.max() >= 2
    assert area.max() / area.min() >= 10
    assert 1 <= np.mean([len(labels) for labels in sample_labels]) <= 6


def test_some_boxes_overlap(sample_labels):
    def overlapping_pairs(labels: np.ndarray) -> int:
        xyxy = np.concatenate([labels[:, 1:3] - labels[:, 3:5] / 2, labels[:, 1:3] + labels[:, 3:5] / 2], axis=1)
        low = np.maximum(xyxy[:, None, :2], xyxy[None, :, :2])
        high = np.minimum(xyxy[:, None, 2:], xyxy[None, :, 2:])
        overlaps = np.all(high - low > 0, axis=-1)
        return int(np.triu(overlaps, k=1).sum())

    assert sum(overlapping_pairs(labels) > 0 for labels in sample_labels) >= 3


# --- the visible-box rule ---


def test_visible_box_is_the_pixel_edge_box_of_a_hand_made_mask():
    mask = np.zeros((8, 10), bool)
    mask[2, 3] = True  # single pixel: column 3, row 2
    assert visible_box(mask) == (3, 2, 4, 3)
    mask[5, 7] = True  # an L of two separate pixels: the box spans both, edges inclusive of the far pixel
    mask[4, 1] = True
    assert visible_box(mask) == (1, 2, 8, 6)
    with pytest.raises(ValueError):
        visible_box(np.zeros((4, 4), bool))


@given(arrays(bool, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_visible_box_contains_every_true_pixel_and_is_tight(mask):
    if not mask.any():
        return
    x0, y0, x1, y1 = visible_box(mask)
    rows, columns = np.nonzero(mask)
    assert (x0, y0, x1, y1) == (columns.min(), rows.min(), columns.max() + 1, rows.max() + 1)
    # tight: every side of the box touches a true pixel
    assert mask[y0, x0:x1].any() and mask[y1 - 1, x0:x1].any()
    assert mask[y0:y1, x0].any() and mask[y0:y1, x1 - 1].any()


def test_occluded_objects_are_labelled_by_their_visible_part_or_dropped():
    owner = np.full((10, 10), -1, np.int16)
    owner[0:2, 0:2] = 0  # object 0: 4 of its 10 pixels visible, exactly the threshold: kept
    owner[5:6, 5:8] = 1  # object 1: 3 of 10 visible: dropped
    owner[6:10, 2:4] = 2  # object 2: fully visible
    labels = label_visible_objects(owner, np.array([4, 1, 2]), np.array([10.0, 10.0, 8.0]), imgsz=10)
    assert MIN_VISIBLE_FRACTION == 0.4
    np.testing.assert_allclose(labels, [[4, 0.1, 0.1, 0.2, 0.2], [2, 0.3, 0.8, 0.2, 0.4]])


def test_a_shape_on_whole_pixels_covers_exactly_its_pixels():
    # a 10 x 6 px rectangle centred at (15, 13): edges at x 10..20, y 10..16
    outline, hole = shape_polygons("rectangle", 10, 6, np.random.default_rng(0))
    coverage = coverage_mask(outline, hole, np.array([15.0, 13.0]), imgsz=32)
    assert visible_box(coverage >= 0.5) == (10, 10, 20, 16)
    assert (coverage >= 0.5).sum() == 60


# --- spec and cache ---


@pytest.mark.parametrize(
    ("field", "value"), [("n_train", 0), ("n_val", -1), ("imgsz", 31), ("seed", -1), ("n_train", 2.5), ("imgsz", True)]
)
def test_invalid_spec_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SyntheticSpec(**{field: value})


def test_key_is_stable_and_changes_with_fields_and_generator_version(monkeypatch):
    assert SyntheticSpec().key() == SyntheticSpec().key()
    assert re.fullmatch(r"[0-9a-f]{12}", SyntheticSpec().key())
    keys = {SyntheticSpec().key(), SyntheticSpec(seed=1).key(), SyntheticSpec(imgsz=64).key(), TINY.key()}
    assert len(keys) == 4
    before = SyntheticSpec().key()
    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1)
    assert SyntheticSpec().key() != before


def test_writing_into_a_non_empty_root_raises_and_leaves_it_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        write_synthetic_dataset(tmp_path, TINY)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_cache_generates_once_then_reuses(tmp_path, monkeypatch):
    first = synthetic_dataset(TINY, cache_dir=tmp_path)
    assert first == tmp_path / f"synthetic-{TINY.key()}" / "data.yaml"
    assert yaml.safe_load(first.read_text())["path"] == str(first.parent.resolve())

    def must_not_regenerate(root, spec):
        raise AssertionError("the cached set was generated a second time")

    monkeypatch.setattr(synthetic, "write_synthetic_dataset", must_not_regenerate)
    assert synthetic_dataset(TINY, cache_dir=tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [first.parent.name]


def test_cache_dir_defaults_to_env_then_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_ALPHA_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert synthetic.default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("YOLO_ALPHA_CACHE")
    assert synthetic.default_cache_dir() == tmp_path / "xdg" / "yolo-alpha"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert synthetic.default_cache_dir() == Path.home() / ".cache" / "yolo-alpha"


def test_a_crashed_generation_is_not_reused(tmp_path):
    # What a killed process leaves behind: a staging directory with part of a set in it.
    leftover = tmp_path / f".synthetic-{TINY.key()}.partial-dead"
    (leftover / "images" / "train").mkdir(parents=True)
    (leftover / "images" / "train" / "000000.png").write_bytes(b"half")
    yaml_path = synthetic_dataset(TINY, cache_dir=tmp_path)
    assert leftover not in yaml_path.parents
    assert len(list((yaml_path.parent / "images" / "train").iterdir())) == TINY.n_train


def test_a_failing_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    def crash_halfway(root, spec):
        (Path(root) / "images").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, "write_synthetic_dataset", crash_halfway)
    with pytest.raises(KeyboardInterrupt):
        synthetic_dataset(TINY, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_losing_the_race_uses_the_winners_set(tmp_path, monkeypatch):
    real_writer = synthetic.write_synthetic_dataset

    def writer_that_gets_overtaken(root, spec):
        # Another process finishes the same set while this one is still writing.
        monkeypatch.setattr(synthetic, "write_synthetic_dataset", real_writer)
        winner.append(synthetic_dataset(spec, cache_dir=tmp_path))
        return real_writer(root, spec)

    winner = []
    monkeypatch.setattr(synthetic, "write_synthetic_dataset", writer_that_gets_overtaken)
    assert synthetic_dataset(TINY, cache_dir=tmp_path) == winner[0]
    assert [p.name for p in tmp_path.iterdir()] == [winner[0].parent.name]


# --- Ultralytics reads it ---


def test_ultralytics_loads_the_set(tiny_root, monkeypatch):
    import ultralytics.data.utils
    from ultralytics.data import YOLODataset

    # check_det_dataset looks for a plotting font and would try to download it: not this test's concern.
    monkeypatch.setattr(ultralytics.data.utils, "check_font", lambda *args, **kwargs: None)
    data = ultralytics.data.utils.check_det_dataset(str(tiny_root / "data.yaml"))
    assert data["nc"] == len(CLASS_NAMES)
    assert Path(data["train"]).is_dir() and Path(data["val"]).is_dir()

    dataset = YOLODataset(img_path=data["train"], data=data, imgsz=64, augment=False)
    assert len(dataset) == TINY.n_train
    expected = read_labels(tiny_root, "train")
    assert [len(label["cls"]) for label in dataset.labels] == [len(labels) for labels in expected]
    for label, labels in zip(dataset.labels, expected):
        np.testing.assert_allclose(label["bboxes"], labels[:, 1:], atol=1e-6)


@pytest.mark.parametrize(
    ("data", "spec"),
    [
        (None, SyntheticSpec()),
        ("synthetic", SyntheticSpec()),
        ("synthetic:n_val=800", SyntheticSpec(n_val=800)),
        ("synthetic:n_train=40, n_val=8", SyntheticSpec(n_train=40, n_val=8)),
    ],
)
def test_data_synthetic_names_its_split_sizes(data, spec):
    assert is_synthetic(data) and synthetic_spec(data) == spec


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("synthetic:n_vl=800", r"'n_vl=800' is not one of n_train, n_val as name=count .* Did you mean 'n_val'\?"),
        ("synthetic:imgsz=320", "'imgsz=320' is not one of n_train, n_val"),
        ("synthetic:n_val", "'n_val' is not one of"),
        ("synthetic:n_val=8,n_val=9", "'n_val=9' is repeated"),
        ("synthetic:n_val=eight", "n_val must be a whole number of images >= 1, got 'eight'"),
        ("synthetic:n_val=0", r"data=synthetic:n_val=0: n_val must be .*>= 1"),
    ],
)
def test_a_size_the_set_cannot_take_is_refused_naming_data(data, message):
    with pytest.raises(ConfigError, match=message):
        synthetic_spec(data)


def test_other_data_is_not_synthetic():
    assert not is_synthetic("coco.yaml") and not is_synthetic("synthetic.yaml") and not is_synthetic(800)
    with pytest.raises(ConfigError, match="not the embedded synthetic set"):
        synthetic_spec("coco.yaml")


def test_a_sized_set_is_cached_under_its_own_key_and_holds_the_default_images(tmp_path):
    small, larger = (
        Path(synthetic_yaml(d, tmp_path)) for d in ("synthetic:n_train=2,n_val=2", "synthetic:n_train=2,n_val=3")
    )
    assert small.parent != larger.parent
    for split in ("images/val/000000.png", "images/val/000001.png", "labels/val/000001.txt"):
        assert (small.parent / split).read_bytes() == (larger.parent / split).read_bytes()
    assert len(list((larger.parent / "images" / "val").iterdir())) == 3
