"""The α-IoU paper's claims as rows: one ClaimRow per claim × comparison × metric × shared params × regime.

Each ``claim_cN`` takes sweep rows of both regimes (and C6 the runs' per-epoch mAP50-95), pairs an α-loss (α = 3)
with its α = 1 form by seed (:func:`~yolo_alpha.reproduce.pairing.pair_by_seed`) and returns its rows, each with
the paper's figure, ours (mean ± std over seeds), the paired difference with its 95 % t-interval and the verdict
(:mod:`~yolo_alpha.reproduce.verdicts`: never one from one seed), judged against the metric's equivalence margin
(`margins`, m per metric) where one applies. Its docstring defines the statistic. Absent configurations give no row;
:func:`~yolo_alpha.reproduce.missing.missing_claims` says which claims and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from yolo_alpha.config_labels import config_label
from yolo_alpha.losses.registry import alpha_form_of
from yolo_alpha.metrics import AP_KEYS, IMPROVEMENT_METRICS
from yolo_alpha.reproduce import pairing, stats, verdicts
from yolo_alpha.reproduce.pairing import SeedPairs, context_order, loss_at, noise_eta, pair_by_seed, regime_of
from yolo_alpha.reproduce.paper_figures import NAMES, PAPER, TABLE1, TABLE3
from yolo_alpha.reproduce.stats import PairedDifference, paired_difference, slope
from yolo_alpha.reproduce.verdicts import DEFAULT_MARGINS

CLAIM_IDS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "S")  # S: the α schedule (alpha_warmup), this fork's own
PAPER_FAMILIES = ("iou", "diou")  # the classic losses of the paper's YOLOv5 tables, compared with their α forms
PAPER_ALPHA = 3.0  # "α = 3 is used for all α-IoU losses in all experiments" (Tables 1 and 3)
ALPHA_WINDOW = (2.0, 4.0)  # §4.4: "α ∈ [2, 4] perform competitively well across all scenarios"


@dataclass(frozen=True)
class ClaimRow:
    """One claim on one comparison: the paper's figure, ours over the paired seeds, the difference, the verdict.

    ``alpha_*``/``baseline_*``: mean and sample std over the seeds of each side's own statistic (None where a side
    has none, e.g. C3's slope of a relative gain); ``difference``: over the per-seed α − baseline statistics;
    ``relative``: (α mean − baseline mean) / baseline mean, for metrics only (None for slopes and changes);
    ``expected``: "up", "down" or "flat"; ``config``: the label of the shared params ``context``, model included;
    ``margin``: the equivalence margin m the verdict used (None: none applies); ``seeds_needed``: for an inconclusive
    verdict with a margin, the seeds that would bring the half-width to m (:func:`~.verdicts.seeds_needed`).
    """

    claim: str
    regime: str
    compared: str
    config: str
    metric: str
    paper: str
    expected: str
    alpha_mean: float | None
    alpha_std: float | None
    baseline_mean: float | None
    baseline_std: float | None
    difference: PairedDifference
    relative: float | None
    verdict: str
    seeds: tuple
    note: str = ""
    margin: float | None = None
    seeds_needed: int | None = None
    context: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class EpochDifference:
    """C6's mean over seeds of α − baseline mAP50-95 at epochs 1 … n (each pair's series cut to the shortest).

    ``crossing_epoch``: the first epoch from which the mean difference stays > 0 (:func:`~.stats.crossing_epoch`).
    """

    regime: str
    compared: str
    config: str
    seeds: tuple
    mean_difference: tuple[float, ...]
    crossing_epoch: int | None
    alpha_series: tuple[tuple[float, ...], ...]
    baseline_series: tuple[tuple[float, ...], ...]
    context: dict = field(default_factory=dict, hash=False)


def _row(claim, context, compared, metric, paper, expected, a, b, seeds, default_model, difference=None, **extra):
    """Return the ClaimRow of per-seed statistics `a` (α side) and `b` (baseline), or of `difference` alone.

    `extra`: ``note``, and ``margins`` (m per metric) for a statistic that is a metric's mean paired difference.
    """
    (a_mean, a_std), (b_mean, b_std) = (stats.mean_std(v) if v else (None, None) for v in (a, b))
    difference = paired_difference(a, b) if difference is None else difference
    margin = verdicts.margin_of(extra.get("margins", {}), metric)
    outcome = verdicts.verdict(expected, difference, margin)
    needed = verdicts.seeds_needed(difference, margin) if outcome == "inconclusive" else None
    change = stats.relative(a_mean, b_mean) if metric in IMPROVEMENT_METRICS else None
    regime, label = regime_of(context, default_model), config_label(dict(context))
    sides = (a_mean, a_std, b_mean, b_std)
    common = (claim, regime, compared, label, metric, paper, expected, *sides, difference, change, outcome)
    return ClaimRow(*common, tuple(seeds), extra.get("note", ""), margin, needed, dict(context))


def _pair_rows(claim, rows, metrics, paper, *, families, alpha, default_model, margins):
    """Return `claim`'s rows of α − base of each metric of the (metric, expected) `metrics`, over paired seeds."""
    out = []
    for family in families:
        for metric, expected in metrics:
            pairs = pair_by_seed(rows, metric, loss_at(family, alpha), loss_at(family, 1))
            for p in sorted(pairs, key=lambda p: context_order(p.context, default_model)):
                note = _pair_note(p, metric)
                text = paper(family, metric, p)
                what = (claim, p.context, p.compared, metric, text, expected, p.alpha, p.baseline, p.seeds)
                out.append(_row(*what, default_model, margins=margins, note=note))
    return out


