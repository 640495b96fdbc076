"""The cheaper cells' keys (yolo_alpha.suites.fast_cells): valid train keys, the same optimisation where they claim
it, and the committed cpu suite untouched."""

from __future__ import annotations

import copy

import pytest

from yolo_alpha import run
from yolo_alpha.model_families import ANCHOR_FAMILY, TASK_ALIGNED_FAMILY
from yolo_alpha.suites.definitions import CPU, suite_grid
from yolo_alpha.suites.fast_cells import SHORT_CELL_EPOCHS, fast_cell_base, fast_regimes

UPSTREAM_NBS = 64  # Ultralytics' nominal batch, the task-aligned cells' (they set no nbs)


def images_per_optimiser_step(batch: int, nbs: int) -> int:
    """Ultralytics' trainer: an optimiser step every max(round(nbs / batch), 1) batches."""
    return batch * max(round(nbs / batch), 1)


@pytest.mark.parametrize("regime", fast_regimes(CPU.regimes), ids=lambda r: r.name)
def test_every_regime_cell_is_a_valid_training(regime):
    keys = {**fast_cell_base(CPU.base), **regime.settings, "model": regime.model, "seed": 0, "loss": "ciou"}
    run.check_settings(keys, "train")  # raises ConfigError on an unknown key or a bad value


def test_the_fast_keys_change_only_what_they_name_and_leave_the_cpu_suite_alone():
    before = copy.deepcopy((CPU.base, CPU.regimes, suite_grid(CPU)))
    base = fast_cell_base(CPU.base)
    changed = {key for key in base if CPU.base.get(key) != base[key]}
    assert changed == {"val", "cache", "channels_last"}
    assert {k: base[k] for k in CPU.base if k not in changed} == {k: CPU.base[k] for k in CPU.base if k not in changed}
    assert (CPU.base, CPU.regimes, suite_grid(CPU)) == before  # the committed rows' protocol is not touched


def test_a_given_base_is_kept_under_the_fast_keys():
    mine = {"data": "mine.yaml", "epochs": 99, "val": True}
    fast = {"val": False, "cache": "ram", "channels_last": True}
    assert fast_cell_base(mine) == {"data": "mine.yaml", "epochs": 99, **fast}
    assert mine["val"] is True  # the given base is not modified


def test_the_fast_keys_keep_the_base_epochs_and_mosaic_schedule():
    # The cheaper cells change how a step runs, not how long training lasts: the committed cells' 15 epochs, mosaic
    # in the first 5 (Ultralytics closes it at epoch index >= epochs - close_mosaic, its default 10).
    base = fast_cell_base(CPU.base)
    assert base["epochs"] == CPU.base["epochs"] == 15 and "close_mosaic" not in base
    assert base["epochs"] > SHORT_CELL_EPOCHS  # the documented cheaper option is not applied by default


def test_the_task_aligned_batch_keeps_the_images_of_each_optimiser_step():
    old = {r.name: r for r in CPU.regimes}
    new = {r.name: r for r in fast_regimes(CPU.regimes)}
    batch = new[TASK_ALIGNED_FAMILY].settings["batch"]
    assert "nbs" not in new[TASK_ALIGNED_FAMILY].settings  # upstream's 64
    assert images_per_optimiser_step(batch, UPSTREAM_NBS) == images_per_optimiser_step(16, UPSTREAM_NBS) == 64
    # The anchor regime steps every batch of 16 (nbs 16): a batch of 32 would halve its steps, so it keeps 16.
    assert new[ANCHOR_FAMILY] == old[ANCHOR_FAMILY] and "batch" not in new[ANCHOR_FAMILY].settings
    assert new[TASK_ALIGNED_FAMILY].model == old[TASK_ALIGNED_FAMILY].model
