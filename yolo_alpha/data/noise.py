"""Noisy training boxes as in the α-IoU paper (Sec. 4.3, eq. 5), and a cached "noisy view" of a training split.

Noise model: every normalised ``xywh`` box moves by independent uniform draws, ``x`` and ``w`` in ``[−ηw, ηw]``,
``y`` and ``h`` in ``[−ηh, ηh]`` (``w``, ``h`` of the clean box), then eq. (5) is enforced:
``0 < w < 1``, ``0 < h < 1``, ``w/2 <= x <= 1 − w/2``, ``h/2 <= y <= 1 − h/2``.

Unlike the authors' script (unseeded, edits the label files in place), the noise here is seeded and written to a
separate directory of symlinked images and noisy labels; the original files are never opened. Pure functions on
arrays and paths: which images and boxes a training uses is decided by the caller (for Ultralytics,
``yolo_alpha.ultralytics.dataset``, with Ultralytics' own label check), and only those boxes are perturbed here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from yolo_alpha.checks import number
from yolo_alpha.data.cache import build_once, default_cache_dir
from yolo_alpha.data.synthetic import format_labels
from yolo_alpha.losses.geometry import aligned_iou_and_union

__all__ = [
    "NOISE_VERSION",
    "SIZE_RANGE",
    "NoisySplit",
    "aligned_iou_xywh",
    "check_noise_eta",
    "check_noise_seed",
    "noisy_train_split",
    "perturb_boxes",
    "view_key",
]

# Bump whenever a change alters any noisy label or which boxes a view holds (draw order, clipping, formatting, the
# key): cached views are keyed on it. 2: views hold the caller's verified boxes, keyed on those arrays.
NOISE_VERSION = 2
# Noisy widths and heights are clipped into this range, as in the authors' script: strictly inside (0, 1) as eq. (5)
# demands, and a box never collapses below 0.1 % of the image side.
SIZE_RANGE = (1e-3, 0.999)
# The losses' eps (1e-7) would bias the IoU of small boxes (union down to 1e-6 here); the smallest normal float64
# leaves every nonzero union exact (identical boxes: IoU exactly 1) and only turns 0/0 for two zero-area boxes into 0.
_IOU_EPS = float(np.finfo(np.float64).tiny)

logger = logging.getLogger("yolo_alpha")


def check_noise_eta(eta: object) -> float:
    """Return ``eta`` as a float if it is a real number in ``[0, 1)``; else raise ``ConfigError`` naming noise_eta."""
    return number("noise_eta", eta, low=0.0, high=1.0, high_open=True, hint="the paper's η: 0.1-0.3")


def check_noise_seed(seed: object) -> int:
    """Return ``seed`` as an int if it is an integer >= 0; else raise ``ConfigError`` naming noise_seed."""
    return number("noise_seed", seed, low=0, integer=True)


def perturb_boxes(boxes: np.ndarray, eta: float, rng: np.random.Generator) -> np.ndarray:
    """Return a new float64 ``(N, 4)`` array of the normalised ``xywh`` boxes moved by the noise of eq. (5).

    Draws: one call ``rng.uniform(-1, 1, size=(N, 4))``, row i holding the unit draws ``(ux, uy, uw, uh)`` of box i, so
    the stream is fixed by the generator state and N. Then ``w' = clip(w + η·w·uw, *SIZE_RANGE)`` (likewise ``h'``) and
    ``x' = clip(x + η·w·ux, w'/2, 1 − w'/2)`` (likewise ``y'``): sizes first, because the centre's bounds depend on
    the noisy size. A box of zero width or height is returned unchanged (its draws are still taken): the noise scales
    with the size, and clipping it into ``SIZE_RANGE`` would create a box that training on the clean labels never sees
    (Ultralytics' augmentation drops boxes under 2 px). ``η = 0`` returns an exact copy and draws nothing. ``boxes`` is
    never modified.

    Raises:
        ConfigError: ``eta`` outside ``[0, 1)`` (message names ``noise_eta``).
        ValueError: ``boxes`` not ``(N, 4)`` or not finite.
    """
    eta = check_noise_eta(eta)
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
    noisy = np.stack([new_x, new_y, new_w, new_h], axis=1)
    degenerate = (w == 0) | (h == 0)
    noisy[degenerate] = boxes[degenerate]
    return noisy


def aligned_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the float64 ``(N,)`` IoU of row i of ``a`` with row i of ``b``, both ``(N, 4)`` normalised ``xywh``."""
    a_xyxy, b_xyxy = (_xywh_to_xyxy(torch.from_numpy(np.asarray(boxes, dtype=np.float64))) for boxes in (a, b))
    iou, _ = aligned_iou_and_union(a_xyxy, b_xyxy, eps=_IOU_EPS)
    return iou.numpy()


def _xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """Return ``(N, 4)`` xyxy boxes for ``(N, 4)`` centre-size boxes."""
    centre, size = boxes[:, :2], boxes[:, 2:]
    return torch.cat([centre - size / 2, centre + size / 2], dim=1)


@dataclass(frozen=True)
class NoisySplit:
    """A cached noisy view of a training split: ``image_list`` is what a trainer takes as ``data["train"]``."""

    root: Path
    image_list: Path
    eta: float
    seed: int
    mean_iou: float
    n_boxes: int
    n_images: int


def noisy_train_split(
    images: Sequence[str | os.PathLike],
    labels: Sequence[np.ndarray],
    eta: float,
    seed: int,
    cache_dir: Path | None = None,
) -> NoisySplit:
    """Return the noisy view ``<cache_dir>/noisy-<key>/`` of the training ``images``, writing it on first use.

    ``labels[i]`` is the ``(N, 5)`` array ``cls x y w h`` (normalised) of ``images[i]``, already checked by the
    caller: these are exactly the boxes training would use, and the view holds exactly these images, in this order.

    Layout: image i gets ``images/<i:07d><suffix>``, a symlink to the original (made absolute, not resolved), and
    ``labels/<i:07d>.txt``, its boxes perturbed by :func:`perturb_boxes` (same class ids and row order, 6 decimals;
    no boxes: an empty file). ``train.txt`` lists the symlinks' absolute paths; since Ultralytics maps
    ``.../images/X.jpg`` to ``.../labels/X.txt`` it reads the noisy labels. ``noise.json`` records eta, seed,
    mean_iou, n_boxes, n_images, key and noise_version.

    The noise of image i depends only on ``seed``, i and its boxes: its generator is ``np.random.default_rng([seed,
    i])``. The key (:func:`view_key`) hashes ``NOISE_VERSION``, eta, seed, the image paths and the label arrays, so
    any change to the boxes used yields a new view. ``mean_iou`` is the mean IoU of noisy and clean boxes as written,
    over the boxes of nonzero area (1.0 when there are none); ``n_boxes`` counts every box. Like
    ``synthetic_dataset``, the view is built in a temporary sibling directory and renamed into place; an existing view
    is returned as recorded in its ``noise.json``; ``cache_dir`` defaults to ``default_cache_dir()``.

    Raises:
        ConfigError: bad ``eta`` (names ``noise_eta``) or ``seed`` (names ``noise_seed``).
        ValueError: no images, an image listed twice, labels not one ``(N, 5)`` finite array per image, or a class
            id that is not a whole number >= 0.
    """
    eta, seed = check_noise_eta(eta), check_noise_seed(seed)
    images = [Path(os.path.abspath(p)) for p in images]
    if not images:
        raise ValueError("noisy_train_split got no training images")
    if len(set(images)) < len(images):
        raise ValueError("noisy_train_split got an image more than once")
    if len(labels) != len(images):
        raise ValueError(f"noisy_train_split got {len(labels)} label arrays for {len(images)} images")
    labels = [_checked_labels(boxes, image) for boxes, image in zip(labels, images)]
    key = view_key(images, labels, eta, seed)
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache_dir / f"noisy-{key}"
    if target.exists():
        return _finished_split(target)
    logger.info("Writing noisy labels (eta %g, seed %d) for %d training images in %s", eta, seed, len(images), target)
    build_once(target, lambda staging: _write_noisy_view(staging, target, images, labels, eta, seed, key))
    return _finished_split(target)


def view_key(images: Sequence[Path], labels: Sequence[np.ndarray], eta: float, seed: int) -> str:
    """Return a 12-character hex sha256 of the noise version, eta, seed, image paths and ``(N, 5)`` label arrays."""
    digest = hashlib.sha256(json.dumps({"noise_version": NOISE_VERSION, "eta": eta, "seed": seed}).encode())
    for image, boxes in zip(images, labels):
        # Fixed-length label digests after a NUL-terminated path keep the stream unambiguous.
        rows = np.ascontiguousarray(boxes, dtype=np.float64).reshape(-1, 5)
        digest.update(os.fsencode(image) + b"\0")
        digest.update(hashlib.sha256(b"boxes:" + rows.tobytes()).digest())
    return digest.hexdigest()[:12]


def _checked_labels(boxes: np.ndarray, image: Path) -> np.ndarray:
    """Return ``boxes`` as a float64 ``(N, 5)`` array; ValueError naming ``image`` if it is not valid rows."""
    rows = np.array(boxes, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 5:
        raise ValueError(f"labels of {image}: expected an (N, 5) array cls x y w h, got shape {rows.shape}")
    if not np.isfinite(rows).all():
        raise ValueError(f"labels of {image}: non-finite values")
    classes = rows[:, 0]
    if ((classes < 0) | (classes % 1 != 0)).any():
        raise ValueError(f"labels of {image}: class ids must be whole numbers >= 0, got {classes.tolist()}")
    return rows


def _read_written(text: str) -> np.ndarray:
    """Return the float64 ``(N, 5)`` rows of label text written by ``format_labels``."""
    return np.array([line.split() for line in text.splitlines()], dtype=np.float64).reshape(-1, 5)


def _write_noisy_view(
    root: Path,
    final_root: Path,
    images: Sequence[Path],
    labels: Sequence[np.ndarray],
    eta: float,
    seed: int,
    key: str,
) -> None:
    """Write the noisy view's files under ``root``; ``train.txt`` names them under ``final_root``, where they end up."""
    (root / "images").mkdir()
    (root / "labels").mkdir()
    listed, ious = [], []
    for index, (image, clean) in enumerate(zip(images, labels)):
        noisy = clean.copy()
        noisy[:, 1:] = perturb_boxes(clean[:, 1:], eta, np.random.default_rng([seed, index]))
        text = format_labels(noisy)
        # The IoU of the boxes as written (rounded to 6 decimals) is what a trainer will see.
        sized = (clean[:, 3] > 0) & (clean[:, 4] > 0)
        ious.append(aligned_iou_xywh(_read_written(text)[sized, 1:], clean[sized, 1:]))
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
        "n_boxes": sum(len(boxes) for boxes in labels),
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
        n_images=record["n_images"],
    )
