"""Box losses of the α-IoU family on aligned xyxy boxes, pure torch, chosen by name.

``box_loss(pred, target, loss="alpha_ciou", alpha=None, alpha2=None, iou_term="power", reduction="none", **keys)``
for one call (``keys``: a loss's own keys such as ``kappa=``, and Wise-IoU v3's state ``iou_mean=``);
``resolve_loss(...)`` returns a validated :class:`LossSpec` to call once per batch. ``list_losses()`` and ``LOSSES``
name the registered losses, ``IOU_TERMS`` the choices of ``iou_term``. Wise-IoU v3's running mean is updated with
:func:`yolo_alpha.losses.wise_iou.update_iou_mean`. Every refusal is a :class:`LossConfigError` naming the key or
argument and what is allowed; a pair with a NaN or ±inf coordinate gets a NaN loss.

Where to read: :mod:`~.registry` maps each name to a :class:`~.registry.LossEntry` that carries everything about
the loss (function, formula, paper, α, keys, state); :mod:`~.compose` declares each "IoU term + penalties" loss once
and registers both ``x`` and ``alpha_x`` from it. The loss modules: :mod:`~.iou_family` (IoU/GIoU/DIoU/CIoU),
:mod:`~.eiou`, :mod:`~.siou`, :mod:`~.mpdiou`, :mod:`~.soft_iou`, :mod:`~.wise_iou`, :mod:`~.l1` and the 2023-24
losses. Each function is the one definition training runs (``YOLO_ALPHA_COMPILE=1``: compiled, :mod:`~.compiled`).
:mod:`~.spec` validates the settings, :mod:`~.inputs` the tensors given to ``box_loss``.
"""

from yolo_alpha.losses.errors import LossConfigError
from yolo_alpha.losses.registry import LOSSES, list_losses
from yolo_alpha.losses.spec import LossSpec, box_loss, resolve_loss
from yolo_alpha.losses.terms import IOU_TERMS

__all__ = ["IOU_TERMS", "LOSSES", "LossConfigError", "LossSpec", "box_loss", "list_losses", "resolve_loss"]
