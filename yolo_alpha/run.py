"""Python API behind the CLI verbs: train, val, predict, export (keyword arguments are the CLI's key=value).

Every verb checks its keys, their values and the files they name before anything is built, so a mistake creates no
run folder and reaches no network; then it hands over to Ultralytics' ``YOLO`` API with our trainer (through
:class:`~yolo_alpha.ultralytics.anchor_model.AlphaYOLO`, which also builds the anchor family).
"""

from __future__ import annotations

import csv
import traceback
from pathlib import Path
from typing import Any

from ultralytics import ASSETS

from yolo_alpha.config import merge_settings
from yolo_alpha.data.named_sets import is_named, named_set_of, resolve_data
from yolo_alpha.data.synthetic import is_synthetic, synthetic_spec
from yolo_alpha.errors import ConfigError
from yolo_alpha.metrics import ap_by_threshold
from yolo_alpha.settings import NO_NOISE, NoiseSettings, Settings, from_flat, require_known, split_ours
from yolo_alpha.ultralytics import cfg as ultralytics_cfg
from yolo_alpha.ultralytics import preflight
from yolo_alpha.ultralytics.anchor_model import AlphaYOLO
from yolo_alpha.ultralytics.checkpoints import CheckpointInfo, checkpoint_info, resume_run_dir
from yolo_alpha.ultralytics.dataset import check_train_split, noisy_train_data
from yolo_alpha.ultralytics.datasets_dir import use_datasets_dir
from yolo_alpha.ultralytics.families import model_family
from yolo_alpha.ultralytics.trainer import AlphaDetectionTrainer
from yolo_alpha.ultralytics.validator import untimed_nms

__all__ = ["ConfigError", "check_keys", "check_local_files", "check_settings", "export", "predict"]
__all__ += ["train", "val"]


def check_keys(keys: Any, mode: str, where: str | None = None) -> None:
    """Raise ConfigError naming every key that ``mode`` (train, val, predict, export) does not take."""
    valid = ultralytics_cfg.TRAIN_KEYS if mode == "train" else ultralytics_cfg.ULTRALYTICS_KEYS
    require_known(keys, valid, where or mode)


def check_settings(settings: dict[str, Any], mode: str) -> Settings | None:
    """Return yolo-alpha's settings of a train key dict (None for other modes) after checking every key and value.

    Raises ConfigError (or another YoloAlphaError) naming any unknown key or bad value, before anything is built.
    The model YAML is read too (a folder, a broken YAML or one of another task than detection is refused), so a
    sweep's up-front check of its cells covers it. The machine's own resources (device, run folder, weights to
    download) are checked by :func:`prepare`, on the machine that trains.
    """
    preflight.check_replaced_keys(settings)
    check_keys(settings, mode)
    ours, theirs = split_ours(settings)
    ultralytics_cfg.check_ultralytics_values(theirs)
    model = settings.get("model")
    preflight.check_model(model, mode)
    if mode != "train":
        return None
    epochs = settings.get("epochs", ultralytics_cfg.DEFAULT_CFG_DICT["epochs"])  # alpha_warmup must be below it
    return from_flat({**ours, "model": model}, model_family(model), epochs)  # the model names the family in messages


def check_local_files(
    settings: dict[str, Any], mode: str = "train", key: str = "model", noise: NoiseSettings = NO_NOISE
) -> CheckpointInfo | None:
    """Raise ConfigError for weights or a data set that is missing or not what it claims, before any run folder exists.

    Returns the weights' :class:`CheckpointInfo` when ``model`` is a weights file. Upstream would otherwise query
    GitHub for a missing .pt name, load a text file named .pt deep inside its loader, and report a missing training
    split only after it has created the run folder. With noisy boxes (``noise``), the noisy view of the training split
    is built here (it is cached; the trainer then finds it), so that a set whose labels Ultralytics would all drop is
    refused before the run starts too.
    """
    model, data = settings.get("model"), settings.get("data")
    info = _check_weights(model, key)
    if info is not None and mode in ("train", "val"):
        preflight.check_task(model, info.task, key)
    if mode == "train" and not settings.get("resume"):
        pretrained = settings.get("pretrained")
        # A path (not True/False): its layers of matching shape start the model; upstream downloads a missing one.
        if isinstance(pretrained, (str, Path)) and not isinstance(pretrained, bool):
            _check_weights(str(pretrained), "pretrained", required=True)
    if is_synthetic(data):
        synthetic_spec(data)  # a size it cannot make is refused here, naming data=
    elif not settings.get("resume"):
        # downloads VOC/COCO when missing and online, as upstream; builds data=neon-trees once
        dataset = ultralytics_cfg.check_dataset(resolve_data(data))
        single_cls = bool(settings.get("single_cls"))
        if mode == "train":
            if noise.eta > 0:
                noisy_train_data(dataset, noise.eta, noise.seed, single_cls=single_cls)
            else:
                check_train_split(dataset, single_cls=single_cls)
    return info


