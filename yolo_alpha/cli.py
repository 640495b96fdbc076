"""The `yolo-alpha` command, shaped like Ultralytics' `yolo`: a verb, then key=value pairs."""

from __future__ import annotations

import re
import sys
from typing import Any

USAGE = """\
yolo-alpha: train Ultralytics YOLO detectors with the α-IoU family of box losses.

Usage:  yolo-alpha VERB [cfg=FILE.yaml] [key=value ...]

Verbs:
  train    train a detector; with no keys: yolov8n on the embedded synthetic set, α-CIoU with α = 3
  val      validate weights; prints AP at IoU 0.50, 0.55 … 0.95, mAP50-95 and mAP75-95
  predict  run a model on images (source=..., default: Ultralytics' sample images)
  export   export weights (format=torchscript | onnx | any Ultralytics format)
  sweep    run a grid of trainings into one resumable folder: yolo-alpha sweep cfg=cfg/sweeps/demo.yaml
             [key=value ... applied to every cell] [dry_run=True lists the cells] (rerun the same command to resume)
             [backend=local|process|ray] [workers=N cells at once] [devices=0,1 one GPU per process worker]
             [address=auto Ray cluster] [gpus_per_run=1 Ray GPUs per run] [retries=1 more tries of a failed cell]
  report   write tables and figures of a sweep folder: yolo-alpha report runs/sweeps/demo
  plot     draw a figure of the papers (PNG + CSV of its numbers, never overwriting; out=runs/plots):
             yolo-alpha plot reweighting|landscape|correlation|iou-hist [key=value ...]  (`yolo-alpha help plot`)
  data     convert a local data set to the YOLO layout (never touching the source):
             yolo-alpha data voc root=VOCdevkit_parent out=DIR    (train 07+12 trainval, val 07 test)
             yolo-alpha data coco json=instances_val2017.json images=DIR out=DIR [split=NAME]
  help     this text; `yolo-alpha help losses` lists the box losses with their formulas, `help plot` the figures

Examples:
  yolo-alpha train loss=alpha_giou alpha=2 epochs=1
  yolo-alpha train cfg=cfg/voc.yaml loss=alpha_ciou alpha=3
  yolo-alpha train resume=True model=runs/detect/train/weights/last.pt
  yolo-alpha val model=runs/detect/train/weights/best.pt
  yolo-alpha export model=runs/detect/train/weights/best.pt format=onnx

yolo-alpha's keys (defaults in cfg/default.yaml; every Ultralytics train key is accepted beside them):
  loss=alpha_ciou   box loss name (`yolo-alpha help losses`)
  alpha=null        power α of eq. (3)/(4); null = 3 for alpha_* losses, 1 for the classic ones
  alpha2=null       power α₂ of the penalty term (eq. 3); null = alpha
  iou_term=power    power: 1 − IoU^α (eq. 2) | boxcox: (1 − IoU^α)/α (eq. 1; alpha=0 gives −log IoU)
  noise_eta=0.0     η in [0, 1): train on noisy boxes (paper section 4.3); validation labels stay clean
  noise_seed=0      seed of the noisy boxes: same (data, noise_eta, noise_seed), same noisy labels
  focal_gamma=null  γ of focal_eiou's IoU^γ weight; null = 0.5
  kappa=null        κ of soft_iou's soft max/min (box units are grid cells); null = 30
  wiou_alpha=null   a of wiou's (Wise-IoU v3) focusing r = β/(δ a^(β − δ)); null = 1.9
  wiou_delta=null   δ of the same; null = 3
  iou_cls_eta=0.0   IoU-balanced classification: positives' class loss × IoU^η, total kept (eq. 3-4); paper 1.5
  iou_loc_lambda=0.0  IoU-balanced localisation: positives' box terms × IoU^λ · w_loc (eq. 5-6); paper 1.5
  iou_loc_norm=1.0  w_loc: a number > 0 (eq. 6), or eq7 (normalised: the positives' total box loss kept)
  data=synthetic    the embedded synthetic set (default), or any Ultralytics data YAML (VOC.yaml, coco.yaml, ...)
"""

VERBS = ("train", "val", "predict", "export", "sweep", "report", "data", "plot")
CONVERTERS = {"voc": {"root", "out"}, "coco": {"json", "images", "out", "split"}}  # keys each converter takes


def parse_key_values(args: list[str]) -> dict[str, Any]:
    """Return {key: value} from ['key=value', ...]; a bare word is a boolean key set to True (as `yolo`)."""
    from ultralytics.cfg import DEFAULT_CFG_DICT, merge_equals_args, smart_value

    from yolo_alpha.config import ConfigError

    settings: dict[str, Any] = {}
    for arg in merge_equals_args(args):
        key, sep, value = arg.partition("=")
        key, value = key.strip(), value.strip()
        if sep and not value:
            raise ConfigError(f"'{key}=' has no value")
        if not sep:
            if not isinstance(DEFAULT_CFG_DICT.get(key), bool):
                raise ConfigError(f"'{arg}' is not key=value (bare words are only for boolean keys, e.g. resume)")
            settings[key] = True
            continue
        settings[key] = value if key in {"name", "project", "cfg"} else smart_value(value)
    return settings


