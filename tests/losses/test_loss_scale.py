"""Every loss at every admitted scale: identical boxes give exactly 0, near-identical boxes a loss >= 0 that grows
with the offset, in float32, float64 and under CPU bfloat16 autocast.

The guards of the losses' divisions are relative to each pair's size (``geometry.pair_size``), so a loss does not
see the unit: with the former fixed ``+ 1e-7`` two identical normalised boxes of side 0.005 had an IoU loss of 0.004
and α-CIoU 0.012, and of side 1e-4 0.87 (float64 too). Tolerance: 0 for identical boxes in every dtype (IoU is
exactly 1 and every penalty exactly 0: the identical computations give identical numbers, and the centre offsets are
formed as (t1 − p1) + (t2 − p2), which is exact); monotone without slack for offsets of 1 % to 30 % of the side
(3 % to 25 % under bfloat16, on boxes it holds exactly).
"""

from __future__ import annotations

import contextlib

import pytest
import torch

from yolo_alpha.losses import list_losses, resolve_loss
from yolo_alpha.losses.geometry import GUARD_SCALE_RANGE, aligned_iou_and_union, area_guard, guarded, length_guard
from yolo_alpha.losses.registry import loss_entry, takes_alpha

NORMALISED_SIDES = (1e-4, 1e-3, 5e-3, 1e-2, 0.1, 1.0)  # boxes in an image of side 1
PIXEL_SIDES = (1.0, 10.0, 100.0, 4000.0)  # boxes in pixels
OFFSETS = (0.0, 0.01, 0.03, 0.1, 0.3)  # × the box's width and height
MODES = ("float32", "float64", "bf16-autocast")


def _specs(name, side=1.0):
    """Yield the default powers (α = 3 for the α forms), and α, α₂ < 1 where the slopes at IoU → 1 and P → 0 are
    steepest. A key in box units (soft_iou's κ per unit, NWD's C: :attr:`Param.length_power`) is scaled to boxes of
    ``side``, as a user with boxes in that unit would set it."""
    own = {p.key: p.default * side**p.length_power for p in loss_entry(name).params if p.length_power}
    yield resolve_loss(name, **own)
    if takes_alpha(name):
        yield resolve_loss(name, alpha=0.5, alpha2=0.5, **own)


def _targets(sides, dtype):
    """Return one xyxy target per side (aspect 0.5 to 2): normalised sides inside [0, 1], pixel ones in 640 px."""
    g = torch.Generator().manual_seed(0)
    side = torch.tensor(sides, dtype=torch.float64)
    aspects = torch.tensor([[1.0, 0.5], [0.7, 1.0], [1.0, 1.0], [0.5, 1.0], [1.0, 0.8]], dtype=torch.float64)
    wh = side[:, None] * aspects[torch.arange(len(sides)) % len(aspects)]
    span = torch.where(side < 1, 1 - side, torch.full_like(side, 640.0))
    xy = torch.rand(len(sides), 2, generator=g, dtype=torch.float64) * span[:, None]
    return torch.cat((xy, xy + wh), 1).to(dtype)


def _bfloat16_targets(sides):
    """Return square targets of power-of-two sides at (1, 2)·side: every box below is exact in bfloat16.

    bfloat16 keeps 8 significant bits: boxes rounded to it are no longer shifted copies of each other (a shift of 1 %
    moves x1 but not x2), so the boxes, sides and offsets (:data:`BF16_OFFSETS`) are chosen on a grid it holds.
    """
    side = torch.tensor(sides, dtype=torch.float64)[:, None]
    return (torch.tensor([[1.0, 2.0, 2.0, 3.0]], dtype=torch.float64) * side).float()


BF16_SIDES = tuple(2.0**k for k in (-13, -10, -7, -3, 0, 3, 7, 12))  # ~1.2e-4 … 4096
BF16_OFFSETS = (0.0, 1 / 32, 1 / 16, 1 / 8, 1 / 4)


def _perturbed(target, how, offsets=OFFSETS):
    """Return ``(len(offsets), N, 4)`` preds: the targets shifted (right and down) or grown by each offset."""
    w, h = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1]
    preds = []
    for offset in offsets:
        if how == "shift":
            delta = torch.stack((w * offset, h * offset / 2, w * offset, h * offset / 2), 1)
        else:  # grow the bottom-right corner
            delta = torch.stack((0 * w, 0 * h, w * offset, h * offset), 1)
        preds.append(target + delta)
    return torch.stack(preds)


