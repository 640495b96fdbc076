"""How to get the official PASCAL VOC and MS COCO archives by hand, for when Ultralytics cannot download them.

Ultralytics' ``VOC.yaml`` and ``coco.yaml`` download these sets when online (from its own mirror); offline, or behind
a proxy, the user fetches the official archives and converts them with ``yolo-alpha data``. Sizes are the archives'
(decimal GB), so the user knows what the download and the disk will take.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OfficialSet:
    """An official data set: its title, archives ``(file name, size)``, where they are published, and the command
    that converts them once unpacked."""

    title: str
    archives: tuple[tuple[str, str], ...]
    source: str
    convert: str
    download_size: str  # what Ultralytics' own download fetches
    note: str = ""  # what the command alone does not say


OFFICIAL_SETS = {
    "voc": OfficialSet(
        title="PASCAL VOC",
        archives=(
            ("VOCtrainval_06-Nov-2007.tar", "0.46 GB"),
            ("VOCtest_06-Nov-2007.tar", "0.45 GB"),
            ("VOCtrainval_11-May-2012.tar", "2.0 GB"),
        ),
        source="http://host.robots.ox.ac.uk/pascal/VOC/",
        convert="yolo-alpha data voc root=<folder holding VOCdevkit> out=<dir>",
        download_size="2.8 GB",
    ),
    "coco": OfficialSet(
        title="MS COCO 2017",
        archives=(
            ("train2017.zip", "19.3 GB"),
            ("val2017.zip", "0.8 GB"),
            ("annotations_trainval2017.zip", "0.25 GB"),
        ),
        source="https://cocodataset.org/#download",
        convert=(
            "yolo-alpha data coco json=<folder>/annotations/instances_train2017.json images=<folder>/train2017 "
            "out=<dir>"
        ),
        download_size="20 GB",
        note=(
            " (one JSON is one split: convert instances_val2017.json with images=<folder>/val2017 into another out= "
            "and point val: of <dir>/data.yaml at its images/val2017)"
        ),
    ),
}


def official_set(data: str) -> OfficialSet | None:
    """Return the official set that the data YAML name ``data`` stands for (``VOC.yaml``, ``coco.yaml``), else None."""
    return OFFICIAL_SETS.get(Path(str(data)).stem.lower())


def how_to_get(data: str, target: Path) -> str | None:
    """Return the one-line advice for an official set ``data`` missing from ``target`` with no network, else None.

    It names the archives with their sizes, where they are published, the ``yolo-alpha data`` command that converts
    them and the ``data=`` to train with, and where Ultralytics' own download would put the set.
    """
    found = official_set(data)
    if found is None:
        return None
    archives = ", ".join(f"{name} ({size})" for name, size in found.archives)
    return (
        f"data={data}: {found.title} is not in {target} and cannot be downloaded (offline). Get {archives} from "
        f"{found.source}, unpack them into one folder, run `{found.convert}`{found.note}, then train with "
        "data=<dir>/data.yaml. "
        f"Online, data={data} downloads it (about {found.download_size}) into {target}"
    )
