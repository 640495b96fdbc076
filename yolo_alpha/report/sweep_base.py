"""What a sweep's rows trained with but do not record: the model and loss keys of its base, read from sweep.yaml.

results.jsonl's ``params`` hold only the grid's keys. The shared keys sit in the folder's ``sweep.yaml`` (``base``,
possibly with a ``cfg:`` settings file), merged as the sweep merges them (:func:`yolo_alpha.config.merge_settings`:
cfg/default.yaml, then the cfg file, then the base keys). A folder without sweep.yaml (an older sweep) falls back to
cfg/default.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yolo_alpha.config import default_settings, find_cfg_file, load_yaml, merge_settings
from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.losses.registry import CORE_KEYS, all_loss_params
from yolo_alpha.sweep_folder import SPEC_FILE

DATA_KEYS = ("noise_eta", "fraction")  # which rows a claim reads: clean, noisy, or trained on part of the data


def claim_keys() -> tuple[str, ...]:
    """Return the train keys the claims read from a row's params: the loss keys (α among them), η and fraction."""
    return (*CORE_KEYS, *all_loss_params(), *DATA_KEYS)


@dataclass(frozen=True)
class SweepBase:
    """The sweep's default ``model`` (for rows whose params have none), where it comes from, and base claim keys.

    ``origin``: where the model comes from, for the report ("sweep.yaml's base", …, or why it was assumed);
    ``keys``: the claim keys (:func:`claim_keys`) that the sweep's base or its cfg file sets, with their values.
    """

    model: str
    origin: str
    keys: dict[str, Any] = field(default_factory=dict)


def read_sweep_base(sweep_dir: str | Path) -> SweepBase:
    """Return the SweepBase of `sweep_dir` from its sweep.yaml, or cfg/default.yaml's model when there is none.

    A sweep.yaml that cannot be read, or a cfg file it names that cannot be found here (a path relative to another
    working directory), also falls back, and the origin says why.
    """
    spec_file = Path(sweep_dir) / SPEC_FILE
    default = str(default_settings()["model"])
    if not spec_file.is_file():
        return SweepBase(default, f"cfg/default.yaml, assumed: this folder has no {SPEC_FILE} (rows of an older sweep)")
    try:
        spec = load_yaml(spec_file, key=SPEC_FILE)
        base = spec.get("base") or {}
        if not isinstance(base, dict):
            raise YoloAlphaError(f"{SPEC_FILE}: 'base' is not a mapping")
        cfg = load_yaml(find_cfg_file(base["cfg"])) if base.get("cfg") else {}
        merged = merge_settings(base)
    except YoloAlphaError as e:
        return SweepBase(default, f"cfg/default.yaml, assumed: the base of {SPEC_FILE} cannot be read ({e})")
    explicit = {**cfg, **base}
    keys = {k: explicit[k] for k in claim_keys() if explicit.get(k) is not None}
    if "model" in base:
        origin = f"{SPEC_FILE}'s base"
    elif "model" in cfg:
        origin = f"`{base['cfg']}`, the cfg file of {SPEC_FILE}'s base"
    else:
        origin = f"cfg/default.yaml ({SPEC_FILE}'s base sets none)"
    return SweepBase(str(merged["model"]), origin, keys)


def with_base_keys(rows: list[dict], keys: dict[str, Any]) -> list[dict]:
    """Return copies of `rows` whose params also hold the base's `keys` where the grid does not set them.

    So a claim sees an α, a loss, an η or a fraction that the sweep set once for every cell, as training saw it.
    """
    if not keys:
        return rows
    return [{**row, "params": {**keys, **row["params"]}} for row in rows]
