"""Tiles of large images (``data voc ... tile=``): the grid against hand-worked origins, which boxes a tile labels
(the 50 % boundary, overlap, the edge-aligned last tile, an image smaller than a tile), what is counted, the split by
whole source image, and the refusals. Properties: the grid covers every pixel, and every label lies in its tile and in
its box."""

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from yolo_alpha.cli import main
from yolo_alpha.data.convert import convert_voc
from yolo_alpha.data.tiling import (
    SIZE_MISMATCH,
    TILE_DROPPED,
    TILE_UNREADABLE,
    TiledTally,
    Tiling,
    labels_in_window,
    make_tiling,
    tile_name,
    tile_origins,
    tile_source,
    tile_windows,
    write_tiles,
)
from yolo_alpha.errors import ConfigError

LABEL_LINE = re.compile(r"^\d+ \d\.\d{6} \d\.\d{6} \d\.\d{6} \d\.\d{6}$")


def voc_xml(objects: list, size: tuple[int, int] | None) -> str:
    """Return a LabelImg-style VOC XML of ``objects`` ``(name, (xmin, ymin, xmax, ymax))``, 1-based as VOC."""
    parts = "".join(
        f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin>"
        f"<xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>"
        for name, box in objects
    )
    tag = "" if size is None else f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>"
    return f"<annotation>{tag}{parts}</annotation>"


def write_image(path: Path, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Write a noise PNG of ``size`` (w, h) at ``path``; return its pixels (BGR, as cv2 reads them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), pixels)
    return pixels


def read_labels(label: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in label.read_text().splitlines()]


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the grid ---


@pytest.mark.parametrize(
    "length, size, overlap, origins",
    [
        (1000, 400, 0, [0, 400, 600]),  # the last tile is aligned to the edge: 600..1000 overlaps 400..800 by 200
        (800, 400, 0, [0, 400]),  # an exact fit: no extra tile
        (400, 400, 0, [0]),
        (300, 400, 0, [0]),  # shorter than a tile: one tile of 300
        (1000, 400, 100, [0, 300, 600]),  # stride 300; 600..1000 ends at the edge
        (1100, 400, 100, [0, 300, 600, 700]),
        (2299, 400, 0, [0, 400, 800, 1200, 1600, 1899]),  # the large NEON crop's width
    ],
)
def test_tile_origins_by_hand(length, size, overlap, origins):
    assert tile_origins(length, size, overlap) == origins


def test_tile_windows_row_by_row_and_smaller_than_a_tile():
    # 1000 x 300 with tiles of 400: three tiles of 400 x 300, the image's own height (no padding).
    assert tile_windows(1000, 300, Tiling(400)) == [(0, 0, 400, 300), (400, 0, 800, 300), (600, 0, 1000, 300)]
    assert tile_windows(300, 250, Tiling(400)) == [(0, 0, 300, 250)]
    assert tile_windows(500, 500, Tiling(400))[1:3] == [(100, 0, 500, 400), (0, 100, 400, 500)]


@settings(deadline=None)  # the CPU is shared with trainings: time is no property here
@given(st.integers(1, 3000), st.integers(32, 640), st.data())
def test_the_grid_covers_every_pixel_inside_the_image(length, size, data):
    overlap = data.draw(st.integers(0, size - 1))
    origins = tile_origins(length, size, overlap)
    tile = min(size, length)
    assert origins[0] == 0 and origins[-1] + tile == length  # the first at 0, the last at the edge
    assert origins == sorted(set(origins))
    assert all(b - a <= size - overlap for a, b in zip(origins, origins[1:]))  # no gap: neighbours share >= overlap
    assert all(o >= 0 and o + tile <= length for o in origins)  # no tile sticks out (none is padded)


@pytest.mark.parametrize(
    "length, size, overlap, origins",
    [
        (1000, 400, 0, [0, 400, 800]),  # the last tile runs 200 px past the edge
        (800, 400, 0, [0, 400]),  # an exact fit: as edge=shift
        (300, 400, 0, [0]),  # shorter than a tile: one tile of 400, 100 px of it padding
        (1000, 400, 100, [0, 300, 600]),  # 600..1000 reaches the edge: no fourth tile
        (1001, 400, 100, [0, 300, 600, 900]),  # one pixel more needs one tile more
        (2299, 400, 0, [0, 400, 800, 1200, 1600, 2000]),  # the large NEON crop's width
    ],
)
def test_padded_tile_origins_by_hand(length, size, overlap, origins):
    assert tile_origins(length, size, overlap, edge="pad") == origins


