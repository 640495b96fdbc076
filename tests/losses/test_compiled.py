"""The opt-in compiled path is torch.compile of the registered function itself: same values and gradients, and any
compiler failure falls back to the eager function with one warning."""

from __future__ import annotations

import pytest
import torch

from yolo_alpha.losses import compiled as compiled_module
from yolo_alpha.losses import resolve_loss
from yolo_alpha.losses.registry import loss_entry


def _value_and_grads(spec, pred, target):
    pred, target = pred.clone().requires_grad_(), target.clone().requires_grad_()
    loss = spec(pred, target)
    return (loss, *torch.autograd.grad(loss.sum(), (pred, target)))


def test_off_by_default_and_on_with_the_variable(monkeypatch):
    fn = loss_entry("alpha_ciou").fn
    monkeypatch.delenv("YOLO_ALPHA_COMPILE", raising=False)
    assert compiled_module.compiled(fn) is fn
    monkeypatch.setenv("YOLO_ALPHA_COMPILE", "1")
    assert compiled_module.compiled(fn) is not fn and compiled_module.compiled(fn) is compiled_module.compiled(fn)


# α-CIoU in both dtypes, and one loss of each other kind in float64: a composed loss with a modifier and its keys, a
# loss registered on its own with keys, and one with state (a compile takes ~5-20 s on 2 cores: not all 50 losses).
CASES = [("alpha_ciou", torch.float64), ("alpha_ciou", torch.float32), ("alpha_focaler_siou", torch.float64)]
CASES += [("piou2", torch.float64), ("wiou", torch.float64)]


@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_the_compiled_function_equals_the_eager_definition(name, dtype, monkeypatch, random_box_pairs):
    pytest.importorskip("torch._inductor")
    pred, target = random_box_pairs(257, seed=3, dtype=dtype)
    spec = resolve_loss(name)
    monkeypatch.delenv("YOLO_ALPHA_COMPILE", raising=False)
    eager = _value_and_grads(spec, pred, target)
    monkeypatch.setenv("YOLO_ALPHA_COMPILE", "1")
    compiled = _value_and_grads(spec, pred, target)
    if loss_entry(name).fn in compiled_module._failed:
        pytest.skip("torch.compile is not usable on this machine (no C++ compiler?): the eager fallback ran")
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(compiled, eager, **tol)


def test_a_compiler_failure_falls_back_to_the_same_values_with_one_warning(monkeypatch, random_box_pairs):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here")

    def fn(pred, target, *, eps=1e-7):
        return (pred - target).abs().sum(1)

    monkeypatch.setenv("YOLO_ALPHA_COMPILE", "1")
    monkeypatch.setattr(compiled_module.torch, "compile", lambda f, **k: broken)
    pred, target = random_box_pairs(5, seed=1, dtype=torch.float64)
    with pytest.warns(UserWarning, match="torch.compile of fn failed"):
        value = compiled_module.compiled(fn)(pred, target)
    torch.testing.assert_close(value, fn(pred, target))
    assert compiled_module.compiled(fn) is fn  # marked failed: the eager function from now on, no second warning


def test_a_backward_that_fails_to_compile_falls_back_before_the_callers_graph(monkeypatch, random_box_pairs):
    class BrokenBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            raise RuntimeError("backward did not compile")

    def fn(pred, target, *, eps=1e-7):
        return (pred - target).abs().sum(1)

    monkeypatch.setenv("YOLO_ALPHA_COMPILE", "1")
    monkeypatch.setattr(
        compiled_module.torch, "compile", lambda f, **k: lambda p, t, **kw: BrokenBackward.apply(f(p, t))
    )
    pred, target = random_box_pairs(5, seed=1, dtype=torch.float64)
    pred.requires_grad_()
    with pytest.warns(UserWarning, match="torch.compile of fn failed"):
        value = compiled_module.compiled(fn)(pred, target)
    (grad,) = torch.autograd.grad(value.sum(), pred)  # the eager function's graph: its backward works
    torch.testing.assert_close(grad, torch.sign(pred - target).detach())


def test_a_callers_own_error_is_raised_as_is_and_does_not_switch_compiling_off(monkeypatch):
    def fn(pred, target, *, eps=1e-7):
        return (pred - target).abs().sum(1)

    monkeypatch.setenv("YOLO_ALPHA_COMPILE", "1")
    monkeypatch.setattr(compiled_module.torch, "compile", lambda f, **k: f)  # "compiled" = the function itself
    with pytest.raises(TypeError, match="unexpected keyword"):
        compiled_module.compiled(fn)(torch.zeros(1, 4), torch.zeros(1, 4), kappa=3)
    assert fn not in compiled_module._failed
