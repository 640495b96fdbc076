"""diagnostics=True: the per-epoch recorder (hand-worked bins and shares), the per-box gradient, and real trainings."""

import csv

import pytest
import torch

from yolo_alpha import run
from yolo_alpha.losses import resolve_loss
from yolo_alpha.ultralytics.diagnostics import (
    DIAGNOSTICS_FILE,
    BoxDiagnostics,
    append_row,
    bin_labels,
    columns,
    per_box_gradient_norm,
)


def test_bins_and_shares_by_hand():
    recorder = BoxDiagnostics()
    recorder.add(torch.tensor([0.05, 0.15, 0.95, 1.0]), torch.tensor([1.0, 1.0, 2.0, 4.0]))
    recorder.add(torch.tensor([]), torch.tensor([]))  # a batch without positives counts as a batch
    row = recorder.row(epoch=3)
    assert row["epoch"] == 3 and row["batches"] == 2 and row["positives_per_batch"] == 2.0
    assert row["mean_iou"] == pytest.approx((0.05 + 0.15 + 0.95 + 1.0) / 4, abs=1e-5)
    assert [row[f"share_{b}"] for b in bin_labels()] == [0.25, 0.25, *[0.0] * 7, 0.5]  # IoU 1.0 falls in the last bin
    assert [row[f"grad_share_{b}"] for b in bin_labels()] == [0.125, 0.125, *[0.0] * 7, 0.75]


def test_weights_scale_each_positives_gradient():
    recorder = BoxDiagnostics()
    recorder.add(torch.tensor([0.25, 0.85]), torch.tensor([1.0, 1.0]), weight=torch.tensor([1.0, 3.0]))
    row = recorder.row(1)
    assert row["grad_share_0.2-0.3"] == 0.25 and row["grad_share_0.8-0.9"] == 0.75
    assert BoxDiagnostics().row(1)["positives_per_batch"] == 0.0  # an epoch without batches: no division by zero


def _pairs(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 10
    wh = 1 + torch.rand(n, 2, generator=g) * 5
    target = torch.cat((xy, xy + wh), 1)
    pred = (target + torch.randn(n, 4, generator=g) * 0.8).requires_grad_()
    return pred, target


def test_the_per_box_gradient_is_each_rows_own():
    pred, target = _pairs()
    loss = resolve_loss(loss="alpha_ciou")(pred, target)
    norms = per_box_gradient_norm(loss, pred)
    for i in (0, 7, 63):
        (own,) = torch.autograd.grad(loss[i], pred, retain_graph=True)
        assert norms[i] == pytest.approx(own[i].norm().item(), rel=1e-5)
        assert own[[j for j in range(64) if j != i]].abs().max() == 0  # rows do not touch each other
    loss.sum().backward()  # the graph is kept for the training step


def test_alpha_above_one_moves_the_gradient_towards_high_iou_positives():
    """Property 3: α-IoU's gradient weight α·IoU^(α−1) grows with the IoU, so the high-IoU bins' share grows."""
    pred, target = _pairs(512, seed=1)
    from torchvision.ops import box_iou

    iou = box_iou(pred.detach(), target).diag()
    shares = {}
    for alpha in (1, 3):
        loss = resolve_loss(loss="alpha_iou", alpha=alpha)(pred, target)
        recorder = BoxDiagnostics()
        recorder.add(iou, per_box_gradient_norm(loss, pred))
        row = recorder.row(1)
        shares[alpha] = sum(row[f"grad_share_{b}"] for b in bin_labels()[7:])  # IoU >= 0.7
    assert shares[3] > shares[1] > 0


def test_rows_append_under_one_header(tmp_path):
    append_row(tmp_path, BoxDiagnostics().row(1))
    append_row(tmp_path, BoxDiagnostics().row(2))
    with (tmp_path / DIAGNOSTICS_FILE).open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2"] and list(rows[0]) == columns()


@pytest.mark.parametrize("model", ["yolov8n.yaml", "yolov5n-anchor.yaml"])
def test_a_training_with_diagnostics_writes_one_row_per_epoch(tiny_train, model):
    trained = run.train(**{**tiny_train, "model": model, "epochs": 2, "diagnostics": True, "loss": "alpha_iou"})
    with (trained.trainer.save_dir / DIAGNOSTICS_FILE).open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    for row in rows:
        assert float(row["positives_per_batch"]) > 0 and 0 < float(row["mean_iou"]) < 1
        assert sum(float(row[f"share_{b}"]) for b in bin_labels()) == pytest.approx(1, abs=1e-3)
        assert sum(float(row[f"grad_share_{b}"]) for b in bin_labels()) == pytest.approx(1, abs=1e-3)
    assert trained.trainer.args.diagnostics is True


def test_without_the_key_no_file_is_written(tiny_train):
    trained = run.train(**tiny_train)
    assert not (trained.trainer.save_dir / DIAGNOSTICS_FILE).exists()
