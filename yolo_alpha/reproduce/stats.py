"""Paired statistics over seeds: Student's t quantile, the t-interval of paired differences, and claim verdicts.

Pure standard library (``math``): the t quantile is computed exactly, by inverting the regularised incomplete beta
function, so no SciPy is needed. The unit of replication is the seed: a configuration and its baseline trained with
the same seed form one pair, and every interval here is over those pairs. One pair gives no interval, and no interval
gives no verdict but "inconclusive".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

VERDICTS = ("reproduced", "opposite", "inconclusive")
FLAT_TOLERANCE = 0.005
"""Default half-width of "about flat" in AP units (0.005 = 0.5 AP points): the paper's "less than 0.5% drop at AP50"
(§4.2); Table 1's YOLOv5s AP50 changes are 0.14 to 0.26 points."""

_BETA_EPS = 1e-15  # relative size of the last continued-fraction term kept
_BETA_MAX_TERMS = 10_000


def regularized_beta(x: float, a: float, b: float) -> float:
    """Return the regularised incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), for 0 ≤ x ≤ 1, a, b > 0.

    Evaluated with the continued fraction of Numerical Recipes (§6.4, modified Lentz), I_x(a, b) =
    x^a (1 − x)^b / (a B(a, b)) · 1 / (1 + d₁ / (1 + d₂ / (1 + …))), with d₂ₘ₊₁ = −(a + m)(a + b + m) x /
    ((a + 2m)(a + 2m + 1)) and d₂ₘ = m (b − m) x / ((a + 2m − 1)(a + 2m)). It converges fast for
    x < (a + 1) / (a + b + 2); above, the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) is used.
    """
    if not (0.0 <= x <= 1.0) or a <= 0 or b <= 0:
        raise ValueError(f"regularized_beta needs 0 <= x <= 1 and a, b > 0, got x={x}, a={a}, b={b}")
    return _beta(x, 1.0 - x, a, b)


def _beta(x: float, y: float, a: float, b: float) -> float:
    # I_x(a, b) with y = 1 − x given separately: when x is near 1, 1 − x computed from x would have lost its digits.
    if x == 0.0 or y == 0.0:
        return 0.0 if x == 0.0 else 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _beta(y, x, b, a)
    log_x = math.log(x) if x < 0.5 else math.log1p(-y)  # log of a number near 1 from its small complement
    log_y = math.log(y) if y < 0.5 else math.log1p(-x)
    log_front = a * log_x + b * log_y - _log_beta(a, b)
    return math.exp(log_front) / a * _beta_continued_fraction(x, a, b)


def _log_beta(a: float, b: float) -> float:
    """Return log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b), without cancellation when one argument is large.

    For big = max(a, b) ≥ 10, log Γ(big) − log Γ(big + small) is formed from Stirling's series,
    log Γ(x) = (x − ½) log x − x + ½ log 2π + δ(x): it equals −(big − ½) log1p(small / big) − small · log(big + small)
    + small + δ(big) − δ(big + small), whereas the difference of two log Γ of size ~1e10 (t with ν = 1e9) keeps only
    six digits.
    """
    small, big = sorted((a, b))
    if big < 10:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    ratio = -(big - 0.5) * math.log1p(small / big) - small * math.log(big + small) + small
    return math.lgamma(small) + ratio + _stirling_delta(big) - _stirling_delta(big + small)


def _stirling_delta(x: float) -> float:
    # δ(x) = log Γ(x) − ((x − ½) log x − x + ½ log 2π) = Σ B₂ₖ / (2k (2k − 1) x^(2k−1)); 5 terms: error < 2e-14 at 10
    inv, inv2 = 1.0 / x, 1.0 / (x * x)
    return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))))


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    tiny = 1e-300  # keeps Lentz's divisions away from 0
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, _BETA_MAX_TERMS):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < _BETA_EPS:
            return result
    raise ArithmeticError(f"the incomplete beta continued fraction did not converge (x={x}, a={a}, b={b})")


