"""yolo-alpha's keys, each declared once (:data:`KEYS`), and the typed settings built from them (:func:`from_flat`).

One table drives everything a key needs: its default (checked against cfg/default.yaml by a test), its help line
(``yolo-alpha help``; checked against docs/configuration.md's key table), its validation, and which losses it applies
to. A loss's own keys (``kappa``, ``focal_gamma``, …) are declared by the loss itself in the registry
(:func:`yolo_alpha.losses.registry.register`'s ``params``/``param_help``) and enter the table from there, so adding a
loss with a key of its own touches the loss module, cfg/default.yaml and docs/configuration.md, and tests hold the
last two to the table.

:func:`from_flat` is the one place our keys are validated: every entry point (the CLI, ``yolo_alpha.run``, a sweep's
cells, the trainer, the DDP worker, resume) calls it once on its flat ``key: value`` dict and passes the frozen
:class:`Settings` on. Pure: no Ultralytics import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from yolo_alpha import checks
from yolo_alpha.errors import ConfigError
from yolo_alpha.losses import LossSpec, resolve_loss
from yolo_alpha.losses.balance import LOC_NORM_EQ7, NO_BALANCE, IoUBalance
from yolo_alpha.losses.registry import CORE_KEYS, all_loss_params, loss_param_help, losses_taking, takes_alpha
from yolo_alpha.model_families import ANCHOR_FAMILY, FAMILIES


@dataclasses.dataclass(frozen=True)
class Key:
    """One key of yolo-alpha's, as the user writes it in ``key=value`` or a settings file.

    Attributes:
        name: the key.
        default: its value when not given (as in cfg/default.yaml; None = "the loss's own default").
        help: one line for ``yolo-alpha help``, cfg/default.yaml's comment and docs/configuration.md's table.
        group: ``loss`` (validated together by :func:`~yolo_alpha.losses.resolve_loss`), ``noise``, ``balance``,
            ``anchor`` (the anchor-based YOLOv5 family's criterion; null = YOLOv5's value), ``schedule`` (the α
            schedule), ``diagnostics``, or ``recorded`` (written into a run's args by yolo-alpha, never by the user).
        check: ``check(value) -> value`` for a key validated on its own; raises ConfigError naming the key.
        losses: the losses it applies to; empty = every loss.
        families: the model families it applies to (:data:`FAMILIES`); empty = every family.
    """

    name: str
    default: Any
    help: str
    group: str
    check: Callable[[Any], Any] | None = None
    losses: tuple[str, ...] = ()
    families: tuple[str, ...] = ()

    @property
    def recorded(self) -> bool:
        """True for a key yolo-alpha writes into a run's args (the measured noise, a loss's state), never the user."""
        return self.group == "recorded"


def _power_at_least_zero(key: str, papers_best: str) -> Callable[[Any], float]:
    return lambda value: checks.number(key, value, low=0, hint=f"0 = off; the paper's best is {papers_best}")


def _loc_norm(value: Any) -> float | str:
    if value == LOC_NORM_EQ7:
        return LOC_NORM_EQ7
    return checks.number(
        "iou_loc_norm",
        value,
        low=0,
        low_open=True,
        hint=f"the constant w_loc of eq. 6, or '{LOC_NORM_EQ7}' for eq. 7's normalisation: the positives' total "
        "localisation loss unchanged",
    )


OBJ_TARGETS = ("quality", "iou")
"""``obj_target``: a positive's objectness target is 1 − its box loss (YOLOv5's, the α-IoU authors') or its IoU."""

ANCHOR_DEFAULTS = {"obj": 1.0, "anchor_t": 4.0, "obj_target": "quality"}
"""YOLOv5's values (hyp.scratch-low.yaml, the α-IoU authors' hyp) of the anchor family's keys when null."""


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


