"""The losses' one error class, :class:`LossConfigError`, in a module of its own so that every losses module can raise
it without importing :mod:`~.spec` (which imports them). Exported as ``yolo_alpha.losses.LossConfigError``.
"""

from __future__ import annotations

from yolo_alpha.errors import YoloAlphaError


class LossConfigError(YoloAlphaError):
    """A box-loss setting (``loss``, ``alpha``, ``alpha2``, ``iou_term``, a loss's own key, ``reduction``) or an
    argument of :func:`~.spec.box_loss` (box shapes, dtypes, device, inverted boxes, a state input) is invalid."""