def _pair_note(p: SeedPairs, metric: str) -> str:
    """Return the note of seeds left out of a pair's statistics: unscored (no metric) or unpaired (one side only)."""
    notes = [f"unscored seeds (no {metric}): {pairing.seeds_text(p.unscored)}"] if p.unscored else []
    notes += [f"seeds of one side only (not yet paired): {pairing.seeds_text(p.unpaired)}"] if p.unpaired else []
    return "; ".join(notes)


def _table1(family: str, metric: str, pairs: SeedPairs) -> str:
    if (family, metric) not in TABLE1:
        return f"not in the paper (Table 1: {metric} of IoU and DIoU at α = 3)"
    return f"Table 1 YOLOv5s {NAMES[family]}: {TABLE1[family, metric]}"


def _table3(family: str, metric: str, pairs: SeedPairs) -> str:
    eta = round(noise_eta(pairs.context), 6)
    if (family, eta) not in TABLE3:
        return f"not in the paper (Table 3: IoU and DIoU at η = 0.1, 0.2, 0.3), η = {eta:g}"
    return f"Table 3 VOC η = {eta:g}, {NAMES[family]}: {TABLE3[family, eta][metric == 'mAP75-95']}"


def claim_c1(rows, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, margins=DEFAULT_MARGINS, default_model=None):
    """Return C1's rows (Table 1, clean rows): α − base of mAP50-95 > 0, of mAP75-95 > 0, of AP50 within ±m.

    AP50 "about flat" is an equivalence claim (:func:`~.verdicts.verdict`; m = 0.005 by default: the paper's "less
    than 0.5% drop at AP50").
    """
    metrics = (("mAP50-95", "up"), ("mAP75-95", "up"), ("AP50", "flat"))
    keys = {"families": families, "alpha": alpha, "default_model": default_model, "margins": margins}
    return _pair_rows("C1", pairing.clean_rows(rows), metrics, _table1, **keys)


def claim_c2(rows, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, default_model=None):
    """Return C2's rows (clean rows): the gain grows with the IoU threshold, as the per-seed slope of ΔAP_t over t.

    Per seed, ΔAP_t = AP_t(α) − AP_t(base) at t = 0.50, 0.55, …, 0.95 and its least-squares slope over t (AP per
    unit of IoU threshold); claimed > 0. One statistic per seed and one interval rather than ten rows (ten tests,
    no trend); the absolute ΔAP, as the relative gain explodes when the baseline's AP95 nears 0 (Table 3: +950 %).
    ``alpha_mean``/``baseline_mean`` are the slopes of each side's own AP curve (negative: AP falls with t); their
    paired difference is the slope of ΔAP_t. Seeds without all ten APs are left out. A slope is no metric's
    difference: no margin, no "equivalent".
    """
    thresholds, out = [int(k[2:]) / 100 for k in AP_KEYS], []
    for family in families:
        pairs = pair_by_seed(pairing.clean_rows(rows), AP_KEYS[0], loss_at(family, alpha), loss_at(family, 1))
        for p in sorted(pairs, key=lambda p: context_order(p.context, default_model)):
            runs = zip(p.seeds, p.alpha_runs, p.baseline_runs)
            kept = [
                (s, x, y) for s, x, y in runs if pairing.has_metrics(x, AP_KEYS) and pairing.has_metrics(y, AP_KEYS)
            ]
            a = [slope(thresholds, [x[k] for k in AP_KEYS]) for _, x, _ in kept]
            b = [slope(thresholds, [y[k] for k in AP_KEYS]) for _, _, y in kept]
            if kept:
                text = PAPER.get(f"C2 {family}", "not in the paper")
                metric = "slope of AP vs IoU threshold (AP50…AP95)"
                out.append(
                    _row("C2", p.context, p.compared, metric, text, "up", a, b, [s for s, *_ in kept], default_model)
                )
    return out


