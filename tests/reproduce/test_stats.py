"""yolo_alpha.reproduce.stats against tabulated quantiles, closed forms and hand-worked intervals.

Student's t quantiles are those of any statistics table (two-sided 95 %: df 1 → 12.706, 2 → 4.303, …, ∞ → 1.960);
the paired interval is d̄ ± t*(n − 1) · s_d / √n over the per-seed differences dᵢ = aᵢ − bᵢ. These references were
first written for a hand-made quantile (a continued fraction of the incomplete beta function); SciPy's now meets
them. The sign-flip p-values are counted by hand over the 2ⁿ sign patterns.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yolo_alpha.reproduce.stats import (
    PairedDifference,
    crossing_epoch,
    difference_interval,
    late_minus_early,
    mean_std,
    paired_difference,
    relative,
    sign_flip_p,
    slope,
    t_critical,
)
from yolo_alpha.reproduce.verdicts import verdict

T2 = t_critical(2)  # 4.3027: three seeds


@pytest.mark.parametrize(
    ("df", "table"),
    [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (9, 2.262), (29, 2.045), (10**6, 1.960)],
)
def test_t_critical_matches_the_table(df, table):
    assert round(t_critical(df), 3) == table


@pytest.mark.parametrize(("df", "confidence", "table"), [(4, 0.99, 4.604), (10, 0.90, 1.812), (1, 0.90, 6.314)])
def test_t_critical_at_other_confidences(df, confidence, table):
    assert round(t_critical(df, confidence), 3) == table


def test_t_critical_closed_forms():
    # df 1 is the Cauchy distribution: P(|T| ≤ t) = 2 atan(t) / π, so t* = tan(π · 0.95 / 2).
    assert t_critical(1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-13)
    # df 2: t* = (2p − 1) / √(2p(1 − p)) with p = 0.975 → 0.95 / √0.04875.
    assert t_critical(2) == pytest.approx(0.95 / math.sqrt(2 * 0.975 * 0.025), rel=1e-13)
    # Large df: the normal quantile plus (z³ + z) / (4 df), the first term of its Cornish-Fisher expansion.
    z = NormalDist().inv_cdf(0.975)
    assert t_critical(10**6) == pytest.approx(z + (z**3 + z) / 4e6, rel=1e-10)


def test_t_critical_falls_with_df_towards_the_normal_quantile():
    values = [t_critical(df) for df in (1, 1.5, 2, 3, 5, 10, 30, 100, 1000)]
    assert values == sorted(values, reverse=True)
    assert values[-1] > NormalDist().inv_cdf(0.975)


@pytest.mark.parametrize("df", [0, -1, math.nan, math.inf, True, "3"])
def test_t_critical_refuses_a_bad_df(df):
    with pytest.raises(ValueError, match="df must be"):
        t_critical(df)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1])
def test_t_critical_refuses_a_bad_confidence(confidence):
    with pytest.raises(ValueError, match="confidence must be"):
        t_critical(3, confidence)


def test_paired_difference_hand_worked():
    # d = 3 − 2, 5 − 3, 7 − 4 = 1, 2, 3: mean 2, sd √((1 + 0 + 1) / 2) = 1, interval 2 ± 4.303 · 1 / √3.
    d = paired_difference([3, 5, 7], [2, 3, 4])
    half = T2 / math.sqrt(3)  # 2.4841
    assert (d.n, d.mean, d.std) == (3, 2.0, 1.0)
    assert (d.low, d.high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    assert d.low == pytest.approx(-0.4841, abs=1e-4)  # contains 0: three seeds this noisy prove nothing
    assert verdict("up", d) == "inconclusive"


def test_a_consistent_small_gain_is_reproduced():
    # α beats the baseline by 0.010, 0.011, 0.009: mean 0.01, sd 0.001, interval 0.01 ± 4.303 · 0.001 / √3.
    d = paired_difference([0.41, 0.511, 0.609], [0.40, 0.50, 0.60])
    assert d.mean == pytest.approx(0.01) and d.std == pytest.approx(0.001)
    assert d.low == pytest.approx(0.01 - T2 * 0.001 / math.sqrt(3)) and d.low == pytest.approx(0.007516, abs=1e-6)
    assert verdict("up", d) == "reproduced" and verdict("down", d) == "opposite"


def test_one_seed_has_no_interval_and_no_verdict():
    d = paired_difference([0.9], [0.1])
    assert d == PairedDifference(n=1, mean=pytest.approx(0.8), std=None, low=None, high=None)
    assert d.half_width is None and d.sign_flip_p is None and d.sign_flip_agrees is None
    assert verdict("up", d, 0.005) == verdict("down", d) == verdict("flat", d, 0.005) == "inconclusive"


def test_paired_difference_refuses_unpaired_empty_or_non_finite_values():
    with pytest.raises(ValueError, match="a has 2 values, b has 1"):
        paired_difference([1, 2], [1])
    with pytest.raises(ValueError, match="at least one value"):
        paired_difference([], [])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1, math.nan], [1, 2])


def test_flat_hand_worked():
    # AP50 differences 0.001, 0.002, 0.0015: mean 0.0015, sd 0.0005, interval 0.0015 ± 4.303 · 0.0005 / √3
    # = [0.00026, 0.00274], inside ±0.005; with a margin of 0.002 it straddles the bound.
    d = paired_difference([0.501, 0.602, 0.7015], [0.5, 0.6, 0.7])
    assert d.high == pytest.approx(0.0015 + T2 * 0.0005 / math.sqrt(3))
    assert d.half_width == pytest.approx(T2 * 0.0005 / math.sqrt(3))
    assert verdict("flat", d, 0.005) == "reproduced"
    assert verdict("flat", d, 0.002) == "inconclusive"


# Every sign pattern of d = (1, 1, 2) and its sum: ±1 ± 1 ± 2 ∈ {4, 2, 2, 0, 0, −2, −2, −4}.
@pytest.mark.parametrize(
    ("differences", "p"),
    [
        ([1, 2, 3], 2 / 8),  # all positive: only "all +" and "all −" are as extreme; the floor at 3 seeds
        ([1, -1, 2], 6 / 8),  # sum 2: |4|, |2|, |2|, |−2|, |−2|, |−4| are as far from 0
        ([1, 1, 2], 2 / 8),  # sum 4: only ±4
        ([0, 0, 0], 1.0),
        ([0.5, 1, 1.5, 2, 2.5, 3], 2 / 64),  # 6 seeds: the first n whose floor 2 / 2ⁿ is below 0.05
    ],
)
def test_sign_flip_p_counted_by_hand(differences, p):
    assert sign_flip_p(differences) == pytest.approx(p)


def test_sign_flip_p_needs_two_values_and_is_reproducible_beyond_the_exact_test():
    assert sign_flip_p([0.3]) is None
    many = [0.01 * (i % 5 - 1) for i in range(15)]  # 2^15 > 9999 patterns: a Monte-Carlo p from a fixed seed
    assert sign_flip_p(many) == sign_flip_p(many)
    with pytest.raises(ValueError, match="finite"):
        sign_flip_p([1, math.inf])


def test_the_sign_flip_check_cannot_confirm_three_seeds():
    # GAIN-like differences: the t-interval excludes 0, the sign-flip test cannot (its p is at least 0.25).
    d = paired_difference([0.41, 0.511, 0.609], [0.40, 0.50, 0.60])
    assert d.excludes_zero and d.sign_flip_p == pytest.approx(0.25) and d.sign_flip_agrees is False
    # Six consistent gains: both exclude 0.
    six = difference_interval([0.010, 0.011, 0.009, 0.010, 0.012, 0.008])
    assert six.excludes_zero and six.sign_flip_p == pytest.approx(2 / 64) and six.sign_flip_agrees is True


def test_relative():
    assert relative(0.6, 0.5) == pytest.approx(0.2)  # (0.6 − 0.5) / 0.5
    assert relative(53.61, 52.74) == pytest.approx(0.0165, abs=5e-5)  # Table 1's +1.65 %
    assert relative(0.1, 0) is None and relative(None, 0.5) is None and relative(0.5, None) is None


def test_slope_hand_worked():
    assert slope([0, 1, 2], [1, 3, 5]) == pytest.approx(2)
    # x̄ = 2, ȳ = 7/3: Σ (x − x̄)(y − ȳ) = (−1)(−4/3) + 0 + (1)(5/3) = 3, Σ (x − x̄)² = 2 → 1.5
    assert slope([1, 2, 3], [1, 2, 4]) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="two distinct xs"):
        slope([1, 1], [1, 2])


def test_mean_std():
    assert mean_std([1.0]) == (1.0, None)
    assert mean_std([1, 2, 3]) == (2.0, 1.0)
    with pytest.raises(ValueError, match="at least one value"):
        mean_std([])


def test_difference_interval_is_a_one_sample_interval_against_zero():
    assert difference_interval([1, 2, 3]) == paired_difference([1, 2, 3], [0, 0, 0])


@pytest.mark.parametrize(
    ("mean_difference", "epoch"),
    [
        ([-1, 1, -0.5, 0.2, 0.3], 4),  # > 0 from epoch 4 to the end
        ([0.1, 0.2], 1),
        ([0.1, -0.1], None),  # not above at the last epoch
        ([0, 1], 2),  # 0 is not > 0
        ([], None),
    ],
)
def test_crossing_epoch(mean_difference, epoch):
    assert crossing_epoch(mean_difference) == epoch


def test_late_minus_early():
    assert late_minus_early([1, 2, 3, 4, 5, 6]) == pytest.approx(5.5 - 1.5)  # k = 2
    assert late_minus_early([1, 2, 3, 4, 5, 6, 7]) == pytest.approx(6.5 - 1.5)  # k = 2, the middle keeps 3
    with pytest.raises(ValueError, match="3 values"):
        late_minus_early([1, 2])


pairs = st.integers(min_value=2, max_value=8).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(-1, 1, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.floats(-1, 1, allow_nan=False), min_size=n, max_size=n),
    )
)


@given(pairs)
def test_the_interval_contains_the_mean_and_swapping_flips_it(ab):
    a, b = ab
    d, swapped = paired_difference(a, b), paired_difference(b, a)
    assert d.low <= d.mean <= d.high
    assert d.high - d.low == pytest.approx(2 * t_critical(d.n - 1) * d.std / math.sqrt(d.n), abs=1e-12)
    assert swapped.mean == pytest.approx(-d.mean, abs=1e-12) and swapped.std == pytest.approx(d.std, abs=1e-12)
    assert (swapped.low, swapped.high) == (pytest.approx(-d.high, abs=1e-12), pytest.approx(-d.low, abs=1e-12))
    flip = {"reproduced": "opposite", "opposite": "reproduced", "equivalent": "equivalent"}
    flip["inconclusive"] = "inconclusive"
    assert verdict("up", swapped, 0.1) == flip[verdict("up", d, 0.1)]
    assert swapped.sign_flip_p == pytest.approx(d.sign_flip_p)  # the test is symmetric in the sign
