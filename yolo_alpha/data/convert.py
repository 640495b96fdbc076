"""Converters from local annotations to the Ultralytics YOLO layout: PASCAL VOC XML (``voc``), COCO JSON (``coco``),
and the NEON tree crowns of the DeepForest wheel (``neon-trees``, VOC XML tiled).

All return a :class:`~yolo_alpha.data.yolo_layout.Conversion` (the ``data.yaml`` written, the class names, and a
tally of what was kept, clipped and dropped, per reason), never write into an ``out_dir`` that holds files, never move
or modify the source files, and read and check every input before writing anything, so that a malformed file leaves
no partial set behind. See :mod:`yolo_alpha.data.voc`, :mod:`yolo_alpha.data.coco`, :mod:`yolo_alpha.data.tiling`,
:mod:`yolo_alpha.data.neon_trees` and :mod:`yolo_alpha.data.yolo_layout`.
"""

from __future__ import annotations

from yolo_alpha.data.coco import coco_class_index, convert_coco, read_coco_json
from yolo_alpha.data.neon_trees import convert_neon_trees
from yolo_alpha.data.voc import VOC_SPLITS, convert_voc, parse_names, voc_box_to_yolo, voc_class_names, voc_roles
from yolo_alpha.data.yolo_layout import Conversion, Tally

__all__ = [
    "VOC_SPLITS",
    "Conversion",
    "Tally",
    "coco_class_index",
    "convert_coco",
    "convert_neon_trees",
    "convert_voc",
    "parse_names",
    "read_coco_json",
    "voc_box_to_yolo",
    "voc_class_names",
    "voc_roles",
]
