"""GPU check: the box losses train under CUDA AMP in both families, α-CIoU's training-step cost on CUDA, and the VOC
suite's first cell at 640 px: one prepared run (≤ 8 minutes on one H100) for a session that is lent a GPU.

    scripts/gpu_check.sh OUT_DIR [--dry-run] [--losses modules|all|a,b] [--models m1.yaml,m2.yaml] [--device 0]
        [--work DIR]

1. ``amp``: a 1-epoch training of one loss per loss module and own key (``--losses modules``, the default:
   ``yolo_alpha.losses.catalogue.training_cases``, each key off its default; ``all``: every registered loss) with
   each model (task-aligned yolov8n, anchor-based yolov5n-anchor) on the embedded synthetic set at 160 px,
   ``amp=True``. Callbacks count the batches whose loss items are not finite and the optimizer steps whose
   (unscaled) gradients are not finite; the gradient scaler skips those steps, and a few in the first steps are
   normal under fp16.
2. ``step``: a yolov8n training step (forward, loss, backward under autocast) with the α-CIoU criterion vs the stock
   one, interleaved medians (scripts/benchmarks/), and the criterion alone.
3. ``voc_cell``: the VOC suite's first cell (its settings, with data=synthetic epochs=1 imgsz=640).

Results go to OUT_DIR/gpu_check.json (rewritten after every item, so a run cut short keeps what finished) and to
stdout as lines ``gpu_check <item> <key=value ...>``, repeated together at the end; docs/benchmarks.md, "GPU check",
describes them. ``--dry-run`` runs the same code on the CPU on a tiny set (one loss, two repeats) in under a minute.
Ultralytics' AMP check (it downloads a model) is replaced by "AMP on", and where polars is missing results.csv is
read without it (:func:`substitutes`). Runs go to --work (a temporary folder), never to OUT_DIR, which the device
tool copies back.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import json
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import torch

AMP_MODELS = "yolov8n.yaml,yolov5n-anchor.yaml"  # the task-aligned family and the anchor-based one
MAX_SKIPPED_SHARE = 0.5  # of a training's optimizer steps, skipped by the gradient scaler for non-finite gradients


@dataclass
class TrainingWatch:
    """What one training's callbacks saw: loss items and gradients that were not finite, AMP's state, timings."""

    batches: int = 0
    nonfinite_losses: int = 0
    steps: int = 0
    nonfinite_grad_steps: int = 0
    amp: bool | None = None
    final_scale: float | None = None
    params_finite: bool | None = None
    train_images: int = 0
    epoch_train_seconds: float | None = None
    _epoch_start: float = 0.0

    def callbacks(self) -> dict[str, Callable[[Any], None]]:
        """Return the Ultralytics callbacks that fill this record."""
        return {
            "on_train_start": self.on_train_start,
            "on_train_epoch_start": self.on_train_epoch_start,
            "on_train_batch_end": self.on_train_batch_end,
            "on_train_epoch_end": self.on_train_epoch_end,
            "on_train_end": self.on_train_end,
        }

    def on_train_start(self, trainer: Any) -> None:
        # The scaler's step comes after unscale_ and clipping: the gradients it sees are the ones applied (or skipped).
        self.amp, self.train_images = bool(trainer.amp), len(trainer.train_loader.dataset)
        scaler_step, params = trainer.scaler.step, list(trainer.model.parameters())

        def checked_step(optimizer, *args, **kwargs):
            self.steps += 1
            self.nonfinite_grad_steps += int(not all_finite(p.grad for p in params if p.grad is not None))
            return scaler_step(optimizer, *args, **kwargs)

        trainer.scaler.step = checked_step

    def on_train_epoch_start(self, trainer: Any) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, trainer: Any) -> None:
        self.batches += 1
        items = trainer.loss_items  # a dict of named loss terms in Ultralytics 8.4, a tensor before
        terms = list(items.values()) if isinstance(items, dict) else [items]
        self.nonfinite_losses += int(not all_finite([trainer.loss, *terms]))

    def on_train_epoch_end(self, trainer: Any) -> None:
        if self.epoch_train_seconds is None:
            sync(trainer.device)
            self.epoch_train_seconds = time.perf_counter() - self._epoch_start

    def on_train_end(self, trainer: Any) -> None:
        self.final_scale = trainer.scaler.get_scale() if trainer.scaler.is_enabled() else None
        self.params_finite = all_finite(trainer.model.parameters())

    def problems(self, cuda: bool) -> list[str]:
        """Return why this training fails the check (empty when it passes)."""
        found = []
        if self.nonfinite_losses:
            found.append(f"{self.nonfinite_losses} of {self.batches} batches had non-finite loss items")
        if self.steps - self.nonfinite_grad_steps < 1 or self.nonfinite_grad_steps > MAX_SKIPPED_SHARE * self.steps:
            found.append(f"{self.nonfinite_grad_steps} of {self.steps} optimizer steps had non-finite gradients")
        if self.params_finite is False:
            found.append("non-finite weights after training")
        if cuda and not self.amp:
            found.append("AMP was off")
        return found


def all_finite(tensors) -> bool:
    """Return whether every element of every tensor is finite (one device synchronisation)."""
    flags = [torch.isfinite(torch.as_tensor(t)).all() for t in tensors]
    return bool(torch.stack(flags).all()) if flags else True


def sync(device: Any) -> None:
    """Wait for the GPU's queued work, so that wall-clock timings include it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def read_results_csv(trainer: Any) -> dict[str, list]:
    """Return the trainer's results.csv as {column: values}, as Ultralytics reads it with polars (for checkpoints)."""
    try:
        with open(trainer.csv, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return {key.strip(): [float(row[key]) for row in rows] for key in rows[0]} if rows else {}
    except (OSError, ValueError):  # as Ultralytics: no table rather than a failed save
        return {}


def amp_without_download(model: torch.nn.Module) -> bool:
    """Return whether AMP trains `model`: on CUDA, as Ultralytics' check decides when its comparison passes."""
    return next(model.parameters()).device.type == "cuda"


def substitutes() -> dict[str, Any]:
    """Return what this script replaces in Ultralytics, and with what (patch target -> replacement).

    Its AMP check downloads yolo26n.pt to compare fp32 and AMP predictions, which fails offline: AMP stays on for
    CUDA (off elsewhere, as the check says), and AMP's outcome (finite losses and gradients) is what this script
    checks. Polars, whose wheel is too large to carry to an offline device, only reads results.csv into each
    checkpoint here: the standard library does it where polars is missing.
    """
    replaced: dict[str, Any] = {"ultralytics.engine.trainer.check_amp": amp_without_download}
    if importlib.util.find_spec("polars") is None:
        replaced["ultralytics.engine.trainer.BaseTrainer.read_results_csv"] = read_results_csv
    return replaced


def train_watched(settings: dict[str, Any]) -> tuple[Any, TrainingWatch]:
    """Return (the trainer, its watch) after training with yolo-alpha's train keys, as ``yolo_alpha.run.train`` does."""
    from yolo_alpha.config import merge_settings
    from yolo_alpha.run import prepare
    from yolo_alpha.ultralytics.anchor_model import AlphaYOLO
    from yolo_alpha.ultralytics.trainer import AlphaDetectionTrainer

    settings = merge_settings(settings)
    model, watch = AlphaYOLO(prepare(settings, "train")), TrainingWatch()
    for event, callback in watch.callbacks().items():
        model.add_callback(event, callback)
    with contextlib.ExitStack() as patches:
        for target, replacement in substitutes().items():
            patches.enter_context(mock.patch(target, replacement))
        model.train(trainer=AlphaDetectionTrainer, **settings)
    return model.trainer, watch


def amp_training(model: str, loss: str, common: dict[str, Any], runs: Path) -> dict[str, Any]:
    """Return the record of one 1-epoch training of `model` with `loss` (``ok`` False with the error if it raised)."""
    from yolo_alpha.ultralytics.families import model_family

    name = f"{Path(model).stem}_{loss}"
    record: dict[str, Any] = {"model": model, "family": model_family(model), "loss": loss}
    start = time.perf_counter()
    try:
        trainer, watch = train_watched({**common, "model": model, "loss": loss, "project": str(runs), "name": name})
    except Exception as error:  # one loss failing must not hide the others
        traceback.print_exc()
        return {**record, "ok": False, "problems": [f"{type(error).__name__}: {error}"]}
    problems = watch.problems(torch.device(trainer.device).type == "cuda")
    fields = {k: v for k, v in asdict(watch).items() if not k.startswith("_")}
    return {**record, "ok": not problems, "problems": problems, **fields, "seconds": time.perf_counter() - start}


def step_ratio(device: str, batch_size: int, imgsz: int, repeats: int) -> dict[str, Any]:
    """Return the yolov8n training step's and criterion's median times, α-CIoU vs stock, under autocast on CUDA."""
    from benchmarks.common import interleaved_medians
    from benchmarks.training_step import criterion_only, step_candidates, synthetic_batch
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils import DEFAULT_CFG

    from yolo_alpha.settings import from_flat
    from yolo_alpha.ultralytics.criterion import install_criterion

    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=5, verbose=False).to(device).train()
    model.args = get_cfg(DEFAULT_CFG)
    alpha = from_flat({"loss": "alpha_ciou", "alpha": 3})
    criteria = {"stock": model.init_criterion(), "alpha_ciou": install_criterion(model, alpha.loss, alpha.balance)}
    batch = {k: v.to(device) for k, v in synthetic_batch(batch_size, imgsz).items()}
    amp = torch.device(device).type == "cuda"

    def autocast(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with torch.autocast(torch.device(device).type, dtype=torch.float16, enabled=amp):
                fn()

        return run

    def timed(candidates: dict[str, Callable[[], None]]) -> dict[str, float]:
        wrapped = {name: autocast(fn) for name, fn in candidates.items()}
        return interleaved_medians(wrapped, repeats, sync=lambda: sync(device))

    steps = timed(step_candidates(model, criteria, batch))
    alone = timed(criterion_only(model, criteria, batch))
    return {
        "batch": batch_size,
        "imgsz": imgsz,
        "amp": amp,
        "step_ms": {k: v * 1e3 for k, v in steps.items()},
        "criterion_ms": {k: v * 1e3 for k, v in alone.items()},
        "step_ratio": steps["alpha_ciou"] / steps["stock"],
        # As scripts/bench.py judges its goal: the criterion's difference over a whole stock step.
        "via_criterion": 1 + (alone["alpha_ciou"] - alone["stock"]) / steps["stock"],
    }


def voc_first_cell(overrides: dict[str, Any], runs: Path) -> dict[str, Any]:
    """Return the record of the VOC suite's first cell trained with `overrides` (data, epochs, imgsz, ...)."""
    from yolo_alpha.suites.definitions import VOC
    from yolo_alpha.suites.runner import suite_sweep

    cell = suite_sweep(VOC, runs, overrides).cells()[0]
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    record: dict[str, Any] = {"cell_id": cell.cell_id, "settings": {k: str(v) for k, v in cell.settings.items()}}
    start = time.perf_counter()
    trainer, watch = train_watched({**cell.settings, "project": str(runs), "name": cell.cell_id})
    problems = watch.problems(torch.device(trainer.device).type == "cuda")
    seconds = watch.epoch_train_seconds or float("nan")
    return {
        **record,
        "ok": not problems,
        "problems": problems,
        "seconds": time.perf_counter() - start,
        "train_images": watch.train_images,
        "train_images_per_s": watch.train_images / seconds,  # the first epoch: start-up included
        "mAP50-95": float(trainer.metrics.get("metrics/mAP50-95(B)", float("nan"))),
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
    }


def pairs(record: dict[str, Any], keys: list[str]) -> str:
    """Return ``key=value`` for each of `keys` that `record` sets (not None), floats with 4 significant digits."""
    values = {k: record[k] for k in keys if record.get(k) is not None}
    shown = (f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    return " ".join(s.replace(" ", "_") for s in shown)


def amp_line(record: dict[str, Any]) -> str:
    """Return the summary line of one training of the amp item."""
    keys = ["model", "loss", "ok", "batches", "steps", "nonfinite_losses", "nonfinite_grad_steps", "final_scale"]
    why = " problems=" + "; ".join(record["problems"]).replace(" ", "_") if record["problems"] else ""
    return f"gpu_check amp {pairs(record, [*keys, 'seconds'])}{why}"


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Return the report as lines ``gpu_check <item> <key=value ...>``."""
    lines = [f"gpu_check device {pairs(report, ['device', 'torch', 'ultralytics', 'substituted'])}"]
    if "step" in report:
        step = report["step"]
        flat = {**step, **{f"{k}_ms": v for k, v in step["step_ms"].items()}}
        lines.append(f"gpu_check step {pairs(flat, ['step_ratio', 'via_criterion', 'stock_ms', 'alpha_ciou_ms'])}")
    if "voc_cell" in report:
        keys = ["cell_id", "ok", "seconds", "train_images_per_s", "mAP50-95", "peak_gpu_mib"]
        lines.append(f"gpu_check voc_cell {pairs(report['voc_cell'], keys)}")
    lines.extend(amp_line(record) for record in report["amp"])
    lines.extend(f"gpu_check error item={k} message={v.replace(' ', '_')}" for k, v in report["errors"].items())
    lines.append(f"gpu_check result passed={report['passed']} seconds={report['seconds']:.0f}")
    return lines


def tiny_data(work: Path) -> str:
    """Return the data.yaml of a tiny synthetic set (16 train / 8 val images of 64 px) for the dry run."""
    from yolo_alpha.data.synthetic import SyntheticSpec, write_synthetic_dataset

    return str(write_synthetic_dataset(work / "tiny", SyntheticSpec(n_train=16, n_val=8, imgsz=64)))


def plan(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Return the settings of each item: the real check on CUDA, or its tiny CPU form for --dry-run."""
    from yolo_alpha.losses import list_losses
    from yolo_alpha.losses.catalogue import training_cases

    # "modules": one loss per loss module and per own key (~14, the registry has ~50); "all": every loss.
    named = {"all": list_losses(), "modules": [name for name, _ in training_cases()]}
    losses = named.get(args.losses) or args.losses.split(",")
    loss_keys = dict(training_cases()) if args.losses == "modules" else {}  # each own key off its default once
    if args.dry_run:
        device, data, workers = "cpu", tiny_data(work), 0
        amp, step, voc = {"imgsz": 64, "batch": 8}, (2, 64, 2), {"imgsz": 64, "batch": 8}
    else:
        device, data, workers = f"cuda:{args.device}", "synthetic", 2
        # nbs = batch: an optimizer step (and a gradient check) after every batch
        amp, step, voc = {"imgsz": 160, "batch": 16, "nbs": 16}, (64, 640, 20), {"imgsz": 640}
    common = {"data": data, "device": device, "epochs": 1, "workers": workers, "plots": False}
    return {
        "device": device,
        "losses": losses,
        "loss_keys": loss_keys,
        "amp": {**common, **amp},
        "step": (device, *step),
        "voc": {**common, **voc},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every item, rewriting OUT_DIR/gpu_check.json after each; return the report. Runs go to --work, else to
    a temporary folder removed at the end."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        return run_items(args, out, Path(args.work or tmp))


def run_items(args: argparse.Namespace, out: Path, work: Path) -> dict[str, Any]:
    """Run every item with its runs under `work`; see :func:`run`."""
    import ultralytics

    items = plan(args, work)
    cuda = torch.device(items["device"]).type == "cuda"
    name = torch.cuda.get_device_name(0) if cuda else "cpu (dry run)" if args.dry_run else "cpu"
    report: dict[str, Any] = {"device": name, "torch": torch.__version__, "ultralytics": ultralytics.__version__}
    report["substituted"] = ",".join(sorted(target.rsplit(".", 1)[1] for target in substitutes()))
    report.update({"amp": [], "errors": {}, "passed": False, "seconds": 0.0})
    start = time.perf_counter()

    def save() -> None:
        report["seconds"] = time.perf_counter() - start
        amp_failed = any(not record["ok"] for record in report["amp"])
        voc_failed = not report.get("voc_cell", {}).get("ok")  # also when it did not run
        report["passed"] = not (amp_failed or voc_failed or report["errors"])
        (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")

    def item(key: str, compute: Callable[[], Any]) -> None:
        try:
            report[key] = compute()
        except Exception as error:
            traceback.print_exc()
            report["errors"][key] = f"{type(error).__name__}: {error}"
        save()

    item("step", lambda: step_ratio(*items["step"]))
    item("voc_cell", lambda: voc_first_cell(items["voc"], work / "voc"))
    for model in args.models.split(","):
        for loss in items["losses"]:
            keys = {**items["amp"], **items["loss_keys"].get(loss, {})}
            report["amp"].append(amp_training(model, loss, keys, work / "amp"))
            print(amp_line(report["amp"][-1]), flush=True)
            save()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="folder for gpu_check.json (the device tool copies back $OUT)")
    parser.add_argument("--dry-run", action="store_true", help="the same code on the CPU, tiny settings, one loss")
    parser.add_argument(
        "--losses", default=None, help="comma-separated names, modules (one per loss module and key) or all "
        "(default: modules; dry run: alpha_ciou)",
    )  # fmt: skip
    parser.add_argument("--models", default=AMP_MODELS, help=f"model YAMLs of the amp item (default {AMP_MODELS})")
    parser.add_argument("--device", default="0", help="CUDA device of the real run (default 0)")
    parser.add_argument("--work", default=None, help="folder for the runs (default: a new temporary folder)")
    args = parser.parse_args(argv)
    args.losses = args.losses or ("alpha_ciou" if args.dry_run else "modules")
    report = run(args)
    print("\n".join(summary_lines(report)))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
