"""The settings table: one declaration per key drives cfg/default.yaml, `yolo-alpha help`, the docs and validation."""

import re
from pathlib import Path

import pytest
import yaml

from yolo_alpha.cli import usage
from yolo_alpha.config import default_settings, packaged_cfg_dir
from yolo_alpha.errors import ConfigError, YoloAlphaError
from yolo_alpha.losses import LossConfigError, resolve_loss
from yolo_alpha.losses.balance import NO_BALANCE, IoUBalance
from yolo_alpha.losses.registry import all_loss_params, losses_taking
from yolo_alpha.settings import KEYS, USER_KEYS, NoiseSettings, Settings, defaults, from_flat, split_ours

KEYS_DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"  # its key table, linked from the README


def test_default_yaml_holds_every_user_key_with_the_tables_default_and_a_comment():
    text = (packaged_cfg_dir() / "default.yaml").read_text(encoding="utf-8")
    loaded = default_settings()
    assert {key: loaded.get(key, "missing") for key in USER_KEYS} == {key: KEYS[key].default for key in USER_KEYS}
    for key in USER_KEYS:
        line = next(line for line in text.splitlines() if line.startswith(f"{key}:"))
        assert "#" in line, f"cfg/default.yaml: {key} has no comment"
    recorded = [key for key, k in KEYS.items() if k.recorded]
    assert [key for key in recorded if key in loaded] == []  # written by yolo-alpha, never set there


def docs_key_table() -> dict[str, str]:
    """Return {key: default} of docs/configuration.md's "Configuration keys" table (a row may name several keys)."""
    section = KEYS_DOC.read_text(encoding="utf-8").split("## Configuration keys", 1)[1].split("\n## ", 1)[0]
    table = {}
    for row in re.findall(r"^\| (`[^|]+`) \| `([^`]*)` \|", section, flags=re.M):
        names, default = row
        for name in re.findall(r"`([^`]+)`", names):
            table[name] = default
    return table


def test_docs_key_table_lists_every_user_key_with_its_default():
    shown = {None: "null"}
    expected = {key: shown.get(KEYS[key].default, str(KEYS[key].default)) for key in USER_KEYS}
    assert docs_key_table() == expected


def test_help_lists_every_user_key_with_its_default_and_help():
    text = usage()
    for key in USER_KEYS:
        default = "null" if KEYS[key].default is None else KEYS[key].default
        assert f"  {key}={default}" in text and KEYS[key].help in text


def test_loss_params_come_from_the_registry():
    for key in all_loss_params():
        assert KEYS[key].group == "loss" and KEYS[key].losses == tuple(losses_taking(key)) and KEYS[key].help


def test_from_flat_defaults_are_the_papers_and_round_trip():
    settings = from_flat({})
    assert settings == Settings(loss=resolve_loss(), balance=NO_BALANCE, noise=NoiseSettings())
    assert (settings.loss.loss, settings.loss.alpha) == ("alpha_ciou", 3.0)
    given = {"loss": "wiou", "wiou_delta": 2.5, "noise_eta": 0.2, "noise_seed": 4, "iou_loc_norm": "eq7"}
    settings = from_flat({**given, "epochs": 3, "wiou_mean": [0.5]})  # other keys are not ours to check
    assert settings.noise == NoiseSettings(0.2, 4) and settings.balance == IoUBalance(0.0, 0.0, "eq7")
    assert from_flat(settings.flat()) == settings
    assert set(settings.flat()) == set(USER_KEYS)


def test_split_ours_and_defaults_cover_recorded_keys():
    ours, theirs = split_ours({"loss": "iou", "alpha": 1, "epochs": 3, "noise_mean_iou": 0.8})
    assert ours == {"loss": "iou", "alpha": 1, "noise_mean_iou": 0.8} and theirs == {"epochs": 3}
    assert set(defaults()) == set(KEYS) and {"wiou_mean", "noise_mean_iou"} <= set(defaults())