def loss_help() -> str:
    """Return one line per registered box loss: name, formula and equation, read from its docstring's first line."""
    from yolo_alpha.losses import LOSSES, list_losses

    lines = []
    for name in list_losses():
        first = (LOSSES[name].__doc__ or "").strip().splitlines()[0]
        formula = re.search(r"``(.+?)``", first)  # docstrings give the formula as ``...`` and end with (eq. N)
        equation = re.search(r"\((eq\.[^)]*)\)\.?$", first)
        lines.append(
            f"  {name:<14} {formula.group(1) if formula else first:<60} {equation.group(1) if equation else ''}"
        )
    header = "Box losses (key loss=NAME), on xyxy boxes; eq. numbers are of the α-IoU paper unless another is named:"
    return header + "\n" + "\n".join(line.rstrip() for line in lines)


def print_ap_table(table: dict[str, float]) -> None:
    """Print the per-threshold AP table the paper reports (values in percent)."""
    from yolo_alpha.metrics import format_ap_table

    print("\nAP by IoU threshold (%):")
    print(format_ap_table(table))


def convert_data(kind: str, settings: dict[str, Any]) -> str:
    """Return the data.yaml written by the `data` verb's converter `kind` (voc or coco) from its key=value settings."""
    from yolo_alpha.config import ConfigError, check_known_keys
    from yolo_alpha.data import convert

    if kind not in CONVERTERS:
        raise ConfigError(f"'yolo-alpha data {kind}': choose one of {', '.join(CONVERTERS)}")
    check_known_keys(settings, CONVERTERS[kind], f"data {kind}")
    required = CONVERTERS[kind] - {"split"}
    if missing := sorted(required - set(settings)):
        raise ConfigError(f"'yolo-alpha data {kind}' needs {' '.join(k + '=...' for k in missing)}")
    paths = {k: str(v) for k, v in settings.items()}
    try:
        if kind == "voc":
            return str(convert.convert_voc(paths["root"], paths["out"]))
        return str(convert.convert_coco(paths["json"], paths["images"], paths["out"], split=paths.get("split")))
    except ValueError as e:  # a malformed annotation file: the converter's message names it
        raise ConfigError(str(e)) from e


def run_sweep_verb(settings: dict[str, Any]) -> str:
    """Return the results file of the sweep named by cfg= (a file, or a shipped name), after running or listing it."""
    from yolo_alpha.config import ConfigError
    from yolo_alpha.sweep import load_sweep, run_sweep
    from yolo_alpha.sweep.backends import split_sweep_options

    if not settings.get("cfg"):
        raise ConfigError("sweep needs cfg=<sweep file>, e.g. cfg=cfg/sweeps/demo.yaml (see cfg/sweeps/)")
    sweep_file, dry_run = settings.pop("cfg"), settings.pop("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ConfigError(f"dry_run must be True or False, got {dry_run!r}")
    options, settings = split_sweep_options(settings)  # how the cells run, not what they compute: not train keys
    return str(run_sweep(load_sweep(sweep_file, settings), dry_run=dry_run, options=options))


def main(argv: list[str] | None = None) -> int:
    """Run the `yolo-alpha` command; return the process exit code (2 for a usage or settings error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in {"help", "-h", "--help"}:
        if argv[1:2] == ["plot"]:
            from yolo_alpha.plot import plots_help

            print(plots_help())
            return 0
        print(loss_help() if argv[1:2] == ["losses"] else USAGE)
        return 0
    verb = argv[0]
    if verb not in VERBS:
        print(f"yolo-alpha: error: unknown verb '{verb}'; choose one of {', '.join((*VERBS, 'help'))}", file=sys.stderr)
        return 2

    from yolo_alpha import run
    from yolo_alpha.config import ConfigError
    from yolo_alpha.losses import LossConfigError
    from yolo_alpha.metrics import ap_by_threshold
    from yolo_alpha.report.tables import ResultsFileError
    from yolo_alpha.sweep import SweepBusyError, SweepError
    from yolo_alpha.sweep.runner import SweepCellsFailed

    try:
        if verb == "data":
            print(convert_data(argv[1] if len(argv) > 1 else "", parse_key_values(argv[2:])))
            return 0
        if verb == "report":
            from yolo_alpha.report import write_report

            if len(argv) != 2:
                raise ConfigError("report takes one sweep folder: yolo-alpha report runs/sweeps/<name>")
            print(write_report(argv[1]))
            return 0
        if verb == "sweep":
            print(run_sweep_verb(parse_key_values(argv[1:])))
            return 0
        if verb == "plot":
            from yolo_alpha.plot import PLOTS, make_plot

            if len(argv) < 2 or "=" in argv[1]:
                names = "|".join(PLOTS)
                raise ConfigError(f"plot needs a figure name first: yolo-alpha plot {names} [key=value ...]")
            for path in make_plot(argv[1], parse_key_values(argv[2:])):
                print(path)
            return 0
        settings = parse_key_values(argv[1:])
        if verb == "val":
            _, table = run.val(**settings)
            print_ap_table(table)
        elif verb == "train":
            model = run.train(**settings)
            validator = getattr(model.trainer, "validator", None)
            if validator is not None and len(validator.metrics.box.all_ap):  # best.pt's final validation
                print_ap_table(ap_by_threshold(validator.metrics.box.all_ap))
        elif verb == "predict":
            run.predict(**settings)
        else:
            print(run.export(**settings))
    except (
        ConfigError,
        LossConfigError,
        SweepError,
        SweepBusyError,
        SweepCellsFailed,
        ResultsFileError,
        FileNotFoundError,
        FileExistsError,
    ) as e:
        print(f"yolo-alpha: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