@settings(deadline=None)
@given(st.integers(1, 3000), st.integers(32, 640), st.data())
def test_the_padded_grid_covers_every_pixel_once_without_overlap_and_wastes_no_tile(length, size, data):
    overlap = data.draw(st.integers(0, size - 1))
    origins = tile_origins(length, size, overlap, edge="pad")
    assert origins[0] == 0 and all(b - a == size - overlap for a, b in zip(origins, origins[1:]))  # a regular grid
    assert origins[-1] + size >= length  # the last tile reaches the edge
    assert len(origins) == 1 or origins[-1] < length - overlap  # and holds a pixel its neighbour does not
    if overlap == 0:
        covered = np.zeros(length, int)
        for origin in origins:
            covered[origin : origin + size] += 1
        assert (covered == 1).all()


def test_padded_windows_are_all_square_and_each_box_is_labelled_in_one_tile(tmp_path):
    image = tmp_path / "src.png"
    pixels = write_image(image, (100, 70))
    assert tile_windows(100, 70, Tiling(64, edge="pad")) == [
        (0, 0, 64, 64), (64, 0, 128, 64), (0, 64, 64, 128), (64, 64, 128, 128)
    ]  # fmt: skip
    rows = [(0, 70.0, 10.0, 90.0, 30.0), (0, 50.0, 40.0, 70.0, 60.0)]  # in one tile; across x = 64 (70 % left)
    tally = TiledTally(tiling=Tiling(64, edge="pad"))
    assert write_tiles(image, rows, tmp_path / "out", "train", "src.png", Tiling(64, edge="pad"), tally) == 4
    assert tally.repeated == 0 and tally.source_boxes == 2 and not tally.boxes
    right = tmp_path / "out" / "images" / "train" / "src_x0064_y0000.png"
    tile = cv2.imread(str(right))
    assert tile.shape == (64, 64, 3) and (tile[:, :36] == pixels[:64, 64:100]).all() and not tile[:, 36:].any()
    # normalised by the 64-px tile, not by the 36 px of image it shows: the box 70..90 x 10..30 is 6..26 there
    assert read_labels(right.parent.parent.parent / "labels" / "train" / "src_x0064_y0000.txt") == [
        [0, 16 / 64, 20 / 64, 20 / 64, 20 / 64]
    ]
    assert Tiling(64, edge="pad").describe() == "tile=64 overlap=0 min_area=0.5 edge=pad"


# --- which boxes a tile labels ---


def test_a_box_cut_exactly_in_half_is_kept_at_min_area_one_half_and_dropped_above():
    """Box x 380..420, y 100..140 in tiles 0..400 and 400..800: 20 x 40 of 40 x 40 px in each, exactly 0.5."""
    rows = [(0, 380.0, 100.0, 420.0, 140.0)]
    left, right = (0, 0, 400, 400), (400, 0, 800, 400)
    labels, labelled, _, clipped = labels_in_window(rows, left, 0.5)
    assert labels == [pytest.approx((0, 390 / 400, 120 / 400, 20 / 400, 40 / 400))] and (labelled, clipped) == ([0], 1)
    labels, *_ = labels_in_window(rows, right, 0.5)
    assert labels == [pytest.approx((0, 10 / 400, 120 / 400, 20 / 400, 40 / 400))]
    for window in (left, right):
        assert labels_in_window(rows, window, 0.51) == ([], [], 1, 0)  # half is less than 51 %: an unlabelled part
    # Two thirds on the left (x 360..400 of 360..420): labelled there, an unlabelled part on the right.
    assert labels_in_window([(0, 360.0, 0.0, 420.0, 10.0)], left, 0.5)[1] == [0]
    assert labels_in_window([(0, 360.0, 0.0, 420.0, 10.0)], right, 0.5)[1:] == ([], 1, 0)


