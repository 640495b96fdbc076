"""The α-IoU family's loss and its closed-form gradient, computed together in one elementwise pass.

:func:`loss_and_grads` is pure torch on aligned xyxy boxes ``(N, 4)`` and builds no autograd graph: it returns the
per-pair loss and, when asked, ``∂loss_i/∂pred_i`` and ``∂loss_i/∂target_i`` (each ``(N, 4)``). It reproduces the
reference path (:mod:`~.iou_family`, :mod:`~.geometry`, :mod:`~.terms`) exactly, including what autograd does at
its kinks, because the tests hold the two equal to 1e-10 in float64:

- ``min``/``max`` of two equal coordinates send half the gradient to each (autograd's rule for ties);
- the overlap's ``clamp(min=0)`` passes gradient only where the overlap is > 0;
- :func:`~.terms.safe_pow` has value and gradient 0 where its base is <= 0, and is the identity for exponent 1;
- the Box-Cox term clamps the IoU to ``>= eps`` in its log (no gradient below), α = 0 being ``−log IoU``;
- CIoU's β is a constant in backward.

Notation (per pair and per axis, x shown): ``o = clamp(min(p2, t2) − max(p1, t1), 0)`` the overlap, ``c = max(p2,
t2) − min(p1, t1)`` the enclosing extent, ``d = t1 + t2 − p1 − p2`` twice the centre offset, so that ``ρ² = (dx² +
dy²)/4``. With ``U = |B ∪ Bgt| + eps`` and ``IoU = I/U`` (``I = ox·oy``): ``∂IoU/∂I = 1/U`` and ``∂IoU/∂|B ∪ Bgt| =
−IoU/U``; the chain rule through ``|B ∪ Bgt| = w·h + wgt·hgt − I`` and the per-axis terms above gives the gradient.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

KINDS = ("iou", "giou", "diou", "ciou")
"""Penalty of the loss: none (α-IoU), GIoU's enclosing-area term, DIoU's ρ²/c², CIoU's ρ²/c² + βv (eq. 4)."""

TERMS = ("power", "boxcox")
"""IoU term: ``1 − IoU^α`` (eq. 2/4) or ``(1 − IoU^α)/α`` with α = 0 meaning ``−log IoU`` (eq. 1)."""

_V_SCALE = 4 / math.pi**2  # CIoU's v = 4/π² (atan(wgt/hgt) − atan(w/h))²


def _safe_pow_and_slope(x: Tensor, exponent: float) -> tuple[Tensor | float, Tensor | float]:
    # Value and derivative of terms.safe_pow, with the same ops as its forward and autograd's pow backward.
    if exponent == 1:
        return x, 1.0
    positive = x > 0
    base = torch.where(positive, x, 1.0)
    value = torch.where(positive, base**exponent, 0.0)
    slope = torch.where(positive, exponent * base ** (exponent - 1), 0.0)
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


def _axis_grads(
    p1: Tensor, p2: Tensor, t1: Tensor, t2: Tensor, g_overlap, g_enclosing, g_offset, g_pred_len, g_target_len, grads
) -> tuple[Tensor | None, ...]:
    """Return ``(∂p1, ∂p2, ∂t1, ∂t2)`` from the gradients of one axis's overlap, enclosing extent, offset d, lengths.

    ``grads`` is ``(want_pred, want_target)``; an unwanted pair is returned as None. Zero gradients may be floats.
    """
    # max(p1, t1) and min(p2, t2) form the overlap; min(p1, t1) and max(p2, t2) the enclosing extent.
    p1_in_max = _share(p1, t1)
    p2_in_min = _share(t2, p2)
    t1_in_max, t2_in_min = 1 - p1_in_max, 1 - p2_in_min
    want_pred, want_target = grads
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


