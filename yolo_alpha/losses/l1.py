"""The ℓ1 baseline of the α-IoU paper's Table 2 (He et al., NeurIPS 2021), made a loss on aligned xyxy boxes.

That row is MMDetection's Faster R-CNN default: an L1 loss on the boxes' delta encoding relative to a reference box
(``DeltaXYWHBBoxCoder``): ``dx = Δx_c / w_ref``, ``dy = Δy_c / h_ref``, ``dw = log(w / w_ref)``,
``dh = log(h / h_ref)``, divided by the coder's stds (0.1, 0.1, 0.2, 0.2), with loss weight 1; the same config with
an IoU loss uses loss weight 10. The L1 of the difference of two encodings against one reference box is::

    |x_c − x_c^gt| / w_ref + |y_c − y_c^gt| / h_ref + |log(w / wgt)| + |log(h / hgt)|   (each over its std)

A loss on ``(N, 4)`` boxes has no anchor or proposal, so the target box is the reference (the anchor a trained
detector's proposal converges to). Dividing MMDetection's weights (10, 10, 5, 5) by the IoU losses' weight 10 puts
ℓ1 on the scale the IoU losses have here, where every loss shares Ultralytics' one ``box`` gain::

    ℓ1 = |Δx_c|/wgt + |Δy_c|/hgt + (|log(w/wgt)| + |log(h/hgt)|)/2

It is scale- and translation-invariant, so it works on Ultralytics' grid-unit boxes of every stride. It is not
symmetric in (pred, target): the target is the reference. A guard is added to each width and height
(:func:`~.geometry.length_guard`: ``eps`` for pairs of 1 unit and more, ``eps`` times the pair's size below), so
zero-width boxes give a large but finite loss and gradient (a zero-width target gives ~|Δx_c|/guard).
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.losses.geometry import box_width_height, centre_offsets, length_guard
from yolo_alpha.losses.registry import Reference, register_loss
from yolo_alpha.losses.terms import EPS

CENTRE_WEIGHT = 1.0
"""Weight of the centre offsets: MMDetection's 1/0.1 over its IoU losses' loss weight 10."""
SIZE_WEIGHT = 0.5
"""Weight of the log-size differences: MMDetection's 1/0.2 over its IoU losses' loss weight 10."""


def l1_loss(pred: Tensor, target: Tensor, *, eps: float = EPS) -> Tensor:
    """Return ``|Δx_c|/wgt + |Δy_c|/hgt + (|log(w/wgt)| + |log(h/hgt)|)/2`` per xyxy box pair, shape (N,) (Table 2).

    The α-IoU paper's ℓ1 baseline (its Table 2; MMDetection's delta-encoded L1 with the target as reference box,
    see the module docstring for the derivation and the weights). It is not an IoU loss, so eq. (3)'s powers of an
    IoU term and penalty do not apply: it takes no α.

    Args:
        pred: ``(N, 4)`` predicted boxes, xyxy.
        target: ``(N, 4)`` target boxes, xyxy: the reference of the encoding.
        eps: the relative guard added to every width and height (:func:`~.geometry.length_guard`).
    """
    dx, dy = centre_offsets(pred, target)
    pw, ph = box_width_height(pred)
    tw, th = box_width_height(target)
    guard = length_guard(pred, target, eps)
    centre = dx.abs() / (tw + guard) + dy.abs() / (th + guard)
    size = torch.log((pw + guard) / (tw + guard)).abs() + torch.log((ph + guard) / (th + guard)).abs()
    return CENTRE_WEIGHT * centre + SIZE_WEIGHT * size


register_loss(
    "l1",
    l1_loss,
    formula="|Δx_c|/wgt + |Δy_c|/hgt + (|log w/wgt| + |log h/hgt|)/2",
    equation="α-IoU Table 2, ℓ1 row",
    reference=Reference("MMDetection's delta-encoded L1 (DeltaXYWHBBoxCoder) ÷ 10, the α-IoU paper's ℓ1 baseline"),
    why_no_alpha="ℓ1 is not an IoU loss: eq. 3's powers of an IoU term and a penalty do not apply",
    symmetric=False,
)
