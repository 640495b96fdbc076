"""The noisy view holds exactly what Ultralytics' own scan of the clean labels keeps, tested against that scan
(``YOLODataset(...).labels``) on a tiny set with one corrupt case per file, and warns with the user's file names."""

import hashlib
import logging
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from ultralytics.data import YOLODataset
from ultralytics.data.utils import check_det_dataset, img2label_paths
from ultralytics.utils import LOGGER

from yolo_alpha.errors import ConfigError
from yolo_alpha.ultralytics.dataset import (
    check_train_split,
    noisy_train_data,
    train_images,
    verified_box_labels,
)

GOOD = "0 0.5 0.5 0.2 0.2\n1 0.25 0.25 0.1 0.3\n"
# name -> label text (None: no label file), and for the files Ultralytics drops, how its reason starts (numpy's own
# messages and array printing vary with versions and print options: only Ultralytics' words are matched).
LABELS = {
    "good": (GOOD, None),
    "abc": ("0 abc 0.5 0.2 0.2\n", "could not convert string to float: 'abc'"),
    "x_out": (GOOD + "0 1.5 0.5 0.2 0.2\n", "non-normalized or out of bounds coordinates"),
    "class_negative": ("-1 0.5 0.5 0.2 0.2\n", "negative label values"),
    "class_half": ("0.5 0.5 0.5 0.2 0.2\n", "non-integer class labels"),
    "class_too_big": (
        "3 0.5 0.5 0.2 0.2\n",
        "Label class 3 exceeds dataset class count 3. Possible class labels are 0-2",
    ),
    "four_fields": ("0 0.5 0.5 0.2\n", "labels require 5 columns, 4 columns detected"),
    "good_and_four_fields": (GOOD + "0 0.5 0.5 0.2\n", ""),  # one short line drops the whole image
    "six_fields": ("0 0.5 0.5 0.2 0.2 0.9\n", "labels require 5 columns, 6 columns detected"),
    "mixed_segment_and_box": ("0 0.1 0.1 0.3 0.1 0.3 0.4\n" + GOOD, "labels mix segment and detection rows"),
    "nan": ("0 nan 0.5 0.2 0.2\n", "non-normalized or out of bounds coordinates"),
    # Kept, as Ultralytics keeps them:
    "duplicates": ("1 0.3 0.3 0.1 0.1\n" + GOOD + "1 0.3 0.3 0.1 0.1\n", None),  # one row removed, with a message
    "segments": ("0 0.1 0.1 0.3 0.1 0.3 0.4\n1 0.5 0.5 0.9 0.5 0.9 0.9 0.5 0.9\n", None),  # polygons -> boxes
    "zero_width": ("0 0.5 0.5 0 0.2\n2 0.4 0.4 0.2 0.2\n", None),  # kept by the check (augmentation drops it)
    "on_the_border": ("0 -0.005 0.5 0.2 0.2\n", None),  # within Ultralytics' 1 % tolerance
    "bom_and_blank_lines": ("\ufeff0 0.5 0.5 0.2 0.2\n\n\n", None),
    "empty": ("", None),
    "no_label_file": (None, None),
}
DROPPED = {name: reason for name, (_, reason) in LABELS.items() if reason is not None}
TINY_REASON = "image size (5, 5) <10 pixels"  # an image Ultralytics drops, whatever its labels


def write_image(path: Path, size: int = 32, trailing: bytes = b"") -> None:
    """Write a random RGB image of ``size`` px (``trailing`` bytes appended: a JPEG without its end marker last)."""
    image = (np.random.default_rng(len(path.name)).random((size, size, 3)) * 255).astype(np.uint8)
    assert cv2.imwrite(str(path), image)
    if trailing:
        path.write_bytes(path.read_bytes() + trailing)


