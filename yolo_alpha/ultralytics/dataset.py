"""The training images and labels exactly as Ultralytics lists and verifies them, for the noisy view.

The noisy view (:mod:`yolo_alpha.data.noise`) must hold the images and boxes that training on the clean labels uses,
no more and no fewer: so every label file goes through Ultralytics' own ``verify_image_label``, the check its
``YOLODataset`` runs when it scans a split (corrupt files drop their image, segments become boxes, duplicate rows
go), and only the boxes it keeps are perturbed. Its messages are logged with the user's file names, never with the
view's symlinks.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Sequence
from multiprocessing.pool import ThreadPool
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from ultralytics.data.utils import IMG_FORMATS, check_image, img2label_paths, verify_image_label
from ultralytics.utils import LOGGER, NUM_THREADS

from yolo_alpha.data.noise import NoisySplit, check_noise_eta, check_noise_seed, noisy_train_split
from yolo_alpha.errors import ConfigError

__all__ = ["VerifiedLabels", "check_train_split", "noisy_train_data", "train_images", "verified_box_labels"]


class VerifiedLabels(NamedTuple):
    """One training image after Ultralytics' label check."""

    image: Path
    boxes: np.ndarray | None
    """``(N, 5)`` float32 rows ``cls x y w h`` as Ultralytics keeps them; None when it drops the image."""
    message: str
    """Ultralytics' reason, after the user's label file (label problems) or image; "" when it has nothing to say."""
    repaired: bool = False
    """Ultralytics' check rewrote the image (a JPEG without its end marker): in a copy, never in the user's file."""