def check_class_count(info: CheckpointInfo | None, settings: dict[str, Any], key: str = "model") -> None:
    """Raise ConfigError when weights validated on ``data=`` predict another number of classes than it has.

    Ultralytics would drop every image holding a class id beyond the data set's count, or every label of a class
    beyond the model's, and report AP of what is left, with no word about the mismatch. Without ``data=`` (the
    checkpoint's own set) or with ``single_cls`` (given, or the checkpoint's: every class is one) there is nothing to
    compare.
    """
    data = settings.get("data")
    if info is None or info.nc is None or not data:
        return
    if settings.get("single_cls", info.train_args.get("single_cls")):  # upstream's val keeps the checkpoint's
        return
    dataset = ultralytics_cfg.check_dataset(str(data))  # already checked: read again, not downloaded
    if info.nc == dataset["nc"]:
        return
    raise ConfigError(
        f"{key}={info.path} predicts {info.nc} classes but data={data} has {dataset['nc']}: validate on the data set "
        "the model was trained for (a class id means the same class in both), or train on this one"
    )


def checkpoint_data(model: Any) -> dict[str, str]:
    """Return ``{"data": …}`` for validating weights ``model`` without ``data=``: the set they trained on.

    The set's name when they trained on one this package builds (``data_name`` in their ``train_args``, or a NEON
    cache folder, which names it): it is built again if its cache is gone; nothing when the set's data.yaml is still
    where they trained (upstream reads it then). ConfigError naming ``data=`` when it is gone: upstream would
    validate on coco8 instead, downloading it.
    """
    if not (isinstance(model, str) and model.endswith(".pt") and Path(model).is_file()):
        return {}  # a model .yaml, or weights that prepare() reports missing
    args = checkpoint_info(model).train_args
    if args.get("data_name") and is_named(args["data_name"]):
        return {"data": str(args["data_name"])}
    trained_on = args.get("data")
    if not trained_on or not _looks_like_path(trained_on) or Path(str(trained_on)).exists():
        return {}
    named = named_set_of(trained_on)
    if named:
        return {"data": named}
    raise ConfigError(
        f"data=: not given, and the data set model={model} trained on ({trained_on}) is not on this machine; give "
        "data=<its data.yaml, or a named set: synthetic[:n_val=…], neon-trees[:tile=…]> to validate on"
    )


def _looks_like_path(data: Any) -> bool:
    """Return True when a checkpoint's ``data`` is a file path, not a name upstream resolves (``coco8.yaml``)."""
    return isinstance(data, str) and ("/" in data or "\\" in data)


def _check_weights(path: Any, key: str, required: bool = False) -> CheckpointInfo | None:
    """Return the CheckpointInfo of weights `path` (None if it is no .pt); ConfigError if missing or unreadable."""
    if not (isinstance(path, str) and path.endswith(".pt")):
        if required:
            raise ConfigError(f"{key}={path}: not a weights file (.pt); give True, False or the path of a .pt")
        return None
    if not Path(path).exists() and ultralytics_cfg.is_official_weights(path) and not required:
        preflight.fetch_official_weights(path, key)  # as upstream would next, but a failure is one line here
    if Path(path).exists():
        ultralytics_cfg.check_weights_path(path, key)
        return checkpoint_info(path, key)
    if required or not ultralytics_cfg.is_official_weights(path):
        raise ConfigError(f"{key}={path}: no such weights file")
    return None  # downloaded into Ultralytics' weights folder: it finds it there


def prepare(settings: dict[str, Any], mode: str) -> str:
    """Check keys, values, this machine and local files of `settings`; remove its model from it and return that.

    Also makes ``project`` absolute (:func:`~yolo_alpha.ultralytics.preflight.run_project`: runs go under the current
    folder) for the verbs that write a run folder, and checks that folder can be created.
    """
    ours = check_settings(settings, mode)
    if not settings.get("model"):
        raise ConfigError(
            f"{mode} needs model=<weights .pt or model .yaml>, e.g. model=runs/detect/train/weights/best.pt"
        )
    preflight.check_device(settings.get("device"))
    if mode != "export":  # the exporter writes beside the weights
        preflight.check_run_folder(settings.get("project"), settings.get("name") or mode)
        settings["project"] = preflight.run_project(settings.get("project"))
    info = check_local_files(settings, mode, noise=ours.noise if ours else NO_NOISE)
    if mode == "val":
        check_class_count(info, settings)
    # train: the trainer checks what upstream finds only in the run folder (check_before_run), before creating it
    return str(settings.pop("model"))