def test_write_tiles_counts_per_box_and_per_tile(tmp_path):
    """800 x 800, tiles of 400: one box wholly in a tile, one cut in half (both tiles label it), one at the corner of
    the four tiles (25 % in each: in none), and one 2/3 in a tile (labelled there, an unlabelled part beside it)."""
    image = tmp_path / "src" / "scene.png"
    pixels = write_image(image, (800, 800))
    rows = [
        (0, 10.0, 10.0, 50.0, 50.0),  # wholly in the top-left tile
        (1, 380.0, 100.0, 420.0, 140.0),  # 50 % in each top tile
        (0, 390.0, 390.0, 410.0, 410.0),  # 25 % in each of the four tiles: dropped
        (0, 360.0, 500.0, 420.0, 520.0),  # 2/3 in the bottom-left tile
    ]
    tally = TiledTally(tiling=Tiling(400))
    assert write_tiles(image, rows, tmp_path / "out", "train", "scene.png", Tiling(400), tally) == 4
    out = tmp_path / "out"
    names = sorted(p.name for p in (out / "images" / "train").iterdir())
    assert names == [f"scene_x{x:04d}_y{y:04d}.png" for x in (0, 400) for y in (0, 400)]
    tile = cv2.imread(str(out / "images" / "train" / "scene_x0400_y0400.png"))
    assert np.array_equal(tile, pixels[400:800, 400:800])  # the source's pixels, PNG: lossless
    assert read_labels(out / "labels" / "train" / "scene_x0000_y0000.txt") == [
        pytest.approx([0, 30 / 400, 30 / 400, 40 / 400, 40 / 400], abs=1e-6),
        pytest.approx([1, 390 / 400, 120 / 400, 20 / 400, 40 / 400], abs=1e-6),
    ]
    assert read_labels(out / "labels" / "train" / "scene_x0400_y0000.txt") == [
        pytest.approx([1, 10 / 400, 120 / 400, 20 / 400, 40 / 400], abs=1e-6)
    ]
    assert read_labels(out / "labels" / "train" / "scene_x0000_y0400.txt") == [
        pytest.approx([0, 380 / 400, 110 / 400, 40 / 400, 20 / 400], abs=1e-6)
    ]
    assert read_labels(out / "labels" / "train" / "scene_x0400_y0400.txt") == []  # a tile without a box: background
    # Labels: 2 + 1 + 1. Source boxes: 3 of 4 labelled, the half-cut one twice. Clipped: the half-cut box twice and
    # the 2/3 one. Unlabelled parts: the corner box in 4 tiles, the 2/3 box's third.
    assert (tally.kept_boxes, tally.kept_images, tally.empty_tiles) == (4, 4, 1)
    assert (tally.source_boxes, tally.repeated, tally.tile_clipped, tally.unlabelled_parts) == (4, 1, 3, 5)
    assert tally.boxes == {TILE_DROPPED: 1} and tally.examples[TILE_DROPPED] == ["scene.png"]
    assert tally.sources == {"train": [("scene.png", 4)]}
    lines = tally.lines()
    assert lines[0] == "kept 4 boxes in 4 tiles (1 without a box) of 1 source image (tile=400 overlap=0 min_area=0.5)"
    assert lines[1] == "labelled 3 of 4 source boxes in a tile, 1 of them in 2 or more tiles (one label in each)"
    assert f"dropped 1 boxes: {TILE_DROPPED} (e.g. scene.png)" in lines
    assert "clipped 3 box labels to their tile (50% or more of the box inside)" in lines
    assert lines[-1] == "train: 1 source image, 4 tiles: scene.png (4)"


def test_overlap_and_the_edge_aligned_last_tile_label_a_box_in_each_tile_holding_it(tmp_path):
    """1000 x 100, tile 400, overlap 100: tiles x 0..400, 300..700, 600..1000, each 100 px high (no padding)."""
    image = tmp_path / "strip.png"
    pixels = write_image(image, (1000, 100))
    rows = [
        (0, 320.0, 10.0, 380.0, 50.0),  # wholly in tiles 0 and 1
        (0, 650.0, 10.0, 690.0, 50.0),  # wholly in tiles 1 and 2
        (0, 580.0, 10.0, 620.0, 50.0),  # wholly in tile 1; half in tile 2 (600..620): labelled there, clipped
    ]
    tiling = make_tiling(400, 100)
    tally = TiledTally(tiling=tiling)
    write_tiles(image, rows, tmp_path / "out", "val", "strip.png", tiling, tally)
    labels = tmp_path / "out" / "labels" / "val"
    assert read_labels(labels / "strip_x0600_y0000.txt") == [
        pytest.approx([0, 70 / 400, 0.3, 40 / 400, 0.4], abs=1e-6),
        pytest.approx([0, 10 / 400, 0.3, 20 / 400, 0.4], abs=1e-6),
    ]
    assert len(read_labels(labels / "strip_x0300_y0000.txt")) == 3
    last = cv2.imread(str(tmp_path / "out" / "images" / "val" / "strip_x0600_y0000.png"))
    assert last.shape == (100, 400, 3) and np.array_equal(last, pixels[:, 600:1000])
    assert (tally.kept_boxes, tally.repeated, tally.tile_clipped, tally.boxes) == (6, 3, 1, {})


