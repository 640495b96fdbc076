"""The one place that adapts Ultralytics internals: box-loss criterion, trainer, and the extra cfg keys.

If Ultralytics changes, this file changes. What it touches, and why:

- ``BboxLoss`` → :class:`AlphaBboxLoss`: only the IoU-family term is ours; the DFL / L1 term, the task-aligned
  weights and the normalisation stay upstream's. It is installed into the model's stock criterion
  (``v8DetectionLoss``, or both branches of the end-to-end loss of YOLO26/YOLOv10-style heads) via
  ``model.criterion``. Label assignment keeps Ultralytics' own CIoU-scored task-aligned assigner: ``bbox_iou`` is
  never patched.
- ``DetectionTrainer`` → :class:`AlphaDetectionTrainer`: accepts our keys on every path that rebuilds a trainer
  (CLI / Python, resume, the DDP worker file), hands the validator Ultralytics-only args, installs the criterion on
  the model before the EMA copy is taken, re-installs it after an end-to-end resume, and writes the resolved loss
  settings back into the final checkpoints' ``train_args`` (``strip_optimizer`` drops keys it does not know).
- Checkpoints hold only stock classes: Ultralytics strips ``criterion`` before saving, the model stays a stock
  ``DetectionModel``, and ``train_args`` is a plain dict — so stock ``YOLO("best.pt")`` loads them.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from ultralytics.cfg import DEFAULT_CFG_DICT, cfg2dict
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import DEFAULT_CFG, RANK, USER_CONFIG_DIR, YAML, IterableSimpleNamespace
from ultralytics.utils.loss import BboxLoss, v8DetectionLoss
from ultralytics.utils.patches import torch_load, torch_save
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha.config import (
    ALPHA_KEYS,
    LOSS_KEYS,
    RECORDED_KEYS,
    ConfigError,
    check_noise_keys,
    default_settings,
)
from yolo_alpha.data.synthetic import synthetic_dataset
from yolo_alpha.losses import LossSpec, resolve_loss
from yolo_alpha.offline import provide_fonts

# Our keys' defaults as the trainer sees them (alpha/alpha2 None = resolved per loss by resolve_loss); recorded keys
# are accepted too, because a resumed run and a DDP worker rebuild the trainer from a run's full args.
ALPHA_DEFAULTS = {**{k: default_settings().get(k) for k in ALPHA_KEYS}, **dict.fromkeys(RECORDED_KEYS)}
ULTRALYTICS_KEYS = frozenset(DEFAULT_CFG_DICT)
TRAIN_KEYS = ULTRALYTICS_KEYS | set(ALPHA_KEYS)
SYNTHETIC_NAMES = (None, "", "synthetic")


class AlphaBboxLoss(BboxLoss):
    """Ultralytics' box criterion with the IoU-family term replaced by a yolo-alpha loss (``LossSpec``)."""

    def __init__(self, reg_max: int, spec: LossSpec):
        super().__init__(reg_max)
        self.spec = spec

    def forward(
        self,
        pred_dist: torch.Tensor,
        pred_bboxes: torch.Tensor,
        anchor_points: torch.Tensor,
        target_bboxes: torch.Tensor,
        target_scores: torch.Tensor,
        target_scores_sum: torch.Tensor,
        fg_mask: torch.Tensor,
        *rest: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (box loss, DFL or L1 loss), each a weighted sum over foreground anchors / target_scores_sum.

        ``rest`` is what this Ultralytics version passes beyond the first seven arguments (8.4: imgsz, stride).
        """
        # Upstream computes the DFL/L1 term (kept verbatim by calling it) plus a stock CIoU term that we discard:
        # on the ~10³ foreground pairs of a batch that costs microseconds, and it spares us a copy of the DFL code.
        _, loss_dfl = super().forward(
            pred_dist, pred_bboxes, anchor_points, target_bboxes, target_scores, target_scores_sum, fg_mask, *rest
        )
        fg = fg_mask.nonzero(as_tuple=True)
        weight = target_scores[fg].sum(-1)  # task-aligned weight of each positive, as upstream
        per_box = self.spec(pred_bboxes[fg], target_bboxes[fg])
        return (per_box * weight).sum() / target_scores_sum, loss_dfl


def detection_branches(criterion: Any) -> tuple:
    """Return the v8DetectionLoss objects inside a criterion: itself, or both branches of an end-to-end loss."""
    # End-to-end heads (YOLO26's E2ELoss in 8.4, YOLOv10's E2EDetectLoss in 8.3) hold one2many and one2one.
    return (criterion.one2many, criterion.one2one) if hasattr(criterion, "one2one") else (criterion,)


def install_box_loss(criterion: Any, spec: LossSpec) -> Any:
    """Return `criterion` (a stock v8DetectionLoss or end-to-end loss) with its box term set to `spec`, in place."""
    branches = detection_branches(criterion)
    for branch in branches:
        if type(branch) is not v8DetectionLoss:
            raise ConfigError(
                f"yolo-alpha trains detection models; this model's criterion is {type(branch).__name__} "
                "(segment/pose/obb/classify/RT-DETR heads are not supported)"
            )
        branch.bbox_loss = AlphaBboxLoss(branch.reg_max, spec).to(branch.device)
    return criterion


def install_criterion(model: torch.nn.Module, spec: LossSpec) -> Any:
    """Return the criterion now set on `model`: the model's own stock criterion with our box term."""
    model = unwrap_model(model)
    model.criterion = install_box_loss(model.init_criterion(), spec)
    return model.criterion


def loss_spec_from(settings: dict[str, Any]) -> LossSpec:
    """Return the validated loss settings of a flat settings dict (missing keys take cfg/default.yaml's)."""
    return resolve_loss(**{k: settings.get(k, ALPHA_DEFAULTS[k]) for k in LOSS_KEYS})


def ultralytics_args(args: Any) -> dict[str, Any]:
    """Return the trainer's args without our keys: Ultralytics' validator re-checks them against its own."""
    return {k: v for k, v in vars(args).items() if k not in ALPHA_DEFAULTS}


class AlphaDetectionTrainer(DetectionTrainer):
    """DetectionTrainer whose box loss is chosen by the keys loss, alpha, alpha2, iou_term."""

    def __init__(self, cfg=DEFAULT_CFG, overrides: dict[str, Any] | None = None, _callbacks=None):
        overrides = dict(overrides or {})
        if not overrides.get("resume"):  # a resumed run takes data and loss from its checkpoint
            if overrides.get("data") in SYNTHETIC_NAMES:
                overrides["data"] = str(synthetic_dataset())
            overrides.update(loss_spec_from(overrides).as_dict())  # fail fast, and record resolved values
            check_noise_keys(overrides)
        provide_fonts(USER_CONFIG_DIR)
        # Our keys join the base cfg so that Ultralytics' key check accepts them; the DDP worker passes
        # DEFAULT_CFG_DICT here, so they are added whatever `cfg` is.
        super().__init__(cfg={**ALPHA_DEFAULTS, **cfg2dict(cfg)}, overrides=overrides, _callbacks=_callbacks)
        self.loss_spec = loss_spec_from(vars(self.args))  # after resume: what the checkpoint's run used
        if self.device.type == "cpu":
            # Upstream keeps one core free for loader workers (cpu_count − 1 threads) yet trains on the CPU with
            # workers=0, so on a 2-core machine half the CPU idles; all cores (at most 8, as upstream) are faster.
            torch.set_num_threads(min(8, os.cpu_count() or 1))

    def get_dataset(self):
        """Return upstream's data dict; with noise_eta > 0 its train split is the noisy view (val stays clean)."""
        data = super().get_dataset()
        eta, seed = check_noise_keys(vars(self.args))
        if eta > 0:
            from yolo_alpha.data.noise import list_images, noisy_train_split

            noisy = noisy_train_split(list_images(data["train"]), eta, seed)
            data["train"] = str(noisy.image_list)  # symlinked images + noisy label files; the user's files untouched
            self.args.noise_mean_iou = noisy.mean_iou
            if RANK in {-1, 0}:  # upstream saved args.yaml before the data set was known: add the measured noise
                YAML.save(self.save_dir / "args.yaml", vars(self.args))
        return data

    def set_model_attributes(self):
        """Set nc/names/args as upstream, then put our criterion on the model before the EMA copies it."""
        super().set_model_attributes()
        install_criterion(self.model, self.loss_spec)

    def resume_training(self, ckpt):
        """Resume as upstream, which rebuilds a stock end-to-end criterion; give it back our box term."""
        super().resume_training(ckpt)
        criterion = getattr(unwrap_model(self.model), "criterion", None)
        if criterion is not None:
            install_box_loss(criterion, self.loss_spec)  # keeps the o2m/o2o schedule upstream just restored

    def get_validator(self):
        """Return upstream's validator, built while self.args holds only Ultralytics' keys (it re-checks them)."""
        args, self.args = self.args, IterableSimpleNamespace(**ultralytics_args(self.args))
        try:
            return super().get_validator()  # upstream's, so version-specific setup (8.3 sets loss_names) is kept
        finally:
            self.args = args

    def final_eval(self):
        """Finish as upstream, then write our settings back into last.pt/best.pt train_args."""
        super().final_eval()
        if RANK in {-1, 0}:
            ours = {k: getattr(self.args, k, None) for k in ALPHA_DEFAULTS}
            for f in (self.last, self.best):
                if f.exists():
                    record_settings(f, ours)


def record_settings(checkpoint, settings: dict[str, Any]) -> None:
    """Add our settings to a checkpoint's train_args (plain values only, so stock Ultralytics still loads it)."""
    ckpt = torch_load(checkpoint, map_location="cpu")
    ckpt["train_args"] = {**ckpt.get("train_args", {}), **settings}
    torch_save(ckpt, checkpoint)
