"""Ultralytics' settings seen from yolo-alpha: its keys beside ours, its value checks, its ``key=value`` parsing.

Also the checks that must run before Ultralytics creates a run folder (a data set that exists, weights that are
weights, an export format it has), and the local fonts that keep its data-set check off the network.
"""

from __future__ import annotations

from typing import Any

from ultralytics.cfg import DEFAULT_CFG_DICT, get_cfg, merge_equals_args, smart_value
from ultralytics.utils import USER_CONFIG_DIR
from ultralytics.utils.checks import check_yolov5u_filename
from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

from yolo_alpha import checks
from yolo_alpha.errors import ConfigError
from yolo_alpha.offline import provide_fonts
from yolo_alpha.settings import USER_KEYS
from yolo_alpha.ultralytics.datasets_dir import check_or_download

ULTRALYTICS_KEYS = frozenset(DEFAULT_CFG_DICT)
"""Every key of Ultralytics' default.yaml (train, val, predict and export keys share one namespace)."""
TRAIN_KEYS = ULTRALYTICS_KEYS | frozenset(USER_KEYS)
"""What ``yolo-alpha train`` and a sweep's cells accept: Ultralytics' keys and ours."""
# Keys whose string value must stay a string (smart_value would turn name=1 into the int 1).
_STRING_KEYS = frozenset({"name", "project", "cfg"})
# Ultralytics checks the range of most integer keys (epochs, nbs, max_det, patience) but not of these: imgsz=-5 would
# train at 32 px and record −5 in args.yaml, workers=-1 fails inside the data loader.


def is_bool_key(key: str) -> bool:
    """Return True for an Ultralytics key whose default is a bool (the ones `yolo` lets you write as a bare word).

    ``half`` and ``int8`` too, which Ultralytics 8.4 replaced by ``quantize``: a bare ``half`` is then refused by the
    key check, which says what to write instead.
    """
    return isinstance(DEFAULT_CFG_DICT.get(key), bool) or key in ("half", "int8")


def split_arguments(args: list[str]) -> list[str]:
    """Return command-line words with Ultralytics' joining of ``key = value`` and bracketed fragments applied."""
    return merge_equals_args(args)


def parse_value(key: str, text: str) -> Any:
    """Return the typed value of ``key=text`` as `yolo` types it (numbers, bools, None, lists); names stay strings."""
    return text if key in _STRING_KEYS else smart_value(text)


def check_ultralytics_values(settings: dict[str, Any]) -> None:
    """Raise ConfigError naming the first Ultralytics key with a bad value (its own checks, then the signs it skips)."""
    try:
        get_cfg(overrides=settings)  # Ultralytics' type and range checks; their messages name the key
    except (TypeError, ValueError, SyntaxError) as e:
        raise ConfigError(str(e).strip()) from e
    if "imgsz" in settings:
        check_imgsz(settings["imgsz"])
    if settings.get("batch") is not None:
        check_batch(settings["batch"])
    if settings.get("workers") is not None:
        checks.number("workers", settings["workers"], low=0, integer=True, hint="data-loader processes")


def check_imgsz(value: Any) -> None:
    """Raise ConfigError unless ``imgsz`` is a whole number of pixels > 0, or a [height, width] pair of them."""
    sizes = value if isinstance(value, (list, tuple)) else [value]
    if not 1 <= len(sizes) <= 2:
        raise ConfigError(f"imgsz must be a size in pixels or [height, width], got {value!r}")
    for size in sizes:
        checks.number("imgsz", size, low=1, integer=True, hint="pixels, e.g. imgsz=640")


def check_batch(value: Any) -> None:
    """Raise ConfigError unless ``batch`` is a batch size >= 1, -1 (AutoBatch) or a GPU-memory fraction in (0, 1)."""
    if checks.is_number(value) and (value == -1 or (0 < value < 1) or (value >= 1 and float(value).is_integer())):
        return
    raise ConfigError(
        f"batch must be an integer >= 1, -1 (AutoBatch: 60 % of GPU memory) or a fraction of GPU memory in (0, 1), "
        f"got {value!r}"
    )


def is_official_weights(name: str) -> bool:
    """Return True for a weights name Ultralytics downloads when online (yolo11n.pt, …)."""
    return name in GITHUB_ASSETS_NAMES


def check_dataset(data: str) -> dict[str, Any]:
    """Return Ultralytics' data dict of ``data`` (a YAML path or name); ConfigError naming ``data=`` otherwise.

    Named sets live in ``datasets_dir.datasets_dir()`` (the tool's cache unless the user set Ultralytics' datasets_dir).
    A known data set (VOC, COCO, …) that is missing is downloaded when online, as Ultralytics' trainer would; offline,
    the error says how to get it, and no folder is left behind (``datasets_dir.check_or_download``).
    """
    provide_offline_fonts()  # the data-set check draws nothing, but it looks for the font
    try:
        return check_or_download(str(data))
    except ConfigError:
        raise
    except Exception as e:  # upstream raises FileNotFoundError, SyntaxError, ConnectionError, RuntimeError, ...
        raise ConfigError(f"data={data}: {str(e).strip()}") from e


def export_formats() -> tuple[str, ...]:
    """Return the ``format=`` values Ultralytics' exporter takes (torchscript, onnx, …)."""
    from ultralytics.engine.exporter import export_formats as table  # imported only for export: it is large

    return tuple(table()["Argument"][1:])  # the first row is PyTorch itself


def provide_offline_fonts() -> None:
    """Put local fonts where Ultralytics looks for them, so that it downloads none (see :mod:`yolo_alpha.offline`)."""
    provide_fonts(USER_CONFIG_DIR)


def check_weights_path(path: str, key: str) -> None:
    """Raise ConfigError for a weights path that Ultralytics would rewrite before loading it.

    Its ``check_yolov5u_filename`` turns "yolov5nu.yaml" into "yolov5n.yaml" anywhere in a path that names YOLOv5
    or YOLOv3, so ``runs/yolov5nu.yaml/weights/best.pt`` would be looked for (and downloaded) as
    ``runs/yolov5n.yaml/...``.
    """
    if check_yolov5u_filename(str(path), verbose=False) != str(path):
        raise ConfigError(
            f"{key}={path}: Ultralytics reads this path as {check_yolov5u_filename(str(path), verbose=False)} (it "
            "renames 'yolov5…u.yaml' in weights paths); rename the folder, e.g. 'u.yaml' -> 'u_yaml'"
        )
