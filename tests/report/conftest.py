"""Fixtures: a fake 2 losses × 2 noise levels × 2 seeds sweep (see fake_sweep.VALUES for the hand-made numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_sweep import VALUES, make_row, write_results_csv, write_sweep


@pytest.fixture
def noise_rows(tmp_path) -> list[dict]:
    """Return the 2 losses × 2 noise levels × 2 seeds runs of VALUES, each with a 3-epoch results.csv."""
    rows = []
    for (loss, eta, seed), value in VALUES.items():
        params = {"loss": loss, "noise_eta": eta, "seed": seed}
        run_dir = tmp_path / "runs" / f"{loss}_{eta}_{seed}"
        # mAP50-95 per epoch: value/4, value/2, value (the last epoch is the final mAP).
        write_results_csv(run_dir, [value / 4, value / 2, value])
        overrides = {"AP95": 0.0} if (loss, eta) == ("ciou", 0.2) else {}
        rows.append(make_row(params, value, run_dir, noise_mean_iou=1 - eta, **overrides))
    return rows


@pytest.fixture
def noise_sweep(tmp_path, noise_rows) -> Path:
    return write_sweep(tmp_path / "sweep_noise", noise_rows)
