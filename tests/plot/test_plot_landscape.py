"""`plot landscape`: loss and autograd gradient over the shift of a box; plain IoU is flat where boxes are disjoint."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from yolo_alpha.config import ConfigError
from yolo_alpha.losses import box_loss
from yolo_alpha.plot.landscape import (
    TARGET_BOX,
    landscape_data,
    loss_landscape,
    plot_landscape,
    shift_grid,
    write_landscape,
)

WIDTH, HEIGHT = TARGET_BOX[2] - TARGET_BOX[0], TARGET_BOX[3] - TARGET_BOX[1]


def _disjoint(row) -> bool:
    # Equal-size boxes overlap iff the centre shift is below one width and one height; touching counts as overlap.
    return abs(row["dx"]) > WIDTH or abs(row["dy"]) > HEIGHT


def test_iou_is_flat_and_giou_is_not_where_boxes_are_disjoint():
    rows = landscape_data(["iou", "giou"], extent=2.5, steps=21)
    disjoint = {name: [r for r in rows if r["loss"] == name and _disjoint(r)] for name in ("iou", "giou")}
    assert len(disjoint["iou"]) > 21 * 21 / 2  # most of the grid: the region the figure must show as flat
    assert all(r["iou"] == 0 for r in disjoint["iou"])
    # 1 − IoU: value exactly 1, gradient exactly 0 (not merely small): the optimiser gets no direction at all.
    assert all(r["value"] == 1 and r["grad_dx"] == 0 and r["grad_dy"] == 0 for r in disjoint["iou"])
    for r in disjoint["giou"]:
        grad = np.array([r["grad_dx"], r["grad_dy"]])
        assert np.hypot(*grad) > 0
        assert grad @ np.array([r["dx"], r["dy"]]) > 0  # so −∇L points back towards the ground truth


def test_iou_panel_draws_no_arrow_where_boxes_are_disjoint():
    import matplotlib.pyplot as plt
    from matplotlib.quiver import Quiver

    fig, axes = plot_landscape(landscape_data(["iou", "giou"], extent=2.5, steps=13))
    try:
        for ax, flat_outside in zip(axes, (True, False)):
            (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
            # Axes are in box widths/heights: |x| > 1 or |y| > 1 is disjoint.
            outside = (np.abs(quiver.X) > 1) | (np.abs(quiver.Y) > 1)
            length = np.hypot(quiver.U, quiver.V)[outside]
            assert (length == 0).all() if flat_outside else (length > 0).all()
    finally:
        plt.close(fig)


def test_overlapping_shifts_have_a_gradient_for_iou():
    rows = [r for r in landscape_data(["iou"], extent=0.5, steps=5) if (r["dx"], r["dy"]) != (0, 0)]
    assert all(0 < r["iou"] < 1 and np.hypot(r["grad_dx"], r["grad_dy"]) > 0 for r in rows)


@pytest.mark.parametrize("loss", ["diou", "alpha_ciou"])
def test_gradient_matches_central_differences(loss):
    dx, dy = np.array([-5.3, 0.7, 2.9]), np.array([-1.1, 3.6])
    _, grad_x, grad_y = loss_landscape(loss, dx, dy)
    h = 1e-6
    target = torch.tensor([TARGET_BOX], dtype=torch.float64)

    def value(x, y):
        return box_loss(target + torch.tensor([[x, y, x, y]], dtype=torch.float64), target, loss=loss).item()

    for i, y in enumerate(dy):
        for j, x in enumerate(dx):
            assert grad_x[i, j] == pytest.approx((value(x + h, y) - value(x - h, y)) / (2 * h), rel=1e-5, abs=1e-9)
            assert grad_y[i, j] == pytest.approx((value(x, y + h) - value(x, y - h)) / (2 * h), rel=1e-5, abs=1e-9)


def test_shift_grid_spans_the_box_and_keeps_zero():
    dx, dy = shift_grid(2.5, 41)
    assert (dx[0], dx[-1], dy[0], dy[-1]) == (-2.5 * WIDTH, 2.5 * WIDTH, -2.5 * HEIGHT, 2.5 * HEIGHT)
    assert dx[20] == 0 and dy[20] == 0


def test_write_landscape_png_and_csv(tmp_path):
    png = write_landscape(tmp_path, losses="iou,giou,ciou", extent=2, steps=9)
    assert png == tmp_path / "landscape.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with png.with_suffix(".csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["loss", "dx", "dy", "iou", "value", "grad_dx", "grad_dy"]
    assert [r["loss"] for r in rows] == ["iou"] * 81 + ["giou"] * 81 + ["ciou"] * 81  # one 9 × 9 block per panel
    centre = next(r for r in rows if r["loss"] == "ciou" and float(r["dx"]) == 0 and float(r["dy"]) == 0)
    assert float(centre["value"]) == pytest.approx(0, abs=1e-6) and float(centre["iou"]) == pytest.approx(1)


@pytest.mark.parametrize(
    "keys,message",
    [
        ({"losses": "iou,gio"}, r"losses='gio' is not valid \(a box loss\).*Did you mean 'giou'"),
        ({"losses": "iou,iou"}, "names a loss twice"),
        ({"extent": 0}, "extent must be a finite number > 0"),
        ({"steps": 2}, "steps must be an integer in \\[3, 201\\], got 2$"),
        ({"steps": 20.5}, "steps must be an integer"),
        ({"steps": 100_000}, r"steps must be an integer in \[3, 201\], got 100000 \(a panel is ~400 px wide"),
    ],
)
def test_bad_values_name_the_key(tmp_path, keys, message):
    with pytest.raises(ConfigError, match=message):
        write_landscape(tmp_path, **keys)
    assert not list(tmp_path.iterdir())