def make_set(root: Path) -> Path:
    """Write the corrupt set under ``root`` and return its data.yaml (train and val are the same folder)."""
    images, labels = root / "images" / "train", root / "labels" / "train"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    for name, (text, _) in LABELS.items():
        write_image(images / f"{name}.png")
        if text is not None:
            (labels / f"{name}.txt").write_text(text, encoding="utf-8")
    write_image(images / "tiny.png", size=5)
    (labels / "tiny.txt").write_text(GOOD)
    write_image(images / "no_end_marker.jpg", trailing=b"\0\0")  # Ultralytics rewrites such a JPEG, keeping it
    for hidden in (images / ".hidden.png", images / ".ipynb_checkpoints" / "copy.png"):  # Ultralytics never lists these
        hidden.parent.mkdir(exist_ok=True)
        write_image(hidden)
    (labels / "no_end_marker.txt").write_text(GOOD)
    spec = {"path": str(root), "train": "images/train", "val": "images/train", "names": {0: "a", 1: "b", 2: "c"}}
    (root / "data.yaml").write_text(yaml.safe_dump(spec))
    return root / "data.yaml"


@pytest.fixture
def corrupt_set(tmp_path) -> dict:
    """Ultralytics' data dict of a fresh corrupt set (a fresh one per test: Ultralytics' scan writes into it)."""
    return check_det_dataset(str(make_set(tmp_path / "user_set")))


@pytest.fixture
def logged():
    """Every record Ultralytics' LOGGER emits during the test (it does not propagate to pytest's caplog)."""

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.records = []

        def emit(self, record):
            self.records.append(record)

    handler = Keep()
    LOGGER.addHandler(handler)
    yield handler.records
    LOGGER.removeHandler(handler)


def message_of(record: logging.LogRecord) -> str:
    """A record's message without the "WARNING ⚠️ " that Ultralytics' LOGGER puts in front of warnings."""
    return record.getMessage().removeprefix("WARNING ⚠️ ")


def user_label(image: Path) -> Path:
    return Path(img2label_paths([str(image)])[0])


