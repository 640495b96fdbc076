"""resolve_loss / box_loss refuse every invalid setting with a LossConfigError that names the offending key, and
warn about powers beyond the paper's range. (box_loss's tensor arguments: test_loss_inputs.py.)"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

import pytest
import torch

from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.losses import IOU_TERMS, LOSSES, LossConfigError, LossSpec, box_loss, list_losses, resolve_loss
from yolo_alpha.losses.geometry import aligned_iou_and_union
from yolo_alpha.losses.registry import all_loss_params

BOXES = torch.tensor([[0.0, 0, 2, 2]])
# as_dict() names every loss's own key too, None where the loss does not use it.
UNUSED_OWN_KEYS = dict.fromkeys(all_loss_params())  # every loss's own keys: None where the loss does not take them


def test_loss_config_error_is_a_yolo_alpha_error_and_a_value_error():
    # The CLI prints any YoloAlphaError as one line; code catching ValueError keeps working.
    assert issubclass(LossConfigError, YoloAlphaError) and issubclass(LossConfigError, ValueError)


def test_unknown_loss_lists_the_valid_names_and_suggests_the_closest():
    with pytest.raises(LossConfigError) as error:
        resolve_loss("alpha_cio")
    message = str(error.value)
    assert message.startswith(
        "loss='alpha_cio' is not valid (a box loss; `yolo-alpha help losses` gives their formulas)."
    )
    assert f"Valid: {', '.join(list_losses())}" in message
    assert message.endswith("Did you mean 'alpha_ciou'?")


@pytest.mark.parametrize("loss", ["banana", None, 3, ""])
def test_unknown_loss_without_a_close_match_has_no_suggestion(loss):
    with pytest.raises(LossConfigError, match=r"^loss=.* is not valid \(a box loss; .*\)\. Valid: ") as error:
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


def _too_large(key: str, value: float) -> str:
    powered, gradient = {
        "alpha": ("IoU^α", "the box gradient"),
        "alpha2": ("each penalty P^α₂", "the penalties' gradient"),
    }[key]
    return (
        f"{key} must be a finite number in (0, 100], got {value!r} ({powered} vanishes for every imperfect box, "
        f"e.g. 0.9^100 ≈ 2.7e-5, so {gradient} is ~0; the α-IoU paper studies α ≤ 10, Fig. 6)"
    )


@pytest.mark.parametrize("value", [100.5, 1e3, 1e9, 10**9])
@pytest.mark.parametrize("key", ["alpha", "alpha2"])
def test_power_above_100_is_refused_with_the_bound_and_why(key, value):
    with pytest.raises(LossConfigError) as error:
        resolve_loss("alpha_diou", **{key: value})
    assert str(error.value) == _too_large(key, value)


def test_alpha_above_100_is_refused_with_boxcox_too():
    with pytest.raises(LossConfigError, match=r"^alpha must be a finite number in \[0, 100\], got 150 \(IoU\^α "):
        resolve_loss("alpha_iou", alpha=150, alpha2=1, iou_term="boxcox")


def test_why_powers_above_100_are_refused():
    """∂(1 − IoU^α)/∂x = α IoU^(α−1) · ∂(1 − IoU)/∂x: the power scales the IoU loss's gradient by α IoU^(α−1)."""
    # A 10 × 10 target and its copy shifted by 1: IoU = 90/110 ≈ 0.82, so the factor is 100 · 0.82^99 ≈ 2e-7 at α = 100
    # and 0 in floating point at α = 1e9, which resolve_loss accepted before.
    pred = torch.tensor([[1.0, 0, 11, 10]], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[0.0, 0, 10, 10]], dtype=torch.float64)
    iou = aligned_iou_and_union(pred.detach(), target)[0]

    def gradient(alpha):
        loss = LOSSES["alpha_iou"].fn(pred, target, alpha=alpha, iou_term=IOU_TERMS["power"])
        return torch.autograd.grad(loss.sum(), pred)[0]

    torch.testing.assert_close(gradient(100.0), 100 * iou**99 * gradient(1.0), rtol=1e-9, atol=1e-20)
    assert 0 < gradient(100.0).abs().max() < 1e-6
    assert torch.equal(gradient(1e9), torch.zeros_like(pred))
    assert pytest.approx(2.7e-5, rel=0.02) == 0.9**100  # the example the message gives


