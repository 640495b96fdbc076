"""The `yolo-alpha` command, shaped like Ultralytics' `yolo`: a verb, then key=value pairs."""

from __future__ import annotations

import sys
from typing import Any

USAGE_TEMPLATE = """\
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
  demo     train α-IoU on the anchor-based YOLOv5n as one cell of the committed CPU study (about 2 min alone on 2
             cores) and print its AP beside the study's IoU and α-IoU seeds: yolo-alpha demo
             [study=docs/reproduction/cpu] [loss=iou|alpha_iou|diou|alpha_diou|ciou|alpha_ciou] [seed=N] [key=value ...]
  report   write tables and figures of a sweep folder: yolo-alpha report runs/sweeps/demo
  reproduce  test the α-IoU paper's claims C1-C7 in both regimes, 3 seeds (cpu_powered: the core claims, 10 seeds,
             800 val images; neon_trees: the core claims on real images, 12 seeds), into one resumable folder and
             report: yolo-alpha reproduce suite=cpu|cpu_powered|neon_trees|voc|coco [project=runs/reproduce]
             [dry_run=True lists them] [backend=… workers=… as sweep] [key=value ... applied to every training]
             (rerun to resume)
  plot     draw a figure of the papers (PNG + CSV of its numbers, never overwriting; out=runs/plots):
             yolo-alpha plot reweighting|landscape|correlation|iou-hist [key=value ...]  (`yolo-alpha help plot`)
  data     convert a local data set to the YOLO layout (never touching the source):
             yolo-alpha data voc root=DIR out=NEW_DIR [names=a,b,c|classes.txt] [val_fraction=0.2 seed=0]
               [tile=SIZE overlap=0 min_area=0.5 edge=shift|pad]
               (root holding VOCdevkit: train 07+12 trainval, val 07 test; any other folder of images + VOC XML,
               e.g. LabelImg's: a seeded val_fraction split; names: sorted from the XML files unless given;
               tile=: cut each image into SIZE-px PNG tiles, a box labelled where min_area of it lies in the tile,
               edge=pad: the last tiles run past the image, padded black, each pixel in one tile; whole source
               images in train or val)
             yolo-alpha data coco json=instances_val2017.json images=DIR out=NEW_DIR [split=NAME]
             yolo-alpha data neon-trees [out=NEW_DIR] [wheel=deepforest-2.1.0-py3-none-any.whl]
               [tile=400 overlap=0 min_area=0.5 edge=pad|shift]  (NEON tree crowns from DeepForest 2.1.0's wheel,
               pip-downloaded unless wheel= gives it; train on one Yellowstone crop, val on another and two other
               sites; without out=: into the cache that data=neon-trees[:tile=…,edge=…] trains on)
             (boxes are clipped to the image; what is dropped is printed with its count per reason)
  help     this text; `yolo-alpha help losses` lists the box losses with their formulas, `help plot` the figures

Examples:
  yolo-alpha train loss=alpha_giou alpha=2 epochs=1
  yolo-alpha train cfg=cfg/voc.yaml loss=alpha_ciou alpha=3
  yolo-alpha train model=yolov5s-anchor.yaml loss=alpha_ciou   (the paper's anchor-based YOLOv5)
  yolo-alpha train resume=True model=runs/detect/train/weights/last.pt
  yolo-alpha val model=runs/detect/train/weights/best.pt
  yolo-alpha export model=runs/detect/train/weights/best.pt format=onnx

yolo-alpha's keys (defaults in cfg/default.yaml; every Ultralytics train key is accepted beside them):
{keys}
  data=synthetic      the embedded synthetic set (default; synthetic:n_val=800 for 800 val images, the 80 among
                      them), or any Ultralytics data YAML (VOC.yaml, coco.yaml, ...)
"""

VERBS = ("train", "val", "predict", "export", "demo", "sweep", "reproduce", "report", "data", "plot")
HELP_TOPICS = ("losses", "plot")
HELP_FLAGS = ("help", "-h", "--help")


def usage() -> str:
    """Return the general help: verbs, examples, and yolo-alpha's keys from the settings table."""
    from yolo_alpha.settings import keys_help

    return USAGE_TEMPLATE.format(keys=keys_help())


def warn(message: str) -> None:
    """Print a one-line warning of the command line to stderr."""
    print(f"yolo-alpha: warning: {message}", file=sys.stderr)


