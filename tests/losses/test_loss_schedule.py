"""The α schedule (alpha_warmup): α_e = 1 + (α − 1)·min(1, e/N), the classic loss first, the α-loss from epoch N."""

import pytest

from yolo_alpha.losses import resolve_loss
from yolo_alpha.losses.schedule import spec_at_epoch, warmed_power


@pytest.mark.parametrize(
    "power,epoch,warmup,expected",
    [
        (3.0, 0, 4, 1.0),  # epoch 0 trains the classic loss
        (3.0, 1, 4, 1.5),  # 1 + 2 · 1/4
        (3.0, 2, 4, 2.0),  # 1 + 2 · 2/4
        (3.0, 4, 4, 3.0),  # warm from epoch N on
        (3.0, 9, 4, 3.0),
        (0.5, 1, 2, 0.75),  # α < 1 moves down: 1 − 0.5 · 1/2
        (3.0, 0, 0, 3.0),  # warmup 0: no schedule
    ],
)
def test_warmed_power_hand_values(power, epoch, warmup, expected):
    assert warmed_power(power, epoch, warmup) == pytest.approx(expected)


def test_spec_at_epoch_moves_both_powers_and_keeps_everything_else():
    spec = resolve_loss("alpha_ciou", alpha=3, alpha2=2, iou_term="boxcox")
    early = spec_at_epoch(spec, 1, 2)
    assert (early.loss, early.iou_term, early.alpha, early.alpha2) == ("alpha_ciou", "boxcox", 2.0, 1.5)
    assert spec_at_epoch(spec, 2, 2) is spec and spec_at_epoch(spec, 0, 0) is spec
