"""Noisy training boxes as in the α-IoU paper (Sec. 4.3, eq. 5), and a cached "noisy view" of a training split.

Noise model: every normalised ``xywh`` box moves by independent uniform draws, ``x`` and ``w`` in ``[−ηw, ηw]``,
``y`` and ``h`` in ``[−ηh, ηh]`` (``w``, ``h`` of the clean box), then eq. (5) is enforced:
``0 < w < 1``, ``0 < h < 1``, ``w/2 <= x <= 1 − w/2``, ``h/2 <= y <= 1 − h/2``.

Unlike the authors' script (unseeded, edits the label files in place), the noise here is seeded and written to a
separate directory of symlinked images and noisy labels; the original label files are only read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ultralytics.data.utils import IMG_FORMATS, img2label_paths

from yolo_alpha.data.cache import build_once, default_cache_dir
from yolo_alpha.data.synthetic import format_labels
from yolo_alpha.losses.geometry import aligned_iou_and_union

__all__ = [
    "NOISE_VERSION",
    "SIZE_RANGE",
    "NoisySplit",
    "aligned_iou_xywh",
    "list_images",
    "noisy_train_split",
    "perturb_boxes",
]

# Bump whenever a change alters any noisy label (draw order, clipping, formatting): cached views are keyed on it.
NOISE_VERSION = 1
# Noisy widths and heights are clipped into this range, as in the authors' script: strictly inside (0, 1) as eq. (5)
# demands, and a box never collapses below 0.1 % of the image side.
SIZE_RANGE = (1e-3, 0.999)
# The losses' eps (1e-7) would bias the IoU of small boxes (union down to 1e-6 here); the smallest normal float64
# leaves every nonzero union exact (identical boxes: IoU exactly 1) and only turns 0/0 for two zero-area boxes into 0.
_IOU_EPS = float(np.finfo(np.float64).tiny)

logger = logging.getLogger("yolo_alpha")


def check_eta(eta: float) -> float:
    """Return ``eta`` as a float after checking it is a real number in ``[0, 1)``; raise ``ValueError`` otherwise."""
    if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not 0.0 <= float(eta) < 1.0:
        raise ValueError(f"noise_eta must be a number in [0, 1), got {eta!r}")
    return float(eta)


def perturb_boxes(boxes: np.ndarray, eta: float, rng: np.random.Generator) -> np.ndarray:
    """Return a new float64 ``(N, 4)`` array of the normalised ``xywh`` boxes moved by the noise of eq. (5).

    Draws: one call ``rng.uniform(-1, 1, size=(N, 4))``, row i holding the unit draws ``(ux, uy, uw, uh)`` of box i, so
    the stream is fixed by the generator state and N. Then ``w' = clip(w + η·w·uw, *SIZE_RANGE)`` (likewise ``h'``) and
    ``x' = clip(x + η·w·ux, w'/2, 1 − w'/2)`` (likewise ``y'``): sizes first, because the centre's bounds depend on
    the noisy size. ``η = 0`` returns an exact copy and draws nothing. ``boxes`` is never modified.

    Raises:
        ValueError: ``eta`` outside ``[0, 1)`` (message names ``noise_eta``), ``boxes`` not ``(N, 4)`` or not finite.
    """
    eta = check_eta(eta)
    boxes = np.array(boxes, dtype=np.float64)  # always a copy
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"perturb_boxes expects (N, 4) xywh boxes, got shape {boxes.shape}")
    if not np.isfinite(boxes).all():
        raise ValueError("perturb_boxes got non-finite box coordinates")
    if eta == 0.0:
        return boxes
    x, y, w, h = boxes.T
    ux, uy, uw, uh = rng.uniform(-1.0, 1.0, size=boxes.shape).T
    new_w = np.clip(w + eta * w * uw, *SIZE_RANGE)
    new_h = np.clip(h + eta * h * uh, *SIZE_RANGE)
    new_x = np.clip(x + eta * w * ux, new_w / 2, 1 - new_w / 2)
    new_y = np.clip(y + eta * h * uy, new_h / 2, 1 - new_h / 2)
    return np.stack([new_x, new_y, new_w, new_h], axis=1)


def aligned_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the float64 ``(N,)`` IoU of row i of ``a`` with row i of ``b``, both ``(N, 4)`` normalised ``xywh``."""
    a_xyxy, b_xyxy = (_xywh_to_xyxy(torch.from_numpy(np.asarray(boxes, dtype=np.float64))) for boxes in (a, b))
    iou, _ = aligned_iou_and_union(a_xyxy, b_xyxy, eps=_IOU_EPS)
    return iou.numpy()


