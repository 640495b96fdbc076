"""Where named data sets go (the tool's cache unless the user set Ultralytics' datasets_dir, the settings file never
written), and a missing VOC/COCO offline: the error says how to get it and nothing is created."""

import os
import re
from pathlib import Path

import pytest
import ultralytics.data.utils
import ultralytics.utils
import yaml

from yolo_alpha.data.cache import default_cache_dir
from yolo_alpha.errors import ConfigError
from yolo_alpha.ultralytics import datasets_dir as module
from yolo_alpha.ultralytics.cfg import check_dataset
from yolo_alpha.ultralytics.datasets_dir import choose_datasets_dir, datasets_dir, use_datasets_dir


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("YOLO_ALPHA_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def settings_bytes() -> bytes:
    return Path(ultralytics.utils.SETTINGS.file).read_bytes()


def test_the_default_datasets_dir_is_replaced_by_the_cache_and_a_chosen_one_kept(tmp_path):
    default = "/src/checkout/../datasets"  # what Ultralytics computes beside the git checkout of its install
    assert choose_datasets_dir(default, default, tmp_path) == tmp_path / "datasets"
    assert choose_datasets_dir("/data/sets", default, tmp_path) == Path("/data/sets")  # set by the user: honoured


def test_this_process_uses_the_cache_and_the_settings_file_is_not_written(cache):
    before, original = settings_bytes(), ultralytics.data.utils.DATASETS_DIR
    assert datasets_dir() == default_cache_dir() / "datasets" == cache / "datasets"
    with use_datasets_dir() as path:
        assert path == cache / "datasets"
        assert ultralytics.data.utils.DATASETS_DIR == ultralytics.utils.DATASETS_DIR == path
        with use_datasets_dir(Path("/elsewhere")):  # nested
            assert Path("/elsewhere") == ultralytics.data.utils.DATASETS_DIR
        assert path == ultralytics.data.utils.DATASETS_DIR
    assert original == ultralytics.data.utils.DATASETS_DIR
    assert settings_bytes() == before
    assert ultralytics.utils.SETTINGS["datasets_dir"] == str(original)


def test_a_relative_data_set_path_resolves_under_the_cache(cache, tmp_path):
    root = cache / "datasets" / "mine"
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
    data_yaml = tmp_path / "mine.yaml"
    data_yaml.write_text(yaml.safe_dump({"path": "mine", "train": "images/train", "val": "images/val", "names": ["a"]}))
    assert Path(check_dataset(str(data_yaml))["val"]) == root / "images" / "val"


@pytest.mark.parametrize(
    "data, folder, expected",
    [
        (
            "VOC.yaml",
            "VOC",
            [
                "yolo-alpha data voc root=<folder holding VOCdevkit> out=<dir>",
                "data=<dir>/data.yaml",
                "VOCtrainval_06-Nov-2007.tar (0.46 GB), VOCtest_06-Nov-2007.tar (0.45 GB), "
                "VOCtrainval_11-May-2012.tar (2.0 GB)",
            ],
        ),
        (
            "coco.yaml",
            "coco",
            ["yolo-alpha data coco json=", "train2017.zip (19.3 GB)", "val2017.zip", "annotations_trainval2017.zip"],
        ),
    ],
)
def test_a_missing_official_set_offline_says_how_to_get_it_and_creates_nothing(cache, data, folder, expected):
    # The tests set YOLO_OFFLINE=True themselves (tests/conftest.py), as a user would: nothing is downloaded.
    with pytest.raises(ConfigError) as raised:
        check_dataset(data)
    message = str(raised.value)
    assert message.startswith(f"data={data}: ") and "\n" not in message
    assert f"is not in {cache / 'datasets' / folder} and cannot be downloaded (offline)" in message
    for part in expected:
        assert part in message
    assert not cache.exists()  # Ultralytics' download would have created <set>/images first


def test_a_failed_download_removes_only_the_empty_folders_it_created(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(module, "can_download", lambda: True)
    (tmp_path / "sets").mkdir()  # the user's, empty: kept
    # A download that creates <set>/images/val and then fails, as Ultralytics' VOC script does offline.
    script = (
        "from pathlib import Path\nPath(yaml['path'], 'images', 'val').mkdir(parents=True)\nraise OSError('no route')"
    )
    data_yaml = tmp_path / "remote.yaml"
    data_yaml.write_text(
        yaml.safe_dump({
            "path": str(tmp_path / "sets" / "remote" / "set"), "train": "images/train", "val": "images/val",
            "names": ["a"], "download": script,
        })
    )  # fmt: skip
    with pytest.raises(ConfigError, match=re.escape(f"data={data_yaml}: no route")):
        check_dataset(str(data_yaml))
    assert (tmp_path / "sets").is_dir() and list((tmp_path / "sets").iterdir()) == []


def test_a_set_without_download_keeps_ultralytics_message(cache, tmp_path):
    data_yaml = tmp_path / "local.yaml"
    data_yaml.write_text(yaml.safe_dump({"path": str(tmp_path / "x"), "train": "t", "val": "v", "names": ["a"]}))
    with pytest.raises(ConfigError, match=re.escape(f"data={data_yaml}: Dataset") + ".*images not found"):
        check_dataset(str(data_yaml))
    assert not (tmp_path / "x").exists() and not cache.exists()


def test_training_inside_use_datasets_dir_finds_a_set_under_the_cache(cache, tiny_data, tiny_train, tmp_path):
    """The trainer checks the data set again (its own check_det_dataset): it must resolve in the same folder, with no
    ``use_datasets_dir`` around the call (run.train's trainer sets it itself)."""
    import shutil

    from yolo_alpha import run

    shutil.copytree(tiny_data.parent, cache / "datasets" / "tiny")
    data = yaml.safe_load(tiny_data.read_text())
    data_yaml = tmp_path / "tiny.yaml"
    data_yaml.write_text(yaml.safe_dump({**data, "path": "tiny"}))  # relative: resolved under datasets_dir
    model = run.train(**{**tiny_train, "data": str(data_yaml)})
    assert Path(model.trainer.data["train"]).is_relative_to(cache / "datasets" / "tiny")


def test_can_download_respects_the_users_offline_and_not_our_default(monkeypatch):
    import socket

    from yolo_alpha import DEFAULT_OFFLINE_ENV

    lookups = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *args: lookups.append(host) or [()])
    monkeypatch.setenv("YOLO_OFFLINE", "True")
    monkeypatch.delenv(DEFAULT_OFFLINE_ENV, raising=False)
    assert not module.can_download() and lookups == []  # the user's YOLO_OFFLINE: no probe at all
    monkeypatch.setenv(DEFAULT_OFFLINE_ENV, "1")  # yolo-alpha's own default, inherited by workers too
    assert module.can_download() and lookups == ["one.one.one.one"]

    def refused(*args):
        raise OSError("no network")

    monkeypatch.setattr(socket, "getaddrinfo", refused)
    assert not module.can_download()


def test_our_offline_default_is_marked_as_ours_in_child_processes(tmp_path):
    """A sweep worker inherits YOLO_OFFLINE=True from its parent: the marker says it is our default, not the user's."""
    import subprocess
    import sys

    from yolo_alpha import DEFAULT_OFFLINE_ENV

    env = {k: v for k, v in os.environ.items() if k not in ("YOLO_OFFLINE", DEFAULT_OFFLINE_ENV)}
    child = f"import os, yolo_alpha; print(os.environ.get('{DEFAULT_OFFLINE_ENV}'))"
    code = (
        "import os, subprocess, sys, yolo_alpha; "
        f"print(os.environ['YOLO_OFFLINE'], os.environ.get('{DEFAULT_OFFLINE_ENV}')); "
        f"subprocess.run([sys.executable, '-c', {child!r}])"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "1", "1"]
    env["YOLO_OFFLINE"] = "True"  # the user's own
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "None", "None"]
