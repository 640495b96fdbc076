"""The ℓ1 baseline: hand-worked values, MMDetection's delta coding as reference, invariances, asymmetry."""

from __future__ import annotations

import math

import pytest
import torch

from yolo_alpha.losses import box_loss


def _loss(pred, target):
    return box_loss(torch.tensor([pred], dtype=torch.float64), torch.tensor([target], dtype=torch.float64), "l1").item()


@pytest.mark.parametrize(
    ("pred", "target", "expected"),
    [
        # Centres (1,1), (2.5,1.5); target 3 × 3: |1.5|/3 + |0.5|/3; sizes 2 vs 3: (|log 2/3| + |log 2/3|)/2.
        ([0.0, 0, 2, 2], [1.0, 0, 4, 3], 0.5 + 1 / 6 + math.log(1.5)),
        # Same size, shifted by half a width: 0.5 + 0 + 0.
        ([1.0, 0, 3, 2], [0.0, 0, 2, 2], 0.5),
        # Concentric, pred half as wide and as tall: (log 2 + log 2)/2.
        ([1.0, 1, 3, 3], [0.0, 0, 4, 4], math.log(2)),
        ([0.0, 0, 2, 2], [0.0, 0, 2, 2], 0.0),
    ],
)
def test_hand_worked_values(pred, target, expected):
    assert _loss(pred, target) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def _delta_xywh(boxes, reference, stds=(0.1, 0.1, 0.2, 0.2)):
    # MMDetection's DeltaXYWHBBoxCoder.encode (means 0), written out: offsets over the reference size, log sizes.
    bx, by = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    rx, ry = (reference[:, 0] + reference[:, 2]) / 2, (reference[:, 1] + reference[:, 3]) / 2
    rw, rh = reference[:, 2] - reference[:, 0], reference[:, 3] - reference[:, 1]
    deltas = torch.stack(((bx - rx) / rw, (by - ry) / rh, torch.log(bw / rw), torch.log(bh / rh)), dim=1)
    return deltas / torch.tensor(stds, dtype=boxes.dtype)


def test_equals_mmdetection_l1_on_delta_coding_over_the_iou_losses_weight(random_box_pairs):
    # Table 2's ℓ1 row: L1Loss(weight 1) between delta codings, vs the IoU losses' loss weight 10 in the same config.
    pred, target = random_box_pairs(300, seed=51, dtype=torch.float64)
    mmdet_l1 = (_delta_xywh(pred, target) - _delta_xywh(target, target)).abs().sum(dim=1)
    torch.testing.assert_close(box_loss(pred, target, "l1"), mmdet_l1 / 10, rtol=1e-6, atol=1e-9)


def test_is_scale_and_translation_invariant_but_not_symmetric(random_box_pairs):
    pred, target = random_box_pairs(100, seed=52, dtype=torch.float64)
    shift = torch.tensor([-4.0, 9, -4, 9], dtype=torch.float64)
    expected = box_loss(pred, target, "l1")
    # Exact but for eps = 1e-7 added to each size (sizes >= 1 here): relative changes below 1e-6.
    torch.testing.assert_close(box_loss(pred * 8 + shift, target * 8 + shift, "l1"), expected, rtol=1e-6, atol=1e-9)
    # The target is the reference box: a small box against a large target differs from the reverse.
    assert _loss([0.0, 0, 1, 1], [0.0, 0, 4, 4]) != pytest.approx(_loss([0.0, 0, 4, 4], [0.0, 0, 1, 1]))


def test_gradient_points_to_the_target():
    pred = torch.tensor([[0.0, 0, 2, 2]], dtype=torch.float64, requires_grad=True)
    box_loss(pred, torch.tensor([[1.0, 0, 4, 3]], dtype=torch.float64), "l1").sum().backward()
    assert (pred.grad[0, 2:] < 0).all()  # growing x2, y2 towards 4, 3 lowers the loss
