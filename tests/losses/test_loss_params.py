"""The losses' own keys (every loss's Params: focal_gamma, kappa, …) and state (iou_mean): registry, resolve_loss,
LossSpec and box_loss plumbing, and their place in cfg/default.yaml (yolo_alpha.settings' key table is tested with
the settings)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from yolo_alpha.config import default_settings
from yolo_alpha.losses import LOSSES, LossConfigError, box_loss, list_losses, resolve_loss
from yolo_alpha.losses.registry import CORE_KEYS, all_loss_params, loss_params_of, losses_taking

PRED = torch.tensor([[0.0, 0, 2, 2], [1, 1, 3, 4]], dtype=torch.float64)
TARGET = torch.tensor([[1.0, 0, 4, 3], [0, 1, 3, 3]], dtype=torch.float64)
LOSS_KEYS = (*CORE_KEYS, *all_loss_params())  # every key a LossSpec records, in as_dict()'s order


def test_own_keys_and_defaults():
    own = all_loss_params()
    assert {key: own[key] for key in ("focal_gamma", "kappa", "wiou_alpha", "wiou_delta")} == {
        "focal_gamma": 0.5,
        "kappa": 30.0,
        "wiou_alpha": 1.9,
        "wiou_delta": 3.0,
    }
    assert losses_taking("kappa") == ["alpha_soft_iou", "soft_iou"]
    assert losses_taking("focal_gamma") == ["focal_eiou"]
    assert losses_taking("wiou_alpha") == losses_taking("wiou_delta") == ["wiou"]
    assert loss_params_of("ciou") == {}


def test_default_yaml_lists_every_own_key_with_null():
    defaults = default_settings()
    assert {key: defaults[key] for key in all_loss_params()} == dict.fromkeys(all_loss_params())


@pytest.mark.parametrize(
    ("loss", "given", "params"),
    [
        ("soft_iou", {}, (("kappa", 30.0),)),
        ("soft_iou", {"kappa": 5}, (("kappa", 5.0),)),
        ("alpha_soft_iou", {"kappa": None}, (("kappa", 30.0),)),
        ("focal_eiou", {"focal_gamma": 1}, (("focal_gamma", 1.0),)),
        ("wiou", {"wiou_delta": 2.5}, (("wiou_alpha", 1.9), ("wiou_delta", 2.5))),
        # A flat settings dict carries every key; null keys of other losses pass.
        ("ciou", dict.fromkeys(all_loss_params()), ()),
    ],
)
def test_own_keys_are_filled_and_resolved(loss, given, params):
    spec = resolve_loss(loss, **given)
    assert spec.params == params
    assert all(isinstance(value, float) for _, value in spec.params)


@pytest.mark.parametrize(
    ("loss", "key", "takers"),
    [
        ("ciou", "kappa", "alpha_soft_iou, soft_iou"),
        ("eiou", "focal_gamma", "focal_eiou"),
        ("wiou_v1", "wiou_alpha", "wiou"),
    ],
)
def test_a_key_for_another_loss_is_refused(loss, key, takers):
    with pytest.raises(LossConfigError) as error:
        resolve_loss(loss, **{key: 5})
    assert str(error.value) == f"{key} applies only to {takers}; got {key}=5 with loss={loss!r}"


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, "abc", True, [3]])
@pytest.mark.parametrize(("loss", "key"), [("soft_iou", "kappa"), ("wiou", "wiou_alpha"), ("wiou", "wiou_delta")])
def test_invalid_own_key_value(loss, key, value):
    with pytest.raises(LossConfigError, match=rf"^{key} must be a finite number > 0, got "):
        resolve_loss(loss, **{key: value})


def test_focal_gamma_zero_points_to_eiou():
    with pytest.raises(
        LossConfigError, match=r"^focal_gamma must be .* got 0 \(γ = 0 is plain EIoU: use loss='eiou'\)$"
    ):
        resolve_loss("focal_eiou", focal_gamma=0)


def test_unknown_key_suggests_the_closest():
    with pytest.raises(LossConfigError, match=r"^'kapa' is not a box-loss key\. Valid: .*Did you mean 'kappa'\?$"):
        resolve_loss("soft_iou", kapa=5)


def test_state_given_as_a_setting_is_refused():
    with pytest.raises(LossConfigError, match=r"^iou_mean is the state of wiou, not a setting"):
        resolve_loss("wiou", iou_mean=0.5)


@pytest.mark.parametrize(
    ("loss", "hint"),
    [("wiou", "takes no power α \\(Wise-IoU is a product"), ("l1", "takes no power"), ("eiou", "alpha_eiou")],
)
@pytest.mark.parametrize("key", ["alpha", "alpha2"])
def test_loss_without_powers_refuses_them(loss, hint, key):
    with pytest.raises(LossConfigError, match=rf"^loss='{loss}' .*{hint}") as error:
        resolve_loss(loss, **{key: 3})
    assert f"{key}=3.0 was given" in str(error.value)


@pytest.mark.parametrize("loss", list_losses())
def test_as_dict_names_every_key_and_rebuilds_the_spec(loss):
    spec = resolve_loss(loss)
    recorded = spec.as_dict()
    assert list(recorded) == list(LOSS_KEYS)
    assert {key: recorded[key] for key in loss_params_of(loss)} == loss_params_of(loss)
    assert all(recorded[key] is None for key in all_loss_params() if key not in loss_params_of(loss))
    assert resolve_loss(**recorded) == spec
    assert {spec: loss}[resolve_loss(**recorded)] == loss  # hashable, equal specs hash equal
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.params = ()


def test_only_wiou_is_stateful():
    assert [name for name in list_losses() if resolve_loss(name).stateful] == ["wiou"]
    assert resolve_loss("wiou").initial_state() == {"iou_mean": 1.0}
    assert resolve_loss("ciou").initial_state() == {}


def test_spec_passes_own_keys_and_state_to_the_loss():
    spec = resolve_loss("soft_iou", kappa=2)
    torch.testing.assert_close(spec(PRED, TARGET), LOSSES["soft_iou"].fn(PRED, TARGET, kappa=2.0))
    wiou = resolve_loss("wiou", wiou_alpha=1.5)
    expected = LOSSES["wiou"].fn(PRED, TARGET, wiou_alpha=1.5, iou_mean=0.3)
    torch.testing.assert_close(wiou(PRED, TARGET, iou_mean=0.3), expected)
    torch.testing.assert_close(wiou(PRED, TARGET, iou_mean=torch.tensor(0.3)), expected)
    torch.testing.assert_close(wiou(PRED, TARGET), LOSSES["wiou"].fn(PRED, TARGET, wiou_alpha=1.5, iou_mean=1.0))


def test_state_for_a_stateless_loss_is_refused():
    with pytest.raises(LossConfigError, match=r"^loss='ciou' takes no state iou_mean$"):
        resolve_loss("ciou")(PRED, TARGET, iou_mean=0.5)
    with pytest.raises(LossConfigError, match=r"^iou_mean is the state of wiou"):
        box_loss(PRED, TARGET, "ciou", iou_mean=0.5)


def test_box_loss_takes_own_keys_and_state():
    torch.testing.assert_close(
        box_loss(PRED, TARGET, "alpha_soft_iou", alpha=2, kappa=3, reduction="sum"),
        resolve_loss("alpha_soft_iou", alpha=2, kappa=3)(PRED, TARGET).sum(),
    )
    torch.testing.assert_close(
        box_loss(PRED, TARGET, "wiou", wiou_delta=2, iou_mean=0.4),
        resolve_loss("wiou", wiou_delta=2)(PRED, TARGET, iou_mean=0.4),
    )
