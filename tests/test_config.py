"""Settings files: precedence, shipped files."""

import pytest
import yaml
from ultralytics.cfg import DEFAULT_CFG_DICT

from yolo_alpha.config import ConfigError, default_settings, find_cfg_file, load_yaml, merge_settings, packaged_cfg_dir
from yolo_alpha.settings import KEYS, from_flat, require_known


def test_default_yaml_is_the_papers_choice():
    spec = from_flat(default_settings()).loss
    assert (spec.loss, spec.alpha, spec.alpha2, spec.iou_term) == ("alpha_ciou", 3.0, 3.0, "power")


@pytest.mark.parametrize("name", ["default.yaml", "voc.yaml", "coco.yaml"])
def test_shipped_files_use_only_known_keys(name):
    settings = load_yaml(packaged_cfg_dir() / name)
    require_known(settings, set(DEFAULT_CFG_DICT) | set(KEYS), "train")


@pytest.mark.parametrize("name,data", [("voc.yaml", "VOC.yaml"), ("coco.yaml", "coco.yaml")])
def test_paper_cfgs_use_ultralytics_dataset_definitions(name, data):
    settings = load_yaml(packaged_cfg_dir() / name)
    assert settings["data"] == data and settings["epochs"] == 300 and settings["imgsz"] == 640


def test_precedence_cli_over_file_over_defaults(tmp_path):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({"epochs": 7, "alpha": 2.0, "loss": "alpha_diou"}))
    merged = merge_settings({"cfg": str(cfg), "alpha": 4.0}, defaults={"epochs": 20, "alpha": None, "imgsz": 160})
    assert merged == {"epochs": 7, "alpha": 4.0, "loss": "alpha_diou", "imgsz": 160}


def test_cfg_file_is_found_in_the_package_when_not_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no cfg/ folder here
    assert find_cfg_file("cfg/voc.yaml") == packaged_cfg_dir() / "voc.yaml"
    assert find_cfg_file("coco.yaml") == packaged_cfg_dir() / "coco.yaml"


def test_missing_cfg_file_names_the_key_and_the_shipped_files(tmp_path):
    with pytest.raises(ConfigError, match=r"cfg=nope\.yaml: no such file .*voc\.yaml"):
        find_cfg_file("nope.yaml")


@pytest.mark.parametrize("text,match", [("- a\n- b\n", "expected a mapping"), ("a: [1,\n", "not valid YAML")])
def test_bad_yaml_names_the_file(tmp_path, text, match):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_yaml(bad)


@pytest.mark.parametrize("name", ["default.yaml", "voc.yaml", "coco.yaml"])
def test_shipped_model_yaml_builds_offline(name):
    from yolo_alpha.ultralytics.anchor_model import build_detection_model

    model = build_detection_model(load_yaml(packaged_cfg_dir() / name)["model"], nc=20, verbose=False)
    assert model.model[-1].nc == 20


@pytest.mark.parametrize("name", ["voc.yaml", "coco.yaml"])
def test_paper_cfgs_train_the_papers_anchor_based_detector(name):
    from yolo_alpha.ultralytics.families import model_family

    assert model_family(load_yaml(packaged_cfg_dir() / name)["model"]) == "anchor"
