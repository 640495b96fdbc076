"""The fused α-IoU losses equal the reference path (values and gradients, float64, 1e-10), degenerate boxes included."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from yolo_alpha.losses import IOU_TERMS, LOSSES, resolve_loss
from yolo_alpha.losses import fused as fused_module
from yolo_alpha.losses.fused import FUSED_KINDS, from_blocks, fused_loss, to_blocks, use_fused
from yolo_alpha.losses.fused_kernel import PENALTIES, loss_and_grads

CLASSIC = ("iou", "giou", "diou", "ciou")
# (alpha, alpha2, iou_term): α below, at and above 1, α₂ ≠ α both ways, both IoU terms, and Box-Cox's α = 0 (−log IoU).
POWERS = [
    (1.0, 1.0, "power"),
    (3.0, 3.0, "power"),
    (0.5, 0.5, "power"),
    (0.5, 2.0, "power"),
    (3.0, 1.5, "power"),
    (1.0, 1.0, "boxcox"),
    (3.0, 3.0, "boxcox"),
    (0.5, 2.0, "boxcox"),
    (0.0, 1.0, "boxcox"),
]
SETTINGS = [
    (name, alpha, alpha2, term)
    for name in FUSED_KINDS
    for alpha, alpha2, term in POWERS
    if name not in CLASSIC or (alpha, alpha2) == (1.0, 1.0)
]
TOL = dict(rtol=1e-10, atol=1e-10)


def _degenerate_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    # Each row is a case where a kink, a guard or a tie decides the value or the gradient.
    rows = [
        ((0, 0, 10, 10), (0, 0, 10, 10)),  # identical: IoU 1, every penalty 0, every min/max a tie (half gradients)
        ((0, 0, 0, 10), (0, 0, 0, 10)),  # identical zero-width boxes: IoU 0/eps = 0
        ((5, 5, 5, 5), (5, 5, 5, 5)),  # identical points
        ((0, 0, 0, 0), (3, 4, 8, 9)),  # a point against a box
        ((0, 0, 4, 0), (0, 0, 4, 3)),  # zero height sharing an edge
        ((0, 0, 10, 10), (20, 30, 25, 40)),  # disjoint: IoU 0
        ((0, 0, 10, 10), (10, 0, 20, 10)),  # touching: overlap exactly 0 (clamp's kink)
        ((0, 0, 10, 10), (2, 3, 6, 7)),  # target contained in pred: GIoU penalty 0
        ((2, 3, 6, 7), (0, 0, 10, 10)),  # pred contained in target
        ((1, 1, 9, 9), (0, 0, 10, 10)),  # concentric: DIoU penalty 0, same aspect: v = 0
        ((0, 0, 10, 10), (0, 2, 10, 8)),  # shared x edges (ties), different aspect
        ((0, 0, 1e4, 1e4), (1, 2, 9990, 9995)),  # coordinates up to 1e4, IoU near 1
        ((0, 0, 1e4, 5), (9990, 0, 1e4, 1e4)),  # 1e4 coordinates, thin boxes
        ((3.5, 2.25, 7.75, 9.5), (4.0, 1.0, 8.5, 6.0)),  # generic overlap
    ]
    pred = torch.tensor([r[0] for r in rows], dtype=torch.float64)
    target = torch.tensor([r[1] for r in rows], dtype=torch.float64)
    return pred, target


def _value_and_grads(fn, pred, target, **kwargs):
    pred, target = pred.detach().clone().requires_grad_(), target.detach().clone().requires_grad_()
    loss = fn(pred, target, **kwargs)
    # A non-uniform upstream gradient checks the backward's scaling of each row.
    weights = torch.linspace(0.5, 2.0, loss.shape[0], dtype=loss.dtype)
    grads = torch.autograd.grad((loss * weights).sum(), (pred, target))
    return loss, grads


def _assert_matches_reference(name, alpha, alpha2, term, pred, target):
    kwargs = dict(alpha=alpha, alpha2=alpha2, iou_term=IOU_TERMS[term], eps=1e-7)
    expected, expected_grads = _value_and_grads(LOSSES[name], pred, target, **kwargs)
    actual, actual_grads = _value_and_grads(fused_loss(name), pred, target, **kwargs)
    assert torch.isfinite(expected).all() and all(torch.isfinite(g).all() for g in expected_grads)
    torch.testing.assert_close(actual, expected, **TOL)
    torch.testing.assert_close(actual_grads, expected_grads, **TOL)


@pytest.mark.parametrize(("name", "alpha", "alpha2", "term"), SETTINGS)
def test_fused_equals_reference_on_degenerate_boxes(name, alpha, alpha2, term):
    pred, target = _degenerate_pairs()
    # both directions, so that pred and target each take the part of the larger / zero-area / contained box
    _assert_matches_reference(name, alpha, alpha2, term, torch.cat((pred, target)), torch.cat((target, pred)))


@pytest.mark.parametrize(("name", "alpha", "alpha2", "term"), SETTINGS)
def test_fused_equals_reference_on_random_boxes(name, alpha, alpha2, term, random_box_pairs):
    pred, target = random_box_pairs(64, seed=3, dtype=torch.float64)
    _assert_matches_reference(name, alpha, alpha2, term, pred, target)


# Coordinates from a small grid make ties, shared edges, zero sizes and containment common; the float offsets and
# the 1e4 scale cover the generic and the large case.
_coordinate = st.one_of(st.integers(0, 6).map(float), st.floats(0, 6, allow_nan=False), st.just(1e4))


@st.composite
def _box(draw) -> tuple[float, float, float, float]:
    x1, x2 = sorted((draw(_coordinate), draw(_coordinate)))
    y1, y2 = sorted((draw(_coordinate), draw(_coordinate)))
    return (x1, y1, x2, y2)


@settings(max_examples=40, deadline=None)
@given(
    pairs=st.lists(st.tuples(_box(), _box()), min_size=1, max_size=6),
    setting=st.sampled_from(SETTINGS),
)
def test_fused_equals_reference_on_fuzzed_boxes(pairs, setting):
    pred = torch.tensor([p for p, _ in pairs], dtype=torch.float64)
    target = torch.tensor([t for _, t in pairs], dtype=torch.float64)
    _assert_matches_reference(*setting, pred, target)


@pytest.mark.parametrize(
    ("name", "alpha", "alpha2", "term"),
    [("alpha_iou", 0.5, 0.5, "power"), ("alpha_giou", 3.0, 1.5, "boxcox"), ("alpha_diou", 0.5, 2.0, "power")],
)
def test_fused_gradcheck(name, alpha, alpha2, term):
    # Away from kinks (no ties, no zero overlap) the closed-form gradient must match finite differences. CIoU's β is a
    # constant in backward, so finite differences do not apply to it; its gradient is held to the reference above.
    pred = torch.tensor([[0.0, 0.0, 10.0, 8.0], [5.0, 1.0, 9.0, 12.0]], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[2.0, 3.0, 13.0, 9.5], [3.5, 2.5, 11.0, 7.0]], dtype=torch.float64, requires_grad=True)
    loss = fused_loss(name)

    def fn(p, t):
        return loss(p, t, alpha=alpha, alpha2=alpha2, iou_term=IOU_TERMS[term])

    assert torch.autograd.gradcheck(fn, (pred, target))


@pytest.mark.parametrize("kind", ["iou", "giou", "diou", "ciou"])
def test_block_layout_equals_row_layout(kind, random_box_pairs):
    # The compiled path runs the kernel on (N / B, 4, B) blocks; eagerly, both layouts must give the same numbers,
    # including the zero boxes that pad the last block (19 pairs: one full block of 16 and a padded one).
    pred, target = random_box_pairs(19, seed=5, dtype=torch.float64)
    options = dict(kind=kind, term="power", alpha=3.0, alpha2=0.5, eps=1e-7, want_pred=True, want_target=True)
    rows = loss_and_grads(pred, target, **options)
    loss, grad_pred, grad_target = loss_and_grads(
        to_blocks(pred), to_blocks(target), coord_dim=1, stack=False, **options
    )
    torch.testing.assert_close(loss.reshape(-1)[:19], rows[0], rtol=0, atol=0)
    scale = torch.linspace(0.5, 2.0, 19, dtype=torch.float64)
    for blocked, expected in ((grad_pred, rows[1]), (grad_target, rows[2])):
        torch.testing.assert_close(from_blocks(blocked, 19, scale), expected * scale[:, None], rtol=0, atol=0)


def test_blocks_round_trip():
    boxes = torch.arange(4 * 37, dtype=torch.float32).view(37, 4)
    blocks = to_blocks(boxes, block=8)
    assert blocks.shape == (5, 4, 8) and torch.equal(blocks[1, 2], boxes[8:16, 2])
    assert (blocks[4, :, 5:] == 0).all()  # padding: zero boxes
    torch.testing.assert_close(from_blocks(blocks.unbind(1), 37, torch.ones(37)), boxes, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_input_is_computed_in_float32(dtype, random_box_pairs):
    pred, target = (boxes.to(dtype) for boxes in random_box_pairs(16, seed=1))
    pred.requires_grad_()
    spec = resolve_loss("alpha_ciou", alpha=3)
    expected = spec(pred, target)
    actual = fused_loss("alpha_ciou")(pred, target, alpha=3.0, alpha2=3.0, iou_term=IOU_TERMS["power"])
    assert actual.dtype == expected.dtype == torch.float32
    torch.testing.assert_close(actual, expected, rtol=1e-6, atol=1e-6)
    (grad,) = torch.autograd.grad(actual.sum(), pred)
    assert grad.dtype == dtype and torch.isfinite(grad.float()).all()


def test_only_the_inputs_that_need_a_gradient_get_one(random_box_pairs):
    pred, target = random_box_pairs(8, seed=2, dtype=torch.float64)
    target.requires_grad_()
    loss = fused_loss("alpha_diou")(pred, target, alpha=2.0, alpha2=2.0, iou_term=IOU_TERMS["power"])
    loss.sum().backward()
    assert pred.grad is None and target.grad is not None
    with torch.no_grad():  # no gradient wanted at all: the loss alone, as the reference's
        plain = fused_loss("alpha_diou")(pred, target, alpha=2.0, alpha2=2.0, iou_term=IOU_TERMS["power"])
    torch.testing.assert_close(plain, loss.detach(), rtol=0, atol=0)


def test_empty_input_backpropagates():
    pred = torch.zeros(0, 4, requires_grad=True)
    loss = fused_loss("alpha_ciou")(pred, torch.zeros(0, 4), alpha=3.0, alpha2=3.0, iou_term=IOU_TERMS["power"])
    loss.sum().backward()
    assert loss.shape == (0,) and pred.grad.shape == (0, 4)


def test_every_fused_kind_has_one_penalty_function():
    # The kernel is composed like iou_family: one function per penalty kind, chosen by the kind of the loss name.
    assert set(FUSED_KINDS.values()) == set(PENALTIES)


def test_names_without_fused_form_and_classic_powers():
    assert fused_loss("no_such_loss") is None
    assert set(FUSED_KINDS) <= set(LOSSES)
    with pytest.raises(ValueError, match="alpha_giou"):
        fused_loss("giou")(torch.zeros(1, 4), torch.zeros(1, 4), alpha=2.0)


def test_use_fused_policy():
    assert use_fused(1000, "cpu") and use_fused(1, torch.device("cpu"))
    assert not use_fused(0, "cpu")  # empty batches take the reference path
    assert not use_fused(1000, "meta")


def test_compile_failure_falls_back_to_eager(monkeypatch, random_box_pairs):
    # A machine without a working compiler must still train: the first failure warns, then eager code is used.
    def broken_compile(fn, **kwargs):
        def run(*args, **kw):
            raise RuntimeError("no C++ compiler")

        return run

    monkeypatch.setattr(fused_module.torch, "compile", broken_compile)
    monkeypatch.setattr(fused_module, "COMPILE_MIN_PAIRS", 1)
    monkeypatch.setattr(fused_module, "_compile_enabled", True)
    monkeypatch.setattr(fused_module, "_compiled_fns", {})
    pred, target = random_box_pairs(16, seed=4, dtype=torch.float64)
    with pytest.warns(UserWarning, match="torch.compile of the fused box loss failed"):
        actual, actual_grads = _value_and_grads(fused_loss("alpha_giou"), pred, target, alpha=3.0)
    expected, expected_grads = _value_and_grads(LOSSES["alpha_giou"], pred, target, alpha=3.0)
    torch.testing.assert_close(actual, expected, **TOL)
    torch.testing.assert_close(actual_grads, expected_grads, **TOL)
    assert set(fused_module._compiled_fns.values()) == {None}