def train_images(train: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Return the sorted, absolute, de-duplicated image files named by an Ultralytics data dict's ``train`` entry.

    Each entry is a directory (every file below it whose suffix is in Ultralytics' ``IMG_FORMATS``, found with
    Ultralytics' pattern ``**/*.*``, which skips hidden files and folders), a single image file, or a text file
    listing image paths one per line. Relative lines resolve against the text file's folder: Ultralytics does so for
    lines starting with ``./`` and against the working directory otherwise, which would make the result depend on
    where the process runs. A listed image that does not exist is returned all the same: Ultralytics' check drops it
    with its reason, as on the clean path. Paths are made absolute without resolving symlinks, and sorted as strings,
    as Ultralytics sorts them.

    Raises:
        ConfigError: an entry does not exist (names the entry and the missing path).
    """
    entries = [train] if isinstance(train, (str, os.PathLike)) else list(train)
    found: set[Path] = set()
    for entry in entries:
        path = Path(entry).expanduser()
        if path.is_dir():
            pattern = os.path.join(glob.escape(os.fspath(path)), "**", "*.*")
            found.update(p for p in map(Path, glob.glob(pattern, recursive=True)) if is_image(p) and p.is_file())
        elif path.is_file() and is_image(path):
            found.add(path)
        elif path.is_file():
            found.update(_listed_images(path))
        else:
            raise ConfigError(f"train: {path} does not exist (the data set's train entry is {_shown(train)})")
    return sorted((Path(os.path.abspath(p)) for p in found), key=os.fspath)


def is_image(path: Path) -> bool:
    """Return whether ``path``'s suffix is an image format Ultralytics reads."""
    return path.suffix[1:].lower() in IMG_FORMATS


def _listed_images(list_file: Path) -> list[Path]:
    """Return the image paths listed in ``list_file``, relative ones resolved against its folder."""
    lines = list_file.read_text(encoding="utf-8-sig").splitlines()
    paths = [list_file.parent / line.strip() for line in lines if line.strip()]  # `/` keeps absolute lines as they are
    return [p for p in paths if is_image(p)]


def _shown(train: Any) -> str:
    """Return a data dict's train entry as the user wrote it: one path, or the list."""
    return str(train) if isinstance(train, (str, os.PathLike)) else str([str(entry) for entry in train])


def _data_name(data: dict[str, Any]) -> str:
    """Return ``data=<yaml>`` for messages: the data set as the user named it, as far as the data dict knows."""
    return f"data={data.get('yaml_file') or data.get('path') or '?'}"


LABEL_CHECK_CHUNK = 64
"""Images verified at a time by :func:`check_train_split`, which stops at the first chunk holding a usable image."""


def check_train_split(data: dict[str, Any], single_cls: bool = False) -> None:
    """Raise ConfigError unless the train entry of Ultralytics' data dict names training images Ultralytics keeps.

    Meant to run before any run folder exists: upstream checks only ``val`` up front and fails on a missing ``train``
    after it has created the run folder, and when its label check drops every image ("No valid images found") only
    once the run folder exists. Images are verified with Ultralytics' own check (:func:`verified_box_labels`) a chunk
    at a time until one is kept, so a usable set costs one chunk; a set it drops entirely is read to the end. The
    message names ``data=``, the count and a reason.
    """
    images = _checked_train_images(data)
    reasons = []
    for start in range(0, len(images), LABEL_CHECK_CHUNK):
        batch = images[start : start + LABEL_CHECK_CHUNK]
        chunk = verified_box_labels(batch, data["nc"], single_cls=single_cls, kpt_shape=data.get("kpt_shape"))
        if any(entry.boxes is not None for entry in chunk):
            return
        reasons += [entry.message for entry in chunk]
    example = next((reason for reason in reasons if reason), "no reason given")
    raise ConfigError(
        f"{_data_name(data)}: Ultralytics' label check drops all {len(images)} training images, so nothing would "
        f"train; e.g. {example}"
    )


def _checked_train_images(data: dict[str, Any]) -> list[Path]:
    """Return :func:`train_images` of ``data["train"]``; ConfigError naming ``data=`` when missing or empty."""
    if not data.get("train"):
        raise ConfigError(f"{_data_name(data)}: the data set has no train entry")
    try:
        images = train_images(data["train"])
    except ConfigError as error:
        raise ConfigError(f"{_data_name(data)}: {error}") from None
    if not images:
        formats = ", ".join(sorted(IMG_FORMATS))
        raise ConfigError(f"{_data_name(data)}: train: no images ({formats}) in {_shown(data['train'])}")
    return images


def verified_box_labels(
    images: Sequence[Path], num_cls: int, single_cls: bool = False, kpt_shape: Sequence[int] | None = None
) -> list[VerifiedLabels]:
    """Return each image's labels as Ultralytics' ``verify_image_label`` keeps them for a detection training.

    The arguments are those ``YOLODataset`` passes for a box task: ``num_cls`` classes, ``single_cls``, the data set's
    ``kpt_shape`` (pose rows are cut to their box). Ultralytics reads each image through a temporary symlink: its check
    rewrites a JPEG whose end marker is missing, and it must rewrite that link, never the user's file.
    """
    nkpt, ndim = kpt_shape or (0, 0)
    images = [Path(image) for image in images]
    label_files = [Path(label) for label in img2label_paths([os.fspath(image) for image in images])]
    with tempfile.TemporaryDirectory(prefix="yolo-alpha-verify-") as scratch:
        links = [Path(scratch) / f"{index:07d}{image.suffix}" for index, image in enumerate(images)]
        for link, image in zip(links, images):
            os.symlink(os.path.abspath(image), link)
        args = [
            (os.fspath(link), os.fspath(label), "", False, num_cls, nkpt, ndim, single_cls)
            for link, label in zip(links, label_files)
        ]
        with ThreadPool(NUM_THREADS) as pool:
            results = pool.map(verify_image_label, args, chunksize=64)
        repaired = [not link.is_symlink() for link in links]  # Ultralytics replaces a file it repairs
    return [_verified(*entry) for entry in zip(images, label_files, links, results, repaired)]


def _verified(image: Path, label_file: Path, link: Path, result: Sequence[Any], repaired: bool) -> VerifiedLabels:
    """Return one verification result with Ultralytics' message retold in terms of the user's files."""
    im_file, boxes, _, _, _, _, label_found, _, _, message = result
    boxes = None if im_file is None else boxes
    if not message:
        return VerifiedLabels(image, boxes, "", repaired)
    reason = message.replace(os.fspath(link), os.fspath(image)).removeprefix(f"{image}: ")
    # Ultralytics opens the label file only once the image passed its check: a file it found and then dropped the
    # image for is a label problem, as are its duplicate rows; the rest is about the image.
    about_labels = label_found and (im_file is None or "label" in reason)
    if repaired and not about_labels:
        reason += " (in the noisy view's copy: your file is left as it is)"
    return VerifiedLabels(image, boxes, f"{label_file if about_labels else image}: {reason}", repaired)


def noisy_train_data(
    data: dict[str, Any], eta: float, seed: int, single_cls: bool = False, cache_dir: Path | None = None
) -> NoisySplit:
    """Return the noisy view of the training split of Ultralytics' data dict (``check_det_dataset``'s).

    The view holds exactly the images and boxes Ultralytics' own scan of ``data["train"]`` keeps, each box perturbed
    by :func:`~yolo_alpha.data.noise.perturb_boxes`; each image or label line it drops is logged once (Ultralytics'
    ``LOGGER``, a warning naming the user's file and Ultralytics' reason) and left out. ``single_cls`` is the trainer's
    key (``data["nc"]`` is then already 1, as Ultralytics' trainer sets it). Segment labels become their boxes, as
    Ultralytics' detection training reads them; the view stores boxes only, so augmentation moves the noisy boxes and
    does not recompute them from the clean polygons. ``cache_dir`` as :func:`~yolo_alpha.data.noise.noisy_train_split`.

    Raises:
        ConfigError: bad ``eta``/``seed`` (naming ``noise_eta``/``noise_seed``); the train entry names a missing
            path or no image; Ultralytics keeps none of the images, or finds no label file at all (upstream stops a
            training with "No labels found" then).
    """
    eta, seed = check_noise_eta(eta), check_noise_seed(seed)
    images = _checked_train_images(data)
    verified = verified_box_labels(images, data["nc"], single_cls=single_cls, kpt_shape=data.get("kpt_shape"))
    for entry in verified:
        if entry.message:
            LOGGER.warning(entry.message)
    kept = [entry for entry in verified if entry.boxes is not None]
    if not kept:
        raise ConfigError(
            f"{_data_name(data)}: Ultralytics' label check drops all {len(images)} training images (reasons above)"
        )
    if not any(os.path.isfile(label) for label in img2label_paths([os.fspath(entry.image) for entry in kept])):
        example = img2label_paths([os.fspath(kept[0].image)])[0]
        raise ConfigError(
            f"{_data_name(data)}: no label file for any of the {len(kept)} training images "
            f"(Ultralytics reads the labels of {kept[0].image} from {example})"
        )
    if len(kept) < len(images):
        dropped = len(images) - len(kept)
        LOGGER.info(f"noise_eta: {dropped} of {len(images)} training images left out, as Ultralytics' check drops them")
    split = noisy_train_split([entry.image for entry in kept], [entry.boxes for entry in kept], eta, seed, cache_dir)
    _repair_view_copies(split, [entry.repaired for entry in kept])
    return split


def _repair_view_copies(split: NoisySplit, repaired: Sequence[bool]) -> None:
    """Let Ultralytics repair now, in the view, the images it repaired in the check: its scan of the view would do so
    too, but its message would then name the view's link instead of the user's file (already named above)."""
    links = [Path(line) for line in split.image_list.read_text().splitlines()]
    for link, needs_repair in zip(links, repaired):
        if needs_repair and link.is_symlink():  # a view made earlier may hold its repaired copy already
            check_image(os.fspath(link))