def test_an_image_smaller_than_the_tile_is_one_tile_with_the_whole_image_labels(tmp_path):
    image = tmp_path / "small.png"
    pixels = write_image(image, (300, 200))
    tally = TiledTally(tiling=Tiling(400))
    write_tiles(image, [(2, 30.0, 40.0, 90.0, 200.0)], tmp_path / "out", "train", "small.png", Tiling(400), tally)
    tile = tmp_path / "out" / "images" / "train" / "small_x0000_y0000.png"
    assert np.array_equal(cv2.imread(str(tile)), pixels)
    assert read_labels(tmp_path / "out" / "labels" / "train" / "small_x0000_y0000.txt") == [
        pytest.approx([2, 60 / 300, 120 / 200, 60 / 300, 160 / 200], abs=1e-6)
    ]
    assert (tally.tile_clipped, tally.unlabelled_parts, tally.repeated) == (0, 0, 0)


boxes = st.tuples(st.floats(0, 300), st.floats(0, 300), st.floats(0.5, 200), st.floats(0.5, 200))


@settings(deadline=None)
@given(
    st.tuples(st.integers(1, 300), st.integers(1, 300)),
    st.integers(32, 128),
    st.data(),
    st.lists(boxes, max_size=8),
    st.floats(0.01, 1.0),
)
def test_every_label_lies_in_its_tile_and_in_its_box(size, tile, data, drawn, min_area):
    width, height = size
    tiling = Tiling(tile, data.draw(st.integers(0, tile - 1)), min_area)
    rows = []
    for x, y, w, h in drawn:  # boxes clipped to the image, as the converters pass them
        x1, y1, x2, y2 = min(x, width - 0.5), min(y, height - 0.5), min(x + w, width), min(y + h, height)
        rows.append((0, x1, y1, x2, y2))
    labelled_anywhere = set()
    for window in tile_windows(width, height, tiling):
        labels, labelled, _, clipped = labels_in_window(rows, window, tiling.min_area)
        tile_w, tile_h = window[2] - window[0], window[3] - window[1]
        for (_, cx, cy, w, h), index in zip(labels, labelled):
            assert all(0 <= v <= 1 for v in (cx, cy, w, h)) and w > 0 and h > 0
            x1, x2 = window[0] + (cx - w / 2) * tile_w, window[0] + (cx + w / 2) * tile_w
            y1, y2 = window[1] + (cy - h / 2) * tile_h, window[1] + (cy + h / 2) * tile_h
            box, eps = rows[index][1:], 1e-6
            assert window[0] - eps <= x1 and x2 <= window[2] + eps and window[1] - eps <= y1 and y2 <= window[3] + eps
            assert box[0] - eps <= x1 and x2 <= box[2] + eps and box[1] - eps <= y1 and y2 <= box[3] + eps
            assert (x2 - x1) * (y2 - y1) >= min_area * (box[2] - box[0]) * (box[3] - box[1]) * (1 - 1e-9)
        labelled_anywhere.update(labelled)
        assert clipped <= len(labels)

    # A box no longer than the overlap (or in a side shorter than a tile) lies wholly in some tile: always labelled.
    def fits(extent, length):
        return extent <= tiling.overlap or length <= tiling.size

    for index, (_, x1, y1, x2, y2) in enumerate(rows):
        if fits(x2 - x1, width) and fits(y2 - y1, height):
            assert index in labelled_anywhere


# --- data voc ... tile=: a plain folder and a VOCdevkit ---


@pytest.fixture
def aerial(tmp_path) -> Path:
    """Return a folder of 6 aerial-like PNG images of 250 x 180 px with LabelImg XML, one 'tree' per 100 px."""
    root = tmp_path / "aerial"
    for i in range(6):
        write_image(root / f"site{i}.png", (250, 180), seed=i)
        trees = [("tree", (x + 1, y + 1, x + 41, y + 41)) for x in (5, 105, 200) for y in (5, 120)]
        (root / f"site{i}.xml").write_text(voc_xml(trees, (250, 180)))
    return root