def _atan_ratio_grads(g_atan: Tensor, w: Tensor, h: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    # d atan(w/(h + eps)) = (dw − w/(h + eps)·dh) / ((1 + r²)(h + eps)), with r = w/(h + eps).
    h_eps = h + eps
    ratio = w / h_eps
    dw = g_atan / (1 + ratio * ratio) / h_eps
    return dw, -dw * ratio


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

    ``loss = term(IoU) + P^α₂`` (He et al. 2021, eq. 3/4), where ``term`` is ``1 − IoU^α`` or ``(1 − IoU^α)/α``
    (eq. 1/2) and P is, by ``kind``: nothing (``iou``), ``|C ∖ (B ∪ Bgt)|/|C|`` (``giou``), ``ρ²/c²`` (``diou``),
    or ``ρ²/c²`` plus a second term ``(βv)^α₂`` with ``β = v/((1 − IoU) + v + eps)`` held constant (``ciou``).
    Row i of the gradients is the derivative of ``loss[i]`` (pairs are independent), matching autograd on the
    reference losses, β included as a constant. Boxes are xyxy in one float dtype; nothing here checks shapes.

    ``coord_dim`` is the dimension holding x1, y1, x2, y2 (the gradients are stacked along it too): -1 for ``(N,
    4)`` boxes; the compiled path passes ``(N / B, 4, B)`` blocks of B pairs (``coord_dim=1``), the layout in which
    ``torch.compile`` vectorises the loop over pairs (it leaves the loop over ``(N, 4)`` rows scalar). With
    ``stack=False`` each gradient is the tuple of its four coordinate tensors (shaped like the loss), so that a
    compiled kernel writes every output in one loop over the pairs.
    """
    px1, py1, px2, py2 = pred.unbind(coord_dim)
    tx1, ty1, tx2, ty2 = target.unbind(coord_dim)
    pw, ph, tw, th = px2 - px1, py2 - py1, tx2 - tx1, ty2 - ty1
    overlap_x_raw = torch.minimum(px2, tx2) - torch.maximum(px1, tx1)
    overlap_y_raw = torch.minimum(py2, ty2) - torch.maximum(py1, ty1)
    overlap_x, overlap_y = overlap_x_raw.clamp(min=0), overlap_y_raw.clamp(min=0)
    intersection = overlap_x * overlap_y
    union = pw * ph + tw * th - intersection
    union_eps = union + eps
    iou = intersection / union_eps
    loss, g_iou = _iou_term_and_slope(iou, term, alpha, eps)

    # Gradients of the penalty with respect to the union, enclosing extents and centre offsets (0 where unused).
    g_union_penalty = g_cx = g_cy = g_dx = g_dy = 0.0
    g_pw = g_ph = g_tw = g_th = 0.0
    if kind != "iou":
        cx = torch.maximum(px2, tx2) - torch.minimum(px1, tx1)
        cy = torch.maximum(py2, ty2) - torch.minimum(py1, ty1)
    if kind == "giou":
        enclosing_area = cx * cy
        den = enclosing_area + eps
        penalty = (enclosing_area - union) / den
        penalty_value, g_penalty = _safe_pow_and_slope(penalty, alpha2)
        loss = loss + penalty_value
        # ∂P/∂|C| = 1/(|C| + eps) − P/(|C| + eps), ∂P/∂|B ∪ Bgt| = −1/(|C| + eps), in autograd's order of operations:
        # under a power α₂ < 1 a contained box (P ≈ 0) multiplies their rounding by P^(α₂−1).
        g_union_penalty = -g_penalty / den
        g_area = -g_union_penalty - g_penalty * (penalty / den)
        g_cx, g_cy = g_area * cy, g_area * cx
    elif kind in ("diou", "ciou"):
        dx, dy = tx1 + tx2 - px1 - px2, ty1 + ty2 - py1 - py2
        diag_sq = cx * cx + cy * cy + eps
        penalty = (dx * dx + dy * dy) / 4 / diag_sq
        penalty_value, g_penalty = _safe_pow_and_slope(penalty, alpha2)
        loss = loss + penalty_value
        g_rho_sq = g_penalty / diag_sq
        g_diag = -g_rho_sq * penalty * 2  # ∂(ρ²/c²)/∂cx = −ρ²/c⁴ · 2cx
        g_cx, g_cy = g_diag * cx, g_diag * cy
        g_dx, g_dy = g_rho_sq * dx / 2, g_rho_sq * dy / 2
    if kind == "ciou":
        atan_diff = torch.atan(tw / (th + eps)) - torch.atan(pw / (ph + eps))
        v = _V_SCALE * atan_diff * atan_diff
        beta = v / ((1 - iou) + v + eps)  # a constant: no gradient flows through it
        beta_v_value, g_beta_v = _safe_pow_and_slope(beta * v, alpha2)
        loss = loss + beta_v_value
        g_atan_target = g_beta_v * beta * (2 * _V_SCALE) * atan_diff
        if want_pred:
            g_pw, g_ph = _atan_ratio_grads(-g_atan_target, pw, ph, eps)
        if want_target:
            g_tw, g_th = _atan_ratio_grads(g_atan_target, tw, th, eps)
    if not (want_pred or want_target):
        return loss, None, None

    g_intersection = g_iou / union_eps
    g_union = -g_intersection * iou + g_union_penalty
    g_intersection = g_intersection - g_union  # |B ∪ Bgt| = w·h + wgt·hgt − I
    g_ox = torch.where(overlap_x_raw > 0, g_intersection * overlap_y, 0.0)
    g_oy = torch.where(overlap_y_raw > 0, g_intersection * overlap_x, 0.0)
    grads = (want_pred, want_target)
    gpx1, gpx2, gtx1, gtx2 = _axis_grads(
        px1, px2, tx1, tx2, g_ox, g_cx, g_dx, _total(g_union * ph, g_pw), _total(g_union * th, g_tw), grads
    )
    gpy1, gpy2, gty1, gty2 = _axis_grads(
        py1, py2, ty1, ty2, g_oy, g_cy, g_dy, _total(g_union * pw, g_ph), _total(g_union * tw, g_th), grads
    )
    grad_pred = (gpx1, gpy1, gpx2, gpy2) if want_pred else None
    grad_target = (gtx1, gty1, gtx2, gty2) if want_target else None
    if stack:
        grad_pred = None if grad_pred is None else torch.stack(grad_pred, coord_dim)
        grad_target = None if grad_target is None else torch.stack(grad_target, coord_dim)
    return loss, grad_pred, grad_target