@pytest.mark.parametrize("value", [10.5, 20, 100])
@pytest.mark.parametrize("key", ["alpha", "alpha2"])
def test_power_above_10_is_accepted_with_a_warning_naming_the_key(key, value):
    expected = (
        rf"^{key}={value:g} is beyond the α-IoU paper's range α ∈ \(0, 10\] \(its Fig. 6\), where it is untested: "
    )
    with pytest.warns(UserWarning, match=expected) as record:
        spec = resolve_loss("alpha_ciou", **{key: value})
    assert getattr(spec, key) == float(value)
    assert len(record) == 1  # alpha2 defaults to alpha: one warning, for the key the user gave
    assert record[0].filename == __file__  # points at the caller of resolve_loss


@pytest.mark.parametrize("value", [0.25, 3, 10])
def test_power_within_the_papers_range_gives_no_warning(value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_loss("alpha_giou", alpha=value, alpha2=value).alpha == value


def test_classic_loss_with_a_large_power_is_refused_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(LossConfigError, match=r"^loss='ciou' is the classic α = 1 loss but alpha=20.0 was given"):
            resolve_loss("ciou", alpha=20)


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
    with pytest.raises(
        LossConfigError, match=r"^iou_term=.* is not valid \(an IoU term: .*\)\. Valid: boxcox, power\."
    ):
        resolve_loss("alpha_iou", iou_term=iou_term)


def test_invalid_iou_term_suggests_the_closest():
    with pytest.raises(LossConfigError, match=r"Did you mean 'boxcox'\?$"):
        resolve_loss("alpha_iou", iou_term="box_cox")


@pytest.mark.parametrize("reduction", ["avg", "Mean", None])
def test_invalid_reduction(reduction):
    with pytest.raises(
        LossConfigError,
        match=r"^reduction=.* is not valid \(how the \(N,\) losses are reduced\)\. Valid: mean, none, sum\.",
    ):
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
            {"loss": "alpha_diou", "alpha": 0.5, "alpha2": 4, "iou_term": "boxcox"},
            {"loss": "alpha_diou", "alpha": 0.5, "alpha2": 4.0, "iou_term": "boxcox"},
        ),
        # alpha_iou has no penalty: α₂ is not asked for at α = 0 and records 1, a valid power nothing uses.
        (
            {"loss": "alpha_iou", "alpha": 0, "iou_term": "boxcox"},
            {"loss": "alpha_iou", "alpha": 0.0, "alpha2": 1.0, "iou_term": "boxcox"},
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


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"loss": "alpha_iou", "alpha2": 2},
            "alpha2=2 is not used by loss='alpha_iou': it has no penalty term (eq. 3's P^α₂). Leave alpha2 unset, or "
            "choose a loss that uses it: an alpha_* loss with penalty terms, e.g. alpha_ciou",
        ),
        ({"loss": "alpha_soft_iou", "alpha": 2, "alpha2": 0.5}, "alpha2=0.5 is not used by loss='alpha_soft_iou'"),
        ({"loss": "alpha_iou", "alpha": 0, "alpha2": 2, "iou_term": "boxcox"}, "alpha2=2 is not used by"),
        (
            {"loss": "l1", "iou_term": "boxcox"},
            "iou_term='boxcox' is not used by loss='l1': it takes no power α, and the IoU terms differ only in α. "
            "Leave iou_term unset, or choose a loss that uses it: an alpha_* loss",
        ),
        # At α = 1 both IoU terms are 1 − IoU: a classic loss with iou_term=boxcox would record a setting it ignores.
        ({"loss": "ciou", "iou_term": "boxcox"}, "iou_term='boxcox' is not used by loss='ciou': it takes no power α"),
    ],
)
def test_a_key_the_loss_ignores_is_refused(settings, message):
    # It would be recorded with the run as if the loss had trained with it (issue 16: alpha_iou alpha2=2).
    with pytest.raises(LossConfigError, match="^" + re.escape(message)):
        resolve_loss(**settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"loss": "alpha_iou", "alpha": 2, "alpha2": 2},  # the value it resolves to: what as_dict() records
        {"loss": "iou", "alpha2": 1},
        {"loss": "l1", "iou_term": "power"},
        {"loss": "alpha_iou", "alpha": 0, "alpha2": 1, "iou_term": "boxcox"},
    ],
)
def test_an_ignored_key_at_its_resolved_value_passes_and_round_trips(settings):
    spec = resolve_loss(**settings)
    assert resolve_loss(**spec.as_dict()) == spec


def test_box_loss_with_an_unknown_name_gives_the_registry_error_not_a_key_error():
    with pytest.raises(LossConfigError, match=r"^loss='cio' is not valid .*Did you mean 'ciou'"):
        box_loss(torch.zeros(1, 4), torch.zeros(1, 4), "cio")
