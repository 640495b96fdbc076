"""The object classes of the synthetic detection set, as polygons and as anti-aliased coverage masks.

A shape is drawn from a box size ``(w, h)`` in pixels before rotation, a rotation angle and a centre. Ellipses,
triangles and rings may rotate; rectangles and crosses stay axis-aligned, so that some objects have box edges that
coincide with the object's edges (the case where a box loss can be judged most sharply).
"""

from __future__ import annotations

import cv2
import numpy as np

CLASS_NAMES: tuple[str, ...] = ("rectangle", "ellipse", "triangle", "cross", "ring")
ROTATING_CLASSES = frozenset({"ellipse", "triangle", "ring"})

# cv2 draws polygons with fixed-point vertices; 4 fractional bits keep sub-pixel placement (1/16 px).
_SHIFT_BITS = 4
_SUPERSAMPLING = 4
_ELLIPSE_VERTICES = 64  # chord error below 0.1 px for the largest ellipses at 160 px


def shape_polygons(
    class_name: str, w: float, h: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``(outline, hole)``: float (K, 2) vertices centred on the origin, and the hole's vertices or None.

    ``rng`` draws the shape's own variation (a triangle's apex position, a cross's bar thickness, a ring's width).
    """
    half_w, half_h = w / 2, h / 2
    if class_name == "rectangle":
        return np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]]), None
    if class_name == "ellipse":
        return _ellipse(half_w, half_h), None
    if class_name == "triangle":
        # The apex slides along the top edge, so the class holds acute, right and obtuse triangles.
        apex_x = rng.uniform(-half_w, half_w)
        return np.array([[apex_x, -half_h], [half_w, half_h], [-half_w, half_h]]), None
    if class_name == "cross":
        # Bars at least ~1/4 of the span stay visible at small sizes; below ~1/2 the cross still differs from a square.
        bar_x = half_w * rng.uniform(0.25, 0.45)
        bar_y = half_h * rng.uniform(0.25, 0.45)
        outline = [
            (-bar_x, -half_h), (bar_x, -half_h), (bar_x, -bar_y), (half_w, -bar_y), (half_w, bar_y), (bar_x, bar_y),
            (bar_x, half_h), (-bar_x, half_h), (-bar_x, bar_y), (-half_w, bar_y), (-half_w, -bar_y), (-bar_x, -bar_y),
        ]  # fmt: skip
        return np.array(outline, dtype=float), None
    if class_name == "ring":
        inner = rng.uniform(0.45, 0.7)  # a thinner ring would vanish below ~10 px; a thicker one looks like a disc
        return _ellipse(half_w, half_h), _ellipse(half_w * inner, half_h * inner)
    raise ValueError(f"unknown shape class {class_name!r}; expected one of {CLASS_NAMES}")


def _ellipse(half_w: float, half_h: float) -> np.ndarray:
    """Return (64, 2) vertices of an axis-aligned ellipse centred on the origin."""
    t = np.linspace(0, 2 * np.pi, _ELLIPSE_VERTICES, endpoint=False)
    return np.stack([half_w * np.cos(t), half_h * np.sin(t)], axis=1)


def rotate(points: np.ndarray, angle_deg: float) -> np.ndarray:
    """Return (K, 2) ``points`` rotated about the origin by ``angle_deg`` (counter-clockwise on screen)."""
    a = np.deg2rad(angle_deg)
    rotation = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    return points @ rotation


def coverage_mask(outline: np.ndarray, hole: np.ndarray | None, centre: np.ndarray, imgsz: int) -> np.ndarray:
    """Return an (imgsz, imgsz) float32 mask in [0, 1]: the fraction of each pixel that the shape covers.

    Vertices are in pixel-edge coordinates (pixel ``i`` spans ``[i, i + 1)``). Coverage is measured on a 4 × 4
    sub-pixel grid: cv2's own anti-aliased fill smears edges by about half a pixel, which would make the boxes read
    from the mask wider than the drawn shape. The sub-pixel fill itself errs by at most 1/8 px per edge.
    """
    outline = outline + centre
    x0, y0 = np.clip(np.floor(outline.min(axis=0)).astype(int) - 1, 0, imgsz)
    x1, y1 = np.clip(np.ceil(outline.max(axis=0)).astype(int) + 1, 0, imgsz)
    mask = np.zeros((imgsz, imgsz), np.float32)
    if x1 <= x0 or y1 <= y0:
        return mask
    origin = np.array([x0, y0], dtype=float)
    fine = np.zeros(((y1 - y0) * _SUPERSAMPLING, (x1 - x0) * _SUPERSAMPLING), np.uint8)
    cv2.fillPoly(fine, [_fixed_point(outline - origin)], 255, cv2.LINE_8, _SHIFT_BITS)
    if hole is not None:
        cv2.fillPoly(fine, [_fixed_point(hole + centre - origin)], 0, cv2.LINE_8, _SHIFT_BITS)
    # With an integer factor INTER_AREA is the exact mean of each sub-pixel block.
    coarse = cv2.resize(fine, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    mask[y0:y1, x0:x1] = coarse.astype(np.float32) / 255
    return mask


def _fixed_point(points: np.ndarray) -> np.ndarray:
    """Return int32 (K, 2) cv2 fixed-point sub-pixel-grid vertices for pixel-edge coordinates ``points``."""
    return np.round((points * _SUPERSAMPLING - 0.5) * (1 << _SHIFT_BITS)).astype(np.int32)
