"""Every box loss beyond the α-IoU family, with its own key, trains one epoch on the embedded data set."""

import csv
import math
from pathlib import Path

import pytest
import yaml

from yolo_alpha import run

# One training per loss family and per loss-specific key (the α forms share their classic form's code path).
CASES = [
    ("eiou", {}),
    ("alpha_siou", {"alpha": 2.0}),
    ("alpha_mpdiou", {}),
    ("l1", {}),
    ("focal_eiou", {"focal_gamma": 0.7}),
    ("alpha_soft_iou", {"kappa": 20.0}),
    ("wiou_v1", {}),
    ("wiou", {"wiou_alpha": 1.5, "wiou_delta": 2.5}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("loss", "keys"), CASES, ids=[case[0] for case in CASES])
def test_loss_trains_one_epoch_and_is_recorded(tiny_train, loss, keys):
    model = run.train(**tiny_train, loss=loss, **keys)
    run_dir = Path(model.trainer.save_dir)
    args = yaml.safe_load((run_dir / "args.yaml").read_text())
    assert args["loss"] == loss
    assert {k: args[k] for k in keys} == keys
    with (run_dir / "results.csv").open() as f:
        epoch = next(csv.DictReader(f))
    box_loss = float(epoch["train/box_loss"])
    assert math.isfinite(box_loss) and box_loss > 0  # the loss did train: finite and non-zero on real batches