@pytest.mark.parametrize(
    "key,bad,allowed",
    [
        ("noise_eta", 1.0, r"in \[0, 1\)"), ("noise_eta", -0.1, r"in \[0, 1\)"), ("noise_eta", float("nan"), "finite"),
        ("noise_eta", "0.1", "finite number"), ("noise_eta", True, "finite number"),
        ("noise_seed", -1, ">= 0"), ("noise_seed", 1.5, "integer"), ("noise_seed", False, "integer"),
        ("iou_cls_eta", -0.5, ">= 0"), ("iou_cls_eta", float("nan"), ">= 0"), ("iou_cls_eta", True, ">= 0"),
        ("iou_loc_lambda", float("inf"), ">= 0"), ("iou_loc_lambda", None, ">= 0"),
        ("iou_loc_norm", 0, "> 0"), ("iou_loc_norm", "eq5", "eq7"), ("iou_loc_norm", False, "> 0"),
    ],
)  # fmt: skip
def test_a_bad_value_is_a_config_error_naming_the_key_and_what_is_allowed(key, bad, allowed):
    with pytest.raises(ConfigError, match=rf"^{key} must be .*{allowed}"):
        from_flat({key: bad})


def test_loss_errors_share_the_one_base_class():
    with pytest.raises(YoloAlphaError) as e:
        from_flat({"loss": "alpha_cio"})
    assert isinstance(e.value, LossConfigError) and "Did you mean 'alpha_ciou'?" in str(e.value)
    with pytest.raises(YoloAlphaError, match="kappa applies only to alpha_soft_iou, soft_iou"):
        from_flat({"loss": "ciou", "kappa": 5})


def test_the_shipped_paper_cfgs_validate():
    for name in ("voc.yaml", "coco.yaml"):
        from_flat({**default_settings(), **yaml.safe_load((packaged_cfg_dir() / name).read_text())})


def test_alpha_warmup_is_an_epoch_count_for_alpha_losses_only():
    assert from_flat({"alpha_warmup": 5}).alpha_warmup == 5 and from_flat({}).alpha_warmup == 0
    for bad in (-1, 1.5, "5", True):
        with pytest.raises(ConfigError, match="alpha_warmup must be an integer >= 0"):
            from_flat({"alpha_warmup": bad})
    with pytest.raises(ConfigError, match="alpha_warmup=5 schedules α, but loss='ciou' is fixed at α = 1"):
        from_flat({"loss": "ciou", "alpha_warmup": 5})


def test_alpha_warmup_must_be_below_epochs():
    # Issue 16: alpha_warmup >= epochs never trained at the α it recorded. The schedule reaches α at epoch
    # alpha_warmup (0-based), so the last epoch, epochs − 1, trains at α exactly when alpha_warmup <= epochs − 1.
    assert from_flat({"loss": "alpha_iou", "alpha_warmup": 4}, epochs=5).alpha_warmup == 4
    assert from_flat({"loss": "alpha_iou", "alpha_warmup": 50}).alpha_warmup == 50  # epochs unknown: a record
    # α = 3 over 5 warm-up epochs: the last of 5 epochs (epoch 4) trains at 1 + 2 · 4/5 = 2.6.
    message = (
        "alpha_warmup=5 must be below epochs=5: α would go from 1 only to 2.6 by the last epoch, never the α = 3 "
        "recorded; use alpha_warmup <= 4 or more epochs"
    )
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        from_flat({"loss": "alpha_iou", "alpha_warmup": 5}, epochs=5)
    with pytest.raises(ConfigError, match=r"^alpha_warmup=30 must be below epochs=3: "):
        from_flat({"loss": "alpha_ciou", "alpha_warmup": 30}, epochs=3)


def test_a_sweep_cell_and_the_cli_check_alpha_warmup_against_epochs():
    # run.check_settings (the CLI's train, and every sweep cell up front) passes the merged epochs: default.yaml's 30.
    from yolo_alpha.config import merge_settings
    from yolo_alpha.run import check_settings

    cell = {"loss": "alpha_iou", "alpha_warmup": 30, "model": "yolov8n.yaml"}
    with pytest.raises(ConfigError, match=r"^alpha_warmup=30 must be below epochs=30: "):
        check_settings(merge_settings(cell), "train")
    assert check_settings(merge_settings({**cell, "epochs": 31}), "train").alpha_warmup == 30