def test_the_split_keeps_whole_source_images_and_is_stated(aerial, tmp_path, capsys):
    done = convert_voc(aerial, tmp_path / "out", val_fraction=0.5, seed=3, tile=128)
    out = tmp_path / "out"
    train = {tile_source(p) for p in (out / "images" / "train").iterdir()}
    val = {tile_source(p) for p in (out / "images" / "val").iterdir()}
    assert len(train) == len(val) == 3 and not train & val  # whole images: no source in both
    assert len(list(out.glob("images/*/*.png"))) == 6 * 2 * 2  # 250 x 180 in tiles of 128: x 0, 122; y 0, 52
    text = done.data_yaml.read_text()
    for name in val:
        assert f"#   {name}.png (4)" in text
    data = yaml.safe_load(text)
    assert (data["train"], data["val"], data["names"]) == ("images/train", "images/val", {0: "tree"})
    val_line = next(line for line in done.tally.lines() if line.startswith("val:"))
    assert val_line.startswith("val: 3 source images, 12 tiles: ") and all(f"{n}.png (4)" in val_line for n in val)
    for label in out.glob("labels/*/*.txt"):
        assert all(LABEL_LINE.match(line) for line in label.read_text().splitlines()), label
    # The same seed splits the same sources; every source box is in a tile (trees are 40 px, tiles 128).
    again = convert_voc(aerial, tmp_path / "again", val_fraction=0.5, seed=3, tile=128)
    assert {tile_source(p) for p in (tmp_path / "again" / "images" / "val").iterdir()} == val
    assert again.tally.boxes == {} and again.tally.source_boxes == 36


def test_ultralytics_loads_a_tiled_set(aerial, tmp_path):
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset
    from ultralytics.utils import USER_CONFIG_DIR

    from yolo_alpha.offline import provide_fonts

    provide_fonts(USER_CONFIG_DIR)
    data = check_det_dataset(str(convert_voc(aerial, tmp_path / "out", tile=128, overlap=16).data_yaml))
    dataset = YOLODataset(img_path=data["val"], data=data, imgsz=128, augment=False)
    # 250 x 180 in tiles of 128, stride 112: x 0, 112, 122 (the edge); y 0, 52.
    assert len(dataset.labels) == 6 and all(lb["shape"] == (128, 128) for lb in dataset.labels)  # h, w


def test_without_tile_nothing_changes(aerial, tmp_path):
    done = convert_voc(aerial, tmp_path / "out")
    assert done.data_yaml.read_text().startswith("path: ") and type(done.tally).__name__ == "Tally"
    assert sorted(p.name for p in (tmp_path / "out" / "images" / "val").iterdir())[0].startswith("site")
    assert not list((tmp_path / "out").glob("images/*/*_x0000_y0000.png"))


def test_a_vocdevkit_is_tiled_split_file_by_split_file(tmp_path):
    year = tmp_path / "voc" / "VOC2007"
    (year / "ImageSets" / "Main").mkdir(parents=True)
    (year / "Annotations").mkdir()
    for split, image_id in (("trainval", "big"), ("test", "small")):
        (year / "ImageSets" / "Main" / f"{split}.txt").write_text(f"{image_id}\n")
        size = (200, 100) if image_id == "big" else (60, 50)
        write_image(year / "JPEGImages" / f"{image_id}.png", size)
        (year / "Annotations" / f"{image_id}.xml").write_text(voc_xml([("car", (11, 11, 41, 41))], size))
    done = convert_voc(tmp_path / "voc", tmp_path / "out", splits=[("2007", "trainval"), ("2007", "test")], tile=100)
    assert sorted(p.name for p in (tmp_path / "out" / "images" / "trainval2007").iterdir()) == [
        "big_x0000_y0000.png",
        "big_x0100_y0000.png",
    ]
    assert [p.name for p in (tmp_path / "out" / "images" / "test2007").iterdir()] == ["small_x0000_y0000.png"]
    assert done.tally.sources == {"trainval2007": [("big.png", 2)], "test2007": [("small.png", 1)]}


def test_images_whose_pixels_cannot_be_cropped_are_skipped_with_their_reason(aerial, tmp_path):
    (aerial / "site0.xml").write_text(voc_xml([("tree", (1, 1, 9, 9))], (500, 360)))  # not the image's size
    (aerial / "site1.png").write_bytes(b"not an image")
    done = convert_voc(aerial, tmp_path / "out", tile=128)
    assert done.tally.images == {SIZE_MISMATCH: 1, TILE_UNREADABLE: 1}
    assert done.tally.examples[SIZE_MISMATCH] == ["site0.png"]
    assert {tile_source(p) for p in (tmp_path / "out").glob("images/*/*")} == {f"site{i}" for i in range(2, 6)}