TILE_KEYS = ("tile", "overlap", "min_area", "edge")
CONVERTERS = {  # keys each converter takes, and the ones it needs
    "voc": ({"root", "out", "names", "val_fraction", "seed", *TILE_KEYS}, {"root", "out"}),
    "coco": ({"json", "images", "out", "split"}, {"json", "images", "out"}),
    "neon-trees": ({"out", "wheel", *TILE_KEYS}, set()),
}


def parse_key_values(args: list[str]) -> dict[str, Any]:
    """Return {key: value} from ['key=value', ...]; a bare word is a boolean key set to True (as `yolo`).

    A key given twice keeps its last value, with a warning naming both.
    """
    from yolo_alpha.errors import ConfigError
    from yolo_alpha.ultralytics.cfg import is_bool_key, parse_value, split_arguments

    settings: dict[str, Any] = {}
    for arg in split_arguments(args):
        key, sep, value = arg.partition("=")
        key, value = key.strip(), value.strip()
        if sep and not value:
            raise ConfigError(f"'{key}=' has no value")
        if not sep:
            if not is_bool_key(key):
                raise ConfigError(f"'{arg}' is not key=value (bare words are only for boolean keys, e.g. resume)")
            parsed: Any = True
        else:
            parsed = parse_value(key, value)
        if key in settings and settings[key] != parsed:
            warn(f"{key} is given twice ({key}={settings[key]!r}, then {key}={parsed!r}): the last one is used")
        settings[key] = parsed
    return settings


def loss_help(name: str | None = None) -> str:
    """Return ``yolo-alpha help losses [NAME]``, written from the loss registry (:mod:`yolo_alpha.losses.catalogue`)."""
    from yolo_alpha.losses import resolve_loss
    from yolo_alpha.losses.catalogue import help_text

    if name is not None:
        resolve_loss(name)  # an unknown name: the registry's one-line error with the valid names
    return help_text(name)


def print_ap_table(table: dict[str, float]) -> None:
    """Print the per-threshold AP table the paper reports (values in percent)."""
    from yolo_alpha.metrics import format_ap_table

    print("\nAP by IoU threshold (%):")
    print(format_ap_table(table))


def convert_data(kind: str, settings: dict[str, Any]) -> str:
    """Return the data.yaml written by the `data` verb's converter `kind` (voc, coco, neon-trees), after printing its
    tally.

    The tally says what was kept, clipped and dropped, with a count per reason, so that no box is lost silently.
    """
    from yolo_alpha import checks
    from yolo_alpha.data import convert
    from yolo_alpha.errors import ConfigError

    if kind not in CONVERTERS:
        raise ConfigError(f"'yolo-alpha data {kind}': choose one of {', '.join(CONVERTERS)}")
    accepted, required = CONVERTERS[kind]
    checks.known_keys(settings, accepted, f"data {kind}")
    if missing := sorted(required - set(settings)):
        raise ConfigError(f"'yolo-alpha data {kind}' needs {' '.join(k + '=...' for k in missing)}")
    paths = {k: str(v) for k, v in settings.items() if k in required | {"out", "split", "wheel"}}
    tiling = {k: settings[k] for k in TILE_KEYS if k in settings}
    if kind == "voc":
        names = convert.parse_names(settings["names"]) if "names" in settings else None
        options = {k: settings[k] for k in ("val_fraction", "seed") if k in settings}
        done = convert.convert_voc(paths["root"], paths["out"], names=names, **options, **tiling)
    elif kind == "neon-trees" and "out" not in settings:
        return neon_trees_into_cache(settings.get("wheel"), tiling)
    elif kind == "neon-trees":
        done = convert.convert_neon_trees(paths["out"], wheel=paths.get("wheel"), **tiling)
    else:
        done = convert.convert_coco(paths["json"], paths["images"], paths["out"], split=paths.get("split"))
    print(f"classes ({len(done.names)}): {', '.join(done.names)}")
    print("\n".join(done.tally.lines()))
    return str(done.data_yaml)


def neon_trees_into_cache(wheel: str | None, tiling: dict[str, Any]) -> str:
    """Return the cached data.yaml that ``data=neon-trees[:…]`` with these tile keys reads, built now unless it was."""
    from yolo_alpha.data.named_sets import NEON_DEFAULTS, NEON_NAME, build_neon_trees
    from yolo_alpha.data.tiling import make_tiling

    name = NEON_NAME + (":" + ",".join(f"{k}={v}" for k, v in tiling.items()) if tiling else "")
    data_yaml, done = build_neon_trees(make_tiling(**{**NEON_DEFAULTS, **tiling}), wheel=wheel)
    if done is None:
        print(f"data={name}: already built in {data_yaml.parent} (delete that folder to build it again)")
    else:
        print(f"classes ({len(done.names)}): {', '.join(done.names)}")
        print("\n".join(done.tally.lines()))
        print(f"train on it with data={name}")
    return str(data_yaml)


