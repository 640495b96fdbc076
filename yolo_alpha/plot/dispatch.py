"""``yolo-alpha plot <name> [key=value ...]``: figure name -> (module, function, keys), imported only when drawn.

Every plot function has the signature ``fn(out: Path, **keys) -> Path``: it writes ``<out>/<file>.png`` plus the CSV
of the plotted numbers and returns the PNG. The lazy import keeps ``yolo-alpha help`` and the other verbs free of
matplotlib, and lets a plot whose module needs a trained model (``iou-hist``) live in its own file.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any

from yolo_alpha.checks import did_you_mean
from yolo_alpha.errors import ConfigError
from yolo_alpha.plot.files import DEFAULT_OUT, check_out
from yolo_alpha.plot.keys import as_list


@dataclasses.dataclass(frozen=True)
class PlotEntry:
    """Where a figure is drawn and which keys it takes.

    Attributes:
        module: module holding the plot function, imported on use.
        function: name of ``fn(out: Path, **keys) -> Path`` in ``module``.
        keys: the keys the function accepts besides ``out`` (which every plot takes).
        list_keys: keys handed over as ``list[str]`` (``weights=a.pt,b.pt`` -> ``["a.pt", "b.pt"]``); the other
            values go as parsed from the command line and the function checks them.
        summary: what the figure shows, for the help text.
        key_help: its keys with their defaults, for the help text.
    """

    module: str
    function: str
    keys: tuple[str, ...]
    list_keys: tuple[str, ...] = ()
    summary: str = ""
    key_help: str = ""


PLOTS: dict[str, PlotEntry] = {
    "reweighting": PlotEntry(
        "yolo_alpha.plot.reweighting",
        "write_reweighting",
        ("alphas",),
        summary="α-IoU paper Fig. 1: 1 − IoU^α and |∂L/∂IoU| vs IoU, turning points of Property 3 marked",
        key_help="alphas=0.5,1,2,3",
    ),
    "landscape": PlotEntry(
        "yolo_alpha.plot.landscape",
        "write_landscape",
        ("losses", "extent", "steps"),
        summary="each loss as a heat map with −gradient arrows over the shift of a predicted box",
        key_help="losses=l1,iou,giou,diou,ciou,alpha_ciou,soft_iou extent=2.5 steps=41",
    ),
    "correlation": PlotEntry(
        "yolo_alpha.plot.correlation",
        "write_correlation",
        ("losses", "n", "seed"),
        summary="loss vs IoU over random box pairs, with Pearson's r and Spearman's ρ",
        key_help="losses=l1,ciou,alpha_ciou n=2000 seed=0",
    ),
    "iou-hist": PlotEntry(
        "yolo_alpha.evaluate.iou_hist",  # it runs a detector: evaluate/, below which plot/ never reaches
        "plot_iou_hist",
        ("weights", "data", "conf", "imgsz", "batch", "device"),
        list_keys=("weights",),
        summary="α-IoU paper Fig. 2: detections after NMS above IoU 0.5 … 0.9, several weights on one chart",
        key_help="weights=a.pt,b.pt data=DATA.yaml",
    ),
}
"""Figure name -> :class:`PlotEntry`; ``yolo-alpha plot <name>`` draws one."""


def plot_entry(name: str) -> PlotEntry:
    """Return the :class:`PlotEntry` of figure ``name``; ConfigError listing the figures (with a suggestion)."""
    if name in PLOTS:
        return PLOTS[name]
    hint = did_you_mean(name, PLOTS)
    raise ConfigError(f"'yolo-alpha plot {name}': no such figure. Choose one of {', '.join(PLOTS)}.{hint}")


def check_plot_keys(name: str, settings: dict[str, Any]) -> None:
    """Raise ConfigError naming the first key that figure ``name`` does not take, with the keys it does take."""
    allowed = sorted({"out", *plot_entry(name).keys})
    for key in settings:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise ConfigError(f"'{key}' is not a key of 'plot {name}'. Allowed: {', '.join(allowed)}.{hint}")


def make_plot(name: str, settings: dict[str, Any] | None = None) -> list[Path]:
    """Return the files written for figure ``name``: its PNG, then its CSV when there is one.

    Args:
        name: a key of :data:`PLOTS`.
        settings: the figure's keys (as parsed from ``key=value``); ``out`` is the output folder (default
            ``runs/plots``). Existing files are never overwritten: a taken name gets the next number.

    Raises:
        ConfigError: for an unknown figure, an unknown key, an ``out`` that is a file or cannot be created, or (from
            the plot function) a bad value.
    """
    entry = plot_entry(name)
    settings = dict(settings or {})
    check_plot_keys(name, settings)
    out = Path(str(settings.pop("out", DEFAULT_OUT)))
    check_out(out)
    for key in entry.list_keys:
        if key in settings:
            settings[key] = [str(item) for item in as_list(key, settings[key])]
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as e:
        if e.name != entry.module:
            raise  # a missing dependency inside the module is a real error, not a missing figure
        raise ConfigError(f"'yolo-alpha plot {name}' is not available: {entry.module} is not installed") from e
    function = getattr(module, entry.function)
    png = Path(function(out, **settings))
    csv = png.with_suffix(".csv")
    return [png, csv] if csv.is_file() else [png]


def plots_help() -> str:
    """Return the help of ``yolo-alpha plot``: per figure, its name and what it draws, then its keys and defaults."""
    lines = [f"  {name:<12} {entry.summary}\n  {'':<12} {entry.key_help}" for name, entry in PLOTS.items()]
    return "Figures (yolo-alpha plot NAME [key=value ...] [out=runs/plots]):\n" + "\n".join(lines)