def t_critical(df: float, confidence: float = 0.95) -> float:
    """Return t* with P(|T| ≤ t*) = `confidence` for Student's T with `df` degrees of freedom (two-sided quantile).

    For T with ν degrees of freedom, P(|T| > t) = I_x(ν/2, 1/2) with x = ν / (ν + t²) (:func:`regularized_beta`,
    fed 1 − x = t² / (ν + t²) computed directly, so large ν keeps its digits). That tail falls monotonically with t;
    t* is found by bisection down to adjacent floats. Any real ν > 0; ν = 1 gives tan(π · confidence / 2), ν = 2
    gives (2p − 1) / √(2p(1 − p)) with p = (1 + confidence) / 2, and as ν grows it tends to the normal quantile
    (1.95996 for 95 %). Relative error below 1e-14 for ν ≤ 1000 (checked against mpmath at 40 digits); beyond, the
    rounding of the continued fraction's ~√ν terms adds up: 3e-12 at ν = 1e6, 4e-9 at ν = 1e9.
    """
    if not (isinstance(df, (int, float)) and not isinstance(df, bool) and math.isfinite(df) and df > 0):
        raise ValueError(f"df must be a finite number > 0, got {df!r}")
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    tail = 1.0 - confidence  # both tails together

    def tail_above(t: float) -> float:
        spread = df + t * t
        return _beta(df / spread, t * t / spread, df / 2, 0.5)

    low, high = 0.0, 1.0
    while tail_above(high) > tail:  # tail_above(0) = 1 > tail: the root lies in [low, high]
        low, high = high, 2 * high
    while True:
        mid = 0.5 * (low + high)
        if mid in (low, high):
            return mid
        if tail_above(mid) > tail:
            low = mid
        else:
            high = mid


@dataclass(frozen=True)
class PairedDifference:
    """The per-pair differences dᵢ = aᵢ − bᵢ summarised: n, mean, sample std and the t-interval of their mean.

    ``low``/``high`` are mean ∓ t*(n − 1) · std / √n at ``confidence``; None when n < 2 (one seed has neither a
    spread nor an interval, and so never gives a verdict). ``std`` is None for n < 2, as in the report's tables.
    """

    n: int
    mean: float
    std: float | None
    low: float | None
    high: float | None
    confidence: float = 0.95

    @property
    def excludes_zero(self) -> bool:
        """Return True when the interval exists and lies strictly on one side of 0."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Return (mean, sample std with ddof = 1) of `values`; the std is None for one value. ValueError if empty."""
    values = _finite("values", values)
    if not values:
        raise ValueError("mean_std needs at least one value")
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def difference_interval(differences: Sequence[float], confidence: float = 0.95) -> PairedDifference:
    """Return the PairedDifference of already-formed per-pair `differences` (a one-sample t-interval against 0).

    d̄ = Σ dᵢ / n, s = √(Σ (dᵢ − d̄)² / (n − 1)), interval d̄ ± t*(n − 1) · s / √n (:func:`t_critical`). Used as is
    for per-seed statistics that are themselves differences (a slope of a difference, a late-minus-early change).
    """
    mean, std = mean_std(differences)
    n = len(differences)
    if std is None:
        return PairedDifference(n, mean, None, None, None, confidence)
    half = t_critical(n - 1, confidence) * std / math.sqrt(n)
    return PairedDifference(n, mean, std, mean - half, mean + half, confidence)


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> PairedDifference:
    """Return the PairedDifference of dᵢ = aᵢ − bᵢ (aᵢ, bᵢ of the same seed): mean, sample std, t-interval.

    The paired t-interval d̄ ± t*(n − 1) · s_d / √n: the seed's shared randomness (initialisation, data order)
    cancels in each dᵢ, so the interval is narrower than one from two independent groups when seeds matter.
    """
    a, b = _finite("a", a), _finite("b", b)
    if len(a) != len(b):
        raise ValueError(f"paired_difference needs pairs: a has {len(a)} values, b has {len(b)}")
    return difference_interval([x - y for x, y in zip(a, b)], confidence)