def _anchor_keys() -> list[Key]:
    family = (ANCHOR_FAMILY,)
    return [
        Key(
            "obj",
            None,
            "objectness gain of the anchor family; null = 1.0 (YOLOv5's), × (imgsz/640)² × 3/nl as YOLOv5 rescales",
            "anchor",
            check=_optional(lambda v: checks.number("obj", v, low=0, low_open=True)),
            families=family,
        ),
        Key(
            "anchor_t",
            None,
            "anchor family: a target trains an anchor when max(r, 1/r) < anchor_t for w and h; null = 4.0",
            "anchor",
            check=_optional(lambda v: checks.number("anchor_t", v, low=1, low_open=True, hint="YOLOv5's is 4.0")),
            families=family,
        ),
        Key(
            "obj_target",
            None,
            "anchor family's objectness target: quality (1 − box loss, YOLOv5's) | iou (plain IoU); null = quality",
            "anchor",
            check=_optional(lambda v: checks.choice("obj_target", v, OBJ_TARGETS, what="a positive's obj target")),
            families=family,
        ),
    ]


def _loss_keys() -> list[Key]:
    core = [
        Key("loss", "alpha_ciou", "box loss name (`yolo-alpha help losses`)", "loss"),
        Key("alpha", None, "power α of eq. (3)/(4); null = 3 for alpha_* losses, 1 for the classic ones", "loss"),
        Key("alpha2", None, "power α₂ of the penalty term (eq. 3); null = alpha", "loss"),
        Key("iou_term", "power", "power: 1 − IoU^α (eq. 2) | boxcox: (1 − IoU^α)/α (eq. 1; alpha=0: −log IoU)", "loss"),
    ]
    assert tuple(key.name for key in core) == CORE_KEYS  # the registry's core keys, in its order
    own = [Key(k, None, loss_param_help(k), "loss", losses=tuple(losses_taking(k))) for k in all_loss_params()]
    return core + own


KEYS: dict[str, Key] = {
    key.name: key
    for key in (
        *_loss_keys(),
        Key(
            "noise_eta",
            0.0,
            "η in [0, 1): train on noisy boxes (paper section 4.3); validation labels stay clean",
            "noise",
            check=lambda v: checks.number("noise_eta", v, low=0, high=1, high_open=True, hint="the paper's η: 0.1-0.3"),
        ),
        Key(
            "noise_seed",
            0,
            "seed of the noisy boxes: same (data, noise_eta, noise_seed), same noisy labels",
            "noise",
            check=lambda v: checks.number("noise_seed", v, low=0, integer=True),
        ),
        Key(
            "iou_cls_eta",
            0.0,
            "IoU-balanced classification: positives' class loss × IoU^η, total kept (eq. 3-4); 0 = off, paper 1.5",
            "balance",
            check=_power_at_least_zero("iou_cls_eta", "1.5"),
        ),
        Key(
            "iou_loc_lambda",
            0.0,
            "IoU-balanced localisation: positives' box terms × IoU^λ · w_loc (eq. 5-6); 0 = off, paper 1.5",
            "balance",
            check=_power_at_least_zero("iou_loc_lambda", "1.5"),
        ),
        Key(
            "iou_loc_norm",
            1.0,
            "w_loc: a number > 0 (eq. 6), or eq7 (normalised: the positives' total box loss kept)",
            "balance",
            check=_loc_norm,
        ),
        Key(
            "alpha_warmup",
            0,
            "epochs over which α and α₂ rise linearly from 1 (the classic loss) to their values; 0 = off",
            "schedule",
            check=lambda v: checks.number("alpha_warmup", v, low=0, integer=True, hint="a number of epochs"),
        ),
        Key(
            "diagnostics",
            False,
            "True: write <run>/diagnostics.csv, per epoch the positives and each IoU bin's share of the box gradient",
            "diagnostics",
            check=lambda v: checks.boolean("diagnostics", v),
        ),
        *_anchor_keys(),
        Key("noise_mean_iou", None, "measured mean IoU of the noisy training boxes with the clean ones", "recorded"),
        Key("wiou_mean", None, "Wise-IoU v3's running mean of 1 − IoU per detection branch, for resume", "recorded"),
    )
}
"""Every key of yolo-alpha's, name -> :class:`Key`, in the order ``yolo-alpha help`` lists them."""

