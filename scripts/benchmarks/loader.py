"""The training loader: Ultralytics' train-time data set (reading and augmenting), noisy labels vs clean.

The noisy view (``noise_eta=0.2``) is the one training uses (``yolo_alpha.ultralytics.dataset.noisy_train_data``):
plain label files beside symlinked images. An A/A control times the clean set twice per repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Figure, Measurements, interleaved_medians


def loader_candidates(data_yaml: Path, imgsz: int, n_images: int) -> dict[str, Callable[[], None]]:
    """Return closures that load and augment n training images, with clean and with noisy (η = 0.2) labels."""
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset
    from ultralytics.utils import DEFAULT_CFG

    from yolo_alpha.ultralytics.dataset import noisy_train_data

    data = check_det_dataset(str(data_yaml))
    args = get_cfg(DEFAULT_CFG, {"imgsz": imgsz})
    noisy = noisy_train_data(data, eta=0.2, seed=0)
    datasets = {
        "clean": build_yolo_dataset(args, data["train"], 16, data, mode="train"),
        "noisy": build_yolo_dataset(args, str(noisy.image_list), 16, data, mode="train"),
    }

    def load(dataset):
        def run() -> None:
            for i in range(n_images):
                dataset[i % len(dataset)]  # read, mosaic and the other train-time augmentations, as the loader does

        return run

    return {name: load(dataset) for name, dataset in datasets.items()}


def bench_loader(out: Measurements, data_yaml: Path, imgsz: int, n_images: int, repeats: int) -> None:
    """Record the loader table and its figure (speed = images/s, so the ratio is clean time / noisy time)."""
    candidates = loader_candidates(data_yaml, imgsz, n_images)
    candidates["clean (again)"] = candidates["clean"]  # an A/A control: the noise floor of this ratio here
    medians = interleaved_medians(candidates, repeats)
    out.sections.append(
        f"### Training data set, {n_images} images with augmentation at {imgsz} px\n\n"
        'The noisy view is plain label files beside symlinked images; "clean (again)" times the clean set twice per '
        'repeat, so its speed against "clean" shows how far this ratio moves by chance on this machine.\n\n'
        "| labels | images/s |\n|---|---:|\n" + "".join(f"| {k} | {n_images / t:.0f} |\n" for k, t in medians.items())
    )
    out.figures.append(Figure("loader speed, noisy / clean", medians["clean"] / medians["noisy"]))
