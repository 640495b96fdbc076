"""One image of the synthetic detection set: a textured background, clutter, and shapes that occlude each other.

Labels are read from pixels, not from the drawing parameters. Each shape owns the pixels that it covers by at least
half after all later shapes and overlay lines are painted; its label box is the tight box of those visible pixels.

Occlusion rule (``MIN_VISIBLE_FRACTION``): a shape is labelled only if at least 40 % of its own pixels stay visible.
Placement enforces it as it goes: a new shape that would leave an earlier one less visible than that is moved
(a few tries) or left out, so that the image holds no unlabelled shape fragments. Thin lines painted over the shapes
afterwards can still push a small shape under the threshold; such a shape is then not labelled.
"""

from __future__ import annotations

import cv2
import numpy as np

from yolo_alpha.data.synthetic_shapes import CLASS_NAMES, ROTATING_CLASSES, coverage_mask, rotate, shape_polygons

MIN_VISIBLE_FRACTION = 0.4
MAX_OBJECTS = 6
MAX_SIDE_FRACTION = 0.6  # longest side of a shape, as a fraction of the image side
MIN_LONG_SIDE_PX = 12.0
MIN_SHORT_SIDE_PX = 6.0
MAX_ASPECT = 3.0
MIN_CONTRAST = 110.0  # Euclidean BGR distance from what a shape is painted on (a grey step of ~64 per channel)
PLACEMENT_TRIES = 8
BLURRED_FRACTION = 0.3  # share of shapes drawn with soft edges
_COLOUR_TRIES = 20