def check_resumable(settings: dict[str, Any]) -> None:
    """Raise ConfigError unless ``model`` is the last.pt of an unfinished run (resume would start another training)."""
    model = settings.get("model")
    if not model:
        raise ConfigError("resume=True needs model=<run>/weights/last.pt")
    if not str(model).endswith(".pt") or not Path(str(model)).is_file():
        raise ConfigError(f"model={model}: resume needs the last.pt of an interrupted run; no such weights file")
    check_settings({k: v for k, v in settings.items() if k != "model"}, "train")
    preflight.check_device(settings.get("device"))
    info = checkpoint_info(str(model))
    if info.resumable:
        resume_run_dir(str(model))  # it must lie in <run>/weights/: the run folder resume writes into
        return
    if info.epoch < 0 or (info.epochs is not None and info.epoch + 1 >= info.epochs):
        trained = f" (all {info.epochs} epochs)" if info.epochs else ""
        raise ConfigError(
            f"model={model}: this run is finished{trained}, so there is nothing to resume. To train further from its "
            f"weights, start a new run from them: yolo-alpha train model={model} epochs=N [data=... loss=...] "
            "(settings then come from the command line and cfg/default.yaml, not from the checkpoint)"
        )
    raise ConfigError(
        f"model={model}: not a resumable checkpoint (it has no optimizer state; best.pt never has): resume from the "
        "run's weights/last.pt"
    )


def train(**overrides: Any) -> AlphaYOLO:
    """Train and return the YOLO model (best weights loaded); settings: cfg/default.yaml < cfg= file < overrides.

    With ``resume=True`` only the given keys are used: the run continues with the settings, data and loss recorded
    in its checkpoint, in the run folder that holds the weights (``<run>/weights/last.pt``: a copied last.pt never
    writes into the run it was copied from); a finished run is refused (ConfigError saying how to train further).
    """
    if overrides.get("resume"):
        settings = {k: v for k, v in overrides.items() if k != "cfg"}
        check_resumable(settings)
        model = AlphaYOLO(str(settings.pop("model")))
    else:
        settings = merge_settings(overrides)
        model = AlphaYOLO(prepare(settings, "train"))
    with untimed_nms():  # every validation of the run scores every image (its docstring: upstream's time limit)
        model.train(trainer=AlphaDetectionTrainer, **settings)
    return model


def val(**overrides: Any) -> tuple[Any, dict[str, float]]:
    """Validate weights; return (Ultralytics' metrics, AP per IoU threshold with mAP50-95 and mAP75-95).

    The per-threshold table is also written to ``<save_dir>/ap_by_iou.csv``.
    """
    settings = dict(overrides)
    if not settings.get("data"):
        settings.update(checkpoint_data(settings.get("model")))
    if "data" in settings and is_named(settings["data"]):
        settings["data"] = resolve_data(settings["data"])
    model = prepare(settings, "val")
    ultralytics_cfg.provide_offline_fonts()
    with use_datasets_dir(), untimed_nms():  # named sets live in our cache (upstream checks the set again)
        metrics = AlphaYOLO(model).val(**settings)
    table = ap_by_threshold(metrics.box.all_ap)
    with open(Path(metrics.save_dir) / "ap_by_iou.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table))
        writer.writeheader()
        writer.writerow({k: f"{v:.6f}" for k, v in table.items()})
    return metrics, table


def predict(**overrides: Any) -> list:
    """Run prediction and return Ultralytics' Results list (saved under runs/detect/predict* by default)."""
    settings = {"save": True, "source": ASSETS, **overrides}  # as `yolo predict`: save, bundled sample images
    model = prepare(settings, "predict")
    ultralytics_cfg.provide_offline_fonts()
    try:
        return AlphaYOLO(model).predict(**settings)
    except ConnectionError as e:  # a URL source it could not fetch; upstream downloads before it creates its folder
        first = (str(e).strip().splitlines() or ["no network"])[0]
        raise ConfigError(
            f"source={settings.get('source')}: could not be downloaded ({first}); download it and give its path"
        ) from e


def export(**overrides: Any) -> str:
    """Export weights (format=torchscript, onnx, …) with Ultralytics' exporter; return the exported file's path."""
    settings = dict(overrides)
    model = prepare(settings, "export")
    try:
        return AlphaYOLO(model).export(**settings)
    except (ValueError, AssertionError) as e:
        if not raised_by_export_checks(e):
            raise  # a failure inside the export itself (torch, onnx, a model): its traceback is what helps
        message = str(e).replace("ERROR ❌️", "").strip()
        raise ConfigError(f"export format={settings.get('format', 'torchscript')}: {message}") from e


def raised_by_export_checks(error: BaseException) -> bool:
    """Return True when Ultralytics' ``Exporter.__call__`` raised ``error`` itself: its checks of the format and its
    arguments (quantize, device, imgsz, …), which run before it writes anything and whose messages name them."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].name == "__call__" and Path(frames[-1].filename).match("*/engine/exporter.py")
