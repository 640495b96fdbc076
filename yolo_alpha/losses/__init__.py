"""Box losses of the α-IoU family on aligned xyxy boxes, pure torch, chosen by name.

``box_loss(pred, target, loss="alpha_ciou", alpha=None, alpha2=None, iou_term="power", reduction="none", **keys)``
for one call (``keys``: a loss's own keys such as ``kappa=``, and Wise-IoU v3's state ``iou_mean=``);
``resolve_loss(...)`` returns a validated :class:`LossSpec` to call once per batch. ``list_losses()`` and ``LOSSES``
name the registered losses, ``IOU_TERMS`` the choices of ``iou_term``. Wise-IoU v3's running mean is updated with
:func:`yolo_alpha.losses.wise_iou.update_iou_mean`. Every refusal is a :class:`LossConfigError` naming the key or
argument and what is allowed; a pair with a NaN or ±inf coordinate gets a NaN loss.

Where to read: each loss is one documented function (formula, equation number, gradient stops) registered by name in
:mod:`~.iou_family` (the α-IoU/GIoU/DIoU/CIoU family), :mod:`~.eiou`, :mod:`~.siou`, :mod:`~.mpdiou`,
:mod:`~.soft_iou`, :mod:`~.wise_iou` and :mod:`~.l1`; those functions are the reference. Training (and ``box_loss``)
runs the fused path instead for the α-IoU/GIoU/DIoU/CIoU family: :mod:`~.fused` with the closed-form gradient of
:mod:`~.fused_kernel`, composed one penalty per function like :mod:`~.iou_family`; tests/losses/test_fused.py holds
the two equal (values and gradients, 1e-10 in float64). :mod:`~.spec` validates the settings, :mod:`~.inputs` the
tensors given to ``box_loss``, :mod:`~.registry` maps names to functions.
"""

from yolo_alpha.losses.errors import LossConfigError
from yolo_alpha.losses.registry import LOSSES, list_losses
from yolo_alpha.losses.spec import LossSpec, box_loss, resolve_loss
from yolo_alpha.losses.terms import IOU_TERMS

__all__ = ["IOU_TERMS", "LOSSES", "LossConfigError", "LossSpec", "box_loss", "list_losses", "resolve_loss"]
