"""`plot reweighting` (α-IoU paper Fig. 1): autograd gradients of the registered alpha_iou loss vs the closed form."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yolo_alpha.config import ConfigError
from yolo_alpha.plot.reweighting import alpha_iou_and_gradient, turning_point, write_reweighting

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def closed_form_abs_grad(iou, alpha):
    """|∂(1 − IoU^α)/∂IoU| = α·IoU^(α−1) (eq. 2 differentiated; the numerator of Property 3's w∇r)."""
    return alpha * np.power(iou, alpha - 1)


@pytest.mark.parametrize(
    "alpha,expected",
    [
        (2.0, 0.5),  # 2·IoU = 1
        (3.0, 1 / math.sqrt(3)),  # 3·IoU² = 1
        (0.5, 0.25),  # 0.5·IoU^(−1/2) = 1  ->  √IoU = 0.5
        (1.0, None),  # the IoU loss itself: w∇r = 1 everywhere, no turning point
    ],
)
def test_turning_point_values(alpha, expected):
    if expected is None:
        assert turning_point(alpha) is None
    else:
        assert turning_point(alpha) == pytest.approx(expected)


@given(st.floats(0.05, 8).filter(lambda a: abs(a - 1) > 1e-3))
def test_turning_point_is_where_relative_gradient_is_one(alpha):
    # Property 3: w∇r = α·IoU^(α−1) = 1 at IoU = α^(1/(1−α)), in (0, 1/e) for α < 1 and in (1/e, 1) for α > 1.
    point = turning_point(alpha)
    assert closed_form_abs_grad(point, alpha) == pytest.approx(1, rel=1e-9)
    assert (0 < point < 1 / math.e) if alpha < 1 else (1 / math.e < point < 1)


@given(alpha=st.floats(0.2, 5), iou=st.floats(0.01, 0.999))
def test_autograd_gradient_matches_closed_form(alpha, iou):
    iou_value, loss, grad = alpha_iou_and_gradient(np.array([iou]), alpha)
    assert iou_value[0] == pytest.approx(iou, rel=1e-6)  # the loss's eps (1e-7) moves the IoU a little
    assert loss[0] == pytest.approx(1 - iou_value[0] ** alpha, rel=1e-12, abs=1e-14)
    assert grad[0] == pytest.approx(-closed_form_abs_grad(iou_value[0], alpha), rel=1e-10)


def test_csv_gradient_column_equals_closed_form(tmp_path):
    png = write_reweighting(tmp_path, alphas="0.5,1,2,3")
    assert png == tmp_path / "reweighting.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    with png.with_suffix(".csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["alpha", "point", "iou", "loss", "abs_grad"]
    curves = [r for r in rows if r["point"] == "curve"]
    assert sorted({float(r["alpha"]) for r in curves}) == [0.5, 1.0, 2.0, 3.0]
    assert len(curves) == 4 * 199  # IoU 0.005, 0.010, …, 0.995 per α
    iou, alpha, grad = (np.array([float(r[k]) for r in curves]) for k in ("iou", "alpha", "abs_grad"))
    np.testing.assert_allclose(grad, closed_form_abs_grad(iou, alpha), rtol=1e-10)
    np.testing.assert_allclose([float(r["loss"]) for r in curves], 1 - iou**alpha, rtol=1e-10, atol=1e-14)
    # One marked turning point per α ≠ 1, where the α-loss's gradient equals the IoU loss's (1).
    turns = {float(r["alpha"]): r for r in rows if r["point"] == "turning_point"}
    assert sorted(turns) == [0.5, 2.0, 3.0]
    for alpha, row in turns.items():
        assert float(row["iou"]) == pytest.approx(turning_point(alpha), rel=1e-6)
        assert float(row["abs_grad"]) == pytest.approx(1, rel=1e-6)


@pytest.mark.parametrize("alphas", ["0,1", "-1", "nan", "abc", True, "1,,2"])
def test_bad_alphas_name_the_key(tmp_path, alphas):
    with pytest.raises(ConfigError, match="alphas"):
        write_reweighting(tmp_path, alphas=alphas)
    assert not list(tmp_path.iterdir())  # nothing written before the keys are checked
