"""``DetectionTrainer`` → :class:`AlphaDetectionTrainer`: Ultralytics' trainer with our keys, criterion and records.

It accepts our keys on every path that builds a trainer (CLI / Python, resume, the DDP worker file, which rebuilds the
trainer from ``DEFAULT_CFG_DICT`` plus the run's overrides), builds the typed :class:`~yolo_alpha.settings.Settings`
once from its args, hands the validator Ultralytics-only args, installs the criterion on the model before the EMA copy
is taken, re-installs it after an end-to-end resume, and writes the resolved settings back into the final
checkpoints' ``train_args`` (``strip_optimizer`` drops keys it does not know). Checkpoints hold only stock classes:
Ultralytics strips ``criterion`` before saving and the model stays a stock ``DetectionModel``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from ultralytics.cfg import cfg2dict
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import DEFAULT_CFG, LOGGER, RANK, YAML, IterableSimpleNamespace
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha.data.named_sets import is_named, resolve_data
from yolo_alpha.errors import ConfigError
from yolo_alpha.losses.schedule import spec_at_epoch
from yolo_alpha.model_families import ANCHOR_FAMILY
from yolo_alpha.settings import KEYS, THREADS_ENV, AnchorSettings, Settings, defaults, from_flat
from yolo_alpha.ultralytics.anchor_loss import LOSS_NAMES as ANCHOR_LOSS_NAMES
from yolo_alpha.ultralytics.anchor_loss import AnchorComputeLoss, check_class_loss
from yolo_alpha.ultralytics.anchor_model import AnchorDetectionModel, is_anchor_yaml
from yolo_alpha.ultralytics.cfg import check_dataset, provide_offline_fonts
from yolo_alpha.ultralytics.checkpoints import record_settings, resume_run_dir
from yolo_alpha.ultralytics.criterion import install_box_loss, install_criterion, set_box_spec
from yolo_alpha.ultralytics.datasets_dir import use_datasets_dir
from yolo_alpha.ultralytics.diagnostics import BoxDiagnostics, append_row
from yolo_alpha.ultralytics.families import YOLOV5_BOX_GAIN, model_family
from yolo_alpha.ultralytics.loss_state import box_terms, loss_state, restore_loss_state, share_loss_state
from yolo_alpha.ultralytics.preflight import run_project


def ultralytics_args(args: Any) -> dict[str, Any]:
    """Return the trainer's args without our keys: Ultralytics' validator re-checks them against its own."""
    return {k: v for k, v in vars(args).items() if k not in KEYS}


class AlphaDetectionTrainer(DetectionTrainer):
    """DetectionTrainer whose box loss (and IoU-balanced losses, noisy boxes) come from yolo-alpha's keys.

    ``self.settings`` is the run's :class:`~yolo_alpha.settings.Settings`: built from the given overrides for a new
    run (before Ultralytics creates the run folder, so a bad value creates nothing), from the checkpoint's args on
    resume.
    """

    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """Return the run's settings; on resume built once from the checkpoint's args (upstream restores them first)."""
        if self._settings is None:
            self._settings = from_flat(vars(self.args))
        return self._settings

    def __init__(self, cfg=DEFAULT_CFG, overrides: dict[str, Any] | None = None, _callbacks=None):
        overrides = dict(overrides or {})
        data_name = None
        if not overrides.get("resume"):  # a resumed run takes data, loss and folder from its checkpoint
            if is_named(overrides.get("data")):
                # recorded by its name too, so that `yolo-alpha val` without data= finds it on any machine
                data_name = str(overrides.get("data") or "synthetic")
                overrides["data"] = resolve_data(overrides.get("data"))
            family = model_family(overrides.get("model"))
            # fail fast, then record the resolved values; epochs as given (cfg's default is checked by run.train)
            self._settings = from_flat(overrides, family, epochs=overrides.get("epochs"))
            check_before_run(self._settings, family, overrides)
            overrides.update(self._settings.flat())
            overrides["project"] = run_project(overrides.get("project"))
            if family == ANCHOR_FAMILY:
                overrides.setdefault("box", YOLOV5_BOX_GAIN)  # YOLOv5's hyp; a box the user gives wins
        provide_offline_fonts()
        # Our keys join the base cfg so that Ultralytics' key check accepts them; the DDP worker passes
        # DEFAULT_CFG_DICT here, so they are added whatever `cfg` is.
        super().__init__(cfg={**defaults(), **cfg2dict(cfg)}, overrides=overrides, _callbacks=_callbacks)
        self.data_name = data_name
        # First in line, so that every other epoch-start callback already sees this epoch's α.
        self.callbacks["on_train_epoch_start"].insert(0, apply_alpha_schedule)
        if self.settings.diagnostics:
            self.add_callback("on_train_epoch_start", start_diagnostics)
            self.add_callback("on_train_epoch_end", write_diagnostics)
        if self.device.type == "cpu":
            # Upstream keeps one core free for loader workers (cpu_count − 1 threads) yet trains on the CPU with
            # workers=0, so on a 2-core machine half the CPU idles; all cores (at most 8, as upstream) are faster.
            # YOLO_ALPHA_THREADS overrides it: a parallel sweep's workers share the cores (cores / workers each).
            torch.set_num_threads(cpu_threads())

    def check_resume(self, overrides):
        """Resume as upstream, but in the folder that holds the weights (``<run>/weights/last.pt`` → ``<run>``).

        Upstream takes ``save_dir`` from the checkpoint's args, so a copied last.pt would write into the run it was
        copied from. Set here, after upstream restored the args and before it derives ``save_dir`` from them, it
        holds on every Ultralytics version (8.4.0 and older do not let a resume override ``save_dir``).
        """
        super().check_resume(overrides)
        if self.args.resume and Path(str(self.args.resume)).is_file():
            self.args.save_dir = str(resume_run_dir(self.args.resume))

    def get_dataset(self):
        """Return upstream's data dict; with noise_eta > 0 its train split is the noisy view (val stays clean)."""
        with use_datasets_dir():  # named sets (VOC.yaml, …) under yolo-alpha's cache, not beside the install
            data = super().get_dataset()
        noise = self.settings.noise
        if noise.eta > 0:
            from yolo_alpha.ultralytics.dataset import noisy_train_data

            noisy = noisy_train_data(data, noise.eta, noise.seed, single_cls=bool(self.args.single_cls))
            data["train"] = str(noisy.image_list)  # symlinked images + noisy label files; the user's files untouched
            self.args.noise_mean_iou = noisy.mean_iou
            if RANK in {-1, 0}:  # upstream saved args.yaml before the data set was known: add the measured noise
                YAML.save(self.save_dir / "args.yaml", vars(self.args))
        return data

    def get_model(self, cfg=None, weights=None, verbose=True):
        """Return the model to train: the anchor family's for its YAMLs, else upstream's (a stock DetectionModel)."""
        if not is_anchor_yaml(cfg):
            return super().get_model(cfg=cfg, weights=weights, verbose=verbose)
        model = AnchorDetectionModel(cfg, nc=self.data["nc"], ch=self.data["channels"], verbose=verbose and RANK == -1)
        name_for_load = getattr(self, "set_model_names_for_load", None)  # 8.4: class names kept for weights loading
        model = name_for_load(model) if name_for_load else model
        if weights:
            model.load(weights)
        return model

    def set_model_attributes(self):
        """Set nc/names/args as upstream, then put our criterion on the model before the EMA copies it."""
        super().set_model_attributes()
        settings, model = self.settings, unwrap_model(self.model)
        if isinstance(model, AnchorDetectionModel):
            obj_target = (settings.anchor or AnchorSettings()).obj_target
            model.criterion = AnchorComputeLoss(model, settings.loss, settings.balance, obj_target=obj_target)
        else:
            install_criterion(self.model, settings.loss, settings.balance)
        if getattr(self.args, "channels_last", False) is True and torch.device(self.device).type == "cpu":
            # Upstream converts CUDA models only; NHWC convolutions train 15-20 % faster per step on the 2-core CPU
            # (issue 18, docs/performance.md). Done before the EMA copy and the optimiser; checkpoints save NCHW.
            self.model.to(memory_format=torch.channels_last)

    def resume_training(self, ckpt):
        """Resume as upstream, then complete the criterion: our box term, its saved state, its state shared with EMA.

        Upstream calls this once per run, resumed or not, after the EMA copy is taken: the point where both
        criteria are final. On resume upstream rebuilds a stock end-to-end criterion, and no criterion keeps the
        loss state (checkpoints hold none): it comes back from the run's args (:data:`~.loss_state.STATE_ARGS`).
        """
        super().resume_training(ckpt)
        criterion = getattr(unwrap_model(self.model), "criterion", None)
        if criterion is None:
            return
        if ckpt is not None and self.resume:
            if not isinstance(unwrap_model(self.model), AnchorDetectionModel):  # ours was built with the model
                install_box_loss(criterion, self.settings.loss, self.settings.balance)  # keeps the o2m/o2o schedule
            restore_loss_state(criterion, vars(self.args))
        ema_criterion = getattr(self.ema.ema, "criterion", None) if self.ema else None
        if ema_criterion is not None:
            share_loss_state(criterion, ema_criterion)

    def save_model(self):
        """Save as upstream, with the loss state in ``train_args`` (e.g. ``wiou_mean``) for resume."""
        criterion = getattr(unwrap_model(self.model), "criterion", None)
        for key, value in (loss_state(criterion) if criterion is not None else {}).items():
            setattr(self.args, key, value)
        return super().save_model()

    def get_validator(self):
        """Return upstream's validator, built while self.args holds only Ultralytics' keys (it re-checks them)."""
        args, self.args = self.args, IterableSimpleNamespace(**ultralytics_args(self.args))
        try:
            validator = super().get_validator()  # upstream's, so version-specific setup (8.3 sets loss_names) is kept
        finally:
            self.args = args
        if isinstance(unwrap_model(self.model), AnchorDetectionModel):
            self.loss_names = ANCHOR_LOSS_NAMES  # YOLOv5's three terms: box, objectness, class
        return validator

    def train(self):
        """Train as upstream, with named data sets under yolo-alpha's cache (its final validation checks them again)."""
        with use_datasets_dir():
            return super().train()

    def final_eval(self):
        """Finish as upstream, then write our settings back into last.pt/best.pt train_args."""
        super().final_eval()
        if RANK in {-1, 0}:
            ours = {k: getattr(self.args, k, None) for k in KEYS}
            if self.data_name:
                ours["data_name"] = self.data_name
            for f in (self.last, self.best):
                if f.exists():
                    record_settings(f, ours)


