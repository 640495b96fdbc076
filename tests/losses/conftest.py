"""Shared box fixtures for the loss tests: seeded aligned pairs of valid xyxy boxes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

BoxPairs = Callable[..., "tuple[torch.Tensor, torch.Tensor]"]


def _random_box_pairs(n: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    # Half the pairs are jittered copies (overlapping, IoU spread over (0, 1)), half independent boxes (mostly
    # disjoint), so the penalties and the IoU term are both exercised. Widths and heights are >= 1: valid boxes.
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 100
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 49 + 1
    target = torch.cat((xy, xy + wh), dim=1)
    near_xy = xy + (torch.rand(n, 2, generator=g, dtype=torch.float64) - 0.5) * wh
    near_wh = wh * torch.exp(torch.randn(n, 2, generator=g, dtype=torch.float64) * 0.4)
    far_xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 100
    far_wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 49 + 1
    near = torch.arange(n) % 2 == 0
    pred_xy = torch.where(near[:, None], near_xy, far_xy)
    pred_wh = torch.where(near[:, None], near_wh, far_wh)
    pred = torch.cat((pred_xy, pred_xy + pred_wh), dim=1)
    return pred.to(dtype), target.to(dtype)


@pytest.fixture
def random_box_pairs() -> BoxPairs:
    """Return ``f(n, seed=0, dtype=float32) -> (pred, target)``, seeded random valid ``(n, 4)`` xyxy box pairs."""
    return _random_box_pairs
