"""Box losses of the α-IoU family on aligned xyxy boxes, pure torch, chosen by name.

``box_loss(pred, target, loss="alpha_ciou", alpha=None, alpha2=None, iou_term="power", reduction="none", **keys)``
for one call (``keys``: a loss's own keys such as ``kappa=``, and Wise-IoU v3's state ``iou_mean=``);
``resolve_loss(...)`` returns a validated :class:`LossSpec` to call once per batch. ``list_losses()`` and ``LOSSES``
name the registered losses, ``IOU_TERMS`` the choices of ``iou_term``. Wise-IoU v3's running mean is updated with
:func:`yolo_alpha.losses.wise_iou.update_iou_mean`.
"""

from yolo_alpha.losses.registry import LOSSES, list_losses
from yolo_alpha.losses.spec import LossConfigError, LossSpec, box_loss, resolve_loss
from yolo_alpha.losses.terms import IOU_TERMS

__all__ = ["IOU_TERMS", "LOSSES", "LossConfigError", "LossSpec", "box_loss", "list_losses", "resolve_loss"]
