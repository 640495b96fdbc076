"""What must hold before Ultralytics builds a model or creates a run folder, each refusal one line naming the key.

Upstream finds these late (after the run folder exists) or reports them as a traceback: a GPU the machine lacks,
a model YAML that is no detector or no model at all, official weights it cannot download, a run folder that cannot
be created, a deprecated precision key. Here each is checked from the key's value alone, creating nothing (the
official-weights check downloads them, as upstream would a moment later).

It also decides where runs go: under the current folder (``./runs/detect/<name>``), and a relative ``project=``
relative to the current folder, as the docs' examples assume. Ultralytics 8.4 would put both under its
``runs_dir`` setting (the git checkout around its own install), so an absolute ``project`` is handed to it; its
settings file is never written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from ultralytics.cfg import DEFAULT_CFG_DICT
from ultralytics.nn.tasks import guess_model_task
from ultralytics.utils.downloads import attempt_download_asset

from yolo_alpha.checks import nearest_existing
from yolo_alpha.errors import ConfigError
from yolo_alpha.ultralytics.anchor_model import load_model_yaml

TASK = "detect"
"""The one Ultralytics task yolo-alpha trains and validates: its losses are box losses of detectors."""
RUNS_DIR = Path("runs") / TASK
"""Where runs go without ``project=``, relative to the current folder (Ultralytics' layout: runs/detect/train)."""
NUMBER_ROOM = 4
"""Characters left in a folder name for the number Ultralytics appends to a taken run name (train → train2)."""
# The precision flags Ultralytics 8.4 replaced by ``quantize`` (it still maps them, but they are no keys of its table).
REPLACED_PRECISION_KEYS = {"half": "quantize=16 (FP16)", "int8": "quantize=8 (INT8)"}


def run_project(project: Any) -> str:
    """Return the absolute folder a run's ``project=`` names: relative to the current folder; default ./runs/detect."""
    path = Path(os.path.expanduser(str(project))) if project else RUNS_DIR
    return os.path.abspath(path)


def check_run_folder(project: Any, name: Any) -> None:
    """Raise ConfigError unless ``<project>/<name>`` can be created: no file in the way, writable, names not too long.

    ``project`` is the key's value as given (None: ./runs/detect, :func:`run_project`), named so in messages. Probes by
    creating (and removing) a temporary folder in the deepest existing folder, so that a read-only file system or a
    folder without write permission is found here, not after upstream started writing.
    """
    folder = Path(run_project(project))
    key = f"project={project}" if project else f"the runs folder {folder}"
    for part in Path(str(name)).parts if name else ():
        check_name_length("name", name, part, folder)
    for part in folder.parts[1:]:
        check_name_length("project", project, part, folder)
    existing = nearest_existing(folder)
    if not existing.is_dir():
        raise ConfigError(f"{key}: {existing} is a file, not a folder; give a folder for the runs (project=DIR)")
    try:
        tempfile.TemporaryDirectory(prefix=".yolo-alpha-probe-", dir=existing).cleanup()
    except OSError as e:
        raise ConfigError(
            f"{key}: cannot create the run folder in {existing} ({e.strerror}); give a writable folder (project=DIR)"
        ) from e


def check_name_length(key: str, value: Any, part: str, where: Path) -> None:
    """Raise ConfigError when a folder name of ``key`` is longer than the file system takes (with the number's room)."""
    limit = name_max(where)
    if len(os.fsencode(part)) > limit - NUMBER_ROOM:
        shown = value if len(str(value)) <= 60 else f"{str(value)[:40]}…"
        raise ConfigError(
            f"{key}={shown}: a folder name of {len(os.fsencode(part))} bytes; this file system takes at most {limit}, "
            f"less {NUMBER_ROOM} for the number Ultralytics appends to a taken name: give a shorter {key}"
        )


def name_max(folder: Path) -> int:
    """Return the longest file name (bytes) the file system of ``folder``'s deepest existing ancestor takes."""
    try:
        return int(os.pathconf(nearest_existing(folder), "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # Windows has no pathconf
        return 255


def canonical_device(value: Any) -> str:
    """Return ``device=`` as Ultralytics parses it ("0,1", "cpu", "mps", …); its own parser where it has one."""
    try:
        from ultralytics.utils.torch_utils import parse_device  # newer 8.4 releases; 8.4.0 and 8.3 have none
    except ImportError:
        text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        return text.strip().lower().replace("cuda:", "").replace("cuda", "0").translate(str.maketrans("", "", "[] "))
    return parse_device(value)


def check_device(value: Any) -> None:
    """Raise ConfigError unless ``device=`` names this machine's CPU, MPS or CUDA GPUs that torch sees.

    Ultralytics' ``select_device`` would raise a multi-line ValueError (after printing its banner); its parsing is
    reused (``parse_device``: ``cuda:1``, ``0,1``, ``[0, 1]``, ``-1`` for an idle GPU), without its side effects
    (it sets the current CUDA device and torch's CPU threads).
    """
    if value is None or value == "":
        return
    canonical = canonical_device(value)
    if canonical in {"", "cpu", "mps", "mps:0"} or canonical.startswith(("npu", "xpu", "tpu", "intel", "vulkan")):
        return  # the auto choice, the CPU, or a backend upstream checks itself (MPS falls back to the CPU upstream)
    indices = canonical.split(",")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if all(i.isdigit() and int(i) < count for i in indices):
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    seen = f"torch sees {count} CUDA GPU{'s' if count != 1 else ''}" + (
        f" (CUDA_VISIBLE_DEVICES={visible})" if visible is not None else ""
    )
    allowed = "device=cpu" + (f", or GPU indices 0-{count - 1} (device=0 or device=0,1)" if count else "")
    shown = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value  # device=0,1 parses to (0, 1)
    raise ConfigError(f"device={shown}: no such device on this machine ({seen}); use {allowed}")


def check_model(model: Any, mode: str) -> None:
    """Raise ConfigError when ``model=`` is a folder, or a model YAML that is not a readable detector definition.

    A weights file is checked by :func:`~yolo_alpha.ultralytics.checkpoints.checkpoint_info`; a name Ultralytics
    does not know is left to it (its message names the file). ``train`` and ``val`` need a detector: a classify,
    segment, pose or OBB model would train upstream's task-specific loss (no box loss of ours) or fail deep inside.
    """
    if model is None or not isinstance(model, (str, Path)):
        return
    if Path(str(model)).is_dir():
        raise ConfigError(f"model={model}: a folder; give a weights file (.pt) or a model YAML (.yaml)")
    if not str(model).lower().endswith((".yaml", ".yml")):
        return
    try:
        definition = load_model_yaml(str(model))
    except FileNotFoundError:
        return  # an unknown name: Ultralytics reports it, naming the file
    except Exception as e:  # YAML syntax errors arrive as ValueError, unreadable files as OSError
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"model={model}: not a readable model YAML ({first})") from e
    if not isinstance(definition, dict) or not all(isinstance(definition.get(k), list) for k in ("backbone", "head")):
        raise ConfigError(
            f"model={model}: not a model YAML (it needs 'backbone:' and 'head:' lists of layers, as "
            "yolov8n.yaml); give a detector's model YAML or a weights file"
        )
    if mode in ("train", "val"):
        check_task(model, guess_model_task(definition))


def check_task(model: Any, task: str | None, key: str = "model") -> None:
    """Raise ConfigError naming ``key`` when ``model``'s Ultralytics task is known and is not detection."""
    if task not in (None, TASK):
        raise ConfigError(
            f"{key}={model}: a {task} model; yolo-alpha trains and validates detectors (task {TASK}): give a detection "
            "model, e.g. model=yolov8n.yaml, model=yolo11n.yaml or model=yolov5s-anchor.yaml"
        )


def fetch_official_weights(name: str, key: str = "model") -> None:
    """Download official weights ``name`` (``yolo11n.pt``) as Ultralytics would; ConfigError when it cannot."""
    try:
        attempt_download_asset(name)
    except (ConnectionError, OSError) as e:
        raise ConfigError(
            f"{key}={name}: not on disk here and could not be downloaded (no network?); download it on a machine "
            f"with internet (https://github.com/ultralytics/assets/releases) and give its path, or train from a model "
            f"YAML: {key}={Path(name).with_suffix('.yaml').name}"
        ) from e


def check_replaced_keys(settings: dict[str, Any]) -> None:
    """Raise ConfigError for ``half``/``int8``, which Ultralytics 8.4 replaced by ``quantize``, saying what to write."""
    for key, replacement in REPLACED_PRECISION_KEYS.items():
        if key in settings and key not in DEFAULT_CFG_DICT and "quantize" in DEFAULT_CFG_DICT:
            raise ConfigError(
                f"{key}={settings[key]}: Ultralytics {ultralytics_version()} sets the precision with quantize=; write "
                f"{replacement} instead (quantize=16 exports FP16 TorchScript on a GPU only: add device=0, or use "
                "format=onnx)"
            )


def ultralytics_version() -> str:
    """Return the installed Ultralytics' version."""
    from ultralytics import __version__

    return __version__
