"""Ultralytics checkpoints (``last.pt``/``best.pt``): read one before use, and record our settings in one.

A checkpoint is a dict holding ``model``/``ema``, ``epoch`` (−1 once a finished run's ``strip_optimizer`` ran),
``optimizer`` and ``train_args``. Checkpoints hold only stock classes and plain values, so stock Ultralytics loads
them; ours are written into ``train_args`` as plain values too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ultralytics.utils.patches import torch_load, torch_save

from yolo_alpha.errors import ConfigError


@dataclass(frozen=True)
class CheckpointInfo:
    """What a weights file says about its run: the epoch it was saved at, how long the run was, whether it resumes."""

    path: Path
    epoch: int  # the last finished epoch (0-based), −1 for a finished run's stripped checkpoint
    epochs: int | None  # the run's planned epochs (train_args), None when not recorded
    has_optimizer: bool
    train_args: dict[str, Any]
    task: str | None = None  # the model's Ultralytics task (detect, segment, …), None when the file holds no model
    nc: int | None = None  # the number of classes the model predicts, None when the file holds no model

    @property
    def resumable(self) -> bool:
        """True when ``resume=True`` continues this run: it was saved mid-training with its optimizer state."""
        unfinished = self.epochs is None or self.epoch + 1 < self.epochs
        return self.epoch >= 0 and self.has_optimizer and unfinished


def read_checkpoint(path: str | Path, key: str = "model") -> dict[str, Any]:
    """Return the checkpoint dict stored in ``path``; ConfigError naming ``key`` when it is not an Ultralytics one."""
    try:
        ckpt = torch_load(str(path), map_location="cpu")
    except Exception as e:  # UnpicklingError, RuntimeError (not a zip), EOFError (cut short), ...
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"{key}={path}: not a PyTorch weights file ({type(e).__name__}: {first})") from e
    if not isinstance(ckpt, dict) or not ({"model", "ema"} & set(ckpt)):
        raise ConfigError(f"{key}={path}: a PyTorch file, but not Ultralytics weights (no 'model' in it)")
    return ckpt


def checkpoint_info(path: str | Path, key: str = "model") -> CheckpointInfo:
    """Return the :class:`CheckpointInfo` of weights file ``path`` (ConfigError naming ``key`` if it is none)."""
    ckpt = read_checkpoint(path, key)
    train_args = dict(ckpt.get("train_args") or {})
    epochs = train_args.get("epochs")
    model = ckpt.get("ema") or ckpt.get("model")
    names = getattr(model, "names", None)
    return CheckpointInfo(
        path=Path(path),
        epoch=int(ckpt.get("epoch", -1)),
        epochs=int(epochs) if isinstance(epochs, int) else None,
        has_optimizer=ckpt.get("optimizer") is not None,
        train_args=train_args,
        task=getattr(model, "task", None),
        nc=len(names) if isinstance(names, (dict, list)) else None,
    )


def resume_run_dir(weights: str | Path, key: str = "model") -> Path:
    """Return the run folder a resumed training writes into: the one holding ``weights`` (``<run>/weights/last.pt``).

    Ultralytics would write into the ``save_dir`` recorded inside the checkpoint, so resuming a copy of another run's
    last.pt would overwrite that run's weights and append to its results.csv. Symlinks are resolved first: the file
    that is written is the one the link points to. ConfigError naming ``key`` when the file is not in a ``weights/``
    folder, which a run always has.
    """
    path = Path(weights).resolve()
    if path.parent.name != "weights":
        raise ConfigError(
            f"{key}={weights}: resume writes into the run folder that holds the weights (<run>/weights/last.pt), and "
            f"this file is not in a weights/ folder; move it into one, e.g. mkdir -p myrun/weights && mv {weights} "
            "myrun/weights/last.pt, then resume from myrun/weights/last.pt"
        )
    return path.parent.parent


def record_settings(checkpoint: str | Path, settings: dict[str, Any]) -> None:
    """Add our settings to a checkpoint's ``train_args`` (plain values only, so stock Ultralytics still loads it)."""
    ckpt = torch_load(checkpoint, map_location="cpu")
    ckpt["train_args"] = {**ckpt.get("train_args", {}), **settings}
    torch_save(ckpt, checkpoint)