@settings(max_examples=50, deadline=None)
@given(
    stem=st.text(st.characters(codec="ascii", exclude_characters="/\\\0."), min_size=1, max_size=30),
    x=st.integers(0, 99999),
    y=st.integers(0, 99999),
)
def test_a_tile_name_gives_back_its_source(stem, x, y):
    assert tile_source(tile_name(stem, (x, y, x + 64, y + 64))) == stem


@pytest.mark.parametrize("name", ["000012.png", "crop.png", "crop_x12_y0000.png", "crop_x0400.png"])
def test_names_that_are_no_tiles_have_no_source(name):
    assert tile_source(name) is None


def test_sources_sharing_a_stem_get_distinct_tile_names(tmp_path):
    root = tmp_path / "two"
    for sub, ext in (("a", "png"), ("b", "jpg")):
        write_image(root / sub / f"frame.{ext}", (64, 64))
        (root / sub / "frame.xml").write_text(voc_xml([("cat", (2, 2, 30, 30))], (64, 64)))
    convert_voc(root, tmp_path / "out", tile=64)
    names = sorted(p.name for p in (tmp_path / "out").glob("images/*/*"))
    assert names == ["frame_jpg_x0000_y0000.png", "frame_png_x0000_y0000.png"]


# --- refusals ---


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"tile": 10}, "tile must be an integer >= 32, got 10 (the side of a square tile in pixels)"),
        ({"tile": 64.5}, "tile must be an integer >= 32, got 64.5"),
        ({"tile": 64, "overlap": 64}, "overlap must be an integer in [0, 64), got 64"),
        ({"tile": 64, "overlap": -1}, "overlap must be an integer in [0, 64), got -1"),
        ({"tile": 64, "min_area": 0}, "min_area must be a finite number in (0, 1], got 0"),
        ({"tile": 64, "min_area": 1.5}, "min_area must be a finite number in (0, 1], got 1.5"),
        ({"overlap": 8}, "overlap: shape the tiles of tile=SIZE; give tile= too"),
        ({"min_area": 0.3}, "min_area: shape the tiles of tile=SIZE; give tile= too"),
        ({"tile": 64, "edge": "wrap"}, "edge=wrap: choose edge=shift (the last tiles aligned to the image's edge"),
        ({"edge": "pad"}, "edge: shape the tiles of tile=SIZE; give tile= too"),
    ],
)
def test_bad_tile_keys_name_the_key_and_what_is_allowed(aerial, tmp_path, keys, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        convert_voc(aerial, tmp_path / "out", **keys)
    assert not (tmp_path / "out").exists()


def test_an_existing_non_empty_out_is_never_written_into(aerial, tmp_path):
    out = tmp_path / "out"
    (out / "images" / "train").mkdir(parents=True)
    (out / "images" / "train" / "site0_x0000_y0000.png").write_bytes(b"mine")
    before = tree_bytes(out)
    with pytest.raises(ConfigError, match=re.escape(f"out={out}: exists and is not an empty folder")):
        convert_voc(aerial, out, tile=128)
    assert tree_bytes(out) == before
    tally = TiledTally(tiling=Tiling(128))  # and the writer itself refuses a tile file that exists
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        write_tiles(aerial / "site0.png", [], out, "train", "site0.png", Tiling(128), tally)
    assert tree_bytes(out) == before


def test_the_data_verb_takes_the_tile_keys_and_prints_the_split(aerial, tmp_path, capsys):
    argv = ["data", "voc", f"root={aerial}", f"out={tmp_path / 'out'}", "tile=128", "overlap=8", "min_area=0.6"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("kept ") and lines[1].endswith("(tile=128 overlap=8 min_area=0.6)")
    assert any(line.startswith("val: 1 source image, 6 tiles: site") for line in lines)  # x 0, 120, 122; y 0, 52
    assert lines[-1] == str(tmp_path / "out" / "data.yaml")
    assert main([*argv[:3], f"out={tmp_path / 'new'}", "tile=16"]) == 2
    assert "tile must be an integer >= 32, got 16" in capsys.readouterr().err
