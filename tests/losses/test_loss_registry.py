"""The registry: the expected names, one signature, documented functions, and no duplicate registration."""

from __future__ import annotations

import inspect

import pytest
import torch

import yolo_alpha.losses as losses
from yolo_alpha.losses import IOU_TERMS, LOSSES, list_losses
from yolo_alpha.losses.registry import loss_params_of, loss_state_of, register, takes_alpha

NAMES = [
    "alpha_ciou",
    "alpha_diou",
    "alpha_eiou",
    "alpha_giou",
    "alpha_iou",
    "alpha_mpdiou",
    "alpha_siou",
    "alpha_soft_iou",
    "ciou",
    "diou",
    "eiou",
    "focal_eiou",
    "giou",
    "iou",
    "l1",
    "mpdiou",
    "siou",
    "soft_iou",
    "wiou",
    "wiou_v1",
]
CLASSIC_WITH_ALPHA_FORM = ["iou", "giou", "diou", "ciou", "eiou", "siou", "mpdiou", "soft_iou"]
FIXED_WITHOUT_ALPHA_FORM = ["focal_eiou", "wiou_v1", "wiou", "l1"]


def test_public_api():
    expected = {"box_loss", "LossSpec", "resolve_loss", "list_losses", "LOSSES", "IOU_TERMS", "LossConfigError"}
    assert set(losses.__all__) == expected
    assert all(hasattr(losses, name) for name in expected)


def test_list_losses_is_sorted_and_matches_the_registry():
    assert list_losses() == NAMES
    assert set(LOSSES) == set(NAMES)


def test_iou_terms():
    assert set(IOU_TERMS) == {"power", "boxcox"}


@pytest.mark.parametrize("name", NAMES)
def test_registered_function_signature_and_docstring(name):
    fn = LOSSES[name]
    parameters = inspect.signature(fn).parameters
    assert list(parameters)[:2] == ["pred", "target"]
    keyword_only = {key for key, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    # The shared keywords, plus exactly the loss's own config keys and state inputs, with the registry's defaults.
    own = {**loss_params_of(name), **loss_state_of(name)}
    assert keyword_only == {"alpha", "alpha2", "iou_term", "eps", *own}
    assert {key: parameters[key].default for key in own} == own
    doc = inspect.getdoc(fn)
    assert doc.startswith("Return ")
    assert "eq. " in doc


def test_registering_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="'giou' is already registered"):
        register("giou")(lambda pred, target, **settings: pred)


@pytest.mark.parametrize("name", CLASSIC_WITH_ALPHA_FORM + FIXED_WITHOUT_ALPHA_FORM)
def test_classic_function_refuses_a_power_when_called_directly(name):
    boxes = torch.tensor([[0.0, 0, 2, 2]])
    with pytest.raises(ValueError, match=f"{name} is the α = 1 loss"):
        LOSSES[name](boxes, boxes, alpha=3.0)
    with pytest.raises(ValueError, match=f"{name} is the α = 1 loss"):
        LOSSES[name](boxes, boxes, alpha=1.0, alpha2=2.0)


def test_which_losses_take_alpha():
    fixed = set(CLASSIC_WITH_ALPHA_FORM + FIXED_WITHOUT_ALPHA_FORM)
    assert {name for name in NAMES if not takes_alpha(name)} == fixed
    assert all(takes_alpha(f"alpha_{name}") for name in CLASSIC_WITH_ALPHA_FORM)
