"""NWD: the normalised Gaussian Wasserstein distance loss for tiny objects (Wang, Xu, Yang & Yu, "A Normalized
Gaussian Wasserstein Distance for Tiny Object Detection", arXiv 2110.13389, 2021).

A box is the 2-D Gaussian ``N((cx, cy), diag(w²/4, h²/4))`` of its inscribed ellipse. The 2-Wasserstein distance
of two such Gaussians is ``W₂² = ‖(cx, cy, w/2, h/2) − (cxg, cyg, wg/2, hg/2)‖²`` (eq. 7); NWD = exp(−W₂/C)
(eq. 8) and the loss is 1 − NWD (eq. 9). Unlike the IoU, it does not drop to a flat 0 for disjoint boxes and does
not grow steeper as boxes shrink: a shift of δ costs about δ/C for every box size, where 1 − IoU costs about
2δ/side, which is what makes the IoU so touchy on boxes a few pixels wide.

It is not an IoU loss, so α-IoU's eq. (3) does not apply, and a power would add nothing: NWD^α = exp(−α·W₂/C)
is NWD with C/α. It takes no α; ``nwd_c`` is its one key.

Units of C: W₂ is a length, so C is in the boxes' unit. The paper's C = 12.8 is in pixels (AI-TOD's mean absolute
object size, the rule the paper gives for C). Ultralytics hands the box loss its boxes in grid cells (stride
units) in both families (``target_bboxes / stride_tensor`` in the task-aligned criterion; the anchor family's
targets are built in cells), so C here is in cells: C cells are C·stride pixels at each level, which makes the
loss relative to the level's scale, as the anchors and the assigner already are. The default C = 2 cells:

- it is the paper's C at the finest stride, where tiny objects are trained (12.8 px / 8 = 1.6 cells; 2 cells are
  16 px there);
- measured on the targets the criterion sees in the first training batches of the embedded synthetic set, each
  jittered by σ = 5 % / 15 % of its size: mean 1 − NWD equals mean 1 − IoU at C = 1.95 / 1.86 for the default
  yolov8n at 160 px (1 − IoU 0.143 / 0.361; 1 − NWD at C = 2: 0.140 / 0.343), at C = 1.2 / 1.7 for the anchor
  family at 160 / 640 px and C = 3.5-3.7 for yolov8n at 640 px. The median target spans 2.5 to 7.5 cells
  (yolov5n-anchor at 160 px to yolov8n at 640 px; 3.95 for the default), and the small-shift slopes of 1 − NWD
  (1/C) and 1 − IoU (2/side) are equal for a box of 2C = 4 cells.

Boxes several times wider than C saturate (an 8C-wide box off by half its width has 1 − NWD ≈ 0.98 and almost no
gradient): raise ``nwd_c`` for data sets of large objects, or give pixel boxes a C in pixels (``nwd_c=12.8`` is the
paper's setting). For other data, C ≈ half the median √(w·h) of the targets, in cells, makes 1 − NWD as steep as
1 − IoU on the typical box; the paper's own rule (C = the mean size) makes it half as steep.

Numerics: √ has an infinite derivative at W₂ = 0, so W₂ = :func:`~.terms.safe_pow` (W₂², ½): identical boxes give
exactly 0 with gradient 0 (a subgradient of the cone |·| at its tip), a NaN coordinate stays NaN. The authors' code
instead adds eps (1e-6 in their WassersteinLoss) inside the square root, which leaves identical boxes a loss of
1 − exp(−√eps/C) (1e-3/C) and shifts every value by at most √eps/C. There is no division, so no guard is needed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from yolo_alpha.losses.registry import Param, Reference, register_loss
from yolo_alpha.losses.terms import EPS, safe_pow

NWD_C = 2.0
"""C of NWD = exp(−W₂/C), in box units: 2 grid cells for Ultralytics' boxes (module docstring: why)."""
NWD_C_HELP = "C > 0 of nwd's 1 − exp(−W₂/C), in box units (grid cells in training); null = 2 (the paper's 12.8 is px)"


def wasserstein_distance_sq(pred: Tensor, target: Tensor) -> Tensor:
    """Return W₂² between the boxes as Gaussians ``N((cx, cy), diag(w²/4, h²/4))``, shape ``(N,)`` (NWD eq. 7).

    ``W₂² = ‖(cx, cy, w/2, h/2) − (cxg, cyg, wg/2, hg/2)‖²``. On one axis, with ``a = x1g − x1`` and
    ``b = x2g − x2``: ``Δcx = (a + b)/2`` and ``Δ(w/2) = (b − a)/2``, so ``Δcx² + Δ(w/2)² = (a² + b²)/2``: W₂² is
    half the squared distance between the xyxy vectors. Computed that way, from the four corner differences, the
    value is exact to rounding and exactly 0 for identical boxes.

    Args:
        pred, target: ``(N, 4)`` xyxy boxes, in any unit (W₂² is in that unit squared).
    """
    return ((target - pred) ** 2).sum(dim=-1) / 2


def nwd_loss(pred: Tensor, target: Tensor, *, eps: float = EPS, nwd_c: float = NWD_C) -> Tensor:
    """Return the NWD loss ``1 − exp(−W₂/C)`` of each xyxy box pair, shape ``(N,)``, in ``[0, 1)`` (NWD eq. 8-9).

    W₂ = √(W₂²) (:func:`wasserstein_distance_sq`) through :func:`~.terms.safe_pow`: the gradient at W₂ = 0 is 0,
    not ∞·0 = NaN. Written ``−expm1(−W₂/C)``, which keeps its precision for the small losses of nearly matched
    boxes, where ``1 − exp(·)`` cancels.

    Args:
        pred, target: ``(N, 4)`` xyxy boxes.
        eps: unused (NWD has no division to guard); accepted as every registered loss is called with it.
        nwd_c: C > 0 (config key ``nwd_c``), in the boxes' unit: 2 for the grid-cell boxes of training.
    """
    distance = safe_pow(wasserstein_distance_sq(pred, target), 0.5)
    return -torch.expm1(-distance / nwd_c)


register_loss(
    "nwd",
    nwd_loss,
    formula="1 − exp(−W₂/C), W₂² = ‖(cx, cy, w/2, h/2) − (cxg, cyg, wg/2, hg/2)‖²",
    equation="NWD eq. 9 (W₂² eq. 7, NWD eq. 8)",
    reference=Reference(
        'Wang, Xu, Yang & Yu 2021, "A Normalized Gaussian Wasserstein Distance for Tiny Object Detection"',
        "2110.13389",
        "https://github.com/jwwangchn/NWD",
    ),
    params=(Param("nwd_c", NWD_C, NWD_C_HELP, length_power=1),),
    why_no_alpha="NWD is not an IoU loss, so eq. 3 has no IoU term to power, and NWD^α = exp(−α·W₂/C) is NWD "
    "with C/α: set nwd_c instead",
    doc="For tiny objects: boxes as Gaussians N((cx, cy), diag(w²/4, h²/4)), compared by their 2-Wasserstein "
    "distance W₂. C (key ``nwd_c``) is in box units: grid cells in training, default 2 (the paper's 12.8 is in "
    "pixels). W₂ = safe_pow(W₂², ½): identical boxes give exactly 0 with gradient 0, where the authors' code adds "
    "eps inside the root.",
)
