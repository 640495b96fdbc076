"""NaN in, NaN out: a pair with a NaN or ±inf coordinate gets a NaN loss from every registered loss, through box_loss
and LossSpec; every other pair keeps its finite loss and gradients."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from yolo_alpha.losses import IOU_TERMS, LOSSES, box_loss, list_losses, resolve_loss
from yolo_alpha.losses.registry import takes_alpha, unused_keys_of
from yolo_alpha.losses.terms import safe_pow

NON_FINITE = (math.nan, math.inf, -math.inf)


def _spec(name):
    # α ≠ 1 where the loss takes a power: where the original bug hid (safe_pow turned a NaN into 0).
    if not takes_alpha(name):
        return resolve_loss(name)
    return resolve_loss(name, alpha=0.5, alpha2=None if "alpha2" in unused_keys_of(name) else 2.0)


def _poisoned_batch(good_pred, good_target, dtype):
    """Return (pred, target, bad): the good pairs, then one copy of pair 0 per (coordinate, non-finite value)."""
    bad_pred, bad_target = [], []
    for column in range(8):
        for value in NON_FINITE:
            pred, target = good_pred[0].clone(), good_target[0].clone()
            (pred if column < 4 else target)[column % 4] = value
            bad_pred.append(pred)
            bad_target.append(target)
    pred = torch.cat((good_pred, torch.stack(bad_pred))).to(dtype)
    target = torch.cat((good_target, torch.stack(bad_target))).to(dtype)
    bad = torch.arange(len(pred)) >= len(good_pred)
    return pred, target, bad


def _value_and_grads(fn, pred, target):
    pred, target = pred.clone().requires_grad_(), target.clone().requires_grad_()
    loss = fn(pred, target)
    return (loss, *torch.autograd.grad(loss.sum(), (pred, target)))


def _assert_nan_only_in_bad_rows(fn, pred, target, bad, tol):
    loss, grad_pred, grad_target = _value_and_grads(fn, pred, target)
    assert torch.isnan(loss[bad]).all(), f"finite loss for a non-finite pair: {loss[bad]}"
    # The other pairs: the same loss and gradients as without the bad pairs, all finite.
    expected = _value_and_grads(fn, pred[~bad], target[~bad])
    actual = (loss[~bad], grad_pred[~bad], grad_target[~bad])
    assert all(torch.isfinite(tensor).all() for tensor in actual)
    torch.testing.assert_close(actual, expected, **tol)
    # A bad pair's gradient is NaN wherever the NaN reaches it, or exactly 0 (behind a clamp or a where); never a
    # finite pull.
    for grad in (grad_pred[bad], grad_target[bad]):
        assert (torch.isnan(grad) | (grad == 0)).all()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("entry", ["box_loss", "spec"])
@pytest.mark.parametrize("name", list_losses())
def test_every_non_finite_coordinate_gives_nan_only_in_its_pair(name, entry, dtype, random_box_pairs):
    spec = _spec(name)
    settings_ = spec.as_dict()
    fn = (
        spec
        if entry == "spec"
        else lambda p, t: box_loss(p, t, **{k: v for k, v in settings_.items() if v is not None})
    )
    pred, target, bad = _poisoned_batch(*random_box_pairs(6, seed=9, dtype=torch.float64), dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-6, atol=1e-6)
    _assert_nan_only_in_bad_rows(fn, pred, target, bad, tol)


@st.composite
def _poisoned_pairs(draw):
    """Valid random pairs with NaN or ±inf written into a random subset of the coordinates."""
    n = draw(st.integers(1, 5))
    corners = st.floats(0, 50, allow_nan=False)
    sizes = st.floats(0, 30, allow_nan=False)
    rows = []
    for _ in range(2 * n):
        x, y, w, h = draw(corners), draw(corners), draw(sizes), draw(sizes)
        rows.append([x, y, x + w, y + h])
    boxes = torch.tensor(rows, dtype=torch.float64)
    cells = draw(st.lists(st.tuples(st.integers(0, 2 * n - 1), st.integers(0, 3)), min_size=1, max_size=4))
    for row, column in cells:
        boxes[row, column] = draw(st.sampled_from(NON_FINITE))
    pred, target = boxes[:n], boxes[n:]
    bad = ~(torch.isfinite(pred).all(1) & torch.isfinite(target).all(1))
    return pred, target, bad


@pytest.mark.parametrize("name", list_losses())
@settings(max_examples=15, deadline=None)
@given(batch=_poisoned_pairs())
def test_property_nan_in_nan_out(name, batch):
    pred, target, bad = batch
    _assert_nan_only_in_bad_rows(_spec(name), pred, target, bad, dict(rtol=1e-12, atol=1e-12))


def test_the_reported_case():
    # alpha_ciou (α = 3) on a NaN coordinate used to return 1.0 with a NaN gradient; an infinite width did too.
    target = torch.tensor([[0.0, 0, 10, 10]])
    for pred in ([[math.nan, 0, 10, 10]], [[0.0, 0, math.inf, 10]]):
        assert torch.isnan(box_loss(torch.tensor(pred), target, "alpha_ciou", alpha=3)).all()


def test_safe_pow_keeps_nan_in_value_and_gradient():
    # The root cause: the mask was x > 0, which is False for NaN and fed the power a harmless 1.
    x = torch.tensor([math.nan, 0.0, -1e-9, 0.25], dtype=torch.float64, requires_grad=True)
    value = safe_pow(x, 0.5)
    (grad,) = torch.autograd.grad(value.sum(), x)
    assert torch.isnan(value[0]) and torch.isnan(grad[0])
    torch.testing.assert_close(value[1:], torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64), rtol=0, atol=0)
    torch.testing.assert_close(grad[1:], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), rtol=0, atol=0)


@pytest.mark.parametrize("name", list_losses())
def test_the_registered_functions_propagate_nan_themselves(name):
    # Without LossSpec's guard: each function gives NaN for a NaN coordinate itself, and a finite loss beside it.
    pred = torch.tensor([[math.nan, 0, 2, 2], [0, 0, 2, 2]], dtype=torch.float64)
    target = torch.tensor([[1.0, 0, 4, 3], [1, 0, 4, 3]], dtype=torch.float64)
    entry = LOSSES[name]
    keywords = entry.core_keywords(3.0, 0.5, IOU_TERMS["power"])
    loss = entry.fn(pred, target, **keywords, **{p.key: p.default for p in entry.params})
    assert torch.isnan(loss[0]) and torch.isfinite(loss[1])