def claim_c3(rows, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, margins=DEFAULT_MARGINS, default_model=None):
    """Return C3's rows (Table 3, noisy rows): α − base > 0 at each η, then the growth of the relative gain with η.

    Per η: mAP75-95 and mAP50-95, as C1. The trend row of each context (shared params but η, two η or more) takes
    the seeds trained at every η: per seed, g(η) = (α − base) / base of mAP75-95 and its least-squares slope over
    η, claimed > 0 (a seed with a 0 baseline at some η is left out). Its α and baseline sides are None; as a slope it
    has no margin.
    """
    keys = {"families": families, "alpha": alpha, "default_model": default_model, "margins": margins}
    out = _pair_rows("C3", pairing.noisy_rows(rows), (("mAP75-95", "up"), ("mAP50-95", "up")), _table3, **keys)
    trends = []
    for family in families:
        groups: dict[str, list[SeedPairs]] = {}
        for p in pair_by_seed(pairing.noisy_rows(rows), "mAP75-95", loss_at(family, alpha), loss_at(family, 1)):
            key = pairing.params_key({k: v for k, v in p.context.items() if k != "noise_eta"})
            groups.setdefault(key, []).append(p)
        for group in (sorted(g, key=lambda p: noise_eta(p.context)) for g in groups.values() if len(g) > 1):
            etas, slopes = [noise_eta(p.context) for p in group], {}
            for seed in sorted(set.intersection(*(set(p.seeds) for p in group)), key=pairing.seed_order):
                at = [(p.alpha[p.seeds.index(seed)], p.baseline[p.seeds.index(seed)]) for p in group]
                if all(b != 0 for _, b in at):
                    slopes[seed] = slope(etas, [(a - b) / b for a, b in at])
            if slopes:
                context = {k: v for k, v in group[0].context.items() if k != "noise_eta"}
                text, metric = PAPER.get(f"C3 {family}", "not in the paper"), "slope of mAP75-95 relative gain vs η"
                what = ("C3", context, group[0].compared, metric, text, "up", None, None, list(slopes), default_model)
                note = f"η = {', '.join(f'{e:g}' for e in etas)}"
                trends.append(_row(*what, stats.difference_interval(list(slopes.values())), note=note))
    return out + sorted(trends, key=lambda r: context_order(r.context, default_model))