def render_scene(rng: np.random.Generator, imgsz: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(image, labels)``: a uint8 (imgsz, imgsz, 3) BGR image and float (N, 5) rows ``cls cx cy w h``.

    Box coordinates are normalised to [0, 1] by ``imgsz``. The same generator state gives the same scene.
    """
    image = draw_clutter(textured_background(rng, imgsz), rng).astype(np.float32)
    owner = np.full((imgsz, imgsz), -1, np.int16)  # index of the shape that shows at each pixel; -1: none
    class_ids, areas, colours = [], [], []
    for _ in range(rng.integers(1, MAX_OBJECTS + 1)):
        class_id = int(rng.integers(len(CLASS_NAMES)))
        coverage = place_shape(rng, class_id, owner, np.array(areas, dtype=float))
        if coverage is None:
            continue
        solid = coverage >= 0.5
        colour = pick_colour(rng, image, solid, [colours[i] for i in np.unique(owner[solid]) if i >= 0])
        if rng.random() < BLURRED_FRACTION:
            coverage = cv2.GaussianBlur(coverage, (0, 0), rng.uniform(0.5, 1.2))
        image = composite(image, coverage, colour)
        owner[solid] = len(areas)
        class_ids.append(class_id)
        areas.append(int(solid.sum()))
        colours.append(colour)
    image, covered = overlay_lines(image, rng)
    owner[covered] = -1
    image = image + rng.uniform(2, 8) * rng.standard_normal(image.shape, dtype=np.float32)
    labels = label_visible_objects(owner, np.array(class_ids), np.array(areas, dtype=float), imgsz)
    return np.clip(np.round(image), 0, 255).astype(np.uint8), labels


def textured_background(rng: np.random.Generator, imgsz: int) -> np.ndarray:
    """Return a uint8 (imgsz, imgsz, 3) image: a random base colour with smooth gradients and softer mid-size blobs.

    The texture varies by about ±60 around the base colour: enough that a detector cannot threshold the background
    away, muted enough that shapes chosen by ``MIN_CONTRAST`` stand out (a background as varied as the shapes' own
    colours slowed early training in the calibration runs).
    """
    base = rng.uniform(40, 215, 3)
    grid = int(rng.integers(2, 5))
    gradient = cv2.resize(rng.uniform(-45, 45, (grid, grid, 3)), (imgsz, imgsz), interpolation=cv2.INTER_CUBIC)
    blobs = cv2.resize(rng.normal(0, 12, (8, 8, 3)), (imgsz, imgsz), interpolation=cv2.INTER_CUBIC)
    return np.clip(base + gradient + blobs, 0, 255).astype(np.uint8)


def draw_clutter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a copy of uint8 ``image`` with unlabelled distractors: thin lines, specks and soft smudges.

    None of them is a filled shape with sharp edges above ~3 px, so none can pass for a labelled class.
    """
    image = image.copy()
    side = image.shape[0]
    for _ in range(rng.integers(2, 7)):
        points = rng.uniform(-0.1 * side, 1.1 * side, (int(rng.integers(2, 4)), 2))
        cv2.polylines(image, [np.round(points).astype(np.int32)], False, _random_colour(rng), 1, cv2.LINE_AA)
    for _ in range(rng.integers(5, 6 + side * side // 1000)):
        centre = tuple(int(v) for v in rng.integers(0, side, 2))
        cv2.circle(image, centre, int(rng.integers(0, 2)), _random_colour(rng), -1, cv2.LINE_AA)
    for _ in range(rng.integers(0, 4)):
        image = _smudge(image, rng)
    return image


def _smudge(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return uint8 ``image`` with one small ragged blob painted in, blurred so that it has no crisp edge."""
    side = image.shape[0]
    radius = rng.uniform(2, max(3.0, 0.05 * side))
    angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radii = radius * rng.uniform(0.3, 1.0, 9)  # ragged outline: unlike any ellipse or polygon class
    points = rng.uniform(0, side, 2) + np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    layer = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(layer, [np.round(points).astype(np.int32)], 255)
    alpha = cv2.GaussianBlur(layer.astype(np.float32) / 255, (0, 0), 1.5) * rng.uniform(0.5, 0.9)
    return composite(image.astype(np.float32), alpha, _random_colour(rng)).astype(np.uint8)


def place_shape(rng: np.random.Generator, class_id: int, owner: np.ndarray, areas: np.ndarray) -> np.ndarray | None:
    """Return the (S, S) coverage of a new random shape of ``class_id``, or None if it found no allowed place.

    A place is allowed if every earlier shape (pixel counts ``areas``, pixels marked in ``owner``) keeps at least
    ``MIN_VISIBLE_FRACTION`` of its pixels visible under the new one.
    """
    imgsz = owner.shape[0]
    outline, hole = random_shape(rng, CLASS_NAMES[class_id], imgsz)
    low, high = -outline.min(axis=0), imgsz - outline.max(axis=0)
    for _ in range(PLACEMENT_TRIES):
        coverage = coverage_mask(outline, hole, rng.uniform(low, high), imgsz)
        solid = coverage >= 0.5
        if not solid.any():
            return None
        visible = np.bincount(np.where(solid, -1, owner).ravel() + 1, minlength=len(areas) + 1)[1:]
        if np.all(visible >= MIN_VISIBLE_FRACTION * areas):
            return coverage
    return None


def random_shape(rng: np.random.Generator, class_name: str, imgsz: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``(outline, hole)`` vertices centred on the origin for a shape of random size, aspect and rotation.

    The long side is log-uniform from ``MIN_LONG_SIDE_PX`` to ``MAX_SIDE_FRACTION`` of the image, so that small
    and large shapes are equally common per octave; the aspect ratio is log-uniform in [1/3, 3].
    """
    longest = imgsz * MAX_SIDE_FRACTION
    long_side = np.exp(rng.uniform(np.log(min(MIN_LONG_SIDE_PX, longest)), np.log(longest)))
    short_side = max(long_side / np.exp(rng.uniform(0, np.log(MAX_ASPECT))), MIN_SHORT_SIDE_PX)
    w, h = (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)
    outline, hole = shape_polygons(class_name, w, h, rng)
    if class_name in ROTATING_CLASSES:
        angle = rng.uniform(0, 180)
        outline, hole = rotate(outline, angle), None if hole is None else rotate(hole, angle)
    return outline, hole


def pick_colour(rng: np.random.Generator, image: np.ndarray, solid: np.ndarray, overlapped: list) -> np.ndarray:
    """Return a float BGR colour that differs by ``MIN_CONTRAST`` from the mean of ``image`` under ``solid``
    and from every colour in ``overlapped`` (the shapes it will partly cover), or the best of a few tries.
    """
    references = np.array([image[solid].mean(axis=0), *overlapped])
    best, best_contrast = None, -1.0
    for _ in range(_COLOUR_TRIES):
        colour = rng.uniform(0, 255, 3)
        contrast = np.linalg.norm(references - colour, axis=1).min()
        if contrast > best_contrast:
            best, best_contrast = colour, contrast
        if contrast >= MIN_CONTRAST:
            break
    return best


def composite(image: np.ndarray, alpha: np.ndarray, colour) -> np.ndarray:
    """Return float (S, S, 3) ``image`` with ``colour`` painted over it with per-pixel opacity ``alpha`` (S, S)."""
    painted = image.copy()
    rows, columns = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return painted
    # Blending only the window that alpha touches: most shapes cover a small part of the image.
    window = np.s_[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    opacity = alpha[window][..., None]
    painted[window] = painted[window] * (1 - opacity) + np.asarray(colour, dtype=np.float32) * opacity
    return painted


def overlay_lines(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(image, covered)``: float ``image`` with 0-2 thin lines painted on top, and the bool mask they hide."""
    side = image.shape[0]
    layer = np.zeros((side, side), np.uint8)
    for _ in range(rng.integers(0, 3)):
        points = np.round(rng.uniform(0, side, (2, 2))).astype(np.int32)
        cv2.line(layer, tuple(int(v) for v in points[0]), tuple(int(v) for v in points[1]), 255, 1, cv2.LINE_AA)
    alpha = layer.astype(np.float32) / 255
    return composite(image, alpha, _random_colour(rng)), alpha >= 0.5


def label_visible_objects(owner: np.ndarray, class_ids: np.ndarray, areas: np.ndarray, imgsz: int) -> np.ndarray:
    """Return float (N, 5) rows ``cls cx cy w h`` (normalised) for the shapes at least ``MIN_VISIBLE_FRACTION`` visible.

    ``owner`` marks which shape shows at each pixel (-1: none); ``areas`` are each shape's pixel counts before
    occlusion, in the order of ``class_ids``.
    """
    rows = []
    for index, (class_id, area) in enumerate(zip(class_ids, areas)):
        visible = owner == index
        if visible.sum() < MIN_VISIBLE_FRACTION * area:
            continue
        x0, y0, x1, y1 = visible_box(visible)
        rows.append([class_id, (x0 + x1) / 2 / imgsz, (y0 + y1) / 2 / imgsz, (x1 - x0) / imgsz, (y1 - y0) / imgsz])
    return np.array(rows, dtype=float).reshape(-1, 5)


def visible_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Return ``(x0, y0, x1, y1)``: the tight pixel-edge box of the true pixels of a non-empty bool (H, W) ``mask``.

    Edges, not centres: a single true pixel at column 3, row 5 gives ``(3, 5, 4, 6)``, a box 1 px wide.
    """
    columns = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    if columns.size == 0:
        raise ValueError("visible_box needs a mask with at least one true pixel")
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """Return a uniformly random BGR colour as the int tuple cv2 drawing functions expect."""
    return tuple(int(v) for v in rng.integers(0, 256, 3))
