"""``data=neon-trees[:…]``: the name a study records instead of a path, its keys, the cached build (once, from a fake
wheel made here; pip stood in for), the way out when offline, ``data neon-trees`` without ``out=`` filling that cache,
and a training that reads the set by its name."""

import re

import pytest
import yaml
from test_neon_trees import make_wheel, sha256

from yolo_alpha.cli import main
from yolo_alpha.data import neon_trees
from yolo_alpha.data.named_sets import (
    is_named,
    named_set_of,
    neon_trees_cache,
    neon_trees_tiling,
    resolve_data,
)
from yolo_alpha.data.neon_trees import WHEEL_NAME
from yolo_alpha.data.tiling import Tiling
from yolo_alpha.errors import ConfigError


@pytest.fixture
def fake_pip(tmp_path, monkeypatch):
    """pip download stood in for by a copy of the fake wheel; returns the list of folders it 'downloaded' into."""
    wheel = make_wheel(tmp_path / "source" / WHEEL_NAME) if (tmp_path / "source").mkdir() is None else None
    monkeypatch.setattr(neon_trees, "WHEEL_SHA256", sha256(wheel))
    calls = []

    def download(folder):
        calls.append(folder)
        (folder / WHEEL_NAME).write_bytes(wheel.read_bytes())
        return folder / WHEEL_NAME

    monkeypatch.setattr(neon_trees, "download_wheel", download)
    monkeypatch.setenv("YOLO_ALPHA_CACHE", str(tmp_path / "cache"))
    return calls


@pytest.mark.parametrize(
    "data, tiling",
    [
        ("neon-trees", Tiling(400, 0, 0.5, "pad")),
        ("neon-trees:tile=320", Tiling(320, 0, 0.5, "pad")),
        ("neon-trees:tile=320,overlap=32,min_area=0.6,edge=shift", Tiling(320, 32, 0.6, "shift")),
        ("neon-trees: edge = shift ", Tiling(400, 0, 0.5, "shift")),
    ],
)
def test_the_name_and_its_keys_give_the_tile_grid(data, tiling):
    assert is_named(data) and neon_trees_tiling(data) == tiling