def _case(mode):
    """Return (sides, targets, offsets, context, cast) of a mode: under autocast the boxes come out of a layer."""
    if mode == "bf16-autocast":
        layer = torch.nn.Linear(4, 4)
        with torch.no_grad():  # the identity: its bfloat16 output is the boxes, exact in bfloat16
            layer.weight.copy_(torch.eye(4))
            layer.bias.zero_()
        autocast = torch.autocast("cpu", dtype=torch.bfloat16)
        return BF16_SIDES, _bfloat16_targets(BF16_SIDES), BF16_OFFSETS, autocast, layer
    sides = NORMALISED_SIDES + PIXEL_SIDES
    dtype = torch.float32 if mode == "float32" else torch.float64
    return sides, _targets(sides, dtype), OFFSETS, contextlib.nullcontext(), lambda boxes: boxes


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list_losses())
def test_identical_boxes_give_zero_loss_at_every_scale(name, mode):
    sides, boxes, _, context, cast = _case(mode)
    for spec in _specs(name):
        with context:
            pred, target = cast(boxes).detach().requires_grad_(), cast(boxes).detach()
            loss = spec(pred, target)
        assert loss.tolist() == [0.0] * len(sides), f"{spec}: identical boxes of sides {sides} give {loss.tolist()}"
        (grad,) = torch.autograd.grad(loss.sum(), pred)
        assert torch.isfinite(grad).all()


@pytest.mark.parametrize("how", ["shift", "grow"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list_losses())
def test_near_identical_boxes_give_a_loss_growing_with_the_offset(name, mode, how):
    sides, targets, offsets, context, cast = _case(mode)
    preds = _perturbed(targets, how, offsets)
    for which in range(len(list(_specs(name)))):
        columns = []  # one per side, each (offsets,)
        for j, side in enumerate(sides):
            spec = list(_specs(name, side))[which]
            with context:
                columns.append(spec(cast(preds[:, j]), cast(targets[j].expand(len(offsets), 4))))
        losses = torch.stack(columns, 1)  # (offsets, sides)
        assert (losses >= 0).all()
        steps = losses[1:] - losses[:-1]
        bad = [(sides[j], offsets[i + 1]) for i, j in (steps < 0).nonzero().tolist()]
        assert not bad, f"{spec}: the loss falls as the offset grows, at (side, offset) {bad}:\n{losses.T}"
        # Every loss grows from identical to the largest offset.
        assert (losses[-1] > losses[0]).all(), f"{spec}: no loss for boxes {offsets[-1]:.0%} apart:\n{losses.T}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_iou_is_scale_invariant(dtype):
    # The same pair in any unit has the same IoU, to rounding: the guard is relative, not a fixed 1e-7.
    unit = torch.tensor([[0.0, 0.0, 2.0, 1.0]], dtype=dtype), torch.tensor([[0.5, 0.25, 2.5, 1.25]], dtype=dtype)
    expected = (1.5 * 0.75) / (2 + 2 - 1.5 * 0.75)
    for scale in (1e-4, 1e-2, 1.0, 1e3):
        iou, _ = aligned_iou_and_union(unit[0] * scale, unit[1] * scale)
        assert iou.item() == pytest.approx(expected, rel=1e-6 if dtype == torch.float32 else 1e-12)


def test_guards_are_eps_from_size_one_up_and_relative_below():
    low, high = GUARD_SCALE_RANGE
    boxes = torch.tensor([[0.0, 0, 3, 4], [0, 0, 0.03, 0.04], [1, 1, 1, 1]], dtype=torch.float64)
    # Pair sizes s = w + h + wgt + hgt: 14, 0.14 and 0 (two points), clamped into [low, high].
    size = torch.tensor([high, 0.14, low], dtype=torch.float64)
    torch.testing.assert_close(area_guard(boxes, boxes, eps=1e-7), 1e-7 * size**2)  # never 0: no 0/0
    torch.testing.assert_close(length_guard(boxes, boxes, eps=1e-7), 1e-7 * size)


def test_guarded_is_the_larger_value_with_the_gradient_of_a_constant_added():
    denominator = torch.tensor([2.0, 1e-9, 0.0], dtype=torch.float64, requires_grad=True)
    guard = torch.full((3,), 1e-7, dtype=torch.float64)
    value = guarded(denominator, guard)
    torch.testing.assert_close(value, torch.tensor([2.0, 1e-7, 1e-7], dtype=torch.float64))
    (grad,) = torch.autograd.grad(value.sum(), denominator)
    assert grad.tolist() == [1.0, 1.0, 1.0]  # as torchvision's D + eps
