"""The α-IoU paper's noisy-box model (Sec. 4.3, eq. 5): constraints, statistics against an independent Monte Carlo,
the IoU against torchvision, and the cached noisy view of a training split as Ultralytics reads it."""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from ultralytics.data.utils import img2label_paths

from yolo_alpha.data import noise
from yolo_alpha.data.noise import SIZE_RANGE, aligned_iou_xywh, list_images, noisy_train_split, perturb_boxes
from yolo_alpha.data.synthetic import default_cache_dir

# --- perturb_boxes: eq. (5) and the contract ---


@st.composite
def box_arrays(draw) -> np.ndarray:
    """Valid normalised xywh boxes, often touching the border or of extreme size (1e-3 or the full image)."""
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        w, h = (draw(st.sampled_from([1e-3, 1.0]) | st.floats(1e-3, 1.0)) for _ in range(2))
        tx, ty = (draw(st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)) for _ in range(2))
        rows.append([w / 2 + tx * (1 - w), h / 2 + ty * (1 - h), w, h])
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


@settings(max_examples=100, deadline=None)
@given(boxes=box_arrays(), eta=st.floats(0.0, 0.999), seed=st.integers(0, 2**32 - 1))
def test_noisy_boxes_meet_eq5_and_leave_the_input_alone(boxes, eta, seed):
    before = boxes.copy()
    noisy = perturb_boxes(boxes, eta, np.random.default_rng(seed))
    np.testing.assert_array_equal(boxes, before)
    if eta == 0:  # an exact copy, even of a full-image box (w = 1) or one a rounding error outside the image
        np.testing.assert_array_equal(noisy, boxes)
        return
    x, y, w, h = noisy.T
    assert ((SIZE_RANGE[0] <= w) & (w <= SIZE_RANGE[1]) & (SIZE_RANGE[0] <= h) & (h <= SIZE_RANGE[1])).all()
    assert ((w > 0) & (w < 1) & (h > 0) & (h < 1)).all()
    assert ((w / 2 <= x) & (x <= 1 - w / 2) & (h / 2 <= y) & (y <= 1 - h / 2)).all()


def test_same_seed_gives_the_same_noise_and_another_seed_does_not():
    boxes = np.tile([0.5, 0.5, 0.2, 0.3], (50, 1))
    first = perturb_boxes(boxes, 0.2, np.random.default_rng(7))
    np.testing.assert_array_equal(first, perturb_boxes(boxes, 0.2, np.random.default_rng(7)))
    assert not np.allclose(first, perturb_boxes(boxes, 0.2, np.random.default_rng(8)))
    assert first.dtype == np.float64 and first is not boxes


def test_the_draws_are_one_uniform_call_of_shape_n_by_4_in_xywh_order():
    # Box of size 0.2 x 0.4 at the centre: η = 0.5 moves x and w by at most 0.1, y and h by 0.2: no clipping.
    boxes = np.array([[0.5, 0.5, 0.2, 0.4]] * 3)
    unit = np.random.default_rng(3).uniform(-1.0, 1.0, size=(3, 4))
    expected = boxes + 0.5 * unit * np.array([0.2, 0.4, 0.2, 0.4])
    np.testing.assert_allclose(perturb_boxes(boxes, 0.5, np.random.default_rng(3)), expected, rtol=0, atol=1e-15)


def test_eta_zero_is_an_exact_copy_even_of_boxes_eq5_would_clip():
    boxes = np.array([[0.5, 0.5, 1.0, 1.0], [0.1, 0.9, 0.2, 0.2]], dtype=np.float32)
    copy = perturb_boxes(boxes, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(copy, boxes.astype(np.float64))
    assert copy.dtype == np.float64


@pytest.mark.parametrize("eta", [-0.1, 1.0, 1.5, float("nan"), float("inf"), "0.1", None, True])
def test_eta_outside_0_1_is_refused_naming_noise_eta(eta):
    with pytest.raises(ValueError, match="noise_eta"):
        perturb_boxes(np.zeros((1, 4)), eta, np.random.default_rng(0))


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 4, 1)])
def test_boxes_not_n_by_4_are_refused(shape):
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        perturb_boxes(np.full(shape, 0.5), 0.1, np.random.default_rng(0))


def test_empty_boxes_give_an_empty_array():
    assert perturb_boxes(np.zeros((0, 4)), 0.3, np.random.default_rng(0)).shape == (0, 4)


# --- statistics against an independent implementation ---