@pytest.mark.parametrize(
    "data, message",
    [
        ("neon-trees:size=320", "data=neon-trees:size=320: 'size=320' is not one of tile, overlap, min_area, edge"),
        ("neon-trees:tile=320,tile=384", "'tile=384' is repeated"),
        ("neon-trees:tile=abc", "data=neon-trees:tile=abc: tile must be an integer >= 32, got 'abc'"),
        ("neon-trees:edge=wrap", "data=neon-trees:edge=wrap: edge=wrap: choose edge=shift"),
        ("neon-trees:tile", "'tile' is not one of tile, overlap, min_area, edge as key=value"),
    ],
)
def test_bad_keys_name_data_and_what_is_allowed(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        neon_trees_tiling(data)


@pytest.mark.parametrize("data", ["neon-trees", "neon-trees:tile=320,overlap=32,min_area=0.6,edge=shift"])
def test_a_cache_folder_gives_back_the_name_of_its_set(data, tmp_path):
    folder = neon_trees_cache(neon_trees_tiling(data), tmp_path)
    assert neon_trees_tiling(named_set_of(folder / "data.yaml")) == neon_trees_tiling(data)
    assert named_set_of(tmp_path / "synthetic-0577056b1e7b" / "data.yaml") is None  # a hash of its sizes (n_val=800)
    # but the default set's is known: the folder the committed warm starts recorded
    assert named_set_of("/root/.cache/yolo-alpha/synthetic-d1942bf71902/data.yaml") == "synthetic"
    assert named_set_of("/data/VOC/data.yaml") is None and named_set_of("coco8.yaml") is None


def test_other_names_are_paths_or_the_synthetic_set():
    assert not is_named("neon-treesX") and not is_named("data/neon-trees.yaml") and is_named("synthetic:n_val=90")
    assert resolve_data("some/data.yaml") == "some/data.yaml"


def test_the_set_is_built_once_into_the_cache_and_names_where_it_lies(fake_pip, tmp_path, monkeypatch):
    path = resolve_data("neon-trees:tile=64")
    target = tmp_path / "cache" / "neon-trees-tile64-overlap0-min0.5-pad"
    assert path == str(target / "data.yaml") == str(neon_trees_cache(Tiling(64, edge="pad")) / "data.yaml")
    data = yaml.safe_load((target / "data.yaml").read_text())
    assert data["path"] == str(target.resolve()) and (target / data["val"]).is_dir()
    assert not list((tmp_path / "cache").glob(".*partial*"))  # the staging folder was renamed, not left
    assert len(fake_pip) == 1
    before = (target / "data.yaml").read_bytes()
    assert resolve_data("neon-trees:tile=64,edge=pad") == path  # the same grid, spelled out: no second build
    assert len(fake_pip) == 1 and (target / "data.yaml").read_bytes() == before
    resolve_data("neon-trees:tile=64,edge=shift")  # another grid is another folder
    assert len(fake_pip) == 2 and (tmp_path / "cache" / "neon-trees-tile64-overlap0-min0.5-shift").is_dir()


def test_offline_the_error_names_data_and_how_to_build_it_from_a_local_wheel(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_ALPHA_CACHE", str(tmp_path / "cache"))

    def no_network(folder):
        raise ConfigError(f"could not download {WHEEL_NAME} with pip (no route to host)")

    monkeypatch.setattr(neon_trees, "download_wheel", no_network)
    expected = (
        "data=neon-trees: the NEON tree-crown set is not built here and could not be (could not download "
        f"{WHEEL_NAME} with pip (no route to host)); build it once with yolo-alpha data neon-trees wheel=PATH "
        "tile=400 overlap=0 min_area=0.5 edge=pad (no out=: into the cache that data=neon-trees reads)"
    )
    with pytest.raises(ConfigError, match=re.escape(expected)):
        resolve_data("neon-trees")
    assert not list((tmp_path / "cache").glob("neon-trees*"))  # nothing half-built under the final name


def test_the_data_verb_without_out_fills_the_cache_that_the_name_reads(tmp_path, monkeypatch, capsys):
    wheel = make_wheel(tmp_path / WHEEL_NAME)
    monkeypatch.setattr(neon_trees, "WHEEL_SHA256", sha256(wheel))
    monkeypatch.setattr(neon_trees, "download_wheel", lambda folder: pytest.fail("the local wheel is used"))
    monkeypatch.setenv("YOLO_ALPHA_CACHE", str(tmp_path / "cache"))
    assert main(["data", "neon-trees", f"wheel={wheel}", "tile=64"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "classes (1): Tree" and "train on it with data=neon-trees:tile=64" in lines
    assert lines[-1] == resolve_data("neon-trees:tile=64")  # read from the cache: no download
    assert main(["data", "neon-trees", f"wheel={wheel}", "tile=64"]) == 0
    assert "already built in" in capsys.readouterr().out


def test_a_training_reads_the_set_by_its_name(fake_pip, tmp_path):
    from yolo_alpha.run import train

    model = train(
        data="neon-trees:tile=64", model="yolov8n.yaml", imgsz=64, epochs=1, batch=4, loss="ciou", plots=False,
        project=str(tmp_path / "runs"), name="neon", exist_ok=False, workers=0,
    )  # fmt: skip
    args = yaml.safe_load((tmp_path / "runs" / "neon" / "args.yaml").read_text())
    assert args["data"] == resolve_data("neon-trees:tile=64") and args["loss"] == "ciou"
    assert model.trainer.data["names"] == {0: "Tree"} and len(fake_pip) == 1


def test_weights_trained_on_the_set_are_scored_per_val_source_and_validate_on_it_without_data(fake_pip, tmp_path):
    """The study's evaluation scores each val source image alone too; the weights record the set's name, so that on
    a machine without its cache val builds it again instead of falling back to coco8."""
    import shutil

    from yolo_alpha.data.neon_trees import SPLIT
    from yolo_alpha.evaluate import evaluate_detector
    from yolo_alpha.run import train, val
    from yolo_alpha.ultralytics.checkpoints import checkpoint_info

    train(
        data="neon-trees:tile=64", model="yolov8n.yaml", imgsz=64, epochs=1, batch=4, loss="ciou", plots=False,
        project=str(tmp_path / "runs"), name="neon", workers=0,
    )  # fmt: skip
    weights = tmp_path / "runs" / "neon" / "weights" / "last.pt"
    row = evaluate_detector(str(weights), "neon-trees:tile=64", imgsz=64, batch=4, project=str(tmp_path / "eval"))
    assert set(row["by_source"]) == {stem for stem, split in SPLIT.items() if split == "val"}  # each holds crowns
    assert sum(table["n_gt"] for table in row["by_source"].values()) == row["n_gt"]
    assert all(0 <= table["AP50"] <= 1 for table in row["by_source"].values())

    assert checkpoint_info(weights).train_args["data_name"] == "neon-trees:tile=64"
    shutil.rmtree(tmp_path / "cache")
    metrics, _ = val(model=str(weights), imgsz=64, batch=4, plots=False, project=str(tmp_path / "runs"), name="v")
    assert len(fake_pip) == 2 and (tmp_path / "cache" / "neon-trees-tile64-overlap0-min0.5-pad").is_dir()
    assert metrics.names == {0: "Tree"} and metrics.box.map50 >= 0
