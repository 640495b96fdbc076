"""Helpers shared by test modules (importable as ``helpers``: pytest puts this folder on sys.path for conftest.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

# Python source that makes `import yolo_alpha` fail, as on a machine with only stock Ultralytics (a subprocess's
# first lines: it must run before anything imports yolo_alpha).
BLOCK_YOLO_ALPHA = """
import sys
class NoYoloAlpha:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "yolo_alpha":
            raise ImportError("yolo_alpha is not installed on this machine")
sys.meta_path.insert(0, NoYoloAlpha())
"""


class Interrupted(Exception):
    """Raised by :func:`train_one_epoch_then_stop`'s callback: a training killed after its first checkpoint."""


def interrupt(trainer) -> None:
    raise Interrupted  # right after epoch 1's checkpoint is written


def train_one_epoch_then_stop(model, **train_keys) -> Path:
    """Return the last.pt of ``model.train(**train_keys)`` stopped right after epoch 1's checkpoint (of 2 or more)."""
    model.add_callback("on_model_save", interrupt)
    with pytest.raises(Interrupted):
        model.train(**train_keys)
    return Path(train_keys["project"]) / train_keys.get("name", "train") / "weights" / "last.pt"


class FakeTrain:
    """Stands in for yolo_alpha.run.train: writes a run folder with a resumable last.pt, records each call."""

    def __init__(self, fail_on: str | None = None):
        self.calls: list[dict] = []
        self.fail_on = fail_on

    def __call__(self, **kw):
        self.calls.append(kw)
        # as run.train: a relative project lies under the current folder
        run_dir = Path(kw["model"]).parents[1] if kw.get("resume") else Path(kw["project"]).resolve() / kw["name"]
        if run_dir.name == self.fail_on:
            raise RuntimeError("training diverged")
        (run_dir / "weights").mkdir(parents=True, exist_ok=True)
        torch.save({"epoch": 0, "train_args": {"epochs": 2}}, run_dir / "weights" / "last.pt")
        ap = np.full((2, 10), 0.5)
        metrics = SimpleNamespace(box=SimpleNamespace(all_ap=ap))
        validator = SimpleNamespace(metrics=metrics)
        trainer = SimpleNamespace(validator=validator, save_dir=run_dir, args=SimpleNamespace(), epoch=1)
        return SimpleNamespace(trainer=trainer)


def one_pair(pair, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(pred, target)`` as ``(1, 4)`` tensors from a pair of xyxy lists (hand-worked loss values)."""
    return tuple(torch.tensor([box], dtype=dtype) for box in pair)


def one_pair_loss(name: str, pair, **settings) -> float:
    """Return ``box_loss`` of loss ``name`` on one hand-worked pair of xyxy lists, as a float (float64)."""
    from yolo_alpha.losses import box_loss

    return box_loss(*one_pair(pair), name, **settings).item()
