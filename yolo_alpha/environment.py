"""What sets a training's numerics beyond its keys: package versions and the processor, recorded in every sweep row.

The same cell moves by about a seed's spread between two opencv-python versions or two machines
(docs/reproduction/cpu/PROTOCOL.md, "Environment"), so a row says where it was trained and a study can tell whether a
comparison mixes environments.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

# The distributions whose versions change a training's numbers (augmentation, kernels, rounding).
PACKAGES = ("torch", "ultralytics", "opencv-python", "numpy")


def package_version(name: str) -> str:
    """Return the installed version of distribution `name`, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@lru_cache(maxsize=1)
def processor() -> str:
    """Return the CPU's model name (Linux: /proc/cpuinfo's "model name"), else what the platform module reports."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine() or "unknown"


def numerics_environment(device: object = "cpu") -> dict[str, str]:
    """Return the row's ``environment``: each of :data:`PACKAGES`' version, the CPU and the torch device trained on.

    A CUDA device adds its name (``device``: e.g. "cuda:0 NVIDIA H100 80GB HBM3").
    """
    env = {name: package_version(name) for name in PACKAGES}
    env["cpu"] = processor()
    env["device"] = _device_text(device)
    return env


def _device_text(device: object) -> str:
    text = str(device)
    if text.startswith("cuda"):
        import torch  # only when a CUDA device trained: the name of the card

        index = int(text.partition(":")[2] or 0)
        return f"{text} {torch.cuda.get_device_name(index)}"
    return text