def claim_c4(
    rows,
    *,
    families=PAPER_FAMILIES,
    metric="mAP50-95",
    window=ALPHA_WINDOW,
    margins=DEFAULT_MARGINS,
    default_model=None,
):
    """Return C4's rows (Fig. 6, an α sweep): best α in `window` − best α outside > 0; each α < 1 − α = 1 < 0.

    Per context (shared params but loss and α) and seed: the α side is the max of `metric` over the α in `window`,
    the baseline side the max over the other α; the paired difference of the two maxima carries the verdict, and
    the note the share of seeds whose argmax α lies in the window (a share has no interval, so it is no verdict).
    It needs three α or more (two are C1's comparison). A max over more α values is biased upwards: a fair grid
    has as many α inside as outside (0.5, 1, 2, 3, 4, 5).
    The seeds every α of a context has are used (the others named in the note); seeds lacking `metric` are left out.
    """
    (low, high), out = window, []
    for family in families:
        name = alpha_form_of(family) or family
        curves = sorted(pairing.alpha_curves(rows, family), key=lambda c: context_order(c[0], default_model))
        for context, by_alpha in curves:
            seeds, unpaired = pairing.common_seeds(list(by_alpha.values()))
            seeds = [s for s in seeds if all(pairing.is_finite(runs[s].get(metric)) for _, runs in by_alpha.values())]
            pending = f"; seeds not at every α yet: {pairing.seeds_text(unpaired)}" if unpaired else ""
            value = {a: [float(runs[s][metric]) for s in seeds] for a, (_, runs) in sorted(by_alpha.items())}
            inside, outside = [a for a in value if low <= a <= high], [a for a in value if not low <= a <= high]
            if seeds and inside and outside and len(value) > 2:  # two α are C1's comparison, not a sweep
                best_in = [max(value[a][i] for a in inside) for i in range(len(seeds))]
                best_out = [max(value[a][i] for a in outside) for i in range(len(seeds))]
                argmax = [max(value, key=lambda a, i=i: value[a][i]) for i in range(len(seeds))]
                share = f"{sum(low <= a <= high for a in argmax)} of {len(seeds)} in [{low:g}, {high:g}]"
                note = f"argmax α per seed: {', '.join(f'{a:g}' for a in argmax)} ({share}){pending}"
                ins, outs = (", ".join(f"{a:g}" for a in side) for side in (inside, outside))
                compared = f"{name}: best α in [{low:g}, {high:g}] ({ins}) vs best α outside ({outs})"
                what = ("C4", context, compared, metric, PAPER["C4 window"], "up", best_in, best_out, seeds)
                out.append(_row(*what, default_model, note=note, margins=margins))
            for a in [a for a in value if a < 1 and seeds and 1.0 in value]:
                compared = f"{name}: α = {a:g} vs α = 1"
                what = ("C4", context, compared, metric, PAPER["C4 low"], "down", value[a], value[1.0], seeds)
                out.append(_row(*what, default_model, margins=margins))
    return out


def claim_c5(
    rows,
    *,
    families=PAPER_FAMILIES,
    alpha=PAPER_ALPHA,
    metrics=("TP50", "TP90"),
    margins=DEFAULT_MARGINS,
    default_model=None,
):
    """Return C5's rows (Fig. 2, clean rows): α − base of the true positives at each threshold of `metrics` > 0.

    Counts have no default margin (`margins` may give one, in counts).
    """

    def paper(family, metric, pairs):
        return PAPER.get(f"C5 {metric}", PAPER["C5"])

    keys = {"families": families, "alpha": alpha, "default_model": default_model, "margins": margins}
    return _pair_rows("C5", pairing.clean_rows(rows), [(m, "up") for m in metrics], paper, **keys)


def claim_c7(rows, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, margins=DEFAULT_MARGINS, default_model=None):
    """Return C7's rows (App. B.2.2): α − base of mAP50-95 and mAP75-95 > 0 at each ``fraction`` (clean boxes)."""
    keys = {"families": families, "alpha": alpha, "default_model": default_model, "margins": margins}
    return _pair_rows(
        "C7", pairing.sized_rows(rows), (("mAP50-95", "up"), ("mAP75-95", "up")), lambda *_: PAPER["C7"], **keys
    )


def epoch_differences(rows, series, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, default_model=None):
    """Return an EpochDifference per α/baseline pair of clean rows whose runs have a series in `series`.

    `series` maps a run's ``run_dir`` (or ``cell_id``) to its mAP50-95 per epoch (results.csv's
    "metrics/mAP50-95(B)"). Seeds whose two runs lack a series are left out.
    """
    out = []
    for family in families:
        pairs = pair_by_seed(pairing.clean_rows(rows), "mAP50-95", loss_at(family, alpha), loss_at(family, 1))
        for p in sorted(pairs, key=lambda p: context_order(p.context, default_model)):
            found = [
                (s, pairing.run_series(x, series), pairing.run_series(y, series))
                for s, x, y in zip(p.seeds, p.alpha_runs, p.baseline_runs)
            ]
            found = [(s, x, y) for s, x, y in found if x and y]
            if not found:
                continue
            n = min(min(len(x), len(y)) for _, x, y in found)
            a, b = tuple(x[:n] for _, x, _ in found), tuple(y[:n] for _, _, y in found)
            mean = tuple(math.fsum(x[e] - y[e] for x, y in zip(a, b)) / len(found) for e in range(n))
            where = (regime_of(p.context, default_model), p.compared, config_label(p.context))
            seeds = tuple(s for s, _, _ in found)
            out.append(EpochDifference(*where, seeds, mean, stats.crossing_epoch(mean), a, b, dict(p.context)))
    return out


