"""The anchor-based YOLOv5 criterion (``ComputeLoss`` of YOLOv5 v6.0-v7.0) with a yolo-alpha box term.

The α-IoU paper trained this detector: YOLOv5's anchor matching, neighbour cells, box decoding, objectness and class
BCE and gains, with the box term ``1 − CIoU`` replaced by any :class:`~yolo_alpha.losses.LossSpec`
(``loss=ciou`` is YOLOv5's loss). Written from the description of YOLOv5 v7.0's ``utils/loss.py`` and ``train.py``
(ultralytics/yolov5, AGPL-3.0: no code of it is copied here). Differences from v7.0, each for a reason:

- Duplicate objectness targets (two target/anchor pairs on one cell) keep the highest value, by a scatter with
  ``amax``: the result of YOLOv5's optional ``sort_obj_iou`` (sort, then let the last write win), but guaranteed on
  every device, where an indexed write with repeated indices keeps an unspecified one. YOLOv5's default
  (``sort_obj_iou=False``) keeps whichever pair comes last.
- The objectness target of ``obj_target="quality"`` is ``1 − loss`` clamped to [0, 1]; YOLOv5 clamps CIoU at 0
  only. Every registered loss is >= 0, so the upper bound changes nothing today: it keeps the BCE target valid
  (above 1 the BCE is unbounded below) for any loss. For a loss whose ``1 − loss`` is no box quality (its registry
  entry's ``quality`` is False: a weighted loss such as Focal-EIoU, Wise-IoU v3 or PIoU v2 is small for a far box
  too, which would then get objectness target ~1), the target is the plain IoU, as with ``obj_target="iou"``.
- Boxes, IoU, the box term and both BCEs are computed in float32 with autocast off (YOLOv5 runs its box term in the
  AMP dtype).
- The box term is called once per batch on the positives of every level, so that a stateful loss (Wise-IoU v3)
  steps its running mean once per batch, like the anchor-free family's; the mean over each level is then taken
  as YOLOv5 does.
- Not carried over (YOLOv5 hyp defaults that switch them off): label smoothing, focal loss (``fl_gamma``),
  positive weights (``cls_pw``, ``obj_pw``), ``autobalance`` and ``gr`` < 1.

The IoU-balanced keys (Wu et al., eq. 4, 6, 7) apply to the positives' box term and class BCE; objectness, whose
target already carries the box quality, is not weighted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha.checks import choice, number
from yolo_alpha.errors import ConfigError
from yolo_alpha.losses import LossSpec, resolve_loss
from yolo_alpha.losses.balance import (
    LOC_NORM_EQ7,
    NO_BALANCE,
    IoUBalance,
    iou_power_weights,
    normalised_iou_weights,
    regressed_iou,
)
from yolo_alpha.losses.registry import loss_entry
from yolo_alpha.settings import ANCHOR_DEFAULTS, OBJ_TARGETS
from yolo_alpha.ultralytics.loss_state import BoxTermState

YOLOV5_HYP = {
    "box": 0.05,
    "cls": 0.5,
    "obj": ANCHOR_DEFAULTS["obj"],
    "anchor_t": ANCHOR_DEFAULTS["anchor_t"],
    "imgsz": 640,
}
"""YOLOv5's hyp (hyp.scratch-low.yaml, as the α-IoU authors trained) for a key ``model.args`` does not give."""


LOSS_NAMES = ("box_loss", "obj_loss", "cls_loss")
"""Names of the three loss items, in YOLOv5's order."""

LOSS_ITEMS_AS_DICT = "label_loss_items" not in vars(DetectionTrainer)
"""Whether the installed trainer reads loss items as a name → value dict (8.4) or a tensor (8.3 and earlier).

Upstream made criteria return dicts in the change that also removed ``DetectionTrainer.label_loss_items``.
"""

