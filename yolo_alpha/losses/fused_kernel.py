"""The α-IoU family's loss and its closed-form gradient, computed together in one elementwise pass.

:func:`loss_and_grads` is pure torch on aligned xyxy boxes ``(N, 4)`` and builds no autograd graph: it returns the
per-pair loss and, when asked, ``∂loss_i/∂pred_i`` and ``∂loss_i/∂target_i`` (each ``(N, 4)``). It is composed like
the reference path (:mod:`~.iou_family`, :mod:`~.geometry`, :mod:`~.terms`), one small function per piece:

- :func:`pair_geometry`: overlap, union and IoU of each pair, shared by every loss (:mod:`~.geometry`);
- :func:`_iou_term_and_slope`: the IoU term of eq. 1/2 and its derivative (:mod:`~.terms`);
- one function per penalty kind in :data:`PENALTIES`, each returning its terms of the loss and the gradient pieces
  it contributes (:class:`PenaltyGrads`): :func:`no_penalty` (α-IoU), :func:`giou_penalty_and_grads`,
  :func:`diou_penalty_and_grads`, :func:`ciou_penalty_and_grads` (DIoU's term plus (βv)^α₂, as ``alpha_ciou_loss``
  builds on ``alpha_diou_loss``);
- :func:`_coordinate_grads`: the chain rule from those pieces to the eight coordinates of each pair.

It reproduces the reference exactly, including what autograd does at its kinks, because the tests hold the two equal
to 1e-10 in float64 (tests/losses/test_fused.py); every piece keeps the reference's order of operations:

- ``min``/``max`` of two equal coordinates send half the gradient to each (autograd's rule for ties);
- the overlap's ``clamp(min=0)`` passes gradient only where the overlap is > 0;
- :func:`~.terms.safe_pow` has value and gradient 0 where its base is <= 0, NaN where it is NaN, and is the identity
  for exponent 1;
- the Box-Cox term clamps the IoU to ``>= eps`` in its log (no gradient below), α = 0 being ``−log IoU``;
- CIoU's β is a constant in backward;
- the scale guards (:func:`~.geometry.area_guard` ``eps·s²`` and :func:`~.geometry.length_guard` ``eps·s``, s the
  pair's clamped sum of sides) are constants, and a denominator ``max(D, guard)`` has the gradient of ``D + const``
  (:func:`~.geometry.guarded`), as torchvision's ``D + eps`` has.

Notation (per pair and per axis, x shown): ``o = clamp(min(p2, t2) − max(p1, t1), 0)`` the overlap, ``c = max(p2,
t2) − min(p1, t1)`` the enclosing extent, ``d = t1 + t2 − p1 − p2`` twice the centre offset, so that ``ρ² = (dx² +
dy²)/4``. With ``U = max(|B ∪ Bgt|, guard)`` and ``IoU = I/U`` (``I = ox·oy``): ``∂IoU/∂I = 1/U`` and
``∂IoU/∂|B ∪ Bgt| = −IoU/U``; the chain rule through ``|B ∪ Bgt| = w·h + wgt·hgt − I`` and the per-axis terms above
gives the gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from yolo_alpha.losses.geometry import GUARD_SCALE_RANGE

_V_SCALE = 4 / math.pi**2  # CIoU's v = 4/π² (atan(wgt/hgt) − atan(w/h))²


def _safe_pow_and_slope(x: Tensor, exponent: float) -> tuple[Tensor | float, Tensor | float]:
    # Value and derivative of terms.safe_pow, with the same ops as its forward and autograd's pow backward; the mask
    # is x <= 0 (not x > 0) so that a NaN stays NaN in both, as there.
    if exponent == 1:
        return x, 1.0
    zero = x <= 0
    base = torch.where(zero, 1.0, x)
    value = torch.where(zero, 0.0, base**exponent)
    slope = torch.where(zero, 0.0, exponent * base ** (exponent - 1))
    return value, slope


def _iou_term_and_slope(iou: Tensor, term: str, alpha: float, eps: float) -> tuple[Tensor, Tensor | float]:
    """Return the IoU term (eq. 1/2) and its derivative with respect to the IoU, each ``(N,)`` (or a constant)."""
    if term == "power":
        value, slope = _safe_pow_and_slope(iou, alpha)
        return 1 - value, -slope
    clamped = iou.clamp(min=eps)
    passes = iou > eps  # clamp's backward is 0 where the input sits at or below the bound
    log_iou = torch.log(clamped)
    if alpha == 0:
        return -log_iou, torch.where(passes, -1 / clamped, 0.0)
    y = alpha * log_iou
    near_zero = y > -1  # the reference's switch between −expm1(y) and 1 − exp(y), see terms.boxcox_iou_term
    expm1_y = torch.expm1(y)
    exp_y = torch.exp(y)
    value = torch.where(near_zero, -expm1_y, 1 - exp_y) / alpha
    # d/dIoU of −(IoU^α − 1)/α is −IoU^α/IoU; expm1's backward forms IoU^α as expm1(y) + 1, exp's as exp(y).
    slope = torch.where(passes, -torch.where(near_zero, expm1_y + 1, exp_y) / clamped, 0.0)
    return value, slope


def _share(a: Tensor, b: Tensor) -> Tensor:
    # a's share of the gradient of max(a, b): 1 where a > b, 1/2 at a tie (autograd's rule), 0 where a < b; b's is
    # 1 minus it, and for min(a, b) the roles swap. a − b is 0 exactly when a == b (no rounding to 0 in IEEE floats).
    return (torch.sign(a - b) + 1) * 0.5


def _total(*terms: Tensor | float) -> Tensor | float:
    # Sum that skips terms known to be 0 (Python floats), so the eager path launches no kernel for absent penalties.
    total: Tensor | float = 0.0
    for term in terms:
        if not (isinstance(term, float) and term == 0):
            total = total + term
    return total


def _scaled(gradient: Tensor | float, weight: Tensor) -> Tensor | float:
    return 0.0 if isinstance(gradient, float) and gradient == 0 else gradient * weight


def _atan_ratio_grads(g_atan: Tensor, w: Tensor, h: Tensor, guard: Tensor) -> tuple[Tensor, Tensor]:
    # d atan(w/(h + g)) = (dw − w/(h + g)·dh) / ((1 + r²)(h + g)), with r = w/(h + g) and g a constant.
    h_eps = h + guard
    ratio = w / h_eps
    dw = g_atan / (1 + ratio * ratio) / h_eps
    return dw, -dw * ratio


class PairGeometry(NamedTuple):
    """Per-pair quantities of aligned xyxy boxes that every loss of the family reads, each shaped like the loss."""

    px1: Tensor
    py1: Tensor
    px2: Tensor
    py2: Tensor
    tx1: Tensor
    ty1: Tensor
    tx2: Tensor
    ty2: Tensor
    pw: Tensor  # widths and heights of pred (p) and target (t)
    ph: Tensor
    tw: Tensor
    th: Tensor
    overlap_x_raw: Tensor  # min(p2, t2) − max(p1, t1) before clamp(min=0): its sign says where gradient passes
    overlap_y_raw: Tensor
    overlap_x: Tensor
    overlap_y: Tensor
    size: Tensor  # s = w + h + wgt + hgt clamped to GUARD_SCALE_RANGE (geometry.pair_size)
    guard: Tensor  # eps · s², geometry.area_guard: the least value of an area denominator
    union: Tensor  # |B ∪ Bgt|
    union_den: Tensor  # max(|B ∪ Bgt|, guard), the IoU's denominator
    iou: Tensor


def pair_geometry(pred: Tensor, target: Tensor, coord_dim: int, eps: float) -> PairGeometry:
    """Return the :class:`PairGeometry` of boxes holding x1, y1, x2, y2 along ``coord_dim`` (as geometry.py's IoU)."""
    px1, py1, px2, py2 = pred.unbind(coord_dim)
    tx1, ty1, tx2, ty2 = target.unbind(coord_dim)
    pw, ph, tw, th = px2 - px1, py2 - py1, tx2 - tx1, ty2 - ty1
    overlap_x_raw = torch.minimum(px2, tx2) - torch.maximum(px1, tx1)
    overlap_y_raw = torch.minimum(py2, ty2) - torch.maximum(py1, ty1)
    overlap_x, overlap_y = overlap_x_raw.clamp(min=0), overlap_y_raw.clamp(min=0)
    low, high = GUARD_SCALE_RANGE
    size = (pw + ph + tw + th).clamp(min=low, max=high)
    guard = eps * size * size
    intersection = overlap_x * overlap_y
    union = pw * ph + tw * th - intersection
    union_den = union.clamp(min=guard)
    iou = intersection / union_den
    return PairGeometry(
        px1, py1, px2, py2, tx1, ty1, tx2, ty2, pw, ph, tw, th, overlap_x_raw, overlap_y_raw, overlap_x, overlap_y,
        size, guard, union, union_den, iou,
    )  # fmt: skip


class PenaltyGrads(NamedTuple):
    """Derivatives of a loss's penalty terms with respect to the quantities they read (0.0 where one reads none).

    The union and the extents enter beside their part in the IoU term, which :func:`_coordinate_grads` adds.
    """

    union: Tensor | float = 0.0  # ∂/∂|B ∪ Bgt| (GIoU)
    cx: Tensor | float = 0.0  # ∂/∂ the enclosing extents (GIoU, DIoU)
    cy: Tensor | float = 0.0
    dx: Tensor | float = 0.0  # ∂/∂ d, twice the centre offsets (DIoU)
    dy: Tensor | float = 0.0
    pw: Tensor | float = 0.0  # ∂/∂ widths and heights through CIoU's aspect term v
    ph: Tensor | float = 0.0
    tw: Tensor | float = 0.0
    th: Tensor | float = 0.0


PenaltyResult = tuple[tuple[Tensor, ...], PenaltyGrads]
"""A penalty's terms of the loss (added to the IoU term left to right, as the reference adds them) and their grads."""


def no_penalty(pairs: PairGeometry, alpha2: float, eps: float, want: tuple[bool, bool]) -> PenaltyResult:
    """Return no terms: α-IoU is the IoU term alone (eq. 2/4; reference ``alpha_iou_loss``)."""
    return (), PenaltyGrads()


def _enclosing_extents(pairs: PairGeometry) -> tuple[Tensor, Tensor]:
    # Width and height of the smallest box enclosing both (geometry.enclosing_box).
    p = pairs
    cx = torch.maximum(p.px2, p.tx2) - torch.minimum(p.px1, p.tx1)
    cy = torch.maximum(p.py2, p.ty2) - torch.minimum(p.py1, p.ty1)
    return cx, cy


def giou_penalty_and_grads(pairs: PairGeometry, alpha2: float, eps: float, want: tuple[bool, bool]) -> PenaltyResult:
    """Return ``((P^α₂,), grads)``, P = ``(|C| − |B ∪ Bgt|)/max(|C|, guard)`` (eq. 3/4; reference ``giou_penalty``)."""
    cx, cy = _enclosing_extents(pairs)
    enclosing_area = cx * cy
    den = enclosing_area.clamp(min=pairs.guard)
    penalty = (enclosing_area - pairs.union) / den
    value, g_penalty = _safe_pow_and_slope(penalty, alpha2)
    # ∂P/∂|C| = 1/D − P/D, ∂P/∂|B ∪ Bgt| = −1/D (D = max(|C|, guard), the guard a constant added), in autograd's
    # order of operations: under a power α₂ < 1 a contained box (P ≈ 0) multiplies their rounding by P^(α₂−1).
    g_union = -g_penalty / den
    g_area = -g_union - g_penalty * (penalty / den)
    return (value,), PenaltyGrads(union=g_union, cx=g_area * cy, cy=g_area * cx)


def diou_penalty_and_grads(pairs: PairGeometry, alpha2: float, eps: float, want: tuple[bool, bool]) -> PenaltyResult:
    """Return ``(((ρ²/c²)^α₂,), grads)``, c² at least the guard (eq. 3/4; reference ``diou_penalty``)."""
    p = pairs
    cx, cy = _enclosing_extents(p)
    # (t1 − p1) + (t2 − p2), as geometry.centre_distance_sq: exactly 0 for identical boxes.
    dx, dy = (p.tx1 - p.px1) + (p.tx2 - p.px2), (p.ty1 - p.py1) + (p.ty2 - p.py2)
    diag_sq = (cx * cx + cy * cy).clamp(min=p.guard)
    penalty = (dx * dx + dy * dy) / 4 / diag_sq
    value, g_penalty = _safe_pow_and_slope(penalty, alpha2)
    g_rho_sq = g_penalty / diag_sq
    g_diag = -g_rho_sq * penalty * 2  # ∂(ρ²/c²)/∂cx = −ρ²/c⁴ · 2cx
    return (value,), PenaltyGrads(cx=g_diag * cx, cy=g_diag * cy, dx=g_rho_sq * dx / 2, dy=g_rho_sq * dy / 2)


def ciou_penalty_and_grads(pairs: PairGeometry, alpha2: float, eps: float, want: tuple[bool, bool]) -> PenaltyResult:
    """Return DIoU's term and ``(βv)^α₂`` with their grads, β held constant (eq. 3/4; reference ``alpha_ciou_loss``).

    ``v = 4/π² (atan(wgt/(hgt + g)) − atan(w/(h + g)))²``, g = ``eps · s`` (the reference's
    ``geometry.length_guard``), and ``β = v/((1 − IoU) + v + eps)``; no gradient flows through β or g, as in the
    reference's ``ciou_tradeoff``.
    """
    values, grads = diou_penalty_and_grads(pairs, alpha2, eps, want)
    p = pairs
    guard = eps * p.size
    atan_diff = torch.atan(p.tw / (p.th + guard)) - torch.atan(p.pw / (p.ph + guard))
    v = _V_SCALE * atan_diff * atan_diff
    beta = v / ((1 - p.iou) + v + eps)  # a constant: no gradient flows through it
    beta_v_value, g_beta_v = _safe_pow_and_slope(beta * v, alpha2)
    g_atan_target = g_beta_v * beta * (2 * _V_SCALE) * atan_diff
    want_pred, want_target = want
    g_pw = g_ph = g_tw = g_th = 0.0
    if want_pred:
        g_pw, g_ph = _atan_ratio_grads(-g_atan_target, p.pw, p.ph, guard)
    if want_target:
        g_tw, g_th = _atan_ratio_grads(g_atan_target, p.tw, p.th, guard)
    return (*values, beta_v_value), grads._replace(pw=g_pw, ph=g_ph, tw=g_tw, th=g_th)


PENALTIES: dict[str, Callable[[PairGeometry, float, float, tuple[bool, bool]], PenaltyResult]] = {
    "iou": no_penalty,
    "giou": giou_penalty_and_grads,
    "diou": diou_penalty_and_grads,
    "ciou": ciou_penalty_and_grads,
}
"""Penalty kind -> its function: none (α-IoU), GIoU's enclosing-area term, DIoU's ρ²/c², CIoU's ρ²/c² + βv (eq. 4)."""


def _axis_grads(
    p1: Tensor, p2: Tensor, t1: Tensor, t2: Tensor, g_overlap, g_enclosing, g_offset, g_pred_len, g_target_len, want
) -> tuple[Tensor | None, ...]:
    """Return ``(∂p1, ∂p2, ∂t1, ∂t2)`` from the gradients of one axis's overlap, enclosing extent, offset d, lengths.

    ``want`` is ``(want_pred, want_target)``; an unwanted pair is returned as None. Zero gradients may be floats.
    """
    # max(p1, t1) and min(p2, t2) form the overlap; min(p1, t1) and max(p2, t2) the enclosing extent.
    p1_in_max = _share(p1, t1)
    p2_in_min = _share(t2, p2)
    t1_in_max, t2_in_min = 1 - p1_in_max, 1 - p2_in_min
    want_pred, want_target = want
    pred = target = (None, None)
    if want_pred:
        pred = (
            _total(-g_overlap * p1_in_max, -_scaled(g_enclosing, t1_in_max), -g_offset, -g_pred_len),
            _total(g_overlap * p2_in_min, _scaled(g_enclosing, t2_in_min), -g_offset, g_pred_len),
        )
    if want_target:
        target = (
            _total(-g_overlap * t1_in_max, -_scaled(g_enclosing, p1_in_max), g_offset, -g_target_len),
            _total(g_overlap * t2_in_min, _scaled(g_enclosing, p2_in_min), g_offset, g_target_len),
        )
    return (*pred, *target)


def _coordinate_grads(
    pairs: PairGeometry, g_iou: Tensor | float, g: PenaltyGrads, want: tuple[bool, bool]
) -> tuple[tuple[Tensor | float, ...] | None, tuple[Tensor | float, ...] | None]:
    """Return ``(∂loss/∂(px1, py1, px2, py2), ∂loss/∂(tx1, ty1, tx2, ty2))``, None for an input not in ``want``.

    ``g_iou`` is the IoU term's slope ∂term/∂IoU, ``g`` the penalties' pieces; the chain rule runs through
    ``IoU = I/U`` and ``|B ∪ Bgt| = w·h + wgt·hgt − I`` (module docstring), then per axis through :func:`_axis_grads`.
    """
    p = pairs
    g_intersection = g_iou / p.union_den
    g_union = -g_intersection * p.iou + g.union
    g_intersection = g_intersection - g_union  # |B ∪ Bgt| = w·h + wgt·hgt − I
    g_ox = torch.where(p.overlap_x_raw > 0, g_intersection * p.overlap_y, 0.0)
    g_oy = torch.where(p.overlap_y_raw > 0, g_intersection * p.overlap_x, 0.0)
    gpx1, gpx2, gtx1, gtx2 = _axis_grads(
        p.px1, p.px2, p.tx1, p.tx2, g_ox, g.cx, g.dx, _total(g_union * p.ph, g.pw), _total(g_union * p.th, g.tw), want
    )
    gpy1, gpy2, gty1, gty2 = _axis_grads(
        p.py1, p.py2, p.ty1, p.ty2, g_oy, g.cy, g.dy, _total(g_union * p.pw, g.ph), _total(g_union * p.tw, g.th), want
    )
    want_pred, want_target = want
    grad_pred = (gpx1, gpy1, gpx2, gpy2) if want_pred else None
    grad_target = (gtx1, gty1, gtx2, gty2) if want_target else None
    return grad_pred, grad_target


def loss_and_grads(
    pred: Tensor,
    target: Tensor,
    *,
    coord_dim: int = -1,
    stack: bool = True,
    kind: str,
    term: str,
    alpha: float,
    alpha2: float,
    eps: float,
    want_pred: bool,
    want_target: bool,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Return ``(loss (N,), ∂loss/∂pred (N, 4) or None, ∂loss/∂target (N, 4) or None)`` of the α-IoU family.

    ``loss = term(IoU) + P^α₂`` (He et al. 2021, eq. 3/4), where ``term`` is ``"power"``, ``1 − IoU^α``, or
    ``"boxcox"``, ``(1 − IoU^α)/α`` (eq. 1/2), and P is, by ``kind`` (a key of :data:`PENALTIES`): nothing
    (``iou``), ``|C ∖ (B ∪ Bgt)|/|C|`` (``giou``), ``ρ²/c²`` (``diou``), or ``ρ²/c²`` plus a second term ``(βv)^α₂``
    with ``β = v/((1 − IoU) + v + eps)`` held constant (``ciou``). Row i of the gradients is the derivative of
    ``loss[i]`` (pairs are independent), matching autograd on the reference losses, β included as a constant. Boxes
    are xyxy in one float dtype; nothing here checks shapes or values.

    ``coord_dim`` is the dimension holding x1, y1, x2, y2 (the gradients are stacked along it too): -1 for ``(N,
    4)`` boxes; the compiled path passes ``(N / B, 4, B)`` blocks of B pairs (``coord_dim=1``), the layout in which
    ``torch.compile`` vectorises the loop over pairs (it leaves the loop over ``(N, 4)`` rows scalar). With
    ``stack=False`` each gradient is the tuple of its four coordinate tensors (shaped like the loss), so that a
    compiled kernel writes every output in one loop over the pairs.
    """
    want = (want_pred, want_target)
    pairs = pair_geometry(pred, target, coord_dim, eps)
    loss, g_iou = _iou_term_and_slope(pairs.iou, term, alpha, eps)
    penalty_terms, penalty_grads = PENALTIES[kind](pairs, alpha2, eps, want)
    for penalty_term in penalty_terms:  # left to right, as the reference adds them
        loss = loss + penalty_term
    if not (want_pred or want_target):
        return loss, None, None
    grad_pred, grad_target = _coordinate_grads(pairs, g_iou, penalty_grads, want)
    if stack:
        grad_pred = None if grad_pred is None else torch.stack(grad_pred, coord_dim)
        grad_target = None if grad_target is None else torch.stack(grad_target, coord_dim)
    return loss, grad_pred, grad_target
