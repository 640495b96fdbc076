"""The sweep: N tiny trainings on K process workers, efficiency N·t₁/(K·T) with t₁ one run alone."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import Figure, Measurements


def tiny_run_keys(data_yaml: Path) -> dict:
    """Return the train keys of one tiny run: yolov8n, one epoch at 64 px on the CPU, deterministic, no plots."""
    return dict(
        data=str(data_yaml), model="yolov8n.yaml", epochs=1, imgsz=64, batch=8, workers=0, device="cpu",
        deterministic=True, plots=False, optimizer="SGD", verbose=False,
    )  # fmt: skip


def bench_sweep(out: Measurements, data_yaml: Path, n_runs: int, workers: int, root: Path) -> None:
    """Record the sweep-efficiency figure: N·t₁/(K·T), t₁ one tiny run alone, T the N runs on K process workers."""
    from yolo_alpha.sweep import SweepGrid, SweepOptions, run_sweep

    base = tiny_run_keys(data_yaml)

    def timed(name: str, seeds: list[int], options: SweepOptions) -> float:
        start = time.perf_counter()
        run_sweep(SweepGrid(name, base, {"seed": tuple(seeds)}), project=root, options=options)
        return time.perf_counter() - start

    # t₁ in this process (no worker start-up): the conservative figure; t₁ on one process worker for comparison.
    t1 = timed("one_run", [0], SweepOptions(backend="local"))
    t1_worker = timed("one_run_worker", [0], SweepOptions(backend="process", workers=1))
    total = timed("parallel", list(range(n_runs)), SweepOptions(backend="process", workers=workers))
    efficiency = n_runs * t1 / (workers * total)
    out.sections.append(
        f"### Sweep of {n_runs} tiny runs (1 epoch, 16 images at 64 px) on {workers} process workers\n\n"
        "t₁ is one run alone in this process (no worker start-up); with t₁ measured as a one-cell sweep on one "
        f"process worker ({t1_worker:.1f} s) the efficiency would be {n_runs * t1_worker / (workers * total):.3f}.\n\n"
        f"| one run alone (t₁) | {n_runs} runs on {workers} workers (T) | efficiency N·t₁/(K·T) |\n|---:|---:|---:|\n"
        f"| {t1:.1f} s | {total:.1f} s | {efficiency:.3f} |\n"
    )
    out.figures.append(Figure(f"sweep efficiency, {n_runs} runs on {workers} workers", efficiency))