def _xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """Return ``(N, 4)`` xyxy boxes for ``(N, 4)`` centre-size boxes."""
    centre, size = boxes[:, :2], boxes[:, 2:]
    return torch.cat([centre - size / 2, centre + size / 2], dim=1)


def list_images(train: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Return the sorted, absolute, de-duplicated image files named by an Ultralytics data dict's ``train`` entry.

    Each entry is a directory (every file below it, recursively, whose suffix is in Ultralytics' ``IMG_FORMATS``), a
    single image file, or a text file listing image paths one per line. Relative lines resolve against the text
    file's folder: Ultralytics does so for lines starting with ``./`` and against the working directory otherwise,
    which would make the result depend on where the process runs. Paths are made absolute without resolving symlinks.

    Raises:
        FileNotFoundError: an entry, or an image a text file lists, does not exist.
    """
    entries = [train] if isinstance(train, (str, os.PathLike)) else list(train)
    found: set[Path] = set()
    for entry in entries:
        path = Path(entry).expanduser()
        if path.is_dir():
            found.update(p for p in path.rglob("*") if _is_image(p) and p.is_file())
        elif path.is_file() and _is_image(path):
            found.add(path)
        elif path.is_file():
            found.update(_listed_images(path))
        else:
            raise FileNotFoundError(f"training images: {path} does not exist")
    return sorted(Path(os.path.abspath(p)) for p in found)


def _is_image(path: Path) -> bool:
    """Return whether ``path``'s suffix is an image format Ultralytics reads."""
    return path.suffix[1:].lower() in IMG_FORMATS


def _listed_images(list_file: Path) -> list[Path]:
    """Return the image paths listed in ``list_file``, relative ones resolved against its folder."""
    lines = list_file.read_text(encoding="utf-8-sig").splitlines()
    paths = [list_file.parent / line.strip() for line in lines if line.strip()]  # `/` keeps absolute lines as they are
    images = [p for p in paths if _is_image(p)]
    for image in images:
        if not image.is_file():
            raise FileNotFoundError(f"training images: {image}, listed in {list_file}, does not exist")
    return images


@dataclass(frozen=True)
class NoisySplit:
    """A cached noisy view of a training split: ``image_list`` is what a trainer takes as ``data["train"]``."""

    root: Path
    image_list: Path
    eta: float
    seed: int
    mean_iou: float
    n_boxes: int


def noisy_train_split(images: Sequence[Path], eta: float, seed: int, cache_dir: Path | None = None) -> NoisySplit:
    """Return the noisy view ``<cache_dir>/noisy-<key>/`` of the training ``images``, writing it on first use.

    Layout: image i of the sorted, de-duplicated list gets ``images/<i:07d><suffix>``, a symlink to the original, and
    ``labels/<i:07d>.txt``, its boxes perturbed by :func:`perturb_boxes` (same class ids and line order, 6 decimals;
    an image without a label file gets an empty one). ``train.txt`` lists the symlinks' absolute paths; since
    Ultralytics maps ``.../images/X.jpg`` to ``.../labels/X.txt`` it reads the noisy labels, and the original label
    files are only ever read. ``noise.json`` records eta, seed, mean_iou, n_boxes, n_images, key and noise_version.

    The noise of image i depends only on ``seed`` and i: its generator is ``np.random.default_rng([seed, i])``. The key
    hashes ``NOISE_VERSION``, eta, seed, the image paths and every label file's bytes, so editing a label yields a new
    view. ``mean_iou`` is the mean IoU of noisy and clean boxes as written, over all boxes (1.0 when there are none).
    Like ``synthetic_dataset``, the view is built in a temporary sibling directory and renamed into place; an existing
    view is returned as recorded in its ``noise.json``; ``cache_dir`` defaults to ``default_cache_dir()``.

    Raises:
        ValueError: bad ``eta`` (names ``noise_eta``) or ``seed``, no images, or a label line that is not
            ``cls x y w h`` (segments and keypoints are refused, naming the file).
    """
    eta = check_eta(eta)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"noisy_train_split: seed must be an int >= 0, got {seed!r}")
    seed = int(seed)
    images = sorted({Path(os.path.abspath(p)) for p in images})
    if not images:
        raise ValueError("noisy_train_split got no training images")
    label_bytes = [_read_label_bytes(image) for image in images]
    key = view_key(images, label_bytes, eta, seed)
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache_dir / f"noisy-{key}"
    if target.exists():
        return _finished_split(target)
    logger.info("Writing noisy labels (eta %g, seed %d) for %d training images in %s", eta, seed, len(images), target)
    build_once(target, lambda staging: _write_noisy_view(staging, target, images, label_bytes, eta, seed, key))
    return _finished_split(target)


def view_key(images: Sequence[Path], label_bytes: Sequence[bytes | None], eta: float, seed: int) -> str:
    """Return a 12-character hex sha256 of the noise version, eta, seed, image paths and label bytes (None: missing)."""
    digest = hashlib.sha256(json.dumps({"noise_version": NOISE_VERSION, "eta": eta, "seed": seed}).encode())
    for image, content in zip(images, label_bytes):
        # Fixed-length label digests after a NUL-terminated path keep the stream unambiguous.
        digest.update(os.fsencode(image) + b"\0")
        digest.update(b"\0" * 32 if content is None else hashlib.sha256(b"label:" + content).digest())
    return digest.hexdigest()[:12]


def _read_label_bytes(image: Path) -> bytes | None:
    """Return the bytes of ``image``'s Ultralytics label file, or None where it has none."""
    label = Path(img2label_paths([str(image)])[0])
    return label.read_bytes() if label.is_file() else None


def parse_box_labels(text: str, source: Path | str) -> np.ndarray:
    """Return the float64 ``(N, 5)`` rows ``cls x y w h`` of YOLO label ``text`` (blank lines skipped).

    Raises:
        ValueError: a line with other than 5 fields, naming ``source``.
    """
    rows = [line.split() for line in text.splitlines() if line.strip()]
    for row in rows:
        if len(row) > 5:
            raise ValueError(f"{source}: noise_eta supports box labels (cls x y w h), got {len(row)} fields")
        if len(row) < 5:
            raise ValueError(f"{source}: expected label lines 'cls x y w h', found {' '.join(row)!r}")
    try:
        return np.array(rows, dtype=np.float64).reshape(-1, 5)
    except ValueError as error:
        raise ValueError(f"{source}: label values must be numbers ({error})") from None


def _write_noisy_view(
    root: Path,
    final_root: Path,
    images: Sequence[Path],
    label_bytes: Sequence[bytes | None],
    eta: float,
    seed: int,
    key: str,
) -> None:
    """Write the noisy view's files under ``root``; ``train.txt`` names them under ``final_root``, where they end up."""
    (root / "images").mkdir()
    (root / "labels").mkdir()
    listed, ious = [], []
    for index, (image, content) in enumerate(zip(images, label_bytes)):
        label_path = img2label_paths([str(image)])[0]
        clean = parse_box_labels(content.decode("utf-8-sig") if content is not None else "", label_path)
        noisy = clean.copy()
        noisy[:, 1:] = perturb_boxes(clean[:, 1:], eta, np.random.default_rng([seed, index]))
        text = format_labels(noisy)
        # The IoU of the boxes as written (rounded to 6 decimals) is what a trainer will see.
        written = parse_box_labels(text, label_path)
        ious.append(aligned_iou_xywh(written[:, 1:], clean[:, 1:]))
        name = f"{index:07d}"
        os.symlink(image, root / "images" / f"{name}{image.suffix}")
        (root / "labels" / f"{name}.txt").write_text(text)
        listed.append(final_root / "images" / f"{name}{image.suffix}")
    (root / "train.txt").write_text("".join(f"{path}\n" for path in listed))
    all_ious = np.concatenate(ious)
    record = {
        "eta": eta,
        "seed": seed,
        "mean_iou": float(all_ious.mean()) if all_ious.size else 1.0,
        "n_boxes": int(all_ious.size),
        "n_images": len(images),
        "key": key,
        "noise_version": NOISE_VERSION,
    }
    (root / "noise.json").write_text(json.dumps(record, indent=2) + "\n")


def _finished_split(target: Path) -> NoisySplit:
    """Return the split recorded in ``target/noise.json``; a directory without one was not made by this module."""
    record_path = target / "noise.json"
    if not record_path.is_file():
        raise FileExistsError(f"{target} exists but holds no noise.json; delete it to regenerate the noisy labels")
    record = json.loads(record_path.read_text())
    return NoisySplit(
        root=target,
        image_list=target / "train.txt",
        eta=record["eta"],
        seed=record["seed"],
        mean_iou=record["mean_iou"],
        n_boxes=record["n_boxes"],
    )
