"""scripts/variance_sources.py's spreads on hand-made records: per configuration and per paired α − classic."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import variance_sources


def _record(loss, seed, small, large, model="yolov5nu.yaml"):
    values = {f"{m}@{size}": v for size, v in ((80, small), (800, large)) for m in variance_sources.METRICS}
    return {"cell_id": f"{loss}-{seed}", "params": {"model": model, "loss": loss, "seed": seed}, **values}


def test_spreads_per_configuration_and_paired():
    records = [
        _record("ciou", s, small, large) for s, small, large in ((0, 30.0, 31.0), (1, 32.0, 31.5), (2, 34.0, 32.0))
    ]
    records += [
        _record("alpha_ciou", s, small, large)
        for s, small, large in ((0, 29.0, 30.0), (1, 33.0, 30.9), (2, 33.5, 31.2))
    ]
    lines = variance_sources.spreads(records, (80, 800))
    ciou = next(line for line in lines if line.startswith("| loss=ciou, model=yolov5nu.yaml | mAP50-95"))
    assert ciou == f"| loss=ciou, model=yolov5nu.yaml | mAP50-95 | {statistics.stdev([30, 32, 34]):.2f} | 0.50 | 3 |"
    paired = next(line for line in lines if "− loss=ciou, paired | mAP50-95" in line)
    small = statistics.stdev([29 - 30, 33 - 32, 33.5 - 34])
    large = statistics.stdev([30 - 31, 30.9 - 31.5, 31.2 - 32])
    assert paired.endswith(f"| {small:.2f} | {large:.2f} | 3 |")
    assert "model=yolov5nu.yaml" in paired and "alpha_ciou (α=3)" in paired