def apply_alpha_schedule(trainer: AlphaDetectionTrainer) -> None:
    """Set the box term of the model's and the EMA's criterion to this epoch's α (``alpha_warmup``; no-op when 0).

    Computed from the epoch alone, so a resumed run continues the schedule where it stopped.
    """
    warmup = trainer.settings.alpha_warmup
    if not warmup:
        return
    spec = spec_at_epoch(trainer.settings.loss, trainer.epoch, warmup)
    for model in (unwrap_model(trainer.model), trainer.ema.ema if trainer.ema else None):
        criterion = getattr(model, "criterion", None)
        if criterion is not None:
            set_box_spec(criterion, spec)
    if RANK in {-1, 0} and trainer.epoch <= warmup:
        LOGGER.info(
            f"alpha_warmup: epoch {trainer.epoch + 1} trains {spec.loss} with α = {spec.alpha:g}, α₂ = {spec.alpha2:g}"
        )


def start_diagnostics(trainer: AlphaDetectionTrainer) -> None:
    """Give the training model's box terms a fresh recorder for this epoch (``diagnostics=True``)."""
    criterion = getattr(unwrap_model(trainer.model), "criterion", None)
    for box_term in box_terms(criterion) if criterion is not None else ():
        box_term.diagnostics = BoxDiagnostics()


