"""What every benchmark module shares: interleaved medians, the Markdown they write, and the machine's description."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import ultralytics

from yolo_alpha.environment import processor


@dataclass
class Figure:
    """One measured ratio, named as the report's goal row names it; scripts/bench.py judges it against its goal.

    ``ratio`` None: the figure was not measured, for the reason ``why_not`` (the report says so instead of a status).
    """

    label: str
    ratio: float | None
    why_not: str = ""


@dataclass
class Measurements:
    """Markdown sections and measured figures, recorded by a benchmark as it runs (kept if a later part fails)."""

    sections: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


def interleaved_medians(
    candidates: dict[str, Callable[[], object]], repeats: int, sync: Callable[[], None] = lambda: None
) -> dict[str, float]:
    """Return the median seconds of each candidate, all of them timed in turn within every repeat."""
    for fn in candidates.values():  # warm-up: allocator, lazy inits, compiling
        fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def timing_table(title: str, medians: dict[str, float], baseline: str, note: str = "") -> str:
    """Return a Markdown table of median times and each one's ratio to `baseline`."""
    rows = [f"### {title}", "", note, "", f"| implementation | median | ratio to {baseline} |", "|---|---:|---:|"]
    for name, seconds in medians.items():
        rows.append(f"| {name} | {seconds * 1e3:.3f} ms | {seconds / medians[baseline]:.3f} |")
    return "\n".join(rows) + "\n"


def machine_lines(threads: int) -> list[str]:
    """Return Markdown lines naming the CPU, cores, memory, GPU, library versions (torch on `threads`) and date."""
    cpu = processor()
    try:
        ram = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        ram = "unknown"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return [
        f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- machine: {cpu}, {os.cpu_count()} logical cores, {ram} RAM; GPU: {gpu}; {platform.platform()}",
        f"- python {platform.python_version()}, torch {torch.__version__} ({threads} threads), "
        f"ultralytics {ultralytics.__version__}",
        f"- load average when the report was written (1 / 5 / 15 min): {load}; other processes share these cores, "
        "which is why every figure is a ratio of interleaved medians",
    ]