N_DRAWS = 20_000
# Centres in [0.4, 0.6], sizes in [0.05, 0.2]: even at η = 0.3 a box stays >= 0.2 from the border, so nothing clips.
FAR_BOXES = np.column_stack(
    [
        np.random.default_rng(100).uniform(0.4, 0.6, size=(N_DRAWS, 2)),
        np.random.default_rng(101).uniform(0.05, 0.2, size=(N_DRAWS, 2)),
    ]
)


def numpy_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Aligned IoU of xywh rows written directly in numpy: the reference for the Monte Carlo expectation."""
    overlap_w = np.clip(np.minimum(a[:, 0] + a[:, 2] / 2, b[:, 0] + b[:, 2] / 2)
                        - np.maximum(a[:, 0] - a[:, 2] / 2, b[:, 0] - b[:, 2] / 2), 0, None)  # fmt: skip
    overlap_h = np.clip(np.minimum(a[:, 1] + a[:, 3] / 2, b[:, 1] + b[:, 3] / 2)
                        - np.maximum(a[:, 1] - a[:, 3] / 2, b[:, 1] - b[:, 3] / 2), 0, None)  # fmt: skip
    intersection = overlap_w * overlap_h
    return intersection / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - intersection)


def monte_carlo_mean_iou(boxes: np.ndarray, eta: float, repeats: int = 10) -> float:
    """Expected IoU of clean and noisy boxes, with the noise drawn per coordinate and never clipped (far boxes)."""
    rng = np.random.default_rng(12345)
    clean = np.repeat(boxes, repeats, axis=0)
    scale = np.column_stack([clean[:, 2], clean[:, 3], clean[:, 2], clean[:, 3]])
    noisy = clean + scale * rng.uniform(-eta, eta, size=clean.shape)
    return float(numpy_iou_xywh(noisy, clean).mean())


@pytest.mark.parametrize("eta", [0.1, 0.2, 0.3])
def test_relative_displacements_are_uniform_on_minus_eta_eta(eta):
    noisy = perturb_boxes(FAR_BOXES, eta, np.random.default_rng(0))
    scale = FAR_BOXES[:, [2, 3, 2, 3]]  # x, w move by η·w; y, h by η·h
    displacement = (noisy - FAR_BOXES) / scale
    # U(−η, η): mean 0 (sd of the mean η/√(3N) ≈ 0.0012 at η = 0.3), variance η²/3 (relative sd ≈ √(0.8/N) ≈ 0.6 %).
    np.testing.assert_allclose(displacement.mean(axis=0), 0.0, atol=5 * eta / np.sqrt(3 * N_DRAWS))
    np.testing.assert_allclose(displacement.var(axis=0), eta**2 / 3, rtol=0.04)
    assert (np.abs(displacement) <= eta * (1 + 1e-12)).all()
    assert (np.abs(displacement).max(axis=0) > 0.99 * eta).all()


def test_mean_iou_falls_with_eta_and_matches_an_independent_monte_carlo():
    # The paper's VOC figures, 0.833 / 0.710 / 0.613, are higher than these: VOC's large boxes touch the border, where
    # eq. (5) clips the noise (NOTES.md). Far from the border: about 0.81 / 0.66 / 0.55.
    measured = []
    for eta in (0.1, 0.2, 0.3):
        mean_iou = float(aligned_iou_xywh(perturb_boxes(FAR_BOXES, eta, np.random.default_rng(1)), FAR_BOXES).mean())
        # IoU sd ≲ 0.15, so the two means differ by ~0.001 sd: 0.005 is ~5 sd.
        assert mean_iou == pytest.approx(monte_carlo_mean_iou(FAR_BOXES, eta), abs=0.005)
        measured.append(mean_iou)
    assert measured[0] > measured[1] > measured[2]


def test_aligned_iou_matches_the_diagonal_of_torchvision_box_iou():
    rng = np.random.default_rng(5)
    a, b = (perturb_boxes(FAR_BOXES[:200], 0.9, rng) for _ in range(2))
    a[0] = b[0] = [0.5, 0.5, 0.2, 0.2]  # identical boxes: IoU 1
    a[1], b[1] = [0.2, 0.2, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1]  # disjoint boxes: IoU 0
    to_xyxy = lambda boxes: torchvision.ops.box_convert(torch.from_numpy(boxes), "cxcywh", "xyxy")  # noqa: E731
    reference = torchvision.ops.box_iou(to_xyxy(a), to_xyxy(b)).diagonal().numpy()
    iou = aligned_iou_xywh(a, b)
    assert iou.shape == (200,) and iou[0] == pytest.approx(1.0) and iou[1] == 0.0
    np.testing.assert_allclose(iou, reference, rtol=1e-9, atol=0)


# --- list_images ---


def tiny_root(tiny_data: Path) -> Path:
    """The folder holding the tiny set's data.yaml, images/ and labels/."""
    return Path(tiny_data).parent


