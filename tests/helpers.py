"""Helpers shared by test modules (importable as ``helpers``: pytest puts this folder on sys.path for conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
