"""The four verdicts on a claim, read from the 95 % interval of its paired difference and an equivalence margin ±m.

A researcher needs one of three answers per claim — it holds, it is reversed, or it has no effect larger than a stated
margin — and, failing those, how far the data are from one:

- *reproduced*: the interval excludes 0 on the side the paper claims;
- *opposite*: it excludes 0 on the other side;
- *equivalent*: it contains 0 and lies wholly within ±m: whatever the effect is, it is smaller than m (the 95 %
  interval: stricter than the two one-sided tests' usual 90 %);
- *inconclusive*: it contains 0 and crosses ±m, or there is no interval (one seed). :func:`seeds_needed` then says
  how many seeds would bring the half-width to m.

"About flat" (C1's AP50: the paper's "less than 0.5% drop") is itself a claim of equivalence, judged by the same
margin: reproduced when the interval lies within ±m, opposite when it lies wholly outside ±m (shown to move by more),
inconclusive otherwise. The margin applies to a claim whose statistic is the mean paired difference of a metric with
a margin (:data:`DEFAULT_MARGINS`: every AP metric). C2's and C3's slopes and C6's late-minus-early change are not a
metric's difference, so no margin is stated for them and "equivalent" is not a verdict they can get: they are
reproduced, opposite or inconclusive by the interval's sign alone. Counts (TP50 …) have no default margin either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from yolo_alpha.metrics import TABLE_METRICS
from yolo_alpha.reproduce.stats import PairedDifference, t_critical

VERDICTS = ("reproduced", "opposite", "equivalent", "inconclusive")
EXPECTED = ("up", "down", "flat")
DEFAULT_MARGIN = 0.005
"""The equivalence margin m of AP metrics, in AP units (0.005 = 0.5 AP points): the paper's own "less than 0.5% drop
at AP50" (§4.2), below the gains its Table 1 claims (+0.87 mAP50-95, +2.01 mAP75-95), so that "equivalent" rules them
out, and above the ~0.1 AP of seed noise often ascribed to box-loss differences."""
DEFAULT_MARGINS: Mapping[str, float] = MappingProxyType({metric: DEFAULT_MARGIN for metric in TABLE_METRICS})
"""m per metric (AP50 … AP95, mAP50-95, mAP75-95); a suite states its own (``Suite.margins``)."""


def verdict(expected: str, difference: PairedDifference, margin: float | None = None) -> str:
    """Return the verdict on a claim that the difference goes `expected` ("up", "down" or "flat": within ±margin).

    `margin` (m, in the metric's units) is None where no margin applies: then no "equivalent". An end point equal to
    0 counts as containing it; the bounds ±m belong to "within".
    """
    _check(expected, margin)
    low, high = difference.low, difference.high
    if low is None or high is None:
        return "inconclusive"  # one seed: no spread, no interval, no verdict
    within = margin is not None and -margin <= low and high <= margin
    if expected == "flat":  # the claim is "no change beyond ±m"
        beyond = low > margin or high < -margin
        return "reproduced" if within else "opposite" if beyond else "inconclusive"
    if low > 0 or high < 0:  # the interval excludes 0
        return "reproduced" if (low > 0) == (expected == "up") else "opposite"
    return "equivalent" if within else "inconclusive"


def seeds_needed(difference: PairedDifference, margin: float | None) -> int | None:
    """Return the fewest seeds n whose 95 % half-width t*(n − 1) · s / √n would be ≤ m, at the spread s measured.

    The convention is the half-width ≤ m (not ≤ m − |mean|): it depends on the spread alone, not on a mean that three
    seeds hardly know, and it is the precision a study is powered for. It makes a decisive verdict likely, not certain:
    an interval of half-width h is decisive when h < |mean| (it excludes 0) or h ≤ m − |mean| (equivalent), which
    every mean meets once h ≤ m / 2 — that is 4× the seeds, roughly. None without a margin or a spread (n < 2).
    """
    std = difference.std
    if margin is None or std is None:
        return None

    def too_wide(n: int) -> bool:
        return t_critical(n - 1, difference.confidence) * std / math.sqrt(n) > margin

    low, high = 1, 2  # too_wide(low) holds, by convention for n = 1 (no interval)
    while too_wide(high):
        low, high = high, 2 * high
    while high - low > 1:  # the half-width falls with n: bisect for the first n that is not too wide
        mid = (low + high) // 2
        low, high = (mid, high) if too_wide(mid) else (low, mid)
    return high


def margin_of(margins: Mapping[str, float], metric: str) -> float | None:
    """Return m of `metric` in `margins` (None: no margin applies to it); ValueError for a margin that is not > 0."""
    margin = margins.get(metric)
    _check("up", margin)
    return margin


def _check(expected: str, margin: float | None) -> None:
    if expected not in EXPECTED:
        raise ValueError(f"expected must be one of {', '.join(EXPECTED)}, got {expected!r}")
    if margin is not None and not (
        isinstance(margin, (int, float)) and not isinstance(margin, bool) and math.isfinite(margin) and margin > 0
    ):
        raise ValueError(f"margin must be a finite number > 0 or None, got {margin!r}")
    if expected == "flat" and margin is None:
        raise ValueError('an "about flat" claim needs a margin: it claims the change stays within ±m')