def test_list_images_of_a_folder_a_relative_list_a_list_and_a_missing_path(tiny_data, tmp_path):
    (tmp_path / "set").symlink_to(tiny_root(tiny_data))  # lists live beside the set without writing into it
    train = tmp_path / "set" / "images" / "train"
    pngs = sorted(train.glob("*.png"))
    assert list_images(str(train)) == pngs and len(pngs) == 16

    shutil.copy(pngs[0], tmp_path / "absolute.png")
    (tmp_path / "subset.txt").write_text(f"./set/images/train/{pngs[1].name}\nset/images/train/{pngs[2].name}\n"
                         f"{tmp_path / 'absolute.png'}\nnotes.md\n\n")  # fmt: skip
    # Relative lines, with or without "./", resolve against the list's folder; non-images are skipped.
    assert list_images(tmp_path / "subset.txt") == sorted([pngs[1], pngs[2], tmp_path / "absolute.png"])
    # Entries overlapping the folder are listed once.
    assert list_images([str(train), tmp_path / "subset.txt"]) == sorted([*pngs, tmp_path / "absolute.png"])
    assert list_images(pngs[3]) == [pngs[3]]
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        list_images([str(train), str(tmp_path / "no_such_folder")])


def test_list_images_refuses_a_list_naming_a_missing_image(tmp_path):
    (tmp_path / "train.txt").write_text("./images/gone.jpg\n")
    with pytest.raises(FileNotFoundError, match=r"gone\.jpg"):
        list_images(tmp_path / "train.txt")


# --- noisy_train_split ---


def read_rows(path: Path) -> np.ndarray:
    """The (N, 5) rows of a YOLO label file."""
    return np.loadtxt(path, ndmin=2).reshape(-1, 5)


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.txt")}


def clean_label(image_link: Path) -> Path:
    """The original label file behind a noisy view's image symlink."""
    return Path(img2label_paths([str(image_link.resolve())])[0])


@pytest.fixture(scope="module")
def train_images(tiny_data) -> list[Path]:
    return list_images(tiny_root(tiny_data) / "images" / "train")


@pytest.fixture(scope="module")
def split(train_images, tmp_path_factory) -> noise.NoisySplit:
    """A noisy view of the tiny train split, η = 0.2, written once for the tests that only read it."""
    return noisy_train_split(train_images, 0.2, seed=0, cache_dir=tmp_path_factory.mktemp("noise_cache"))


def test_noisy_view_leaves_every_original_label_byte_identical(tiny_data, train_images, tmp_path):
    labels = tiny_root(tiny_data) / "labels"
    before = file_hashes(labels)
    made = noisy_train_split(train_images, 0.3, seed=11, cache_dir=tmp_path)
    assert file_hashes(labels) == before and len(before) == 24  # 16 train + 8 val
    assert made.root.parent == tmp_path and not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_noisy_view_keeps_classes_and_lines_moves_boxes_and_links_the_originals(split, train_images):
    listed = [Path(line) for line in split.image_list.read_text().splitlines()]
    assert [p.resolve() for p in listed] == [p.resolve() for p in train_images]
    assert all(p.is_symlink() and p.parent == split.root / "images" for p in listed)
    moved = 0
    for link in listed:
        noisy, clean = read_rows(split.root / "labels" / f"{link.stem}.txt"), read_rows(clean_label(link))
        assert noisy.shape == clean.shape
        np.testing.assert_array_equal(noisy[:, 0], clean[:, 0])
        moved += int((np.abs(noisy[:, 1:] - clean[:, 1:]) > 1e-6).any(axis=1).sum())
    assert split.n_boxes > 0 and moved == split.n_boxes


def test_mean_iou_is_the_iou_of_the_files_as_written(split):
    noisy, clean = [], []
    for link in (Path(line) for line in split.image_list.read_text().splitlines()):
        noisy.append(read_rows(split.root / "labels" / f"{link.stem}.txt")[:, 1:])
        clean.append(read_rows(clean_label(link))[:, 1:])
    ious = numpy_iou_xywh(np.concatenate(noisy), np.concatenate(clean))
    assert 0 < split.mean_iou < 1 and split.n_boxes == ious.size
    assert split.mean_iou == pytest.approx(ious.mean(), abs=1e-12)
    assert (split.eta, split.seed) == (0.2, 0)


