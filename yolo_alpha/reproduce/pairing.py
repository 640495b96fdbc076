"""Sweep rows paired by seed: an α configuration and its baseline, same other params, one pair per seed.

Rows are results.jsonl's (``params`` holds the grid's keys, ``seed`` among them, beside the metrics). A
configuration is the params without the seed; its regime comes from ``model`` (:func:`regime_of`), its α is the one
training resolves (:func:`config_alpha`). Missing configurations give no pair (missing data); rows that cannot be
paired (seeds that differ, two baselines, a seed twice) raise :class:`ClaimDataError` naming the configurations.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from yolo_alpha.checks import is_number
from yolo_alpha.config_labels import base_loss, config_label, sort_key
from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.losses import LOSSES, resolve_loss
from yolo_alpha.losses.registry import CORE_KEYS, all_loss_params
from yolo_alpha.model_families import FAMILIES, family_of_name

COMPARED = ("loss", "alpha")  # what an α configuration and its baseline differ in; all other params must match
Selector = Union[Callable[[Mapping[str, Any]], bool], Mapping[str, Any]]
"""Picks configurations: a function of the params, or a dict of params that must be present with these values."""


class ClaimDataError(YoloAlphaError):
    """Rows that cannot be paired or placed in a regime; the message names the configurations at fault."""


@dataclass(frozen=True)
class SeedPairs:
    """An α configuration and its baseline on the same other params (``context``): `metric` of each seed's runs.

    ``alpha[i]``/``baseline[i]`` are the metric of ``alpha_runs[i]``/``baseline_runs[i]``, the rows of seed
    ``seeds[i]``. Seeds where either run lacks the metric (or it is not finite) are left out, listed in ``unscored``;
    seeds that only one side has (a sweep still running) are left out, listed in ``unpaired``.
    """

    metric: str
    context: dict
    alpha_params: dict
    baseline_params: dict
    seeds: tuple
    alpha: tuple[float, ...]
    baseline: tuple[float, ...]
    alpha_runs: tuple[dict, ...]
    baseline_runs: tuple[dict, ...]
    unscored: tuple = ()
    unpaired: tuple = ()  # seeds that only one side has (yet): not in the statistics

    @property
    def compared(self) -> str:
        """Return "loss=alpha_iou (α=3) vs loss=iou": the two configurations by the params they differ in."""
        return compared_label(self.alpha_params, self.baseline_params, self.context)


def regime_of(params: Mapping[str, Any], default_model: str | None = None) -> str:
    """Return the model family of `params`' ``model`` by its name (:func:`~yolo_alpha.model_families.family_of_name`).

    `default_model` stands in when the params have no ``model`` (the grid does not vary it); with neither,
    ClaimDataError names the configuration. Weights (``.pt``) count as task-aligned: their name does not say.
    """
    model = params.get("model", default_model)
    if model is None:
        raise ClaimDataError(
            f"cannot tell the regime of {config_label(dict(params))}: its params have no 'model' (the sweep's grid "
            "does not vary it); pass default_model=, the model of the sweep's base"
        )
    return family_of_name(model)


def family_of(loss: Any) -> Any:
    """Return X for ``alpha_X`` and for X itself: the loss family along which α varies."""
    return base_loss(loss) or loss


def config_alpha(params: Mapping[str, Any]) -> float | None:
    """Return the α training resolves for `params` (1 for a classic loss, 3 for ``alpha_*`` unless set), or None.

    None for an unknown loss or keys training would refuse. An α set in a sweep's base is not in the params (only
    the grid's keys are), so such a sweep reads as α = 3.
    """
    loss = params.get("loss")
    if not isinstance(loss, str) or loss not in LOSSES:
        return None
    keys = {k: v for k, v in params.items() if k in CORE_KEYS or k in all_loss_params()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # α > 10 warns: training's business, not a report's
            return float(resolve_loss(**keys).alpha)
    except (ValueError, TypeError):
        return None


def loss_at(family: str, alpha: float) -> Callable[[Mapping[str, Any]], bool]:
    """Return a selector of the runs of loss `family` (X, or alpha_X) at resolved α = `alpha`."""
    return lambda params: family_of(params.get("loss")) == family and config_alpha(params) == float(alpha)


def compared_label(alpha_params: Mapping, baseline_params: Mapping, context: Mapping) -> str:
    """Return "<α configuration> vs <baseline>", each labelled by its params outside `context`."""

    def label(params, other):
        keys = [k for k in params if k not in context]
        if keys:
            return config_label(dict(params), keys)
        # a side that only lacks the other's keys (S: "alpha_warmup=5 vs no alpha_warmup"), not "(all runs)"
        return ", ".join(f"no {k}" for k in other if k not in context and k not in params) or config_label({})

    return f"{label(alpha_params, baseline_params)} vs {label(baseline_params, alpha_params)}"


def seed_order(seed: Any) -> tuple:
    """Return a sort key of seeds: numbers in numeric order, then anything else by its text."""
    return (0, float(seed), "") if is_number(seed) else (1, 0.0, str(seed))


def seeds_text(seeds) -> str:
    """Return "0, 1, 2" for `seeds` in order ("none" for none)."""
    return ", ".join(str(s) for s in sorted(seeds, key=seed_order)) or "none"


def is_finite(value: Any) -> bool:
    """Return True for a finite int or float (not a bool, not None, not NaN)."""
    return is_number(value) and math.isfinite(value)


def context_order(context: Mapping, default_model: str | None = None) -> tuple:
    """Return a sort key of shared params: as the report orders them, the model aside, then the regime.

    Sorting claim rows by it puts a comparison's two regimes side by side.
    """
    rest = {k: v for k, v in context.items() if k != "model"}
    return sort_key(rest), list(FAMILIES).index(regime_of(context, default_model))


def params_key(params: Mapping[str, Any]) -> str:
    """Return a text that is equal for equal params (JSON with sorted keys): a dict key for configurations."""
    return json.dumps(params, sort_keys=True, default=str)


def configurations(rows: Sequence[dict], selector: Selector, over: str = "seed") -> list[tuple[dict, dict]]:
    """Return [(config, {seed: row})] of the rows `selector` picks, a config being the params without `over`.

    ClaimDataError when one configuration has two rows of one seed.
    """
    found: dict[str, tuple[dict, dict]] = {}
    for row in rows:
        params = row["params"]
        if isinstance(selector, Mapping):
            if not all(k in params and params[k] == v for k, v in selector.items()):
                continue
        elif not selector(params):
            continue
        config = {k: v for k, v in params.items() if k != over}
        runs = found.setdefault(params_key(config), (config, {}))[1]
        seed = params.get(over)
        if seed in runs:
            raise ClaimDataError(f"two rows of {config_label(config)} have {over}={seed}: keep one of them")
        runs[seed] = row
    return list(found.values())


def common_seeds(configs: Sequence[tuple[dict, dict]]) -> tuple[list, list]:
    """Return (the seeds every configuration has, in order; the seeds only some have, in order).

    A sweep still running has some seeds of one configuration and not yet of another: the paired statistics use
    the seeds they share, and the others are reported as unpaired (never silently dropped).
    """
    sets = [set(runs) for _, runs in configs]
    shared = set.intersection(*sets) if sets else set()
    return sorted(shared, key=seed_order), sorted(set.union(*sets) - shared if sets else set(), key=seed_order)


def pair_by_seed(
    rows: Sequence[dict],
    metric: str,
    alpha: Selector,
    baseline: Selector,
    *,
    compared: Sequence[str] = COMPARED,
    over: str = "seed",
) -> list[SeedPairs]:
    """Return a SeedPairs per α configuration whose baseline the rows hold, `metric` paired by seed.

    An α configuration pairs with the baseline configuration whose params equal its own but for the `compared`
    keys, the selectors' dict keys and `over`. No baseline: no pair (missing data, not an error); the seeds both
    sides have pair, the others are listed in ``unpaired``. ClaimDataError, naming the configurations, when two
    baselines fit or when a configuration has two rows of one seed. Pairs come in the rows' order of α
    configurations.
    """
    drop = {*compared, over, *(k for s in (alpha, baseline) if isinstance(s, Mapping) for k in s)}

    def context_of(config):
        return {k: v for k, v in config.items() if k not in drop}

    baselines: dict[str, list[tuple[dict, dict]]] = {}
    for config, runs in configurations(rows, baseline, over):
        baselines.setdefault(params_key(context_of(config)), []).append((config, runs))
    out = []
    for config, runs in configurations(rows, alpha, over):
        found = [b for b in baselines.get(params_key(context_of(config)), []) if b[0] != config]
        if len(found) > 1:
            names = "; ".join(config_label(c) for c, _ in found)
            raise ClaimDataError(f"{config_label(config)} has {len(found)} baselines: {names}; select one")
        if not found:
            continue
        base, base_runs = found[0]
        seeds, unpaired = common_seeds([(config, runs), (base, base_runs)])
        ok = [s for s in seeds if is_finite(runs[s].get(metric)) and is_finite(base_runs[s].get(metric))]
        if not ok:
            continue
        a, b = [runs[s] for s in ok], [base_runs[s] for s in ok]
        out.append(
            SeedPairs(
                metric=metric,
                context=context_of(config),
                alpha_params=config,
                baseline_params=base,
                seeds=tuple(ok),
                alpha=tuple(float(r[metric]) for r in a),
                baseline=tuple(float(r[metric]) for r in b),
                alpha_runs=tuple(a),
                baseline_runs=tuple(b),
                unscored=tuple(s for s in seeds if s not in ok),
                unpaired=tuple(unpaired),
            )
        )
    return out


def alpha_curves(rows, family: str) -> list[tuple[dict, dict]]:
    """Return [(context, {α: (config, {seed: row})})] of `family`'s configurations, context = params but loss, α."""
    curves: dict[str, tuple[dict, dict]] = {}
    for config, runs in configurations(rows, lambda p: family_of(p.get("loss")) == family):
        if (a := config_alpha(config)) is None:
            continue
        context = {k: v for k, v in config.items() if k not in COMPARED}
        by_alpha = curves.setdefault(params_key(context), (context, {}))[1]
        if a in by_alpha:
            first = config_label(by_alpha[a][0])
            raise ClaimDataError(f"{first} and {config_label(config)} both train {family} at α = {a:g}: keep one")
        by_alpha[a] = (config, runs)
    return list(curves.values())


