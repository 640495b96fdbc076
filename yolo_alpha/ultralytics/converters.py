"""What ``yolo-alpha data`` takes from Ultralytics: its VOC class names and its COCO-JSON label converter."""

from __future__ import annotations

from pathlib import Path

from ultralytics.data.converter import convert_coco
from ultralytics.utils import ROOT, YAML


def voc_class_names() -> list[str]:
    """Return the 20 VOC class names in Ultralytics' order, read from its own ``cfg/datasets/VOC.yaml``."""
    names = YAML.load(ROOT / "cfg" / "datasets" / "VOC.yaml")["names"]
    return [names[i] for i in sorted(names)]


def convert_coco_boxes(json_dir: Path, out_dir: Path) -> None:
    """Write YOLO box labels for every COCO JSON in ``json_dir`` into ``out_dir/labels/<json stem>/`` (Ultralytics').

    Category ids are taken as given (no 91 → 80 mapping), segments are not used.
    """
    convert_coco(str(json_dir), str(out_dir), use_segments=False, cls91to80=False)