def claim_c6(rows, series, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, default_model=None):
    """Return C6's rows (Fig. 3, clean rows): the α gain grows late, as the per-seed change of ΔmAP50-95.

    Per seed and side, :func:`~.stats.late_minus_early` of the mAP50-95 series (mean over the last third of the
    n ≥ 3 epochs − over the first third); their paired difference is that change of ΔmAP, claimed > 0. The note
    gives the crossing epoch of the mean ΔmAP (:class:`EpochDifference` has the whole curve). A change over
    epochs is no metric's difference: no margin, no "equivalent".
    """
    out = []
    for d in epoch_differences(rows, series, families=families, alpha=alpha, default_model=default_model):
        if (n := len(d.mean_difference)) < 3:
            continue
        a = [stats.late_minus_early(s) for s in d.alpha_series]
        b = [stats.late_minus_early(s) for s in d.baseline_series]
        crossing = f"from epoch {d.crossing_epoch}" if d.crossing_epoch else "not at the last epoch"
        note = f"mean Δ > 0 {crossing} of {n}; early epochs 1-{n // 3}, late {n - n // 3 + 1}-{n}"
        metric = "mAP50-95, last third − first third of epochs"
        out.append(
            _row("C6", d.context, d.compared, metric, PAPER["C6"], "up", a, b, d.seeds, default_model, note=note)
        )
    return out


def warmup(params) -> float:
    value = params.get("alpha_warmup")
    return float(value) if pairing.is_finite(value) else 0.0


def claim_schedule(rows, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, margins=DEFAULT_MARGINS, default_model=None):
    """Return S's rows (clean rows): an α-loss trained with ``alpha_warmup`` = N > 0 minus its α = 1 form, and
    minus itself without the schedule; mAP50-95 and mAP75-95, claimed > 0.

    Not a claim of the paper: the hypothesis its Fig. 3 suggests (α's gain comes late, its early epochs lag), that
    an α rising from 1 keeps the late gain without the early lag.
    """
    out, clean = [], pairing.clean_rows(rows)
    for family in families:
        scheduled = _schedule_selector(loss_at(family, alpha), True)
        sides = (  # (baseline, the keys the two sides differ in)
            (loss_at(family, 1), ("loss", "alpha", "alpha_warmup")),
            (_schedule_selector(loss_at(family, alpha), False), ("alpha_warmup",)),
        )
        for metric in ("mAP50-95", "mAP75-95"):
            for baseline, compared in sides:
                pairs = pair_by_seed(clean, metric, scheduled, baseline, compared=compared)
                for p in sorted(pairs, key=lambda p: context_order(p.context, default_model)):
                    what = ("S", p.context, p.compared, metric, PAPER["S"], "up", p.alpha, p.baseline, p.seeds)
                    out.append(_row(*what, default_model, note=_pair_note(p, metric), margins=margins))
    return out


def _schedule_selector(selector, scheduled: bool):
    """Return a selector of `selector`'s configurations trained with (`scheduled`) or without an α schedule."""
    return lambda params: selector(params) and (warmup(params) > 0) == scheduled


def compared_families(rows, alpha=PAPER_ALPHA) -> tuple[str, ...]:
    """Return the loss families whose α form the claims compare with them: the paper's (IoU, DIoU), then every other
    family the rows hold both at α = 1 and at `alpha` (α-CIoU vs CIoU, …), sorted by name."""
    held = {(pairing.family_of(r["params"].get("loss")), pairing.config_alpha(r["params"])) for r in rows}
    others = {f for f, _ in held if f not in PAPER_FAMILIES and {(f, 1.0), (f, float(alpha))} <= held}
    return (*PAPER_FAMILIES, *sorted(others))


def all_claims(
    rows, series=None, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, margins=DEFAULT_MARGINS, default_model=None
) -> list[ClaimRow]:
    """Return the rows of C1 … C7 and S in that order (C6 only with `series`); `margins`: m per metric."""
    keys, judged = {"families": families, "default_model": default_model}, {"alpha": alpha, "margins": margins}
    rows_of = [claim_c1(rows, **judged, **keys), claim_c2(rows, alpha=alpha, **keys)]
    rows_of += [claim_c3(rows, **judged, **keys), claim_c4(rows, margins=margins, **keys)]
    rows_of += [claim_c5(rows, **judged, **keys), claim_c6(rows, series, alpha=alpha, **keys) if series else []]
    rows_of += [claim_c7(rows, **judged, **keys), claim_schedule(rows, **judged, **keys)]
    return [row for claim_rows in rows_of for row in claim_rows]
