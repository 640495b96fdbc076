"""resolve_loss / box_loss refuse every invalid setting with a LossConfigError that names the offending key."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from yolo_alpha.losses import LossConfigError, LossSpec, box_loss, list_losses, resolve_loss

BOXES = torch.tensor([[0.0, 0, 2, 2]])
# as_dict() names every loss's own key too, None where the loss does not use it.
UNUSED_OWN_KEYS = {"focal_gamma": None, "kappa": None, "wiou_alpha": None, "wiou_delta": None}


def test_loss_config_error_is_a_value_error():
    assert issubclass(LossConfigError, ValueError)


def test_unknown_loss_lists_the_valid_names_and_suggests_the_closest():
    with pytest.raises(LossConfigError) as error:
        resolve_loss("alpha_cio")
    message = str(error.value)
    assert message.startswith("loss='alpha_cio' is not a box loss.")
    assert f"Valid: {', '.join(list_losses())}" in message
    assert message.endswith("Did you mean 'alpha_ciou'?")


@pytest.mark.parametrize("loss", ["banana", None, 3, ""])
def test_unknown_loss_without_a_close_match_has_no_suggestion(loss):
    with pytest.raises(LossConfigError, match=r"^loss=.* is not a box loss\. Valid: ") as error:
        resolve_loss(loss)
    assert "Did you mean" not in str(error.value)


@pytest.mark.parametrize(
    "alpha", [0, -1, -0.5, math.nan, math.inf, -math.inf, "abc", "3", True, False, 2 + 0j, [3], torch.tensor(3.0)]
)
def test_invalid_alpha(alpha):
    with pytest.raises(LossConfigError, match=r"^alpha must be a finite number > 0, got "):
        resolve_loss("alpha_ciou", alpha=alpha)


def test_invalid_alpha_message_shows_the_value():
    with pytest.raises(LossConfigError, match=r"^alpha must be a finite number > 0, got 'abc'$"):
        resolve_loss("alpha_iou", alpha="abc")


def test_alpha_zero_with_power_term_points_to_boxcox():
    with pytest.raises(LossConfigError, match=r"^alpha must be .* got 0 \(.*iou_term='boxcox'\)$"):
        resolve_loss("alpha_iou", alpha=0, alpha2=1)


@pytest.mark.parametrize("alpha", [-1, math.nan, "abc"])
def test_invalid_alpha_with_boxcox_term(alpha):
    with pytest.raises(LossConfigError, match=r"^alpha must be a finite number >= 0, got "):
        resolve_loss("alpha_iou", alpha=alpha, alpha2=1, iou_term="boxcox")


def test_alpha_zero_with_boxcox_needs_alpha2():
    with pytest.raises(LossConfigError, match=r"^alpha2 must be set when alpha=0"):
        resolve_loss("alpha_diou", alpha=0, iou_term="boxcox")
    assert resolve_loss("alpha_diou", alpha=0, alpha2=1, iou_term="boxcox").alpha == 0


@pytest.mark.parametrize("alpha2", [0, -2, math.nan, math.inf, "abc", True])
def test_invalid_alpha2(alpha2):
    with pytest.raises(LossConfigError, match=r"^alpha2 must be a finite number > 0, got "):
        resolve_loss("alpha_ciou", alpha=3, alpha2=alpha2)


@pytest.mark.parametrize("name", ["iou", "giou", "diou", "ciou"])
def test_classic_loss_with_a_power_points_to_its_alpha_form(name):
    expected = f"loss='{name}' is the classic α = 1 loss but alpha=3.0 was given; use loss='alpha_{name}' for a power α"
    with pytest.raises(LossConfigError) as error:
        resolve_loss(name, alpha=3)
    assert str(error.value) == expected
    with pytest.raises(LossConfigError, match=rf"^loss='{name}' is the classic α = 1 loss but alpha2=2.0 was given"):
        resolve_loss(name, alpha2=2)


@pytest.mark.parametrize("iou_term", ["pow", "log", None, 1])
def test_invalid_iou_term(iou_term):
    with pytest.raises(LossConfigError, match=r"^iou_term=.* is not an IoU term\. Valid: boxcox, power"):
        resolve_loss("alpha_iou", iou_term=iou_term)


def test_invalid_iou_term_suggests_the_closest():
    with pytest.raises(LossConfigError, match=r"Did you mean 'boxcox'\?$"):
        resolve_loss("alpha_iou", iou_term="box_cox")


@pytest.mark.parametrize("reduction", ["avg", "Mean", None])
def test_invalid_reduction(reduction):
    with pytest.raises(LossConfigError, match=r"^reduction=.* is not a reduction\. Valid: mean, none, sum"):
        box_loss(BOXES, BOXES, reduction=reduction)


@pytest.mark.parametrize(
    ("pred", "target", "shapes"),
    [
        (torch.zeros(3, 4), torch.zeros(2, 4), "pred (3, 4), target (2, 4)"),
        (torch.zeros(3, 5), torch.zeros(3, 5), "pred (3, 5), target (3, 5)"),
        (torch.zeros(4), torch.zeros(4), "pred (4,), target (4,)"),
        (torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), "pred (2, 3, 4), target (2, 3, 4)"),
        ([[0, 0, 1, 1]], torch.zeros(1, 4), "pred list, target (1, 4)"),
    ],
)
def test_invalid_box_shapes(pred, target, shapes):
    with pytest.raises(LossConfigError) as error:
        box_loss(pred, target)
    assert str(error.value) == f"pred and target must both be (N, 4) xyxy box tensors with the same N, got {shapes}"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, {"loss": "alpha_ciou", "alpha": 3.0, "alpha2": 3.0, "iou_term": "power"}),
        ({"loss": "giou"}, {"loss": "giou", "alpha": 1.0, "alpha2": 1.0, "iou_term": "power"}),
        ({"loss": "ciou", "alpha": 1, "alpha2": 1}, {"loss": "ciou", "alpha": 1.0, "alpha2": 1.0, "iou_term": "power"}),
        ({"loss": "alpha_diou", "alpha": 2}, {"loss": "alpha_diou", "alpha": 2.0, "alpha2": 2.0, "iou_term": "power"}),
        (
            {"loss": "alpha_iou", "alpha": 0.5, "alpha2": 4, "iou_term": "boxcox"},
            {"loss": "alpha_iou", "alpha": 0.5, "alpha2": 4.0, "iou_term": "boxcox"},
        ),
    ],
)
def test_defaults_are_resolved(settings, expected):
    spec = resolve_loss(**settings)
    assert spec.as_dict() == {**expected, **UNUSED_OWN_KEYS}
    assert all(isinstance(spec.as_dict()[key], float) for key in ("alpha", "alpha2"))


def test_spec_is_frozen_and_rebuilt_from_its_dict():
    spec = resolve_loss("alpha_giou", alpha=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.alpha = 3.0
    assert resolve_loss(**spec.as_dict()) == spec
    assert isinstance(spec, LossSpec)
