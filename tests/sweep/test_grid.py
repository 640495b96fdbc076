"""Sweep files: the grid's cells, their ids, command-line overrides, and every way a sweep file is refused."""

import re
from pathlib import Path

import pytest
import yaml

from yolo_alpha.config import packaged_cfg_dir
from yolo_alpha.sweep import SweepError, SweepGrid, load_sweep, validate_cells
from yolo_alpha.sweep.grid import spec_differences, spec_identity


def write_sweep(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_cells_are_the_product_in_file_order(tmp_path):
    path = write_sweep(
        tmp_path, {"name": "s", "base": {"epochs": 2}, "grid": {"loss": ["ciou", "alpha_ciou"], "seed": [0, 1, 2]}}
    )
    cells = load_sweep(path).cells()
    # first key varies slowest, as nested for-loops written in file order
    assert [dict(c.params) for c in cells] == [
        {"loss": loss, "seed": seed} for loss in ("ciou", "alpha_ciou") for seed in (0, 1, 2)
    ]
    assert cells[4].cell_id == "loss-alpha_ciou__seed-1"
    assert cells[4].settings == {"epochs": 2, "loss": "alpha_ciou", "seed": 1}


def test_cell_ids_are_unique_stable_and_file_system_safe():
    grid = SweepGrid("s", {}, {"data": ("/a/b c.yaml", "x:y*?.yaml"), "alpha": (0.5, None, True), "lr0": (1e-5,)})
    ids = [c.cell_id for c in grid.cells()]
    assert len(set(ids)) == len(ids)
    assert ids == [c.cell_id for c in grid.cells()]  # the same grid names its cells the same way every time
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", i) and not i.startswith(".") for i in ids)
    assert "alpha-null" in ids[1] and "alpha-true" in ids[2]


def test_long_values_give_short_distinct_ids():
    grid = SweepGrid("s", {}, {"data": tuple(f"/very/long/{'x' * 200}/{i}.yaml" for i in range(2))})
    ids = [c.cell_id for c in grid.cells()]
    assert all(len(i) <= 120 for i in ids) and ids[0] != ids[1]


def test_ids_that_would_collide_are_refused():
    with pytest.raises(SweepError, match="share the id"):
        validate_cells(SweepGrid("s", {}, {"data": ("a/b.yaml", "a_b.yaml")}))


def test_overrides_go_into_base_except_name_and_project(tmp_path):
    path = write_sweep(tmp_path, {"name": "s", "base": {"epochs": 2}, "grid": {"loss": ["ciou"]}})
    sweep = load_sweep(path, {"epochs": 1, "imgsz": 64, "name": "other", "project": "elsewhere"})
    assert (sweep.name, sweep.project) == ("other", "elsewhere")
    assert sweep.base == {"epochs": 1, "imgsz": 64}


def test_an_override_of_a_swept_key_is_refused(tmp_path):
    path = write_sweep(tmp_path, {"name": "s", "grid": {"loss": ["ciou"]}})
    with pytest.raises(SweepError, match="swept by the grid"):
        load_sweep(path, {"loss": "iou"})


def test_name_defaults_to_the_file_name(tmp_path):
    assert load_sweep(write_sweep(tmp_path, {"grid": {"loss": ["ciou"]}})).name == "sweep"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "s", "grid": {"loss": ["ciou"]}, "grids": {}}, "unknown top-level key"),
        ({"name": "s", "grid": {"loss": "ciou"}}, "'loss' must be a non-empty list"),
        ({"name": "s", "grid": {"loss": []}}, "'loss' must be a non-empty list"),
        ({"name": "s", "grid": {}}, "'grid' is empty"),
        ({"name": "s"}, "'grid' is empty"),
        ({"name": "s", "base": {"epoch": 3}, "grid": {"loss": ["ciou"]}}, "'epoch' is not a valid base"),
        ({"name": "s", "grid": {"los": ["ciou"]}}, "Did you mean 'loss'"),
        ({"name": "s", "base": {"loss": "iou"}, "grid": {"loss": ["ciou"]}}, "never used; keep each key in one place"),
        ({"name": "s", "base": {"project": "x"}, "grid": {"loss": ["ciou"]}}, "sets per cell"),
        # one bad value in one cell fails the whole sweep before anything trains
        ({"name": "s", "grid": {"loss": ["alpha_iou"], "alpha": [3, -1]}}, "cell loss-alpha_iou__alpha--1"),
        ({"name": "s", "grid": {"loss": ["ciou", "no_such_loss"]}}, "cell loss-no_such_loss"),
        ({"name": "s", "grid": {"noise_eta": [0.1, 1.5]}}, "noise_eta"),
        ({"name": "s", "grid": {"epochs": [1, "many"]}}, "epochs"),
        # a list of mappings: each is checked as a grid, and keys across them as one grid's
        ({"name": "s", "grid": []}, "'grid' is an empty list"),
        ({"name": "s", "grid": [{"loss": ["ciou"]}, "seed"]}, "'grid[1]' must be a mapping"),
        ({"name": "s", "grid": [{"loss": ["ciou"]}, {}]}, "'grid[1]' is empty"),
        ({"name": "s", "grid": [{"loss": ["ciou"]}, {"seed": 0}]}, "grid[1] key 'seed' must be a non-empty list"),
        ({"name": "s", "base": {"seed": 1}, "grid": [{"seed": [2]}, {"seed": [0]}]}, "in every grid mapping"),
        ({"name": "s", "grid": [{"loss": ["ciou"]}, {"los": ["iou"]}]}, "Did you mean 'loss'"),
        ({"name": "s", "grid": [{"loss": ["ciou"]}, {"loss": ["ciou"]}]}, "share the id 'loss-ciou'"),
    ],
)
def test_bad_sweep_files_are_refused_naming_the_file(tmp_path, spec, message):
    path = write_sweep(tmp_path, spec)
    with pytest.raises(SweepError, match=re.escape(message)) as error:
        load_sweep(path)
    assert str(path) in str(error.value)
    assert isinstance(error.value, ValueError)


