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
- IoU-balanced losses (Wu et al., eq. 3-7; keys ``iou_cls_eta``, ``iou_loc_lambda``, ``iou_loc_norm``): the
  localisation weights live in :class:`AlphaBboxLoss`; the classification weights wrap the criterion's own assigner
  and BCE (:class:`IoUBalancedClassification`), so the assignment and the loss body stay upstream's. Off (0), nothing
  is installed and the criterion is exactly the one above.
- Loss state (Wise-IoU v3's running mean of 1 − IoU) is a buffer of :class:`AlphaBboxLoss`, updated in training
  only, averaged over DDP ranks, shared with the EMA model's criterion, and carried across resume in the
  checkpoints' ``train_args`` (key ``wiou_mean``), because Ultralytics saves no criterion.
- Checkpoints hold only stock classes: Ultralytics strips ``criterion`` before saving, the model stays a stock
  ``DetectionModel``, and ``train_args`` is a plain dict — so stock ``YOLO("best.pt")`` loads them.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from ultralytics.cfg import DEFAULT_CFG_DICT, cfg2dict
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import DEFAULT_CFG, RANK, USER_CONFIG_DIR, YAML, IterableSimpleNamespace
from ultralytics.utils.loss import BboxLoss, v8DetectionLoss
from ultralytics.utils.patches import torch_load, torch_save
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha.config import (
    ALPHA_KEYS,
    BALANCE_KEYS,
    LOSS_KEYS,
    RECORDED_KEYS,
    ConfigError,
    check_balance_keys,
    check_noise_keys,
    default_settings,
)
from yolo_alpha.data.synthetic import synthetic_dataset
from yolo_alpha.losses import LossSpec, resolve_loss
from yolo_alpha.losses.balance import (
    LOC_NORM_EQ7,
    NO_BALANCE,
    IoUBalance,
    iou_power_weights,
    normalised_iou_weights,
    regressed_iou,
    rescaled_to_total,
)
from yolo_alpha.losses.wise_iou import IOU_MEAN_MOMENTUM, update_iou_mean
from yolo_alpha.offline import provide_fonts

# Our keys' defaults as the trainer sees them (alpha/alpha2 None = resolved per loss by resolve_loss); recorded keys
# are accepted too, because a resumed run and a DDP worker rebuild the trainer from a run's full args.
ALPHA_DEFAULTS = {**{k: default_settings().get(k) for k in ALPHA_KEYS}, **dict.fromkeys(RECORDED_KEYS)}
ULTRALYTICS_KEYS = frozenset(DEFAULT_CFG_DICT)
TRAIN_KEYS = ULTRALYTICS_KEYS | set(ALPHA_KEYS)
SYNTHETIC_NAMES = (None, "", "synthetic")


class AlphaBboxLoss(BboxLoss):
    """Ultralytics' box criterion with the IoU-family term replaced by a yolo-alpha loss (``LossSpec``).

    With ``balance.loc_lambda`` > 0 both box terms of each positive — ours and upstream's DFL / L1 — are IoU-balanced
    (eq. 5-7). A stateful loss (Wise-IoU v3) gets its running mean of 1 − IoU as the buffer ``iou_mean``: a buffer,
    not a plain attribute, so that ``state_dict``, ``.to(device)`` and the EMA model's copy carry it.
    """

    def __init__(self, reg_max: int, spec: LossSpec, balance: IoUBalance = NO_BALANCE):
        super().__init__(reg_max)
        self.spec = spec
        self.loc_lambda, self.loc_norm = balance.loc_lambda, balance.loc_norm
        state = spec.initial_state()
        if set(state) - {"iou_mean"}:  # a new stateful loss needs its state carried here, or it would silently reset
            raise ConfigError(f"loss={spec.loss!r} keeps state {sorted(state)}; the trainer carries only iou_mean")
        if "iou_mean" in state:
            self.register_buffer("iou_mean", torch.tensor(float(state["iou_mean"])))

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
        IoU-balanced (``loc_lambda`` = λ > 0), positive i's two terms are also weighted by ``w_loc · IoU_i^λ``
        (eq. 6), or by ``IoU_i^λ`` times one detached factor per term that keeps that term's total (eq. 7), IoU_i
        being its regressed box's IoU with its target box, detached (no gradient through the weight, section 3.3).
        """

        def dfl_term(scores: torch.Tensor) -> torch.Tensor:
            # Upstream computes the DFL/L1 term (kept verbatim by calling it) plus a stock CIoU term that we discard:
            # on the ~10³ foreground pairs of a batch that costs microseconds, and it spares a copy of the DFL code.
            # Each positive's DFL weight is its row sum of `scores`, so scaling a row scales that positive's term.
            args = (pred_dist, pred_bboxes, anchor_points, target_bboxes, scores, target_scores_sum, fg_mask, *rest)
            return BboxLoss.forward(self, *args)[1]

        fg = fg_mask.nonzero(as_tuple=True)
        pred_fg, target_fg = pred_bboxes[fg], target_bboxes[fg]
        weight = target_scores[fg].sum(-1)  # task-aligned weight of each positive, as upstream
        iou = regressed_iou(pred_fg, target_fg) if self.loc_lambda > 0 or hasattr(self, "iou_mean") else None
        if hasattr(self, "iou_mean"):
            if pred_bboxes.requires_grad:  # a training step: validation runs under inference mode, without grad
                self.update_iou_mean(1 - iou)
            per_box = self.spec(pred_fg, target_fg, iou_mean=self.iou_mean)
        else:
            per_box = self.spec(pred_fg, target_fg)
        if self.loc_lambda == 0:
            return (per_box * weight).sum() / target_scores_sum, dfl_term(target_scores)

        balance = iou_power_weights(iou, self.loc_lambda)
        row_scale = torch.ones(fg_mask.shape, dtype=target_scores.dtype, device=target_scores.device)
        row_scale[fg] = balance.to(target_scores.dtype)
        loss_box = (per_box * weight * balance).sum() / target_scores_sum
        loss_dfl = dfl_term(target_scores * row_scale.unsqueeze(-1))
        if self.loc_norm == LOC_NORM_EQ7:  # each term's positives keep their unweighted total, value not gradient
            stock_box = (per_box * weight).sum() / target_scores_sum
            return rescaled_to_total(loss_box, stock_box), rescaled_to_total(loss_dfl, dfl_term(target_scores))
        return self.loc_norm * loss_box, self.loc_norm * loss_dfl

    @torch.no_grad()
    def update_iou_mean(self, iou_loss: torch.Tensor) -> None:
        """Move ``iou_mean`` one EMA step towards the mean of ``iou_loss`` (1 − IoU of the positives) over all ranks.

        Called once per training batch. A batch without positives on any rank leaves the mean unchanged.
        """
        batch_mean, count = mean_over_ranks(iou_loss)
        stepped = update_iou_mean(self.iou_mean, batch_mean.reshape(1), IOU_MEAN_MOMENTUM)
        self.iou_mean.copy_(torch.where(count > 0, stepped, self.iou_mean))


def mean_over_ranks(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (mean, count) of ``values`` pooled over every DDP rank; this process's alone without torch.distributed.

    The sum and the count are all-reduced, rather than each rank's mean, so that every rank gets the same value
    (the mean of all positives, each rank weighing by its number of positives) and a rank without positives adds
    nothing instead of a NaN. Every rank must call this at the same point of its step, as DDP training does.
    """
    values = values.detach().float()
    stats = torch.stack((values.sum(), torch.tensor(float(values.numel()), device=values.device)))
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(stats)  # SUM
    return stats[0] / stats[1].clamp(min=1), stats[1]


class IoUBalancedClassification:
    """A criterion's own assigner and BCE, with each positive's BCE weighted by eq. (4): the IoU-balanced cls loss.

    ``assign`` runs the stock assigner, which receives the decoded, detached predicted boxes and returns the target
    boxes and the foreground mask; it keeps the IoU of each positive's box with its target. ``bce``, called next by
    the criterion, returns the stock element-wise BCE with each positive anchor's row of nc logits multiplied by
    ``w_i = IoU_i^η · Σ_j CE_j / Σ_j IoU_j^η CE_j`` (CE_i: the row's summed BCE; weights detached), so that the
    positives' total classification loss is unchanged; negatives are untouched.

    How it combines with Ultralytics' task-aligned targets: the positive's target for its class is already
    IoU-aware (t = s^0.5 · u^6, rescaled per object to the object's best IoU), like a quality score. The soft target
    says *what* score the anchor should learn; w_i says *how much* the anchor counts in the loss, so high-IoU
    positives pull their scores towards their (high) targets harder and low-IoU positives, whose targets are low
    anyway, matter less: the paper's intent, correlating score with localisation, on top of upstream's.
    Class weights (``class_weights``), when a trainer sets them, multiply the result afterwards, as upstream.
    """

    def __init__(self, assigner: Any, bce: Any, eta: float):
        self.stock_assigner, self.stock_bce, self.eta = assigner, bce, eta
        self.positives: tuple[torch.Tensor, torch.Tensor] | None = None  # (fg_mask, IoU) of the last assignment

    def assign(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, *args, **kwargs):
        """Return the stock assigner's result; keep the foreground mask and each positive's regressed IoU."""
        assigned = self.stock_assigner(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, *args, **kwargs)
        target_bboxes, fg_mask = assigned[1], assigned[3]  # (labels, bboxes, scores, fg_mask, gt_idx) in 8.3 and 8.4
        self.positives = fg_mask, regressed_iou(pd_bboxes[fg_mask], target_bboxes[fg_mask])
        return assigned

    def bce(self, pred_scores: torch.Tensor, target_scores: torch.Tensor) -> torch.Tensor:
        """Return the element-wise BCE ``(b, anchors, nc)`` with the positives' rows IoU-balanced (eq. 3-4)."""
        loss = self.stock_bce(pred_scores, target_scores)
        if self.positives is None or self.positives[0].shape != loss.shape[:2]:
            raise RuntimeError(
                "IoU-balanced classification (iou_cls_eta) expects the criterion to call its assigner, then its BCE, "
                "on the same anchors; this Ultralytics version does not: set iou_cls_eta=0"
            )
        (fg_mask, iou), self.positives = self.positives, None  # used once: a stale mask must never be reused
        # w_i scales how much a positive's row counts; the row's targets stay upstream's IoU-aware soft scores.
        row_weight = torch.ones(fg_mask.shape, dtype=loss.dtype, device=loss.device)
        row_weight[fg_mask] = normalised_iou_weights(iou, loss[fg_mask].sum(-1), self.eta).to(loss.dtype)
        return loss * row_weight.unsqueeze(-1)


def detection_branches(criterion: Any) -> tuple:
    """Return the v8DetectionLoss objects inside a criterion: itself, or both branches of an end-to-end loss."""
    # End-to-end heads (YOLO26's E2ELoss in 8.4, YOLOv10's E2EDetectLoss in 8.3) hold one2many and one2one.
    return (criterion.one2many, criterion.one2one) if hasattr(criterion, "one2one") else (criterion,)


def install_box_loss(criterion: Any, spec: LossSpec, balance: IoUBalance = NO_BALANCE) -> Any:
    """Return `criterion` (a stock v8DetectionLoss or end-to-end loss) with its box term set to `spec`, in place.

    ``balance`` adds the IoU-balanced losses; with η = 0 the assigner and BCE stay the stock objects. Installing
    again (on resume) first takes back a previous install's stock assigner and BCE, so nothing is wrapped twice.
    """
    branches = detection_branches(criterion)
    for branch in branches:
        if type(branch) is not v8DetectionLoss:
            raise ConfigError(
                f"yolo-alpha trains detection models; this model's criterion is {type(branch).__name__} "
                "(segment/pose/obb/classify/RT-DETR heads are not supported)"
            )
        branch.bbox_loss = AlphaBboxLoss(branch.reg_max, spec, balance).to(branch.device)
        previous = getattr(branch.assigner, "__self__", None)
        if isinstance(previous, IoUBalancedClassification):
            branch.assigner, branch.bce = previous.stock_assigner, previous.stock_bce
        if balance.cls_eta > 0:
            # Bound methods of one object: the criterion calls self.assigner(...) then self.bce(...), as upstream.
            cls_balance = IoUBalancedClassification(branch.assigner, branch.bce, balance.cls_eta)
            branch.assigner, branch.bce = cls_balance.assign, cls_balance.bce
    return criterion


def install_criterion(model: torch.nn.Module, spec: LossSpec, balance: IoUBalance = NO_BALANCE) -> Any:
    """Return the criterion now set on `model`: the model's own stock criterion with our box term (and balance)."""
    model = unwrap_model(model)
    model.criterion = install_box_loss(model.init_criterion(), spec, balance)
    return model.criterion


def wiou_means(criterion: Any) -> list[float] | None:
    """Return the Wise-IoU v3 running mean of each detection branch, or None for a stateless loss."""
    losses = [branch.bbox_loss for branch in detection_branches(criterion)]
    return [float(loss.iou_mean) for loss in losses] if all(hasattr(loss, "iou_mean") for loss in losses) else None


def restore_wiou_means(criterion: Any, means: list[float] | None) -> None:
    """Set each detection branch's Wise-IoU v3 running mean from ``means`` (as :func:`wiou_means` returned them)."""
    branches = detection_branches(criterion)
    if means is None or not all(hasattr(branch.bbox_loss, "iou_mean") for branch in branches):
        return
    if len(means) != len(branches):
        raise ConfigError(f"wiou_mean={means!r} holds {len(means)} running means; this model has {len(branches)}")
    for branch, mean in zip(branches, means):
        branch.bbox_loss.iou_mean.fill_(float(mean))


def share_loss_state(criterion: Any, ema_criterion: Any) -> None:
    """Make the EMA model's criterion use the training criterion's loss-state buffers (same tensors, not copies)."""
    for branch, ema_branch in zip(detection_branches(criterion), detection_branches(ema_criterion)):
        if hasattr(branch.bbox_loss, "iou_mean") and hasattr(ema_branch.bbox_loss, "iou_mean"):
            ema_branch.bbox_loss.iou_mean = branch.bbox_loss.iou_mean  # updated in place, so both see each step


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
            overrides.update(zip(BALANCE_KEYS, check_balance_keys(overrides)))
        provide_fonts(USER_CONFIG_DIR)
        # Our keys join the base cfg so that Ultralytics' key check accepts them; the DDP worker passes
        # DEFAULT_CFG_DICT here, so they are added whatever `cfg` is.
        super().__init__(cfg={**ALPHA_DEFAULTS, **cfg2dict(cfg)}, overrides=overrides, _callbacks=_callbacks)
        self.loss_spec = loss_spec_from(vars(self.args))  # after resume: what the checkpoint's run used
        self.balance = IoUBalance(*check_balance_keys(vars(self.args)))
        if self.device.type == "cpu":
            # Upstream keeps one core free for loader workers (cpu_count − 1 threads) yet trains on the CPU with
            # workers=0, so on a 2-core machine half the CPU idles; all cores (at most 8, as upstream) are faster.
            # YOLO_ALPHA_THREADS overrides it: a parallel sweep's workers share the cores (cores / workers each).
            torch.set_num_threads(cpu_threads())

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
        install_criterion(self.model, self.loss_spec, self.balance)

    def resume_training(self, ckpt):
        """Resume as upstream, then complete the criterion: our box term, its saved state, its state shared with EMA.

        Upstream calls this once per run, resumed or not, after the EMA copy is taken: the point where both
        criteria are final. On resume upstream rebuilds a stock end-to-end criterion, and no criterion keeps the
        Wise-IoU v3 running means (checkpoints hold none): they come back from the run's args (``wiou_mean``).
        """
        super().resume_training(ckpt)
        criterion = getattr(unwrap_model(self.model), "criterion", None)
        if criterion is None:
            return
        if ckpt is not None and self.resume:
            install_box_loss(criterion, self.loss_spec, self.balance)  # keeps the o2m/o2o schedule just restored
            restore_wiou_means(criterion, getattr(self.args, "wiou_mean", None))
        ema_criterion = getattr(self.ema.ema, "criterion", None) if self.ema else None
        if ema_criterion is not None:
            share_loss_state(criterion, ema_criterion)

    def save_model(self):
        """Save as upstream, with the Wise-IoU v3 running means in ``train_args`` (key ``wiou_mean``) for resume."""
        criterion = getattr(unwrap_model(self.model), "criterion", None)
        self.args.wiou_mean = wiou_means(criterion) if criterion is not None else None
        return super().save_model()

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


def cpu_threads() -> int:
    """Return the CPU threads a training uses: $YOLO_ALPHA_THREADS if set, else every core up to 8."""
    value = os.environ.get("YOLO_ALPHA_THREADS", "").strip()
    if not value:
        return min(8, os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"environment variable YOLO_ALPHA_THREADS must be a whole number >= 1, got {value!r}")
    return int(value)


def record_settings(checkpoint, settings: dict[str, Any]) -> None:
    """Add our settings to a checkpoint's train_args (plain values only, so stock Ultralytics still loads it)."""
    ckpt = torch_load(checkpoint, map_location="cpu")
    ckpt["train_args"] = {**ckpt.get("train_args", {}), **settings}
    torch_save(ckpt, checkpoint)
