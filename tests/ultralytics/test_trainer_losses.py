"""Every loss module of the registry trains one epoch in both model families, each loss's own key set off its default.

The cases come from the registry (:func:`yolo_alpha.losses.catalogue.training_cases`), never a hand-kept list; α-IoU
itself trains in every other training test.
"""

import csv
import math
from pathlib import Path

import pytest
import yaml

from yolo_alpha import run
from yolo_alpha.losses import LOSSES
from yolo_alpha.losses.catalogue import training_cases

CASES = training_cases()
MODELS = {"task_aligned": "yolov8n.yaml", "anchor": "yolov5n-anchor.yaml"}


def test_the_cases_cover_every_module_and_every_own_key():
    assert {LOSSES[name].fn.__module__ for name, _ in CASES} == {e.fn.__module__ for e in LOSSES.values()}
    assert {key for _, keys in CASES for key in keys} == {p.key for e in LOSSES.values() for p in e.params}
    assert {"inner_ciou", "focaler_ciou", "shape_iou", "piou", "piou2", "nwd"} <= {name for name, _ in CASES}
    for name, keys in CASES:
        for param in LOSSES[name].params:
            assert param.checked(keys[param.key]) != param.default


@pytest.mark.slow
@pytest.mark.parametrize("family", list(MODELS))
@pytest.mark.parametrize(("loss", "keys"), CASES, ids=[case[0] for case in CASES])
def test_loss_trains_one_epoch_and_is_recorded(tiny_train, loss, keys, family):
    model = run.train(**{**tiny_train, "model": MODELS[family]}, loss=loss, **keys)
    run_dir = Path(model.trainer.save_dir)
    args = yaml.safe_load((run_dir / "args.yaml").read_text())
    assert args["loss"] == loss
    assert {k: args[k] for k in keys} == keys
    with (run_dir / "results.csv").open() as f:
        epoch = next(csv.DictReader(f))
    box_loss = float(epoch["train/box_loss"])
    assert math.isfinite(box_loss) and box_loss > 0  # the loss did train: finite and non-zero on real batches
