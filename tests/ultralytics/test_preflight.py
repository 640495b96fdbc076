"""Where runs go (the current folder) and what the run folder's check refuses, without training."""

import os
from pathlib import Path

import pytest

from yolo_alpha.errors import ConfigError
from yolo_alpha.ultralytics.preflight import NUMBER_ROOM, check_model, check_run_folder, name_max, run_project


def test_runs_go_under_the_current_folder_and_a_relative_project_is_relative_to_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_project(None) == str(tmp_path / "runs" / "detect")  # Ultralytics' layout, under ./ (not its runs_dir)
    assert run_project("") == str(tmp_path / "runs" / "detect")
    assert run_project("studies/a") == str(tmp_path / "studies" / "a")
    assert run_project(tmp_path / "abs") == str(tmp_path / "abs")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert run_project("~/runs") == str(tmp_path / "home" / "runs")


def test_the_run_folder_check_creates_nothing(tmp_path):
    check_run_folder(tmp_path / "not" / "yet", "train")
    assert list(tmp_path.iterdir()) == []  # the probe folder is gone and nothing was made for the run


def test_a_name_just_short_enough_for_the_run_number_passes_one_byte_more_is_refused(tmp_path):
    longest = "n" * (name_max(tmp_path) - NUMBER_ROOM)
    check_run_folder(tmp_path, longest)
    with pytest.raises(ConfigError, match=r"name=n+…: a folder name of"):
        check_run_folder(tmp_path, longest + "n")
    with pytest.raises(ConfigError, match=r"project=.*: a folder name of"):
        check_run_folder(tmp_path / (longest + "n"), "train")
    multibyte = "é" * ((name_max(tmp_path) - NUMBER_ROOM) // 2 + 1)  # bytes count, not characters
    with pytest.raises(ConfigError, match=f"a folder name of {len(os.fsencode(multibyte))} bytes"):
        check_run_folder(tmp_path, multibyte)


def test_a_shipped_detector_yaml_and_weights_names_pass_the_model_check():
    for model in ("yolov8n.yaml", "yolo11n.yaml", "yolov5s-anchor.yaml", "best.pt", "nope.yaml"):
        check_model(model, "train")  # an unknown YAML name is left to Ultralytics, whose message names the file
    check_model("yolov8n-seg.yaml", "predict")  # predict and export run any task's model
    with pytest.raises(ConfigError, match="a segment model"):
        check_model(Path("yolov8n-seg.yaml"), "val")
