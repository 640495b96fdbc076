"""Benchmark: yolo-alpha's box loss and training step against stock, as ratios measured side by side in one process.

    .venv/bin/python scripts/bench_loss.py [--pairs 100000 1000000] [--repeats 15] [--steps 12]

1. Forward+backward of ``box_loss(..., "alpha_ciou")`` vs Ultralytics ``bbox_iou(CIoU=True)`` vs torchvision's
   ``complete_box_iou_loss`` on N random box pairs.
2. One training step (forward, loss, backward) of yolov8n on the same batch with the stock criterion vs ours
   (α-CIoU, α = 3). Goal: ratio ≤ 1.05.
3. The training data set (Ultralytics' loader with its augmentations) on the embedded synthetic set, clean vs with
   noisy boxes (noise_eta = 0.2): images/s. Goal: noisy/clean ≥ 0.98.

Candidates are interleaved within each repeat and the median is reported, so a noisy shared machine affects all
of them alike. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("YOLO_OFFLINE", "True")

import torch
from torchvision.ops import complete_box_iou_loss
from ultralytics.cfg import get_cfg
from ultralytics.nn.tasks import DetectionModel
from ultralytics.utils import DEFAULT_CFG
from ultralytics.utils.metrics import bbox_iou

from yolo_alpha.losses import resolve_loss
from yolo_alpha.seam import install_criterion


def random_boxes(n: int, generator: torch.Generator) -> torch.Tensor:
    """Return n valid xyxy boxes in a 640-px image."""
    xy = torch.rand(n, 2, generator=generator) * 600
    wh = torch.rand(n, 2, generator=generator) * 200 + 1
    return torch.cat([xy, xy + wh], 1)


def interleaved_medians(candidates: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Return the median seconds of each candidate, all of them timed in turn within every repeat."""
    for fn in candidates.values():  # warm-up: allocator, lazy inits
        fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def loss_candidates(n: int) -> dict[str, Callable[[], None]]:
    """Return fwd+bwd closures of the three CIoU-family implementations on the same n pairs."""
    g = torch.Generator().manual_seed(0)
    pred, target = random_boxes(n, g).requires_grad_(), random_boxes(n, g)
    ours = resolve_loss("alpha_ciou", alpha=3)

    def run(loss_fn):
        def step():
            pred.grad = None
            loss_fn().sum().backward()

        return step

    return {
        "yolo-alpha alpha_ciou": run(lambda: ours(pred, target)),
        "ultralytics bbox_iou CIoU": run(lambda: 1 - bbox_iou(pred, target, xywh=False, CIoU=True)),
        "torchvision complete_box_iou_loss": run(lambda: complete_box_iou_loss(pred, target)),
    }


def training_step_candidates(batch_size: int, imgsz: int) -> dict[str, Callable[[], None]]:
    """Return closures of one yolov8n forward+loss+backward with the stock criterion and with ours."""
    g = torch.Generator().manual_seed(0)
    n_boxes = 4 * batch_size
    centres = torch.rand(n_boxes, 2, generator=g) * 0.6 + 0.2
    sizes = torch.rand(n_boxes, 2, generator=g) * 0.3 + 0.05
    batch = {
        "img": torch.rand(batch_size, 3, imgsz, imgsz, generator=g),
        "batch_idx": torch.arange(batch_size).repeat_interleave(4).float(),
        "cls": torch.randint(0, 5, (n_boxes, 1), generator=g).float(),
        "bboxes": torch.cat([centres, sizes], 1),
    }
    models = {}
    for name in ("stock ultralytics criterion", "yolo-alpha criterion (alpha_ciou)"):
        torch.manual_seed(0)
        model = DetectionModel("yolov8n.yaml", nc=5, verbose=False).train()
        model.args = get_cfg(DEFAULT_CFG)
        models[name] = model
    install_criterion(models["yolo-alpha criterion (alpha_ciou)"], resolve_loss("alpha_ciou", alpha=3))

    def step(model):
        def run():
            model.zero_grad(set_to_none=True)
            loss, _ = model.loss(batch)
            loss.sum().backward()

        return run

    return {name: step(model) for name, model in models.items()}


def loader_candidates(n_images: int) -> dict[str, Callable[[], None]]:
    """Return closures that load and augment n training images of the synthetic set, clean and noisy (η = 0.2)."""
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset

    from yolo_alpha.data.noise import list_images, noisy_train_split
    from yolo_alpha.data.synthetic import synthetic_dataset

    data = check_det_dataset(str(synthetic_dataset()))
    args = get_cfg(DEFAULT_CFG, {"imgsz": 160})
    noisy = noisy_train_split(list_images(data["train"]), eta=0.2, seed=0)
    datasets = {
        "clean labels": build_yolo_dataset(args, data["train"], 16, data, mode="train"),
        "noisy labels (noise_eta=0.2)": build_yolo_dataset(args, str(noisy.image_list), 16, data, mode="train"),
    }

    def load(dataset):
        def run():
            for i in range(n_images):
                dataset[i]  # read, mosaic and the other train-time augmentations, as the loader does per item

        return run

    return {name: load(dataset) for name, dataset in datasets.items()}


def table(title: str, medians: dict[str, float], baseline: str) -> str:
    """Return a Markdown table of median times and their ratio to `baseline`."""
    rows = [f"\n**{title}**\n", "| implementation | median | ratio to " + baseline + " |", "|---|---:|---:|"]
    for name, t in medians.items():
        rows.append(f"| {name} | {t * 1e3:.1f} ms | {t / medians[baseline]:.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=12, help="repeats of the training step")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--imgsz", type=int, default=160)
    args = parser.parse_args()

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads; device: cpu"
    )
    for n in args.pairs:
        medians = interleaved_medians(loss_candidates(n), args.repeats)
        print(table(f"Box loss forward+backward, {n:,} pairs", medians, "ultralytics bbox_iou CIoU"))
    medians = interleaved_medians(training_step_candidates(args.batch, args.imgsz), args.steps)
    print(
        table(f"yolov8n training step, batch {args.batch} at {args.imgsz} px", medians, "stock ultralytics criterion")
    )
    ratio = medians["yolo-alpha criterion (alpha_ciou)"] / medians["stock ultralytics criterion"]
    print(f"\ntraining-step ratio {ratio:.3f} (goal ≤ 1.05): {'met' if ratio <= 1.05 else 'NOT met'}")

    n = 64
    medians = interleaved_medians(loader_candidates(n), args.repeats)
    print(f"\n**Training data set, {n} images with augmentation (images/s)**\n")
    print("| labels | images/s |\n|---|---:|")
    for name, t in medians.items():
        print(f"| {name} | {n / t:.0f} |")
    speed = medians["clean labels"] / medians["noisy labels (noise_eta=0.2)"]
    print(f"\nnoisy/clean loader speed {speed:.3f} (goal ≥ 0.98): {'met' if speed >= 0.98 else 'NOT met'}")


if __name__ == "__main__":
    main()