def test_second_call_reuses_the_view_and_another_seed_does_not(split, train_images, monkeypatch):
    def must_not_write(*args, **kwargs):
        raise AssertionError("the cached noisy view was regenerated")

    monkeypatch.setattr(noise, "_write_noisy_view", must_not_write)
    assert noisy_train_split(train_images, 0.2, seed=0, cache_dir=split.root.parent) == split
    monkeypatch.undo()
    other = noisy_train_split(train_images, 0.2, seed=1, cache_dir=split.root.parent)
    assert other.root != split.root
    assert (split.root / "labels" / "0000000.txt").read_text() != (other.root / "labels" / "0000000.txt").read_text()


def test_editing_a_label_gives_a_new_view(tiny_data, tmp_path):
    root = shutil.copytree(tiny_root(tiny_data), tmp_path / "copy")
    images = list_images(root / "images" / "train")
    first = noisy_train_split(images, 0.1, seed=0, cache_dir=tmp_path / "cache")
    label = Path(img2label_paths([str(images[3])])[0])
    label.write_text(label.read_text() + "1 0.500000 0.500000 0.100000 0.100000\n")
    second = noisy_train_split(images, 0.1, seed=0, cache_dir=tmp_path / "cache")
    assert second.root != first.root and second.n_boxes == first.n_boxes + 1


def test_eta_zero_copies_the_labels_and_images_without_labels_count_as_no_boxes(tiny_data, tmp_path):
    images = list_images(tiny_root(tiny_data) / "images" / "train")[:3]
    same = noisy_train_split(images, 0.0, seed=0, cache_dir=tmp_path)
    for index, image in enumerate(images):
        clean = Path(img2label_paths([str(image)])[0])
        assert (same.root / "labels" / f"{index:07d}.txt").read_bytes() == clean.read_bytes()
    assert same.mean_iou == 1.0

    (tmp_path / "bare" / "images").mkdir(parents=True)
    bare = tmp_path / "bare" / "images" / "a.png"
    shutil.copy(images[0], bare)
    empty = noisy_train_split([bare], 0.3, seed=0, cache_dir=tmp_path)
    assert (empty.n_boxes, empty.mean_iou) == (0, 1.0)
    assert (empty.root / "labels" / "0000000.txt").read_text() == ""


def test_segment_labels_are_refused_naming_the_file(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"")
    (tmp_path / "labels" / "a.txt").write_text("0 0.1 0.1 0.2 0.1 0.2 0.2\n")
    with pytest.raises(ValueError, match=r"a\.txt: noise_eta supports box labels \(cls x y w h\)"):
        noisy_train_split([tmp_path / "images" / "a.jpg"], 0.1, seed=0, cache_dir=tmp_path / "cache")


def test_a_crash_leaves_nothing_behind_and_the_next_call_succeeds(train_images, tmp_path, monkeypatch):
    def crash(root, *args):
        (root / "half-written").touch()
        raise KeyboardInterrupt

    monkeypatch.setattr(noise, "_write_noisy_view", crash)
    with pytest.raises(KeyboardInterrupt):
        noisy_train_split(train_images, 0.1, seed=2, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert noisy_train_split(train_images, 0.1, seed=2, cache_dir=tmp_path).n_boxes > 0


def test_bad_arguments_are_refused(train_images, tmp_path):
    with pytest.raises(ValueError, match="noise_eta"):
        noisy_train_split(train_images, 1.0, seed=0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="seed"):
        noisy_train_split(train_images, 0.1, seed=-1, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="no training images"):
        noisy_train_split([], 0.1, seed=0, cache_dir=tmp_path)


def test_the_default_cache_dir_is_the_synthetic_sets_one(train_images):
    assert noisy_train_split(train_images, 0.1, seed=3).root.parent == default_cache_dir()


def test_ultralytics_reads_the_noisy_labels(split, tiny_data):
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    dataset = YOLODataset(
        img_path=str(split.image_list), data=check_det_dataset(str(tiny_data)), imgsz=64, augment=False
    )
    assert len(dataset.labels) == 16
    for label in dataset.labels:
        link = Path(label["im_file"])
        noisy, clean = read_rows(split.root / "labels" / f"{link.stem}.txt"), read_rows(clean_label(link))
        np.testing.assert_allclose(label["bboxes"], noisy[:, 1:], atol=1e-6)
        np.testing.assert_array_equal(label["cls"][:, 0], noisy[:, 0])
        if len(clean):
            assert np.abs(label["bboxes"] - clean[:, 1:]).max() > 1e-3
