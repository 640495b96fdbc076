"""`plot correlation`: Pearson and Spearman (numpy ranks, ties averaged) of loss vs IoU over random box pairs."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yolo_alpha.config import ConfigError
from yolo_alpha.plot.correlation import average_ranks, pearson, random_box_pairs, spearman, write_correlation

distinct_floats = st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=40, unique=True)


def test_average_ranks_share_tied_ranks():
    # 20 appears twice at ranks 2 and 3: both get 2.5.
    np.testing.assert_array_equal(average_ranks(np.array([30, 20, 10, 20])), [4, 2.5, 1, 2.5])


def test_spearman_with_ties_by_hand():
    # ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]; centred: [−1.5, 0, 0, 1.5] and [−1.5, .5, −.5, 1.5]
    # Σ products = 4.5, Σx² = 4.5, Σy² = 5  ->  ρ = 4.5 / √22.5 = 3 / √10
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(3 / math.sqrt(10))


def test_pearson_matches_numpy_and_is_nan_for_a_constant():
    x, y = np.array([1.0, 2.0, 4.0, 8.0]), np.array([0.3, 0.1, 0.9, 0.7])
    assert pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-12)
    assert math.isnan(pearson(x, np.ones(4)))


@given(distinct_floats, st.randoms(use_true_random=False))
def test_spearman_equals_the_no_ties_formula(x, random):
    # Without ties ρ = 1 − 6 Σ d² / (n (n² − 1)), d the rank differences: an independent formula for the same number.
    y = list(x)
    random.shuffle(y)
    n = len(x)
    d = average_ranks(np.array(x)) - average_ranks(np.array(y))
    assert spearman(x, y) == pytest.approx(1 - 6 * (d**2).sum() / (n * (n**2 - 1)), abs=1e-12)


@given(st.lists(st.integers(-(10**6), 10**6), min_size=3, max_size=40, unique=True))
def test_spearman_sees_only_the_order(x):
    # Integers, so that the transforms below keep every value distinct in floating point (no ties created).
    x = np.array(x, dtype=np.int64)
    assert spearman(x, np.exp(x / 1e6)) == pytest.approx(1)  # strictly increasing transform
    assert spearman(x, -(x**3)) == pytest.approx(-1)  # strictly decreasing transform


def test_random_box_pairs_are_valid_reproducible_and_span_iou():
    pred, target = random_box_pairs(500, seed=3)
    assert pred.shape == target.shape == (500, 4)
    assert (pred[:, 2:] > pred[:, :2]).all() and (target[:, 2:] > target[:, :2]).all()
    again, _ = random_box_pairs(500, seed=3)
    assert (again == pred).all() and not (random_box_pairs(500, seed=4)[0] == pred).all()


def test_write_correlation_csv_holds_points_and_coefficients(tmp_path):
    png = write_correlation(tmp_path, losses=["iou", "ciou"], n=300, seed=0)
    assert png == tmp_path / "correlation.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with png.with_suffix(".csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["loss", "pair", "iou", "value", "pearson", "spearman"]
    assert [r["loss"] for r in rows] == ["iou"] * 300 + ["ciou"] * 300
    iou = np.array([float(r["iou"]) for r in rows[:300]])
    assert (iou == 0).sum() > 10 and iou.max() > 0.9  # disjoint and near-perfect pairs both occur
    for loss in ("iou", "ciou"):
        panel = [r for r in rows if r["loss"] == loss]
        value = np.array([float(r["value"]) for r in panel])
        assert float(panel[0]["pearson"]) == pytest.approx(pearson(iou, value))
        assert float(panel[0]["spearman"]) == pytest.approx(spearman(iou, value))
    # 1 − IoU is an exact decreasing function of IoU (ties at IoU 0 included): both coefficients are −1.
    assert float(rows[0]["pearson"]) == pytest.approx(-1, abs=1e-12)
    assert float(rows[0]["spearman"]) == pytest.approx(-1, abs=1e-12)


@pytest.mark.parametrize(
    "keys,message",
    [
        ({"n": 2}, "n must be an integer in \\[3, 100000\\], got 2$"),
        ({"seed": -1}, "seed must be"),
        ({"losses": "cio"}, "losses='cio' is not valid"),
    ],
)
def test_bad_values_name_the_key(tmp_path, keys, message):
    with pytest.raises(ConfigError, match=message):
        write_correlation(tmp_path, **keys)
