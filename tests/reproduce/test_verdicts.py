"""The four verdicts (yolo_alpha.reproduce.verdicts) on hand-placed intervals, and the seeds that would reach ±m.

An interval [low, high] of the paired difference and a margin m: reproduced / opposite when it excludes 0 (on the
claimed / the other side), equivalent when it contains 0 and lies within ±m, inconclusive when it contains 0 and
crosses ±m. "About flat" is judged by the margin alone. The seeds needed solve t*(n − 1) · s / √n ≤ m.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yolo_alpha.metrics import TABLE_METRICS
from yolo_alpha.reproduce.stats import PairedDifference, difference_interval, t_critical
from yolo_alpha.reproduce.verdicts import DEFAULT_MARGIN, DEFAULT_MARGINS, VERDICTS, margin_of, seeds_needed, verdict

M = 0.005  # 0.5 AP points


def interval(low, high, std=1.0, n=3) -> PairedDifference:
    return PairedDifference(n=n, mean=(low + high) / 2, std=std, low=low, high=high)


@pytest.mark.parametrize(
    ("low", "high", "expected", "margin", "answer"),
    [
        (0.001, 0.02, "up", M, "reproduced"),  # excludes 0 above
        (0.001, 0.02, "down", M, "opposite"),
        (-0.02, -0.001, "down", M, "reproduced"),
        (-0.02, -0.001, "up", M, "opposite"),
        (0.001, 0.004, "up", M, "reproduced"),  # excludes 0 and within ±m: a shown effect, however small
        (-0.004, 0.003, "up", M, "equivalent"),  # contains 0, inside ±0.005: no effect larger than m
        (-0.005, 0.005, "down", M, "equivalent"),  # the bounds ±m belong to "within"
        (0.0, 0.004, "up", M, "equivalent"),  # an end point at 0 does not exclude 0
        (-0.004, 0.008, "up", M, "inconclusive"),  # contains 0, crosses +m: could be nothing, could be a gain
        (-0.02, 0.02, "up", M, "inconclusive"),  # crosses both edges
        (-0.004, 0.003, "up", None, "inconclusive"),  # no margin (a slope): never equivalent
        (0.1, 0.2, "up", None, "reproduced"),
        (-0.004, 0.003, "flat", M, "reproduced"),  # "about flat" is the equivalence claim itself
        (0.001, 0.004, "flat", M, "reproduced"),  # a shown change smaller than m is still about flat
        (0.006, 0.02, "flat", M, "opposite"),  # shown to rise by more than m
        (-0.03, -0.006, "flat", M, "opposite"),
        (-0.004, 0.008, "flat", M, "inconclusive"),
        (-0.0463, -0.0009, "flat", M, "inconclusive"),  # the CPU study's anchor AP50: a drop, not shown beyond m
    ],
)
def test_verdict(low, high, expected, margin, answer):
    assert verdict(expected, interval(low, high), margin) == answer


def test_no_interval_is_inconclusive_whatever_the_claim():
    one_seed = PairedDifference(n=1, mean=0.0, std=None, low=None, high=None)
    assert {verdict(e, one_seed, M) for e in ("up", "down", "flat")} == {"inconclusive"}


@pytest.mark.parametrize(
    ("expected", "margin", "message"),
    [
        ("flat", None, "needs a margin"),
        ("more", M, "expected must be one of up, down, flat"),
        ("up", 0, "margin must be a finite number > 0"),
        ("up", -M, "margin must be"),
        ("up", math.inf, "margin must be"),
        ("up", True, "margin must be"),
    ],
)
def test_verdict_refuses(expected, margin, message):
    with pytest.raises(ValueError, match=message):
        verdict(expected, interval(0.1, 0.2), margin)


def test_the_default_margins_are_half_an_ap_point_on_every_ap_metric():
    assert DEFAULT_MARGIN == 0.005 and dict(DEFAULT_MARGINS) == dict.fromkeys(TABLE_METRICS, 0.005)
    assert margin_of(DEFAULT_MARGINS, "mAP75-95") == 0.005 and margin_of(DEFAULT_MARGINS, "TP50") is None
    with pytest.raises(ValueError, match="margin must be"):
        margin_of({"AP50": -1}, "AP50")
    assert VERDICTS == ("reproduced", "opposite", "equivalent", "inconclusive")


def test_seeds_needed_hand_worked():
    # s = 1, m = 1: n = 6 gives t*(5) / √6 = 2.571 / 2.449 = 1.050 > 1; n = 7 gives 2.447 / 2.646 = 0.925 ≤ 1.
    assert t_critical(5) / math.sqrt(6) > 1 >= t_critical(6) / math.sqrt(7)
    assert seeds_needed(interval(-1, 1, std=1.0), 1.0) == 7
    # The numbers: ±2.2 AP points with 3 seeds means s = 2.2 · √3 / 4.303 = 0.886 points; ±0.5 needs
    # (1.96 · 0.886 / 0.5)² ≈ 12 seeds by the normal quantile, 15 with t's heavier tails.
    s = 0.022 * math.sqrt(3) / t_critical(2)
    assert seeds_needed(difference_interval([0, s, -s]), M) == 15 == seeds_needed(interval(-1, 1, std=s), M)
    assert seeds_needed(interval(-1, 1, std=0.0), M) == 2  # no spread: any two seeds
    assert seeds_needed(interval(-1, 1), None) is None  # no margin
    assert seeds_needed(PairedDifference(n=1, mean=0.0, std=None, low=None, high=None), M) is None


@given(st.floats(1e-4, 10), st.floats(1e-3, 1))
def test_seeds_needed_is_the_first_n_whose_half_width_reaches_the_margin(std, margin):
    n = seeds_needed(interval(-1, 1, std=std), margin)
    assert t_critical(n - 1) * std / math.sqrt(n) <= margin
    assert n == 2 or t_critical(n - 2) * std / math.sqrt(n - 1) > margin