def run_sweep_verb(settings: dict[str, Any]) -> str | None:
    """Return the results file of the sweep named by cfg= (a file, or a shipped name) after running it; None after
    listing it (dry_run)."""
    from yolo_alpha import checks
    from yolo_alpha.errors import ConfigError
    from yolo_alpha.sweep import load_sweep, run_sweep
    from yolo_alpha.sweep.backends import split_sweep_options

    if not settings.get("cfg"):
        raise ConfigError("sweep needs cfg=<sweep file>, e.g. cfg=cfg/sweeps/demo.yaml (see cfg/sweeps/)")
    sweep_file, dry_run = settings.pop("cfg"), checks.boolean("dry_run", settings.pop("dry_run", False))
    options, settings = split_sweep_options(settings)  # how the cells run, not what they compute: not train keys
    results = run_sweep(load_sweep(sweep_file, settings), dry_run=dry_run, options=options)
    return None if dry_run else str(results)  # a dry run writes nothing: no path to print


def run_reproduce_verb(settings: dict[str, Any]) -> str | None:
    """Return the report of the suite named by suite= after training what it lacks; None after listing it (dry_run)."""
    from yolo_alpha import checks
    from yolo_alpha.errors import ConfigError
    from yolo_alpha.suites.definitions import SUITES
    from yolo_alpha.suites.runner import reproduce
    from yolo_alpha.sweep.backends import split_sweep_options

    if "suite" not in settings:
        raise ConfigError(f"reproduce needs suite={'|'.join(SUITES)}, e.g. yolo-alpha reproduce suite=cpu")
    suite, dry_run = settings.pop("suite"), checks.boolean("dry_run", settings.pop("dry_run", False))
    project = settings.pop("project", None)
    options, settings = split_sweep_options(settings)
    report = reproduce(suite, project=project, overrides=settings, dry_run=dry_run, options=options)
    return None if dry_run else str(report)  # a dry run writes nothing: its listing says what a run would write


def print_help(topic: list[str]) -> int:
    """Print the help of ``topic`` ([] = general, ["losses"] or ["losses", NAME], ["plot"]); return the exit code (2:
    no such topic or loss)."""
    if not topic:
        print(usage())
    elif topic[0] == "losses":
        from yolo_alpha.losses import LossConfigError

        try:
            print(loss_help(topic[1] if len(topic) > 1 else None))
        except LossConfigError as error:
            print(f"yolo-alpha: error: {error}", file=sys.stderr)
            return 2
    elif topic[0] == "plot":
        from yolo_alpha.plot import plots_help

        print(plots_help())
    else:
        topics = ", ".join(f"'help {name}'" for name in HELP_TOPICS)
        print(f"yolo-alpha: error: no help topic '{topic[0]}'; 'yolo-alpha help' or one of {topics}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the `yolo-alpha` command; return the process exit code (2 for a usage or settings error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in HELP_FLAGS:
        return print_help(argv[1:3])
    verb = argv[0]
    if verb not in VERBS:
        print(f"yolo-alpha: error: unknown verb '{verb}'; choose one of {', '.join((*VERBS, 'help'))}", file=sys.stderr)
        return 2
    if any(arg in HELP_FLAGS[1:] for arg in argv[1:]):  # `yolo-alpha train --help`
        return print_help(["plot"] if verb == "plot" else [])

    from yolo_alpha import run
    from yolo_alpha.errors import ConfigError, YoloAlphaError
    from yolo_alpha.metrics import ap_by_threshold

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
        if verb in ("sweep", "reproduce"):
            run_verb = run_sweep_verb if verb == "sweep" else run_reproduce_verb
            if (written := run_verb(parse_key_values(argv[1:]))) is not None:
                print(written)
            return 0
        if verb == "demo":
            from yolo_alpha.suites.demo import DEFAULT_STUDY, demo

            settings = parse_key_values(argv[1:])
            run_dir, lines = demo(settings.pop("study", DEFAULT_STUDY), settings)
            print(f"\nAP by IoU threshold (%), pycocotools on the embedded val set; this run: {run_dir}")
            print("\n".join(lines))
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
    except (YoloAlphaError, FileNotFoundError, FileExistsError) as e:  # the converters' missing or taken paths
        print(f"yolo-alpha: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
