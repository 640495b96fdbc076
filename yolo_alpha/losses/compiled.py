"""Opt-in ``torch.compile`` of a registered loss's own function: the same definition, compiled, never a second one.

Off by default: a compile costs 15-60 s per setting on a 2-core CPU, and what it saves is small: measured there
(scripts/bench.py, docs/benchmarks.md) the compiled α-CIoU took 0.44× the eager time at 10³ pairs (a training batch;
~0.5 ms of a ~350 ms step), 0.79× at 10⁴, 1.3× at 10⁵ and the same at 10⁶. ``YOLO_ALPHA_COMPILE=1``
switches it on. Any failure of torch.compile (no compiler, a torch without it, an unsupported operation: it raises at
the first call, not when wrapping; the backward, which is compiled lazily, is tried once on copies of the first
inputs that need a gradient) falls back to the eager function with one warning; tests/losses/test_compiled.py
holds the compiled values and gradients equal to the eager ones.
"""

from __future__ import annotations

import functools
import os
import warnings

import torch

from yolo_alpha.losses.registry import LossFn

_failed: set[LossFn] = set()
_probed: set[LossFn] = set()  # compiled functions whose backward has run once (inductor compiles it lazily)


def compile_requested() -> bool:
    """Return True when ``YOLO_ALPHA_COMPILE=1`` asks for compiled losses."""
    return os.environ.get("YOLO_ALPHA_COMPILE", "0") == "1"


@functools.cache
def _compiled(fn: LossFn) -> LossFn:
    compiled_fn = torch.compile(fn, dynamic=True)  # an AttributeError on torch < 2.0 is caught by the caller

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if fn in _failed:
            return fn(*args, **kwargs)
        try:
            if fn not in _probed and any(torch.is_tensor(a) and a.requires_grad for a in args):
                _probe_backward(compiled_fn, args, kwargs)  # a backward that fails to compile fails here, not later
                _probed.add(fn)
            return compiled_fn(*args, **kwargs)
        except Exception as error:  # a compiler failure: the eager definition gives the same values
            result = fn(*args, **kwargs)  # the caller's own mistake (a wrong key) raises here, unmasked
            _failed.add(fn)
            warnings.warn(f"torch.compile of {fn.__name__} failed ({error!r}); using the eager function", stacklevel=2)
            return result

    return run


def _probe_backward(compiled_fn: LossFn, args: tuple, kwargs: dict) -> None:
    # Forward and backward once on detached copies: the caller's graph is not touched, and the compiled graphs are
    # cached for the real call (same shapes and dtypes).
    copies = [a.detach().clone().requires_grad_(a.requires_grad) if torch.is_tensor(a) else a for a in args]
    leaves = [c for c in copies if torch.is_tensor(c) and c.requires_grad]
    torch.autograd.grad(compiled_fn(*copies, **kwargs).sum(), leaves)


def compiled(fn: LossFn) -> LossFn:
    """Return ``fn`` compiled when :func:`compile_requested` (once per function), else ``fn`` itself."""
    if not compile_requested() or fn in _failed:
        return fn
    try:
        return _compiled(fn)
    except Exception as error:
        _failed.add(fn)
        warnings.warn(
            f"torch.compile of {fn.__name__} is unavailable ({error!r}); using the eager function", stacklevel=2
        )
        return fn
