"""The α schedule: the power of an α-IoU loss rising from 1 (the classic loss) to its value over the first epochs.

The α-IoU paper's Fig. 3 (and the authors' logs) show α = 3 trailing α = 1 early in training and gaining late: a
schedule tests whether starting as the classic loss and moving to the α-loss keeps the late gain without the early
lag. Pure Python on a :class:`~yolo_alpha.losses.LossSpec`; the trainer applies it at the start of each epoch.
"""

from __future__ import annotations

import dataclasses

from yolo_alpha.losses.spec import LossSpec


def warmed_power(power: float, epoch: int, warmup: int) -> float:
    """Return the power at 0-based ``epoch``: ``1 + (power − 1) · min(1, epoch / warmup)`` (``power`` once warm).

    Epoch 0 trains the classic loss (1); epoch ``warmup`` and later train ``power``; in between the power moves
    linearly, up for α > 1 and down for α < 1. ``warmup`` 0 means no schedule.
    """
    if warmup <= 0 or epoch >= warmup:
        return power
    return 1 + (power - 1) * max(epoch, 0) / warmup


def spec_at_epoch(spec: LossSpec, epoch: int, warmup: int) -> LossSpec:
    """Return ``spec`` with α and α₂ as :func:`warmed_power` gives them at ``epoch`` (``spec`` itself when warm)."""
    alpha, alpha2 = warmed_power(spec.alpha, epoch, warmup), warmed_power(spec.alpha2, epoch, warmup)
    if (alpha, alpha2) == (spec.alpha, spec.alpha2):
        return spec
    return dataclasses.replace(spec, alpha=alpha, alpha2=alpha2)
