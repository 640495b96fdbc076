"""The loss state of a box term: a stateful loss's inputs as buffers, saved, restored and shared across models.

A stateful loss's inputs (:meth:`~yolo_alpha.losses.LossSpec.initial_state`; today Wise-IoU v3's running mean of
1 − IoU) are a buffer of the box term per state input (:class:`BoxTermState`, mixed into both families' box terms),
updated in training only, averaged over DDP ranks (:func:`mean_over_ranks`), shared with the EMA model's criterion
(:func:`share_loss_state`), and carried across resume in the run's args under the recorded key of
:data:`STATE_ARGS` (:func:`loss_state`, :func:`restore_loss_state`), because Ultralytics saves no criterion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist

from yolo_alpha.errors import ConfigError
from yolo_alpha.losses import LossSpec
from yolo_alpha.losses.balance import regressed_iou
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


def detection_branches(criterion: Any) -> tuple:
    """Return the v8DetectionLoss objects inside a criterion: itself, or both branches of an end-to-end loss."""
    # End-to-end heads (YOLO26's E2ELoss in 8.4, YOLOv10's E2EDetectLoss in 8.3) hold one2many and one2one.
    return (criterion.one2many, criterion.one2one) if hasattr(criterion, "one2one") else (criterion,)


def box_terms(criterion: Any) -> list[BoxTermState]:
    """Return the box terms of ours inside a criterion (either family's; both branches of an end-to-end loss)."""
    return [
        b.bbox_loss for b in detection_branches(criterion) if isinstance(getattr(b, "bbox_loss", None), BoxTermState)
    ]


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