LEVEL_BALANCE = {3: (4.0, 1.0, 0.4)}
"""YOLOv5's objectness weight of each level (P3, P4, P5), by number of levels; others use :data:`LEVEL_BALANCE_ANY`."""
LEVEL_BALANCE_ANY = (4.0, 1.0, 0.25, 0.06, 0.02)

NEIGHBOUR_REACH = 0.5
"""YOLOv5's ``g``: a target also trains the neighbour cell on the side of its centre nearer than this to the edge."""
_CELL_OFFSETS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))  # centre, left, up, right, down


def xywh_to_xyxy(boxes: Tensor) -> Tensor:
    """Return ``(N, 4)`` centre-size boxes ``(x, y, w, h)`` as corners ``(x1, y1, x2, y2)``."""
    xy, wh = boxes[:, :2], boxes[:, 2:] / 2
    return torch.cat((xy - wh, xy + wh), 1)


def _arg(args: Any, key: str) -> Any:
    value = args.get(key) if isinstance(args, Mapping) else getattr(args, key, None)
    return YOLOV5_HYP[key] if value is None else value


def _train_size(imgsz: Any) -> float:
    # Ultralytics takes imgsz as an int or [h, w]; YOLOv5's gain rescaling uses the one training size: the larger.
    sizes = list(imgsz) if isinstance(imgsz, Sequence) and not isinstance(imgsz, str) else [imgsz]
    return max(number("imgsz", size, low=0, low_open=True) for size in sizes)


def yolov5_gains(args: Any, nl: int, nc: int) -> dict[str, float]:
    """Return the box, obj and cls gains of ``args`` (YOLOv5's hyp where missing), rescaled as YOLOv5's train.py.

    box × 3/nl, cls × nc/80 × 3/nl, obj × (imgsz/640)² × 3/nl: the hyp values are tuned for 3 levels, 80 classes
    and 640 px, and these factors keep each term's scale for other heads, class counts and image sizes.
    """
    box, cls, obj = (number(key, _arg(args, key), low=0) for key in ("box", "cls", "obj"))
    levels = 3 / nl
    return {
        "box": box * levels,
        "obj": obj * (_train_size(_arg(args, "imgsz")) / 640) ** 2 * levels,
        "cls": cls * nc / 80 * levels,
    }


def _raw_outputs(preds: Any) -> Sequence[Tensor]:
    # Training: the list of nl raw maps (b, na, ny, nx, no); eval: (decoded y, raw maps).
    if all(isinstance(p, Tensor) and p.dim() == 5 for p in preds):
        return preds
    return preds[1]


class AnchorBoxLoss(BoxTermState, nn.Module):
    """The anchor family's box term: a :class:`LossSpec` on positives' xyxy boxes in grid cells, and its state.

    A stateful loss (Wise-IoU v3) keeps its running mean as the buffer ``iou_mean``, saved, restored and shared with
    the EMA model by :mod:`~yolo_alpha.ultralytics.loss_state` (``loss_state``, ``restore_loss_state``,
    ``share_loss_state``) as for the anchor-free family.
    """

    def __init__(self, spec: LossSpec, balance: IoUBalance = NO_BALANCE):
        super().__init__()
        self.init_state(spec)
        self.loc_lambda, self.loc_norm = balance.loc_lambda, balance.loc_norm

    def forward(self, pred: Tensor, target: Tensor, iou: Tensor | None) -> Tensor:
        """Return the ``(N,)`` box loss of aligned xyxy pairs (see :meth:`BoxTermState.per_box_loss`)."""
        return self.per_box_loss(pred, target, iou)

    def level_loss(self, per_box: Tensor, iou: Tensor | None) -> Tensor:
        """Return one level's box loss: the mean of ``per_box`` (YOLOv5), IoU-balanced when ``loc_lambda`` > 0.

        IoU-balanced, positive i counts ``w_loc · IoU_i^λ`` times (eq. 6), or ``IoU_i^λ`` times the detached factor
        that keeps the level's total (eq. 7, ``loc_norm="eq7"``); IoU_i is detached (no gradient through weights).
        """
        if self.loc_lambda == 0:
            return per_box.mean()
        if self.loc_norm == LOC_NORM_EQ7:
            weights = normalised_iou_weights(iou, per_box, self.loc_lambda)
        else:
            weights = self.loc_norm * iou_power_weights(iou, self.loc_lambda)
        return (weights * per_box).mean()