def has_metrics(row: Mapping[str, Any], metrics: Sequence[str]) -> bool:
    """Return True when `row` has a finite value of every one of `metrics`."""
    return all(is_finite(row.get(m)) for m in metrics)


def run_series(row: dict, series: Mapping[str, Sequence[float]]) -> tuple[float, ...] | None:
    """Return the series of `row`'s run in `series` (keyed by ``run_dir``, else ``cell_id``), or None."""
    for key in (row.get("run_dir"), row.get("cell_id")):
        if key is not None and key in series:
            values = tuple(float(v) for v in series[key])
            if not all(math.isfinite(v) for v in values):
                raise ClaimDataError(f"the series of run {key} has a value that is not a finite number")
            return values
    return None


def noise_eta(params: Mapping[str, Any]) -> float:
    """Return the run's η (0 when ``noise_eta`` is not in the params)."""
    return float(params["noise_eta"]) if is_finite(params.get("noise_eta")) else 0.0


def _full_data(params: Mapping[str, Any]) -> bool:
    return not is_finite(params.get("fraction")) or float(params["fraction"]) == 1.0


def clean_rows(rows: Sequence[dict]) -> list[dict]:
    """Return the rows trained on clean boxes (η = 0) and the whole training set (``fraction`` 1 or unset)."""
    return [r for r in rows if noise_eta(r["params"]) == 0 and _full_data(r["params"])]


def noisy_rows(rows: Sequence[dict]) -> list[dict]:
    """Return the rows trained on noisy boxes (η > 0) and the whole training set."""
    return [r for r in rows if noise_eta(r["params"]) > 0 and _full_data(r["params"])]


def sized_rows(rows: Sequence[dict]) -> list[dict]:
    """Return the rows whose grid sets ``fraction``, on clean boxes."""
    return [r for r in rows if "fraction" in r["params"] and noise_eta(r["params"]) == 0]
