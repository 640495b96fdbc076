"""The criterion's box term: our IoU-family loss inside the model's own stock criterion, and installing it.

- ``BboxLoss`` → :class:`AlphaBboxLoss`: only the IoU-family term is ours; the DFL / L1 term, the task-aligned
  weights and the normalisation stay upstream's. It is installed into the model's stock criterion
  (``v8DetectionLoss``, or both branches of the end-to-end loss of YOLO26/YOLOv10-style heads). Label assignment
  keeps Ultralytics' own CIoU-scored task-aligned assigner: ``bbox_iou`` is never patched.
- IoU-balanced losses (Wu et al., eq. 3-7): the localisation weights live in :class:`AlphaBboxLoss`; the
  classification weights wrap the criterion's own assigner and BCE
  (:class:`~yolo_alpha.ultralytics.cls_balance.IoUBalancedClassification`).
- The loss state of a stateful loss (buffers, resume, EMA, DDP) is :mod:`yolo_alpha.ultralytics.loss_state`.
"""

from __future__ import annotations

from typing import Any

import torch
from ultralytics.utils.loss import BboxLoss, v8DetectionLoss
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha.errors import ConfigError
from yolo_alpha.losses import LossSpec
from yolo_alpha.losses.balance import (
    LOC_NORM_EQ7,
    NO_BALANCE,
    IoUBalance,
    iou_power_weights,
    regressed_iou,
    rescaled_to_total,
)
from yolo_alpha.ultralytics.cls_balance import IoUBalancedClassification
from yolo_alpha.ultralytics.loss_state import BoxTermState, detection_branches


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


def set_box_spec(criterion: Any, spec: LossSpec) -> None:
    """Make every detection branch's box term of ``criterion`` compute ``spec`` from now on (its state is kept).

    For a schedule of the loss's powers (``alpha_warmup``); the spec must be of the same loss as the installed one.
    """
    for branch in detection_branches(criterion):
        box_term = branch.bbox_loss
        if not isinstance(box_term, BoxTermState) or box_term.spec.loss != spec.loss:
            raise RuntimeError(f"set_box_spec: the criterion's box term is not ours for loss={spec.loss!r}")
        box_term.spec = spec