def test_a_missing_sweep_file_lists_the_shipped_ones():
    with pytest.raises(SweepError, match=r"shipped sweeps: .*demo"):
        load_sweep("no_such_sweep")


SHIPPED = sorted(p.stem for p in (packaged_cfg_dir() / "sweeps").glob("*.yaml"))


def test_the_paper_sweeps_are_shipped():
    assert {"demo", "voc_clean", "voc_noise", "alpha_sensitivity", "coco_clean"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_sweep_loads_and_every_cell_validates(name):
    sweep = load_sweep(name)  # validates each cell's settings, the cfg= file merged in
    assert sweep.name == name
    assert load_sweep(f"cfg/sweeps/{name}.yaml").spec() == sweep.spec()
    assert len(sweep.cells()) >= 2


def test_paper_sweeps_use_the_paper_settings():
    assert load_sweep("voc_noise").grid == {
        "loss": ("iou", "alpha_iou", "diou", "alpha_diou"),
        "noise_eta": (0.1, 0.2, 0.3),
    }
    assert load_sweep("alpha_sensitivity").grid["alpha"] == (0.5, 1, 2, 3, 4, 5)
    assert load_sweep("voc_clean").base == {"cfg": "voc.yaml"}


def test_a_list_of_mappings_gives_each_product_in_turn(tmp_path):
    spec = {
        "name": "s",
        "base": {"epochs": 2},
        "grid": [{"loss": ["iou", "alpha_iou"], "seed": [0, 1]}, {"loss": ["alpha_iou"], "alpha": [2, 4]}],
    }
    sweep = load_sweep(write_sweep(tmp_path, spec))
    assert [dict(c.params) for c in sweep.cells()] == [
        {"loss": "iou", "seed": 0},
        {"loss": "iou", "seed": 1},
        {"loss": "alpha_iou", "seed": 0},
        {"loss": "alpha_iou", "seed": 1},
        {"loss": "alpha_iou", "alpha": 2},
        {"loss": "alpha_iou", "alpha": 4},
    ]
    assert sweep.swept_keys == ["loss", "seed", "alpha"]
    assert sweep.spec()["grid"] == spec["grid"]  # sweep.yaml records the list as written
    # a plain grid keeps its one mapping in sweep.yaml, so sweep folders written before lists existed still resume
    assert SweepGrid("s", {}, {"seed": (0,)}).spec()["grid"] == {"seed": [0]}


def test_an_override_of_a_key_swept_by_any_mapping_is_refused(tmp_path):
    path = write_sweep(tmp_path, {"grid": [{"loss": ["ciou"]}, {"loss": ["iou"], "alpha": [2]}]})
    with pytest.raises(SweepError, match=r"\['alpha'\] are swept by the grid"):
        load_sweep(path, {"alpha": 3})


def test_ids_never_hold_a_name_ultralytics_rewrites_in_weights_paths():
    # Ultralytics reads runs/model-yolov5nu.yaml/weights/best.pt as runs/model-yolov5n.yaml/... (then downloads it)
    ids = [c.cell_id for c in SweepGrid("s", {}, {"model": ("yolov5nu.yaml", "yolov8n.yaml", "yolov3u.yaml")}).cells()]
    assert ids == ["model-yolov5nu_yaml", "model-yolov8n.yaml", "model-yolov3u_yaml"]


def test_spec_differences_name_each_key_recorded_vs_now():
    recorded = {"name": "a", "base": {"epochs": 2, "data": "synthetic"}, "grid": {"loss": ["iou", "ciou"]}}
    now = SweepGrid("b", {"epochs": 3, "data": "synthetic"}, {"loss": ("iou",), "seed": (0,)}).spec()
    assert spec_differences(recorded, now) == [
        "base epochs: recorded 2, now 3",
        "grid loss: recorded [iou, ciou], now [iou]",
        "grid seed: recorded unset, now [0]",
    ]
    assert spec_identity(recorded) != spec_identity(now) and spec_identity({**now, "name": "x"}) == spec_identity(now)


def test_spec_differences_of_lists_of_mappings_name_the_mapping():
    recorded = {"base": {}, "grid": [{"loss": ["iou"]}, {"pretrained": ["/old/machine/warm/anchor.pt"]}]}
    now = SweepGrid("s", {}, ({"loss": ("iou",)}, {"pretrained": ("warm/anchor.pt",)})).spec()
    assert spec_differences(recorded, now) == [
        "grid[1] pretrained: recorded [/old/machine/warm/anchor.pt], now [warm/anchor.pt]"
    ]
    assert spec_differences({"base": {}, "grid": [{"loss": ["iou"]}]}, now)[0] == "grid: recorded 1 mapping(s), now 2"
    assert spec_differences(["not", "a", "spec"], now) == [
        "the recorded spec is not a sweep spec (a mapping with base and grid)"
    ]


def test_a_base_key_is_the_default_of_the_grid_mappings_that_do_not_set_it(tmp_path):
    # a suite's regime sets its own batch over the base's (cpu_powered: batch 32 in the task-aligned mapping only)
    spec = {"name": "s", "base": {"batch": 16}, "grid": [{"loss": ["ciou"]}, {"loss": ["iou"], "batch": [32]}]}
    cells = load_sweep(write_sweep(tmp_path, spec)).cells()
    assert [(c.cell_id, c.settings["batch"]) for c in cells] == [("loss-ciou", 16), ("loss-iou__batch-32", 32)]
