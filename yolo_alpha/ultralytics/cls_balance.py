"""IoU-balanced classification (Wu et al., eq. 3-4): the criterion's own assigner and BCE, each positive's BCE
weighted by its IoU.

The wrappers replace nothing of upstream's: the stock assigner and BCE run as they are, so the assignment and the
loss body stay Ultralytics'. Installed by :func:`yolo_alpha.ultralytics.criterion.install_box_loss` when
``iou_cls_eta`` > 0; off (0), nothing is installed.
"""

from __future__ import annotations

from typing import Any

import torch

from yolo_alpha.losses.balance import normalised_iou_weights, regressed_iou


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