def check_class_loss(cls_eta: float, nc: int, why: str = "this model has one class") -> None:
    """Raise ConfigError when ``iou_cls_eta`` > 0 for a one-class anchor model: YOLOv5 computes no class loss then.

    Called by the criterion and, before the run folder exists, by the run's checks (``single_cls=True`` or a one-class
    data set), so both paths refuse with the same message.
    """
    if cls_eta > 0 and nc == 1:
        raise ConfigError(
            f"iou_cls_eta={cls_eta:g} weights each positive's class loss, but {why}, for which YOLOv5 computes no "
            "class loss: set iou_cls_eta=0"
        )


class AnchorComputeLoss:
    """YOLOv5's ``ComputeLoss`` (v7.0) with the box term of ``spec``: the criterion of the anchor-based family.

    Reads the head ``model.model[-1]`` (``nl``, ``na``, ``nc``, ``anchors`` (nl, na, 2) in stride units),
    ``model.nc`` and ``model.args`` (``box``, ``cls``, ``obj``, ``anchor_t``, ``imgsz``; YOLOv5's hyp where
    missing, :data:`YOLOV5_HYP`), at construction: build it after any change of the anchors.

    Args:
        model: the anchor-based detection model (or a stand-in with those attributes).
        spec: the box loss; None is CIoU, YOLOv5's own.
        balance: the IoU-balanced keys (eq. 4 on the class BCE, eq. 6/7 on the box term).
        obj_target: ``"quality"`` (1 − the positive's box loss before IoU-balanced weights, detached: CIoU for
            loss=ciou, as YOLOv5) or
            ``"iou"`` (its plain IoU, detached); :data:`yolo_alpha.settings.OBJ_TARGETS`.

    Raises:
        ConfigError: for an unknown ``obj_target``, ``iou_cls_eta`` > 0 on a one-class model (YOLOv5 has no class
            loss then), an ``anchor_t`` not > 1, a negative gain or more levels than YOLOv5 balances (5).
    """

    def __init__(
        self, model: Any, spec: LossSpec | None = None, balance: IoUBalance = NO_BALANCE, obj_target: str = "quality"
    ):
        model = unwrap_model(model)
        head = model.model[-1]
        self.obj_target = choice("obj_target", obj_target, OBJ_TARGETS, what="the objectness target of a positive")
        self.nl, self.na, self.nc = int(head.nl), int(head.na), int(head.nc)
        check_class_loss(balance.cls_eta, self.nc)
        if self.nl > len(LEVEL_BALANCE_ANY):
            raise ConfigError(
                f"this head has {self.nl} levels; YOLOv5's objectness balance is defined for at most "
                f"{len(LEVEL_BALANCE_ANY)}"
            )
        self.level_balance = LEVEL_BALANCE.get(self.nl, LEVEL_BALANCE_ANY)[: self.nl]
        args = getattr(model, "args", None) or {}
        self.gains = yolov5_gains(args, self.nl, int(getattr(model, "nc", self.nc)))
        ratio_hint = "the largest target/anchor side ratio a pair may have"
        self.anchor_t = number("anchor_t", _arg(args, "anchor_t"), low=1, low_open=True, hint=ratio_hint)
        self.anchors = head.anchors.detach().clone().float()  # (nl, na, 2) in grid cells of each level
        self.cls_eta = balance.cls_eta
        self.bbox_loss = AnchorBoxLoss(spec or resolve_loss("ciou"), balance).to(self.anchors.device)
        self.loss_names = LOSS_NAMES

    def build_targets(self, preds: Any, targets: Tensor) -> tuple[list, list, list, list]:
        """Return YOLOv5's (tcls, tbox, indices, anch): per level, one row per positive (target, anchor, cell).

        ``targets`` is ``(n, 6)`` rows ``[image, class, x, y, w, h]``, xywh normalised to [0, 1]. Per level, of
        shape (ny, nx): a target scaled to the grid pairs with each anchor whose width and height ratios r
        (target / anchor) all have ``max(r, 1/r) < anchor_t`` (so a zero-width target pairs with none); a pair
        trains its centre cell plus the left / upper neighbour where the centre's fraction is < 0.5 and it lies
        more than one cell from the left / top edge, and the right / lower one likewise from the other side
        (up to 3 cells). Rows are ordered centre cells first, then each neighbour side, anchors before targets.

        Returns, per level: ``tcls`` (m,) class; ``tbox`` (m, 4) target xywh in cells, xy relative to the trained
        cell (clamped into the grid, as YOLOv5's in-place clamp does); ``indices`` (image, anchor, gj, gi);
        ``anch`` (m, 2) the anchors' wh in cells.
        """
        raw = _raw_outputs(preds)
        device = raw[0].device
        targets = targets.to(device=device, dtype=torch.float32)
        offsets = torch.tensor(_CELL_OFFSETS, device=device) * NEIGHBOUR_REACH
        tcls, tbox, indices, anch = [], [], [], []
        for level, pi in enumerate(raw):
            ny, nx = pi.shape[2:4]
            anchors = self.anchors[level].to(device)
            grid = torch.tensor([nx, ny], device=device, dtype=torch.float32)
            gxy, gwh = targets[:, 2:4] * grid, targets[:, 4:6] * grid
            ratio = gwh[None] / anchors[:, None]  # (na, n, 2)
            matched = torch.max(ratio, 1 / ratio).amax(2) < self.anchor_t
            a, t = matched.nonzero(as_tuple=True)  # anchor-major, as YOLOv5's repeat over anchors
            gxy, gwh = gxy[t], gwh[t]
            gxi = grid - gxy  # distance to the right / bottom edge
            near_low = (gxy % 1 < NEIGHBOUR_REACH) & (gxy > 1)
            near_high = (gxi % 1 < NEIGHBOUR_REACH) & (gxi > 1)
            side, row = torch.cat((torch.ones_like(near_low[:, :1]), near_low, near_high), 1).T.nonzero(as_tuple=True)
            a, t, gxy, gwh = a[row], t[row], gxy[row], gwh[row]
            gij = (gxy - offsets[side]).long()
            gij = torch.stack((gij[:, 0].clamp(0, nx - 1), gij[:, 1].clamp(0, ny - 1)), 1)
            indices.append((targets[t, 0].long(), a, gij[:, 1], gij[:, 0]))
            tbox.append(torch.cat((gxy - gij, gwh), 1))
            anch.append(anchors[a])
            tcls.append(targets[t, 1].long())
        return tcls, tbox, indices, anch

    def __call__(self, preds: Any, batch: Mapping[str, Tensor]) -> tuple[Tensor, Any]:
        """Return ``((lbox + lobj + lcls) · batch size, loss items)``, each term with its rescaled gain.

        ``preds``: the head's training output (nl raw maps ``(b, na, ny, nx, 5 + nc)``) or its eval output
        ``(y, raw maps)``. ``batch``: Ultralytics' loader dict (``batch_idx``, ``cls``, ``bboxes`` normalised xywh).
        The loss items are (box, obj, cls), detached: a dict by :data:`LOSS_NAMES` where the installed trainer
        expects one (:data:`LOSS_ITEMS_AS_DICT`), else a (3,) tensor. The total is a 0-dim tensor.
        """
        raw = _raw_outputs(preds)
        device = raw[0].device
        targets = torch.cat((batch["batch_idx"].view(-1, 1), batch["cls"].view(-1, 1), batch["bboxes"].view(-1, 4)), 1)
        tcls, tbox, indices, anch = self.build_targets(raw, targets)
        with torch.autocast(device_type=device.type, enabled=False):
            lbox, lobj, lcls = self._losses(raw, tcls, tbox, indices, anch)
        lbox, lobj, lcls = lbox * self.gains["box"], lobj * self.gains["obj"], lcls * self.gains["cls"]
        total = (lbox + lobj + lcls) * raw[0].shape[0]
        items = torch.stack((lbox, lobj, lcls)).detach()
        return total, dict(zip(LOSS_NAMES, items)) if LOSS_ITEMS_AS_DICT else items

    def _losses(self, raw, tcls, tbox, indices, anch) -> tuple[Tensor, Tensor, Tensor]:
        # The positives of every level: decoded boxes (xy = 2σ − 0.5 from the cell's corner, wh = (2σ)² · anchor).
        positives = [pi[b, a, gj, gi].float() for pi, (b, a, gj, gi) in zip(raw, indices)]
        pred_xywh = [
            torch.cat((ps[:, :2].sigmoid() * 2 - 0.5, (ps[:, 2:4].sigmoid() * 2) ** 2 * anchors), 1)
            for ps, anchors in zip(positives, anch)
        ]
        pred, target = xywh_to_xyxy(torch.cat(pred_xywh)), xywh_to_xyxy(torch.cat(tbox))
        iou_target = self.obj_target == "iou" or not loss_entry(self.bbox_loss.spec.loss).quality
        needs_iou = iou_target or self.cls_eta > 0 or self.bbox_loss.loc_lambda > 0
        iou = regressed_iou(pred, target) if needs_iou or self.bbox_loss.spec.stateful else None  # detached
        per_box = self.bbox_loss(pred, target, iou)  # one call per batch: a stateful loss steps once
        quality = iou if iou_target else (1 - per_box.detach()).clamp(0, 1)

        sizes = [len(ps) for ps in positives]
        per_box, quality = per_box.split(sizes), quality.split(sizes)
        ious = iou.split(sizes) if iou is not None else (None,) * self.nl
        zero = torch.zeros((), device=raw[0].device)
        lbox, lobj, lcls = zero, zero, zero
        for level, (pi, ps, (b, a, gj, gi)) in enumerate(zip(raw, positives, indices)):
            tobj = torch.zeros(pi.shape[:4], device=pi.device)
            if len(ps):
                lbox = lbox + self.bbox_loss.level_loss(per_box[level], ious[level])
                # Two pairs on one cell: the higher target wins (YOLOv5's sort_obj_iou, deterministically).
                cell = ((b * self.na + a) * pi.shape[2] + gj) * pi.shape[3] + gi
                tobj.view(-1).scatter_reduce_(0, cell, quality[level].float(), reduce="amax")
                if self.nc > 1:  # YOLOv5 trains no class logits for one class
                    lcls = lcls + self._class_loss(ps[:, 5:], tcls[level], ious[level])
            obj_bce = F.binary_cross_entropy_with_logits(pi[..., 4].float(), tobj)
            lobj = lobj + obj_bce * self.level_balance[level]
        return lbox, lobj, lcls

    def _class_loss(self, logits: Tensor, classes: Tensor, iou: Tensor | None) -> Tensor:
        # BCE against one-hot targets (no label smoothing), mean over the level's positives × classes; eq. 4
        # weights each positive's row by IoU^η, normalised so that the rows' total is kept.
        onehot = torch.zeros_like(logits)
        onehot[torch.arange(len(classes), device=logits.device), classes] = 1.0
        bce = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")
        if self.cls_eta > 0:
            bce = bce * normalised_iou_weights(iou, bce.sum(1), self.cls_eta).unsqueeze(1)
        return bce.mean()
