"""The criterion: our box term inside the model's own stock criterion, IoU-balanced classification, loss state.

- ``BboxLoss`` → :class:`AlphaBboxLoss`: only the IoU-family term is ours; the DFL / L1 term, the task-aligned
  weights and the normalisation stay upstream's. It is installed into the model's stock criterion
  (``v8DetectionLoss``, or both branches of the end-to-end loss of YOLO26/YOLOv10-style heads). Label assignment
  keeps Ultralytics' own CIoU-scored task-aligned assigner: ``bbox_iou`` is never patched.
- IoU-balanced losses (Wu et al., eq. 3-7): the localisation weights live in :class:`AlphaBboxLoss`; the
  classification weights wrap the criterion's own assigner and BCE (:class:`IoUBalancedClassification`), so the
  assignment and the loss body stay upstream's. Off (0), nothing is installed.
- Loss state (a stateful loss's inputs, :meth:`~yolo_alpha.losses.LossSpec.initial_state`; today Wise-IoU v3's running
  mean of 1 − IoU) is a buffer of :class:`AlphaBboxLoss` per state input, updated in training only, averaged over
  DDP ranks, shared with the EMA model's criterion, and carried across resume in the run's args under the recorded
  key of :data:`STATE_ARGS`, because Ultralytics saves no criterion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist
from ultralytics.utils.loss import BboxLoss, v8DetectionLoss
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha.errors import ConfigError
from yolo_alpha.losses import LossSpec
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
from yolo_alpha.ultralytics.diagnostics import BoxDiagnostics, per_box_gradient_norm

STATE_ARGS = {"iou_mean": "wiou_mean"}
"""A stateful loss's state input -> the recorded key (:mod:`yolo_alpha.settings`) that carries it in a run's args."""


class BoxTermState:
    """Mixin of an ``nn.Module`` box term: its :class:`LossSpec` and the loss's state as buffers, one per state input.

    A buffer, not a plain attribute, so that ``state_dict``, ``.to(device)`` and the EMA model's copy carry it. Every
    box term of ours (:class:`AlphaBboxLoss`; the anchor family's) mixes this in, so that the trainer saves, restores
    and shares its state the same way (:func:`loss_state`, :func:`restore_loss_state`, :func:`share_loss_state`).
    """

    spec: LossSpec

    def init_state(self, spec: LossSpec) -> None:
        """Set ``spec`` and register its state inputs as buffers at their initial values (call after Module init)."""
        self.spec = spec
        state = spec.initial_state()
        if set(state) - set(STATE_ARGS):  # a new stateful loss needs its state carried in the args, or it would reset
            raise ConfigError(
                f"loss={spec.loss!r} keeps state {sorted(state)}; the trainer carries only {sorted(STATE_ARGS)}"
            )
        for name, value in state.items():
            self.register_buffer(name, torch.tensor(float(value)))

    def state(self) -> dict[str, torch.Tensor]:
        """Return the loss's state buffers by state input name ({} for a stateless loss)."""
        return {name: getattr(self, name) for name in self.spec.initial_state()}

    diagnostics: BoxDiagnostics | None = None  # set by the trainer with diagnostics=True (training model only)

    def per_box_loss(
        self, pred: torch.Tensor, target: torch.Tensor, iou: torch.Tensor | None, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Return the ``(N,)`` loss of aligned xyxy positives; a stateful loss first steps its state (training only).

        ``iou`` is each pair's detached IoU (:func:`~yolo_alpha.losses.balance.regressed_iou`), needed only by a
        stateful loss. Validation runs under inference mode, without grad, and leaves the state as it is. With a
        ``diagnostics`` recorder, a training batch's positives are recorded with their box-term ``weight``.
        """
        if not self.spec.stateful:
            loss = self.spec(pred, target)
        else:
            if pred.requires_grad:  # Wise-IoU v3, the one stateful loss: its state is the running mean of 1 − IoU
                self.update_iou_mean(1 - iou)
            loss = self.spec(pred, target, **self.state())
        if self.diagnostics is not None and pred.requires_grad:
            iou = regressed_iou(pred, target) if iou is None else iou
            self.diagnostics.add(iou, per_box_gradient_norm(loss, pred), weight)
        return loss

    @torch.no_grad()
    def update_iou_mean(self, iou_loss: torch.Tensor) -> None:
        """Move ``iou_mean`` one EMA step towards the mean of ``iou_loss`` (1 − IoU of the positives) over all ranks.

        Called once per training batch. A batch without positives on any rank leaves the mean unchanged.
        """
        batch_mean, count = mean_over_ranks(iou_loss)
        stepped = update_iou_mean(self.iou_mean, batch_mean.reshape(1), IOU_MEAN_MOMENTUM)
        self.iou_mean.copy_(torch.where(count > 0, stepped, self.iou_mean))


class AlphaBboxLoss(BoxTermState, BboxLoss):
    """Ultralytics' box criterion with the IoU-family term replaced by a yolo-alpha loss (``LossSpec``).

    With ``balance.loc_lambda`` > 0 both box terms of each positive — ours and upstream's DFL / L1 — are IoU-balanced
    (eq. 5-7). A stateful loss (Wise-IoU v3) gets its running mean of 1 − IoU as the buffer ``iou_mean``: a buffer,
    not a plain attribute, so that ``state_dict``, ``.to(device)`` and the EMA model's copy carry it.
    """

    def __init__(self, reg_max: int, spec: LossSpec, balance: IoUBalance = NO_BALANCE):
        super().__init__(reg_max)
        self.init_state(spec)
        self.loc_lambda, self.loc_norm = balance.loc_lambda, balance.loc_norm

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
        iou = regressed_iou(pred_fg, target_fg) if self.loc_lambda > 0 or self.spec.stateful else None
        per_box = self.per_box_loss(pred_fg, target_fg, iou, weight)
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


def box_terms(criterion: Any) -> list[BoxTermState]:
    """Return the box terms of ours inside a criterion (either family's; both branches of an end-to-end loss)."""
    return [
        b.bbox_loss for b in detection_branches(criterion) if isinstance(getattr(b, "bbox_loss", None), BoxTermState)
    ]


def set_box_spec(criterion: Any, spec: LossSpec) -> None:
    """Make every detection branch's box term of ``criterion`` compute ``spec`` from now on (its state is kept).

    For a schedule of the loss's powers (``alpha_warmup``); the spec must be of the same loss as the installed one.
    """
    for branch in detection_branches(criterion):
        box_term = branch.bbox_loss
        if not isinstance(box_term, BoxTermState) or box_term.spec.loss != spec.loss:
            raise RuntimeError(f"set_box_spec: the criterion's box term is not ours for loss={spec.loss!r}")
        box_term.spec = spec


def loss_state(criterion: Any) -> dict[str, list[float]]:
    """Return the loss state of every detection branch as recorded args: ``{"wiou_mean": [m1, m2]}``; {} if none."""
    losses = [branch.bbox_loss for branch in detection_branches(criterion)]
    if not all(isinstance(loss, BoxTermState) and loss.spec.stateful for loss in losses):
        return {}
    names = losses[0].spec.initial_state()
    return {STATE_ARGS[name]: [float(loss.state()[name]) for loss in losses] for name in names}


def restore_loss_state(criterion: Any, recorded: Mapping[str, Any]) -> None:
    """Set each detection branch's loss state from a run's recorded args (as :func:`loss_state` wrote them)."""
    branches = detection_branches(criterion)
    if not all(isinstance(b.bbox_loss, BoxTermState) and b.bbox_loss.spec.stateful for b in branches):
        return
    for name in branches[0].bbox_loss.spec.initial_state():
        key = STATE_ARGS[name]
        values = recorded.get(key)
        if values is None:  # a run saved before it recorded its state: the loss starts from its initial state
            continue
        if not isinstance(values, (list, tuple)) or len(values) != len(branches):
            raise ConfigError(
                f"{key}={values!r} must hold one value per detection branch; this model has {len(branches)}"
            )
        for branch, value in zip(branches, values):
            branch.bbox_loss.state()[name].fill_(float(value))


def share_loss_state(criterion: Any, ema_criterion: Any) -> None:
    """Make the EMA model's criterion use the training criterion's loss-state buffers (same tensors, not copies)."""
    for branch, ema_branch in zip(detection_branches(criterion), detection_branches(ema_criterion)):
        ours, theirs = branch.bbox_loss, ema_branch.bbox_loss
        if isinstance(ours, BoxTermState) and isinstance(theirs, BoxTermState):
            for name in set(ours.state()) & set(theirs.state()):
                setattr(theirs, name, getattr(ours, name))  # updated in place, so both see each step
