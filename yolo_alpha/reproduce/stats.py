"""Paired statistics over seeds: Student's t quantile, the t-interval of paired differences, a sign-flip check.

The quantile and the permutation test are SciPy's (``scipy.stats``). The unit of replication is the seed: a
configuration and its baseline trained with the same seed form one pair, and every interval here is over those pairs.
One pair gives no interval, and no interval gives no verdict but "inconclusive" (:mod:`~.verdicts`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

SIGN_FLIP_RESAMPLES = 9999
"""Sign patterns of the permutation check: every one of the 2ⁿ while 2ⁿ ≤ 9999 (n ≤ 13 seeds: an exact test), else a
Monte-Carlo sample of 9999 drawn from a fixed seed, so that a report reads the same on every run."""


def t_critical(df: float, confidence: float = 0.95) -> float:
    """Return t* with P(|T| ≤ t*) = `confidence` for Student's T with `df` degrees of freedom (two-sided quantile).

    SciPy's ``t.ppf((1 + confidence) / 2, df)``; any real ν > 0. ν = 1 gives tan(π · confidence / 2), ν = 2 gives
    (2p − 1) / √(2p(1 − p)) with p = (1 + confidence) / 2, and as ν grows it tends to the normal quantile (1.95996
    for 95 %): the references its tests hold it to.
    """
    if not (isinstance(df, (int, float)) and not isinstance(df, bool) and math.isfinite(df) and df > 0):
        raise ValueError(f"df must be a finite number > 0, got {df!r}")
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(scipy_stats.t.ppf((1.0 + confidence) / 2, df))


def sign_flip_p(differences: Sequence[float]) -> float | None:
    """Return the two-sided p-value of the sign-flip permutation test of mean(`differences`) = 0; None for n < 2.

    A check beside the t-interval that does not assume the differences are normal, only that under "no effect" each
    dᵢ is as likely to be −dᵢ: the p-value is the share of the 2ⁿ sign patterns whose mean is at least as far from 0
    as the observed one (``scipy.stats.permutation_test``, one sample, ``permutation_type="samples"``). Its smallest
    value is 2 / 2ⁿ: 0.25 with 3 seeds, 0.031 with 6, so below 6 seeds it can never reject at 5 %.
    """
    values = np.asarray(_finite("differences", differences))
    if len(values) < 2:
        return None
    result = scipy_stats.permutation_test(
        (values,),
        lambda d, axis: np.mean(d, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=SIGN_FLIP_RESAMPLES,
        random_state=np.random.default_rng(0),  # used only beyond 13 seeds; `rng=` needs SciPy ≥ 1.15
    )
    return float(result.pvalue)


@dataclass(frozen=True)
class PairedDifference:
    """The per-pair differences dᵢ = aᵢ − bᵢ summarised: n, mean, sample std and the t-interval of their mean.

    ``low``/``high`` are mean ∓ t*(n − 1) · std / √n at ``confidence``; None when n < 2 (one seed has neither a
    spread nor an interval, and so never gives a verdict). ``std`` is None for n < 2, as in the report's tables.
    ``sign_flip_p``: the p-value of the same differences by :func:`sign_flip_p`, the check that assumes no normality.
    """

    n: int
    mean: float
    std: float | None
    low: float | None
    high: float | None
    confidence: float = 0.95
    sign_flip_p: float | None = None

    @property
    def excludes_zero(self) -> bool:
        """Return True when the interval exists and lies strictly on one side of 0."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    @property
    def half_width(self) -> float | None:
        """Return t*(n − 1) · std / √n, the interval's half-width (None without an interval)."""
        return None if self.low is None or self.high is None else (self.high - self.low) / 2

    @property
    def sign_flip_agrees(self) -> bool | None:
        """Return whether the sign-flip test (p < 1 − confidence) and the interval agree that 0 is excluded or not."""
        if self.sign_flip_p is None or self.low is None:
            return None
        return (self.sign_flip_p < 1 - self.confidence) == self.excludes_zero


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
    return PairedDifference(n, mean, std, mean - half, mean + half, confidence, sign_flip_p(differences))


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