def relative(a_mean: float | None, b_mean: float | None) -> float | None:
    """Return the paper's "rela. improv." (a − b) / b as a fraction (0.0165 is +1.65 %); None for b = 0 or None."""
    if a_mean is None or b_mean is None or b_mean == 0:
        return None
    return (a_mean - b_mean) / b_mean


def verdict(expected_sign: int, difference: PairedDifference) -> str:
    """Return "reproduced", "opposite" or "inconclusive" for a claim that the difference has sign `expected_sign`.

    "reproduced": the interval excludes 0 on the expected side (low > 0 for +1, high < 0 for −1); "opposite": it
    excludes 0 on the other side; "inconclusive" whenever there is no interval (n < 2) or it contains 0 (an end
    point equal to 0 counts as containing it).
    """
    if expected_sign not in (1, -1):
        raise ValueError(f"expected_sign must be +1 or -1, got {expected_sign!r}")
    if not difference.excludes_zero:
        return "inconclusive"
    positive = difference.low is not None and difference.low > 0
    return "reproduced" if positive == (expected_sign == 1) else "opposite"


def flat_verdict(difference: PairedDifference, tolerance: float = FLAT_TOLERANCE) -> str:
    """Return the verdict of an "about flat" claim (e.g. AP50 about unchanged): is |difference| within `tolerance`?

    "reproduced" when the whole interval lies in [−tolerance, +tolerance] (the difference is shown to be small: an
    equivalence test, stricter than the usual TOST, which uses the 90 % interval); "opposite" when the interval lies
    entirely outside it (low > tolerance or high < −tolerance: shown to move); "inconclusive" otherwise, and with no
    interval (n < 2). `tolerance` is in the metric's units (0.005 = 0.5 AP points).
    """
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a finite number > 0, got {tolerance!r}")
    if difference.low is None or difference.high is None:
        return "inconclusive"
    if -tolerance <= difference.low and difference.high <= tolerance:
        return "reproduced"
    if difference.low > tolerance or difference.high < -tolerance:
        return "opposite"
    return "inconclusive"


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Return the least-squares slope Σ (xᵢ − x̄)(yᵢ − ȳ) / Σ (xᵢ − x̄)² of `ys` on `xs` (two distinct xs at least)."""
    xs, ys = _finite("xs", xs), _finite("ys", ys)
    if len(xs) != len(ys) or len(set(xs)) < 2:
        raise ValueError(f"slope needs as many ys as xs and two distinct xs, got xs={xs}, ys={ys}")
    x_mean, y_mean = math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)
    spread = math.fsum((x - x_mean) ** 2 for x in xs)
    return math.fsum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys)) / spread


def crossing_epoch(mean_difference: Sequence[float]) -> int | None:
    """Return the first epoch (1-based) from which every value of `mean_difference` is > 0; None if the last is not.

    For Fig. 3: the epoch after which α's mean mAP curve stays above the baseline's to the end of training.
    """
    epoch = len(mean_difference)
    while epoch > 0 and mean_difference[epoch - 1] > 0:
        epoch -= 1
    return epoch + 1 if epoch < len(mean_difference) else None


def late_minus_early(series: Sequence[float]) -> float:
    """Return mean(series[n − k:]) − mean(series[:k]) with k = n // 3: the last third's mean minus the first's.

    n ≥ 3 values; with n not a multiple of 3 the middle keeps the extra epochs.
    """
    values = _finite("series", series)
    if len(values) < 3:
        raise ValueError(f"late_minus_early needs 3 values at least, got {len(values)}")
    k = len(values) // 3
    return math.fsum(values[-k:]) / k - math.fsum(values[:k]) / k


def _finite(name: str, values: Sequence[float]) -> list[float]:
    out = [float(v) for v in values]
    bad = [v for v in out if not math.isfinite(v)]
    if bad:
        raise ValueError(f"{name} must be finite numbers, got {bad[0]!r}")
    return out
