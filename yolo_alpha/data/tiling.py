"""Large images cut into tiles for the YOLO layout: the tile grid, which boxes each tile keeps, and what was lost.

A ``tile=SIZE`` grid covers the whole image: tiles start every ``SIZE - overlap`` pixels. What happens at the image's
right and bottom edge is ``edge=``: ``shift`` (default) aligns the last row and column to the edge, so they may overlap
their neighbour by more than ``overlap`` and a box there may be labelled twice, and no tile is padded (a side shorter
than ``SIZE`` is one tile of that side); ``pad`` lets the last tiles run past the edge, filled with black (zero)
pixels, so that every tile is ``SIZE`` square (the same scale for the detector) and, with ``overlap=0``, every pixel
and box lies in exactly one tile — what an evaluation that counts each object once needs. A box is labelled in a
tile when at least ``min_area`` of its area lies inside that tile, clipped to it. Tiles are PNG files, so their
pixels are the source's own.

Counting (see :class:`TiledTally`): a *source box* is one object of the annotation that survives the usual checks
(class, difficult, size, inside the image). It is kept when some tile labels it; it is dropped, and counted once under
:data:`TILE_DROPPED`, when no tile holds ``min_area`` of it. Labels are counted per box and tile: a box labelled in two
overlapping tiles is two labels, and a tile showing less than ``min_area`` of a box (so leaving it unlabelled there) is
one *unlabelled part*, whether or not another tile labels the box.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from yolo_alpha import checks
from yolo_alpha.data.synthetic import format_labels
from yolo_alpha.data.yolo_layout import Tally, normalise
from yolo_alpha.errors import ConfigError

__all__ = [
    "EDGES",
    "TILE_DROPPED",
    "TiledTally",
    "Tiling",
    "labels_in_window",
    "make_tiling",
    "tile_origins",
    "tile_windows",
    "write_tiles",
]

MIN_TILE = 32  # pixels: the stride of a detector's coarsest output; a smaller tile holds nothing to detect
TILE_DROPPED = "less than min_area of the box inside any one tile"
TILE_UNREADABLE = "image cannot be read (tile= crops its pixels)"
SIZE_MISMATCH = "the XML's <size> differs from the image's own (tile= crops the image's pixels)"
PNG_MODES = ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA")  # others (CMYK, YCbCr, F) are written as RGB
EXIF_ORIENTATION, TRANSPOSING = 0x0112, (5, 6, 7, 8)  # the EXIF orientations that swap width and height

EDGES = ("shift", "pad")  # the edge= values: what the grid does at the image's right and bottom edge
Window = tuple[int, int, int, int]  # (x0, y0, x1, y1) in pixels, x1 and y1 exclusive


@dataclass(frozen=True)
class Tiling:
    """A tile grid: square tiles of ``size`` pixels, ``overlap`` pixels shared by neighbours, and the box rule."""

    size: int
    overlap: int = 0
    min_area: float = 0.5
    edge: str = "shift"  # one of EDGES

    def describe(self) -> str:
        """Return the keys that make this grid, as the command line takes them (``edge=`` when not the default)."""
        edge = "" if self.edge == "shift" else f" edge={self.edge}"
        return f"tile={self.size} overlap={self.overlap} min_area={self.min_area:g}{edge}"


def make_tiling(tile=None, overlap=None, min_area=None, edge=None) -> Tiling | None:
    """Return the :class:`Tiling` of the ``tile=``, ``overlap=``, ``min_area=`` and ``edge=`` keys, or None without
    ``tile=``.

    ConfigError naming the key and what is allowed: ``tile`` an integer >= 32 (pixels), ``overlap`` an integer in
    [0, tile), ``min_area`` a fraction in (0, 1], ``edge`` one of :data:`EDGES`; the others without ``tile`` are
    refused.
    """
    if tile is None:
        shaping = (("overlap", overlap), ("min_area", min_area), ("edge", edge))
        if given := [k for k, v in shaping if v is not None]:
            raise ConfigError(f"{'/'.join(given)}: shape the tiles of tile=SIZE; give tile= too (e.g. tile=640)")
        return None
    size = checks.number("tile", tile, low=MIN_TILE, integer=True, hint="the side of a square tile in pixels")
    overlap = checks.number(
        "overlap",
        0 if overlap is None else overlap,
        low=0,
        high=size,
        high_open=True,
        integer=True,
        hint=f"pixels that neighbouring tiles share, less than tile={size}",
    )
    min_area = checks.number(
        "min_area",
        0.5 if min_area is None else min_area,
        low=0,
        high=1,
        low_open=True,
        hint="the fraction of a box's area that must lie inside a tile for the tile to label it",
    )
    edge = "shift" if edge is None else edge
    if edge not in EDGES:
        raise ConfigError(
            f"edge={edge}: choose edge=shift (the last tiles aligned to the image's edge, overlapping their "
            "neighbour) or edge=pad (the last tiles run past the edge, padded with black: every pixel in one tile)"
        )
    return Tiling(size, overlap, min_area, edge)


def tile_origins(length: int, size: int, overlap: int = 0, edge: str = "shift") -> list[int]:
    """Return the start of each tile along a side of ``length`` pixels: every ``size - overlap``, the last one at the
    edge (``edge="shift"``) or the first that reaches it (``edge="pad"``).

    ``[0]`` when the side is ``size`` or shorter. E.g. 1000 px, tiles of 400: ``[0, 400, 600]`` (shift),
    ``[0, 400, 800]`` (pad: the last tile's 200 px past the edge are padding).
    """
    if length <= size:
        return [0]
    if edge == "pad":
        return [*range(0, length - overlap, size - overlap)]
    return [*range(0, length - size, size - overlap), length - size]


def tile_windows(width: int, height: int, tiling: Tiling) -> list[Window]:
    """Return the ``(x0, y0, x1, y1)`` windows of the grid over a ``width`` x ``height`` image, row by row; with
    ``edge="pad"`` every window is ``size`` square and the last ones reach past the image."""
    padded = tiling.edge == "pad"
    tile_w, tile_h = (tiling.size,) * 2 if padded else (min(tiling.size, width), min(tiling.size, height))
    return [
        (x0, y0, x0 + tile_w, y0 + tile_h)
        for y0 in tile_origins(height, tiling.size, tiling.overlap, tiling.edge)
        for x0 in tile_origins(width, tiling.size, tiling.overlap, tiling.edge)
    ]


def tile_name(stem: str, window: Window) -> str:
    """Return a tile's file name: its source's stem and its offset, e.g. ``crop_x0400_y0800.png``."""
    return f"{stem}_x{window[0]:04d}_y{window[1]:04d}.png"


_TILE_NAME = re.compile(r"(?P<stem>.+)_x\d{4,}_y\d{4,}", re.DOTALL)


def tile_source(file_name: str | Path) -> str | None:
    """Return the stem of the source image a tile (:func:`tile_name`) was cut from; None for any other file name."""
    match = _TILE_NAME.fullmatch(Path(file_name).stem)
    return match["stem"] if match else None


def box_in_window(box: Sequence[float], window: Window) -> tuple[tuple[float, float, float, float] | None, float]:
    """Return the part of pixel box ``(x1, y1, x2, y2)`` inside ``window`` (in the window's pixels) and its fraction
    of the box's area; ``(None, 0.0)`` when they do not overlap. The box has a positive area."""
    x1, y1 = max(box[0], window[0]), max(box[1], window[1])
    x2, y2 = min(box[2], window[2]), min(box[3], window[3])
    if x2 <= x1 or y2 <= y1:
        return None, 0.0
    fraction = (x2 - x1) * (y2 - y1) / ((box[2] - box[0]) * (box[3] - box[1]))
    return (x1 - window[0], y1 - window[1], x2 - window[0], y2 - window[1]), fraction


@dataclass
class TiledTally(Tally):
    """A :class:`Tally` of a tiled conversion: ``kept_images`` counts tiles and ``kept_boxes`` labels (box and tile).

    Besides: ``source_boxes`` (boxes offered to the tiles), ``repeated`` (of them, labelled in 2 or more tiles),
    ``tile_clipped`` (labels clipped to their tile), ``unlabelled_parts`` (box and tile pairs where the tile shows less
    than ``min_area`` of the box), ``empty_tiles`` and ``sources`` (``{folder: [(source image, tiles)]}``: the split).
    A source box no tile labels is counted once in ``boxes`` under :data:`TILE_DROPPED`.
    """

    tiling: Tiling = field(default_factory=lambda: Tiling(640))
    source_boxes: int = 0
    repeated: int = 0
    tile_clipped: int = 0
    unlabelled_parts: int = 0
    empty_tiles: int = 0
    sources: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Return the summary: tiles and labels, the fate of the source boxes, the drop reasons, then the split."""
        n_sources = sum(len(items) for items in self.sources.values())
        percent = f"{self.tiling.min_area:.0%}"
        out = [
            f"kept {self.kept_boxes} boxes in {self.kept_images} tiles ({self.empty_tiles} without a box) of "
            f"{plural(n_sources, 'source image')} ({self.tiling.describe()})",
            f"labelled {self.source_boxes - self.boxes[TILE_DROPPED]} of {self.source_boxes} source boxes in a tile, "
            f"{self.repeated} of them in 2 or more tiles (one label in each)",
            *super().lines()[1:],
        ]
        if self.tile_clipped:
            out.append(f"clipped {self.tile_clipped} box labels to their tile ({percent} or more of the box inside)")
        if self.unlabelled_parts:
            out.append(
                f"left {self.unlabelled_parts} parts of boxes unlabelled: a tile showing less than {percent} of a box "
                "(counted per box and tile; the box is labelled in another tile or dropped)"
            )
        return out + self.split_lines(limit=6)

    def split_lines(self, limit: int | None = None) -> list[str]:
        """Return one line per split folder naming its source images (the first ``limit``, or all) and their tiles."""
        out = []
        for folder, items in self.sources.items():
            shown = items if limit is None else items[:limit]
            listed = ", ".join(f"{name} ({tiles})" for name, tiles in shown)
            more = f" and {len(items) - len(shown)} more (data.yaml lists them)" if len(shown) < len(items) else ""
            counts = f"{plural(len(items), 'source image')}, {plural(sum(n for _, n in items), 'tile')}"
            out.append(f"{folder}: {counts}: {listed}{more}")
        return out

    def comments(self) -> list[str]:
        """Return the data.yaml comments: the tiling, then every source image of each split with its tiles."""
        out = [
            f"Tiled with {self.tiling.describe()}: tile <stem>_x<left>_y<top>.png labels a box when",
            f"{self.tiling.min_area:.0%} or more of the box lies inside it, clipped to the tile. Whole source images",
            "are split: the tiles of one image are all in one split. Source images (tiles) of each split:",
        ]
        for folder, items in self.sources.items():
            out += [f"{folder}: {plural(len(items), 'source image')}", *(f"  {name} ({n})" for name, n in items)]
        return out


def plural(count: int, noun: str) -> str:
    """Return ``"1 tile"`` or ``"3 tiles"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def tile_source_size(xml_size: tuple[int, int] | None, image: Path) -> tuple[tuple[int, int] | None, str]:
    """Return the ``(w, h)`` of ``image`` as displayed (EXIF orientation applied, as Ultralytics and LabelImg read
    it), or ``(None, reason)`` when Pillow cannot read it or the XML's ``<size>`` disagrees; only the header is read."""
    try:
        with Image.open(image) as opened:
            width, height = opened.size
            if opened.getexif().get(EXIF_ORIENTATION) in TRANSPOSING:
                width, height = height, width
    except Exception:  # not an image Pillow reads: UnidentifiedImageError, or a missing optional plugin (pi_heif)
        return None, TILE_UNREADABLE
    if xml_size is not None and xml_size != (width, height):
        return None, SIZE_MISMATCH
    return (width, height), ""


def labels_in_window(rows: list, window: Window, min_area: float) -> tuple[list, list[int], int, int]:
    """Return what one tile holds of the pixel boxes ``rows`` (``(cls, x1, y1, x2, y2)``): its labels
    ``(cls, cx, cy, w, h)`` normalised to the tile, the indices of the boxes they label, the number of boxes it shows
    less than ``min_area`` of (unlabelled parts), and the number of labels clipped to it."""
    labels, labelled, unlabelled, clipped = [], [], 0, 0
    tile_size = (window[2] - window[0], window[3] - window[1])
    for index, (cls, *box) in enumerate(rows):
        part, fraction = box_in_window(box, window)
        if part is None:
            continue
        if fraction < min_area:
            unlabelled += 1
            continue
        labels.append((cls, *normalise(part, tile_size)))
        labelled.append(index)
        clipped += fraction < 1
    return labels, labelled, unlabelled, clipped


def write_tiles(image: Path, rows: list, out_dir: Path, folder: str, name: str, tiling: Tiling, tally: TiledTally):
    """Return the number of tiles of ``image`` written, with their labels, under ``out_dir/{images,labels}/folder``.

    ``rows`` are ``(cls, x1, y1, x2, y2)`` pixel boxes inside the image; ``name`` is the source's name in the set
    (its stem begins each tile's name). Everything is counted in ``tally``. An existing tile file is an error, never
    overwritten.
    """
    labels_of_box = [0] * len(rows)
    with Image.open(image) as opened:
        pixels = ImageOps.exif_transpose(opened)
        pixels = pixels if pixels.mode in PNG_MODES else pixels.convert("RGB")
        windows = tile_windows(*pixels.size, tiling)
        for window in windows:
            labels, labelled, unlabelled, clipped = labels_in_window(rows, window, tiling.min_area)
            target = out_dir / "images" / folder / tile_name(Path(name).stem, window)
            if target.exists():
                raise FileExistsError(f"refusing to overwrite {target}")
            target.parent.mkdir(parents=True, exist_ok=True)
            pixels.crop(window).save(target, format="PNG")  # Pillow fills what lies past the image with zeros
            label = out_dir / "labels" / folder / Path(target.name).with_suffix(".txt")
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text(format_labels(labels))
            for index in labelled:
                labels_of_box[index] += 1
            tally.kept_images, tally.kept_boxes = tally.kept_images + 1, tally.kept_boxes + len(labels)
            tally.unlabelled_parts += unlabelled
            tally.tile_clipped += clipped
            tally.empty_tiles += not labels
    tally.source_boxes += len(rows)
    tally.repeated += sum(n > 1 for n in labels_of_box)
    for n in labels_of_box:
        if n == 0:
            tally.drop_box(TILE_DROPPED, name)
    tally.sources.setdefault(folder, []).append((name, len(windows)))
    return len(windows)