def clean_scan(data: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{image name: (classes, boxes)} as Ultralytics' own dataset reads the clean training split."""
    dataset = YOLODataset(img_path=data["train"], data=data, imgsz=32, augment=False)
    return {Path(lb["im_file"]).name: (lb["cls"][:, 0], lb["bboxes"]) for lb in dataset.labels}


def kept_labels(data: dict) -> dict[str, np.ndarray]:
    """{image name: boxes} of the images Ultralytics' check keeps, in the view's order."""
    verified = verified_box_labels(train_images(data["train"]), data["nc"])
    return {v.image.name: v.boxes for v in verified if v.boxes is not None}


def view_scan(split, data: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{user's image name: (classes, boxes)} as Ultralytics' dataset reads the noisy view (image i: kept image i)."""
    names = dict(zip((f"{i:07d}" for i in range(split.n_images)), kept_labels(data)))
    dataset = YOLODataset(img_path=str(split.image_list), data=data, imgsz=32, augment=False)
    return {names[Path(lb["im_file"]).stem]: (lb["cls"][:, 0], lb["bboxes"]) for lb in dataset.labels}


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


# --- the same images and boxes as Ultralytics' clean path ---


def test_verified_labels_are_what_ultralytics_own_scan_keeps(corrupt_set, tmp_path):
    kept = kept_labels(corrupt_set)
    # Ultralytics scans (and writes its .cache and JPEG repair into) a copy, so the user's set stays pristine here.
    copy = check_det_dataset(str(make_set(tmp_path / "copy")))
    clean = clean_scan(copy)
    expected = {f"{name}.png" for name in LABELS if name not in DROPPED} | {"no_end_marker.jpg"}
    assert set(kept) == set(clean) == expected
    for name, (classes, boxes) in clean.items():
        np.testing.assert_array_equal(kept[name][:, 0], classes)
        np.testing.assert_array_equal(kept[name][:, 1:], boxes)
    assert len(kept["duplicates.png"]) == 3 and len(kept["segments.png"]) == 2 and len(kept["empty.png"]) == 0


def test_the_noisy_view_at_eta_zero_reads_back_as_the_clean_labels(corrupt_set, tmp_path):
    split = noisy_train_data(corrupt_set, 0.0, seed=0, cache_dir=tmp_path / "cache")
    clean = clean_scan(check_det_dataset(str(make_set(tmp_path / "copy"))))
    viewed = view_scan(split, corrupt_set)
    assert set(viewed) == set(clean) and split.n_images == len(clean)
    for name, (classes, boxes) in clean.items():
        np.testing.assert_array_equal(viewed[name][0], classes)
        np.testing.assert_allclose(viewed[name][1], boxes, rtol=0, atol=1e-6)  # written with 6 decimals


def test_only_the_kept_boxes_are_perturbed(corrupt_set, tmp_path):
    split = noisy_train_data(corrupt_set, 0.3, seed=0, cache_dir=tmp_path / "cache")
    kept = kept_labels(corrupt_set)
    viewed = view_scan(split, corrupt_set)
    assert set(viewed) == set(kept) and split.n_boxes == sum(len(boxes) for boxes in kept.values())
    for name, boxes in kept.items():
        classes, noisy = viewed[name]
        np.testing.assert_array_equal(classes, boxes[:, 0])
        moved = np.abs(noisy - boxes[:, 1:]).max(axis=1, initial=0) > 1e-3
        sized = (boxes[:, 3] > 0) & (boxes[:, 4] > 0)
        np.testing.assert_array_equal(moved, sized, err_msg=name)  # every box moves, but a zero-width one
    np.testing.assert_allclose(viewed["zero_width.png"][1][0], kept["zero_width.png"][0, 1:], atol=1e-6)


# --- messages ---


def test_each_dropped_file_is_one_warning_naming_the_users_file_with_ultralytics_reason(corrupt_set, tmp_path, logged):
    cache = tmp_path / "cache"
    split = noisy_train_data(corrupt_set, 0.2, seed=0, cache_dir=cache)
    train = Path(corrupt_set["train"])
    warnings = {message_of(r) for r in logged if r.levelno == logging.WARNING}
    prefixes = [
        f"{user_label(train / f'{name}.png')}: ignoring corrupt image/label: {r}" for name, r in DROPPED.items()
    ]
    prefixes.append(f"{user_label(train / 'duplicates.png')}: 1 duplicate labels removed")
    prefixes.append(f"{train / 'tiny.png'}: ignoring corrupt image/label: {TINY_REASON}")
    prefixes.append(
        f"{train / 'no_end_marker.jpg'}: corrupt JPEG restored and saved "
        "(in the noisy view's copy: your file is left as it is)"
    )
    assert len(warnings) == len(prefixes)  # one line per file
    for prefix in prefixes:
        assert len([w for w in warnings if w.startswith(prefix)]) == 1, prefix
    assert not [w for w in warnings if str(cache) in w or "yolo-alpha-verify" in w]
    # Ultralytics' own scan of the view then finds nothing to report, so no message ever names the view's links.
    logged.clear()
    view_scan(split, corrupt_set)
    assert not [r for r in logged if "corrupt" in r.getMessage() or "duplicate" in r.getMessage()]


def test_the_users_files_are_only_read(corrupt_set, tmp_path):
    root = Path(corrupt_set["path"])
    before = file_hashes(root)
    split = noisy_train_data(corrupt_set, 0.2, seed=0, cache_dir=tmp_path / "cache")
    assert file_hashes(root) == before  # no label cache, no repaired JPEG: the set is as it was
    links = {Path(line).stem: Path(line) for line in split.image_list.read_text().splitlines()}
    jpeg = links.pop(f"{list(kept_labels(corrupt_set)).index('no_end_marker.jpg'):07d}")
    assert all(
        link.is_symlink() and Path(link.readlink()).parent == root / "images" / "train" for link in links.values()
    )
    # The JPEG Ultralytics repairs is repaired in the view (a copy), so that its scan of the view has nothing to say.
    assert not jpeg.is_symlink() and jpeg.read_bytes().endswith(b"\xff\xd9")


def test_the_view_changes_when_the_boxes_used_change_and_only_then(corrupt_set, tmp_path):
    cache, train = tmp_path / "cache", Path(corrupt_set["train"])
    first = noisy_train_data(corrupt_set, 0.2, seed=0, cache_dir=cache)
    user_label(train / "good.png").write_text(GOOD.replace("\n", "  \n") + "\n\n")  # same boxes
    assert noisy_train_data(corrupt_set, 0.2, seed=0, cache_dir=cache) == first
    user_label(train / "abc.png").write_text("0 0.5 0.5 0.2 0.2\n")  # a dropped file repaired: one more image
    fixed = noisy_train_data(corrupt_set, 0.2, seed=0, cache_dir=cache)
    assert fixed.root != first.root and (fixed.n_images, fixed.n_boxes) == (first.n_images + 1, first.n_boxes + 1)


# --- listing and refusing ---


def test_train_images_of_a_folder_a_list_and_a_missing_path(corrupt_set, tmp_path):
    train = Path(corrupt_set["train"])
    pngs = sorted(p for p in train.glob("*.png") if not p.name.startswith("."))
    assert train_images(str(train)) == sorted([*pngs, train / "no_end_marker.jpg"])
    shutil.copy(pngs[0], tmp_path / "absolute.png")
    (tmp_path / "subset.txt").write_text(
        f"./user_set/images/train/{pngs[1].name}\nuser_set/images/train/{pngs[2].name}\n"
        f"{tmp_path / 'absolute.png'}\nnotes.md\n\n./user_set/images/train/gone.png\n"
    )
    # Relative lines, with or without "./", resolve against the list's folder; non-images are skipped; a listed
    # image that does not exist is kept for Ultralytics' check to drop, as on the clean path.
    listed = sorted([pngs[1], pngs[2], tmp_path / "absolute.png", train / "gone.png"])
    assert train_images(tmp_path / "subset.txt") == listed
    assert train_images([str(train), tmp_path / "subset.txt"]) == sorted({*pngs, train / "no_end_marker.jpg", *listed})
    assert train_images(pngs[3]) == [pngs[3]]
    with pytest.raises(ConfigError, match=r"train: .*no_such_folder does not exist \(the data set's train entry is"):
        train_images([str(train), str(tmp_path / "no_such_folder")])


def test_a_listed_image_that_does_not_exist_is_dropped_with_a_warning_naming_it(tmp_path, logged):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    write_image(root / "images" / "here.png")
    (root / "labels" / "here.txt").write_text(GOOD)
    (root / "train.txt").write_text("./images/here.png\n./images/gone.png\n")
    data = {"train": str(root / "train.txt"), "nc": 2, "names": {0: "a", 1: "b"}}
    split = noisy_train_data(data, 0.2, seed=0, cache_dir=tmp_path / "cache")
    assert split.n_images == 1
    (warning,) = [message_of(r) for r in logged if r.levelno == logging.WARNING]
    assert warning.startswith(f"{root / 'images' / 'gone.png'}: ignoring corrupt image/label: ")
    assert (
        "yolo-alpha-verify" not in warning and f"No such file or directory: '{root / 'images' / 'gone.png'}'" in warning
    )


def test_check_train_split_refuses_a_missing_or_empty_train_entry(corrupt_set, tmp_path):
    check_train_split(corrupt_set)
    missing = {**corrupt_set, "train": str(tmp_path / "nowhere" / "images")}
    with pytest.raises(ConfigError, match=rf"^data=.*data\.yaml: train: {tmp_path}/nowhere/images does not exist"):
        check_train_split(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"data=.*: train: no images \(.*png.*\) in .*empty"):
        check_train_split({**corrupt_set, "train": str(tmp_path / "empty")})
    with pytest.raises(ConfigError, match="no train entry"):
        check_train_split({**corrupt_set, "train": None})


def test_a_data_yaml_whose_train_folder_is_missing_is_refused_by_check_train_split(tmp_path):
    root = tmp_path / "set"
    (root / "images" / "val").mkdir(parents=True)
    write_image(root / "images" / "val" / "a.png")
    spec = {"path": str(root), "train": "images/train", "val": "images/val", "names": {0: "a"}}
    (root / "data.yaml").write_text(yaml.safe_dump(spec))
    data = check_det_dataset(str(root / "data.yaml"))  # upstream checks only val
    with pytest.raises(ConfigError, match=r"images/train does not exist"):
        check_train_split(data)


def test_no_usable_image_or_no_label_file_at_all_is_a_config_error(tmp_path):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    write_image(root / "images" / "a.png")
    data = {"train": str(root / "images"), "nc": 1, "names": {0: "a"}, "yaml_file": str(root / "data.yaml")}
    with pytest.raises(ConfigError, match=r"no label file for any of the 1 training images"):
        noisy_train_data(data, 0.2, seed=0, cache_dir=tmp_path / "cache")
    (root / "labels" / "a.txt").write_text("5 0.5 0.5 0.2 0.2\n")
    with pytest.raises(ConfigError, match=r"data=.*data\.yaml: Ultralytics' label check drops all 1 training images"):
        noisy_train_data(data, 0.2, seed=0, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("eta", "seed", "key"), [(1.0, 0, "noise_eta"), (-0.1, 0, "noise_eta"), (0.2, -1, "noise_seed")]
)
def test_bad_noise_keys_are_config_errors_before_anything_is_read(eta, seed, key, tmp_path):
    with pytest.raises(ConfigError, match=key):
        noisy_train_data({"train": str(tmp_path / "nowhere"), "nc": 1}, eta, seed, cache_dir=tmp_path / "cache")


def test_single_cls_accepts_any_class_as_ultralytics_does(tmp_path):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    write_image(root / "images" / "a.png")
    (root / "labels" / "a.txt").write_text("7 0.5 0.5 0.2 0.2\n")
    ((verified,),) = [verified_box_labels([root / "images" / "a.png"], 1, single_cls=True)]
    assert verified.boxes is not None and verified.boxes[0, 0] == 7 and verified.message == ""
    data = {"train": str(root / "images"), "nc": 1, "names": {0: "item"}}
    assert noisy_train_data(data, 0.2, seed=0, single_cls=True, cache_dir=tmp_path / "cache").n_boxes == 1


@pytest.mark.slow
def test_a_noisy_training_on_the_corrupt_set_trains_on_what_the_clean_path_keeps(corrupt_set, tmp_path):
    from yolo_alpha.run import train

    model = train(
        data=corrupt_set["yaml_file"], model="yolov8n.yaml", epochs=1, imgsz=64, batch=8, workers=0, device="cpu",
        plots=False, noise_eta=0.2, project=str(tmp_path / "runs"), name="noisy", verbose=False,
    )  # fmt: skip
    used = model.trainer.train_loader.dataset.labels
    assert len(used) == len(kept_labels(corrupt_set)) == 9
    args = yaml.safe_load((tmp_path / "runs" / "noisy" / "args.yaml").read_text())
    assert args["noise_eta"] == 0.2 and 0 < args["noise_mean_iou"] < 1


def test_check_train_split_refuses_a_set_whose_every_image_ultralytics_drops(tmp_path, monkeypatch):
    import yolo_alpha.ultralytics.dataset as dataset_module

    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name in ("a", "b", "c"):
        write_image(root / "images" / f"{name}.png")
        (root / "labels" / f"{name}.txt").write_text("5 0.5 0.5 0.2 0.2\n")  # class 5 of a one-class set: dropped
    data = {"train": str(root / "images"), "nc": 1, "names": {0: "a"}, "yaml_file": str(root / "data.yaml")}
    monkeypatch.setattr(dataset_module, "LABEL_CHECK_CHUNK", 2)  # the images are read in two chunks: 2, then 1
    with pytest.raises(ConfigError, match=r"data=.*data\.yaml: Ultralytics' label check drops all 3 training images"):
        check_train_split(data)
    check_train_split(data, single_cls=True)  # any class is class 0 then, as Ultralytics' scan reads it
    (root / "labels" / "c.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    check_train_split(data)  # c, in the second chunk, is kept: the set trains


def test_check_train_split_reads_only_until_a_usable_image(corrupt_set, monkeypatch):
    import yolo_alpha.ultralytics.dataset as dataset_module

    chunks = []
    verify = dataset_module.verified_box_labels
    monkeypatch.setattr(dataset_module, "LABEL_CHECK_CHUNK", 1)
    monkeypatch.setattr(
        dataset_module, "verified_box_labels", lambda images, *a, **k: chunks.append(images) or verify(images, *a, **k)
    )
    check_train_split(corrupt_set)
    assert 1 <= len(chunks) < len(train_images(corrupt_set["train"]))  # stopped at the first kept image