THREADS_ENV = "YOLO_ALPHA_THREADS"
"""Environment variable: CPU threads of one training (the trainer reads it; a parallel sweep's workers set it)."""

USER_KEYS = tuple(name for name, key in KEYS.items() if not key.recorded)
"""The keys a user may set (everything but the recorded ones)."""


def defaults() -> dict[str, Any]:
    """Return every key's default, recorded keys included (the trainer accepts them all on resume and in DDP)."""
    return {name: key.default for name, key in KEYS.items()}


def split_ours(flat: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (yolo-alpha's keys, every other key) of one flat settings dict."""
    ours = {k: v for k, v in flat.items() if k in KEYS}
    return ours, {k: v for k, v in flat.items() if k not in KEYS}


@dataclasses.dataclass(frozen=True)
class NoiseSettings:
    """Noisy training boxes (α-IoU paper section 4.3): η of the noise and the seed of its draws; η = 0 is off."""

    eta: float = 0.0
    seed: int = 0


NO_NOISE = NoiseSettings()
"""Clean training boxes."""


@dataclasses.dataclass(frozen=True)
class AnchorSettings:
    """The anchor-based YOLOv5 family's criterion: objectness gain, anchor-matching threshold, objectness target."""

    obj: float = ANCHOR_DEFAULTS["obj"]
    anchor_t: float = ANCHOR_DEFAULTS["anchor_t"]
    obj_target: str = ANCHOR_DEFAULTS["obj_target"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """yolo-alpha's settings of one run, validated: the box loss, the IoU-balanced losses, the noisy boxes.

    Build it with :func:`from_flat`; ``from_flat(s.flat()) == s``.
    """

    loss: LossSpec
    balance: IoUBalance = NO_BALANCE
    noise: NoiseSettings = NO_NOISE
    anchor: AnchorSettings | None = None  # None: a task-aligned model, which has no such keys
    alpha_warmup: int = 0  # epochs of the α schedule (losses.schedule); 0 = α from the first epoch
    diagnostics: bool = False  # record the box term's positives and gradient shares per epoch

    def flat(self) -> dict[str, Any]:
        """Return every user key with its resolved value (alpha and the loss's own keys filled in)."""
        balance = {
            "iou_cls_eta": self.balance.cls_eta,
            "iou_loc_lambda": self.balance.loc_lambda,
            "iou_loc_norm": self.balance.loc_norm,
        }
        anchor = dataclasses.asdict(self.anchor) if self.anchor else dict.fromkeys(ANCHOR_DEFAULTS)
        noise = {"noise_eta": self.noise.eta, "noise_seed": self.noise.seed}
        schedule = {"alpha_warmup": self.alpha_warmup, "diagnostics": self.diagnostics}
        return {**self.loss.as_dict(), **noise, **balance, **schedule, **anchor}


def from_flat(flat: Mapping[str, Any], family: str | None = None, epochs: Any = None) -> Settings:
    """Return the validated :class:`Settings` of a flat ``key: value`` dict; missing keys take their defaults.

    ``epochs`` is the run's (Ultralytics' key, checked by its owner): given, ``alpha_warmup`` must be below it
    (:func:`check_alpha_warmup`). None where the epochs are not known here (a recorded run's args; the trainer when no
    ``epochs`` override is given).

    ``family`` is the model's (:data:`FAMILIES`): a key given for a family it does not apply to is refused, and the
    anchor family's keys resolve (null = YOLOv5's value). None (a run's recorded args, where the keys are resolved
    already): the anchor settings exist when any of their keys is set. Other keys (Ultralytics', recorded ones) are
    ignored here: their owners check them. Raises ConfigError (or :class:`~yolo_alpha.losses.LossConfigError`, also a
    YoloAlphaError) naming the key and what it allows.
    """
    values = {name: flat.get(name, KEYS[name].default) for name in USER_KEYS}
    loss = resolve_loss(**{name: values[name] for name in USER_KEYS if KEYS[name].group == "loss"})
    checked = {name: KEYS[name].check(values[name]) for name in USER_KEYS if KEYS[name].check is not None}
    if family is not None:
        checks.choice("family", family, FAMILIES)
        for name in USER_KEYS:
            if KEYS[name].families and family not in KEYS[name].families and checked.get(name) is not None:
                model = flat.get("model")
                raise ConfigError(
                    f"{name} applies only to {FAMILIES[KEYS[name].families[0]]}; "
                    f"model={model} is {FAMILIES[family].split(':')[0]}"
                )
    if checked["alpha_warmup"] and not takes_alpha(loss.loss):
        raise ConfigError(
            f"alpha_warmup={checked['alpha_warmup']} schedules α, but loss={loss.loss!r} is fixed at α = 1: use an "
            "alpha_* loss"
        )
    check_alpha_warmup(checked["alpha_warmup"], epochs, loss)
    given = {name: checked[name] for name in ANCHOR_DEFAULTS if checked[name] is not None}
    anchor = AnchorSettings(**given) if family == ANCHOR_FAMILY or (family is None and given) else None
    return Settings(
        loss=loss,
        balance=IoUBalance(checked["iou_cls_eta"], checked["iou_loc_lambda"], checked["iou_loc_norm"]),
        noise=NoiseSettings(checked["noise_eta"], checked["noise_seed"]),
        anchor=anchor,
        alpha_warmup=checked["alpha_warmup"],
        diagnostics=checked["diagnostics"],
    )


def check_alpha_warmup(alpha_warmup: int, epochs: Any, loss: LossSpec) -> None:
    """Raise ConfigError when ``alpha_warmup >= epochs``: the run would never train at its α but record it.

    The schedule reaches α at epoch ``alpha_warmup`` (0-based; :func:`~yolo_alpha.losses.schedule.warmed_power`),
    so with ``alpha_warmup >= epochs`` every epoch trains below α, and the α recorded with the run is one it never
    trained at. ``epochs`` that is not an integer is left to Ultralytics' own check.
    """
    if not alpha_warmup or not isinstance(epochs, int) or isinstance(epochs, bool) or alpha_warmup < epochs:
        return
    raise ConfigError(
        f"alpha_warmup={alpha_warmup} must be below epochs={epochs}: α would go from 1 only to "
        f"{1 + (loss.alpha - 1) * (epochs - 1) / alpha_warmup:.3g} by the last epoch, never the α = {loss.alpha:g} "
        f"recorded; use alpha_warmup <= {epochs - 1} or more epochs"
    )


def keys_help() -> str:
    """Return the key list of ``yolo-alpha help``: one line per user key, ``key=default  help``."""
    shown = {None: "null", True: "True", False: "False"}
    lines = []
    for name in USER_KEYS:
        key = KEYS[name]
        default = shown[key.default] if key.default is None or isinstance(key.default, bool) else key.default
        lines.append(f"  {f'{name}={default}':<19} {key.help}")
    return "\n".join(lines)


def require_known(flat: Mapping[str, Any], valid: set[str] | frozenset[str], where: str) -> None:
    """Raise ConfigError naming every key of ``flat`` not in ``valid``, with the closest valid keys."""
    checks.known_keys(
        flat, valid, where, footer="See 'yolo-alpha help' for yolo-alpha's keys and 'yolo cfg' for Ultralytics'."
    )


__all__ = [
    "KEYS",
    "THREADS_ENV",
    "USER_KEYS",
    "AnchorSettings",
    "ConfigError",
    "Key",
    "NoiseSettings",
    "Settings",
    "check_alpha_warmup",
    "defaults",
    "from_flat",
    "keys_help",
    "require_known",
    "split_ours",
]
