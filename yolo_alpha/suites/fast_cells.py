"""Cheaper CPU cells: the train keys a new CPU protocol (``cpu_powered``) can take to train its cells faster.

Not used by the committed ``cpu`` suite, whose rows must stay reproducible: these keys move the numbers (float
rounding, another draw of the augmentations, the final weights scored instead of the best epoch's), so a suite that
takes them is a new protocol in a new folder. Where a cell's time goes and what each key buys was measured side by
side on the 2-core CPU (issue 18; docs/benchmarks.md "Cell cost", docs/performance.md):

- the training steps are ~75 % of a cell (forward ~40 % of a step, backward ~55 %, the criterion ~3 %), the
  per-epoch validation and checkpoint ~20 %, the data loader ~8 %, the optimiser step and the EMA ~1 %;
- ``channels_last``: NHWC convolutions (oneDNN), 15-20 % faster per step in both regimes here. Upstream applies it
  to CUDA training only; the trainer must honour it on the CPU too. Checkpoints are saved NCHW either way;
- ``batch=32`` (task-aligned only): ~10 % faster per image with the same optimisation — at upstream's nbs 64 an
  optimiser step still sums the gradients of the same 64 images (2 batches of 32 instead of 4 of 16); only
  BatchNorm sees 32 images at once. Not for the anchor regime: its nbs 16 steps every batch of 16 (PROTOCOL.md), so
  a batch of 32 would halve its steps;
- ``cache=ram``: each image decoded once, the loader ~2× faster. Sizing the cache draws 30 numbers from Python's
  ``random``, so a seed's augmentations differ from an uncached run's (reproducible run to run);
- ``val=False``: no validation after each epoch (0.6-0.9 s of each ~6 s epoch at 80 val images, ten times that at
  800). The cell is scored on its final weights instead of on the epoch that scored best on the very images it is
  scored on, and has no per-epoch mAP series: keep ``val=True`` in a suite that tests C6.

The epochs stay the base's (15): with these keys a task-aligned cell took 0.78× the committed protocol's time
(86 s against 110 s, trained and scored as the suite does) and its CIoU baseline stayed within the committed seeds'
AP50 range. At 10 epochs (:data:`SHORT_CELL_EPOCHS`) a cell takes half the time (55 s), but the CIoU baseline's
AP50 fell below that range in both regimes (issue 18's measurements). What did not help: ``workers`` > 0 (upstream
forces 0 on the CPU; two loader processes on 2 cores slow the step by what they save), ``torch.compile`` (minutes
to compile on 2 cores, longer than a cell), 1 torch thread (1.7× slower than 2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from yolo_alpha.model_families import TASK_ALIGNED_FAMILY

SHORT_CELL_EPOCHS = 10  # ≤ 50 s a cell, at a cost in AP50 (the module's docstring): not in the fast keys
FAST_KEYS = {"val": False, "cache": "ram", "channels_last": True}
# Per regime: the task-aligned cells' nbs 64 keeps 64 images per optimiser step at batch 32.
FAST_REGIME_KEYS: dict[str, dict[str, Any]] = {TASK_ALIGNED_FAMILY: {"batch": 32}}


def fast_cell_base(base: dict[str, Any]) -> dict[str, Any]:
    """Return the cheaper cells' shared train keys: `base` (e.g. the ``cpu`` suite's) with the fast keys on top."""
    return {**base, **FAST_KEYS}


def fast_regimes(regimes: Iterable[Any]) -> tuple[Any, ...]:
    """Return `regimes` (:class:`~yolo_alpha.suites.definitions.Regime`) with each one's fast keys added to its own.

    The regime's settings are in every cell's params, so the rows say the batch they trained with.
    """
    return tuple(dataclasses.replace(r, settings={**r.settings, **FAST_REGIME_KEYS.get(r.name, {})}) for r in regimes)