def write_diagnostics(trainer: AlphaDetectionTrainer) -> None:
    """Append this epoch's recorded row to ``<run>/diagnostics.csv`` (first branch's: the one2many of end-to-end)."""
    criterion = getattr(unwrap_model(trainer.model), "criterion", None)
    recorders = [t.diagnostics for t in box_terms(criterion) if t.diagnostics is not None] if criterion else []
    if recorders and RANK in {-1, 0}:
        append_row(trainer.save_dir, recorders[0].row(trainer.epoch + 1))


def check_before_run(settings: Settings, family: str, keys: dict[str, Any], data: dict[str, Any] | None = None) -> None:
    """Raise ConfigError for what upstream would find only once the run folder exists.

    ``$YOLO_ALPHA_THREADS`` (read by the trainer on the CPU), and ``iou_cls_eta`` on a one-class anchor model
    (``single_cls=True`` or a one-class data set: YOLOv5 has no class loss to weight). Called by the trainer before
    upstream creates the run folder, on every path that builds one (CLI, Python API, sweeps, DDP workers); the data
    set is read only for that last check, unless ``data`` gives its dict.
    """
    cpu_threads()
    eta = settings.balance.cls_eta
    if family != ANCHOR_FAMILY or eta <= 0:
        return
    if keys.get("single_cls"):
        check_class_loss(eta, 1, "single_cls=True makes the model one class")
        return
    if data is None:
        named = keys.get("data")
        data = check_dataset(resolve_data(named))
    check_class_loss(eta, int(data["nc"]), f"data={keys.get('data')} has one class")


def cpu_threads() -> int:
    """Return the CPU threads a training uses: $YOLO_ALPHA_THREADS if set, else every core up to 8."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return min(8, os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"environment variable {THREADS_ENV} must be a whole number >= 1, got {value!r}")
    return int(value)
