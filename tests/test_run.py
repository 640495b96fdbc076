"""The bad-input tour of `yolo-alpha`: each refused command is one line naming the key or file, and creates nothing."""

import os
import re
from pathlib import Path

import pytest
import torch

from yolo_alpha.cli import main
from yolo_alpha.errors import ConfigError

# A checkpoint as Ultralytics writes one, reduced to what is read before a run starts (the model is not needed).
FINISHED = {"model": None, "epoch": -1, "optimizer": None, "train_args": {"epochs": 3, "data": "synthetic"}}
STOPPED = {"model": None, "epoch": 1, "optimizer": {"state": {}}, "train_args": {"epochs": 3}}


def refused(argv: list[str], capsys) -> str:
    """Return the error line of a command that must exit 2 with a one-line error and no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("yolo-alpha: error:") and "Traceback" not in err, err
    return err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a refused command may create nothing here
    return tmp_path


def test_resuming_a_finished_run_says_so_and_how_to_train_further(workdir, capsys):
    torch.save(FINISHED, workdir / "last.pt")
    err = refused(["train", "resume=True", "model=last.pt"], capsys)
    assert "this run is finished (all 3 epochs)" in err and "yolo-alpha train model=last.pt epochs=N" in err
    assert sorted(p.name for p in workdir.iterdir()) == ["last.pt"]  # no run folder, no download


def test_resuming_weights_without_optimizer_state_points_to_last_pt(workdir, capsys):
    torch.save({**STOPPED, "optimizer": None}, workdir / "best.pt")
    assert "resume from the run's weights/last.pt" in refused(["train", "resume", "model=best.pt"], capsys)


def test_a_text_file_named_pt_is_not_weights(workdir, capsys):
    (workdir / "notes.pt").write_text("not weights\n")
    for verb in (["train"], ["val"], ["export"], ["predict"], ["train", "resume=True"]):
        err = refused([*verb, "model=notes.pt"], capsys)
        assert "model=notes.pt: " in err and "weights" in err
    torch.save({"something": 1}, workdir / "other.pt")
    assert "not Ultralytics weights" in refused(["val", "model=other.pt"], capsys)


def test_weights_ultralytics_would_read_under_another_name_are_refused(workdir, capsys):
    folder = workdir / "model-yolov5nu.yaml" / "weights"
    folder.mkdir(parents=True)
    torch.save(FINISHED, folder / "best.pt")
    err = refused(["val", f"model={folder / 'best.pt'}"], capsys)
    assert "Ultralytics reads this path as" in err and "model-yolov5n.yaml" in err and "u_yaml" in err
    err = refused(["train", "model=yolov8n.yaml", f"pretrained={folder / 'best.pt'}"], capsys)
    assert err.startswith("yolo-alpha: error: pretrained=")
    assert "pretrained=nope.pt: no such weights file" in refused(["train", "pretrained=nope.pt"], capsys)


def test_an_unknown_export_format_is_refused_with_the_valid_ones(workdir, capsys, tmp_path_factory):
    from ultralytics import YOLO

    weights = tmp_path_factory.mktemp("weights") / "fresh.pt"
    YOLO("yolov8n.yaml").save(weights)  # an untrained model is enough: the format is checked first
    err = refused(["export", f"model={weights}", "format=nope"], capsys)
    assert "format=nope: Invalid export format='nope'" in err and "onnx" in err and "torchscript" in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "imgsz=-5"], "imgsz must be an integer >= 1, got -5"),
        (["train", "imgsz=0"], "imgsz must be an integer >= 1, got 0"),
        (["val", "model=x.pt", "imgsz=12.5"], "imgsz must be an integer >= 1, got 12.5"),
        (["train", "batch=-5"], "batch must be an integer >= 1, -1 (AutoBatch"),
        (["train", "batch=2.5"], "batch must be an integer >= 1, -1 (AutoBatch"),
        (["train", "workers=-1"], "workers must be an integer >= 0, got -1"),
        (["train", "alpha=1e9"], "alpha must be"),
    ],
)
def test_values_ultralytics_accepts_silently_are_refused(argv, message, workdir, capsys):
    assert message in refused(argv, capsys)
    assert list(workdir.iterdir()) == []


def test_a_key_given_twice_warns_and_the_last_wins(capsys):
    from yolo_alpha.cli import parse_key_values

    assert parse_key_values(["alpha=2", "epochs=1", "alpha=3"]) == {"alpha": 3, "epochs": 1}
    assert "alpha is given twice (alpha=2, then alpha=3): the last one is used" in capsys.readouterr().err


def test_a_data_set_whose_train_split_is_missing_is_refused_before_a_run_folder_exists(tiny_data, workdir, capsys):
    data = workdir / "no_train.yaml"
    data.write_text(tiny_data.read_text().replace("images/train", "images/missing"))
    err = refused(["train", f"data={data}", f"project={workdir / 'runs'}"], capsys)
    assert f"data={data}" in err and "images/missing" in err and "does not exist" in err
    assert not (workdir / "runs").exists()


def test_help_of_a_verb_and_an_unknown_help_topic(capsys):
    assert main(["train", "--help"]) == 0 and "Usage:  yolo-alpha VERB" in capsys.readouterr().out
    assert main(["plot", "-h"]) == 0 and "reweighting" in capsys.readouterr().out
    assert main(["help", "nope"]) == 2
    captured = capsys.readouterr()
    assert "no help topic 'nope'" in captured.err and captured.out == ""


# --- Issue 16: each of these was a traceback, or came after the run folder existed. ---


@pytest.fixture
def no_cuda(monkeypatch):
    """Make torch see no CUDA GPU, as on the CPU machines CI runs on (also where the test machine has one)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture(scope="module")
def untrained_weights(tmp_path_factory):
    """Return {nc: weights file} of untrained yolov8n detectors predicting nc classes (5: the tiny set's)."""
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    folder, files = tmp_path_factory.mktemp("untrained"), {}
    for nc in (2, 5):
        model = YOLO("yolov8n.yaml")
        model.model = DetectionModel("yolov8n.yaml", nc=nc, verbose=False)
        model.model.names = {i: f"class{i}" for i in range(nc)}
        files[nc] = folder / f"yolov8n_nc{nc}.pt"
        model.save(files[nc])
    return files


def only(workdir, *names: str) -> None:
    """Assert that the working folder holds exactly `names` (what the test put there): no run folder, nothing else."""
    assert sorted(p.name for p in workdir.iterdir()) == sorted(names)


@pytest.mark.parametrize("device", ["7", "cuda", "cuda:1", "0,1"])
def test_a_gpu_the_machine_lacks_is_refused_naming_device(device, no_cuda, workdir, capsys):
    err = refused(["train", f"device={device}", "epochs=1"], capsys)
    assert f"device={device}: no such device on this machine (torch sees 0 CUDA GPUs); use device=cpu" in err
    only(workdir)


def test_a_gpu_index_beyond_the_visible_ones_names_the_allowed_indices(monkeypatch):
    from yolo_alpha.ultralytics.preflight import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    check_device("1")  # GPUs 0 and 1 exist
    check_device("0,1")
    with pytest.raises(ConfigError, match=r"device=2: .*torch sees 2 CUDA GPUs.*GPU indices 0-1"):
        check_device("2")


@pytest.mark.parametrize("model", ["yolov8n-cls.yaml", "yolov8n-seg.yaml", "yolov8n-pose.yaml", "yolov8n-obb.yaml"])
def test_a_model_yaml_of_another_task_is_refused(model, workdir, capsys):
    task = {"cls": "classify", "seg": "segment", "pose": "pose", "obb": "obb"}[model.split("-")[1].split(".")[0]]
    err = refused(["train", f"model={model}", "epochs=1"], capsys)
    assert f"model={model}: a {task} model; yolo-alpha trains and validates detectors" in err
    only(workdir)


def test_a_sweep_cell_with_a_segment_model_is_refused_before_any_cell_trains(workdir, capsys):
    sweep = workdir / "tasks.yaml"
    sweep.write_text("name: tasks\nbase: {epochs: 1}\ngrid: {model: [yolov8n.yaml, yolov8n-seg.yaml]}\n")
    err = refused(["sweep", f"cfg={sweep}", f"project={workdir / 'sweeps'}"], capsys)
    assert "cell model-yolov8n-seg.yaml: model=yolov8n-seg.yaml: a segment model" in err
    only(workdir, "tasks.yaml")


def test_official_weights_that_cannot_be_downloaded_are_one_line(workdir, capsys, monkeypatch):
    from yolo_alpha.ultralytics import preflight

    def offline(name):  # what Ultralytics' downloader raises without network (no DNS attempt in the test)
        raise ConnectionError(f"❌  Download failure for https://github.com/ultralytics/assets/releases/{name}.")

    monkeypatch.setattr(preflight, "attempt_download_asset", offline)
    err = refused(["train", "model=yolov8n.pt", "epochs=1"], capsys)
    assert "model=yolov8n.pt: not on disk here and could not be downloaded" in err
    assert "or train from a model YAML: model=yolov8n.yaml" in err and len(err.strip().splitlines()) == 1
    only(workdir)


def test_a_folder_or_a_broken_model_yaml_is_refused(workdir, capsys):
    (workdir / "folder").mkdir()
    (workdir / "syntax.yaml").write_text("backbone: [\n  - [-1, 1\n")
    (workdir / "empty_model.yaml").write_text("nc: 3\ndepth_multiple: 0.33\n")
    for verb in ("train", "val", "predict"):
        err = refused([verb, "model=folder"], capsys)
        assert "model=folder: a folder; give a weights file (.pt) or a model YAML" in err
    assert "model=syntax.yaml: not a readable model YAML (YAML syntax error" in refused(
        ["train", "model=syntax.yaml"], capsys
    )
    assert "model=empty_model.yaml: not a model YAML (it needs 'backbone:' and 'head:'" in refused(
        ["train", "model=empty_model.yaml"], capsys
    )
    only(workdir, "folder", "syntax.yaml", "empty_model.yaml")


def test_a_data_set_whose_every_label_is_corrupt_is_refused_with_the_count(tiny_data, workdir, capsys):
    import shutil

    data = workdir / "corrupt"
    shutil.copytree(tiny_data.parent, data)
    (data / "data.yaml").write_text(tiny_data.read_text().replace(str(tiny_data.parent), str(data)))
    for label in (data / "labels" / "train").glob("*.txt"):
        label.write_text("0 0.5 0.5 0.2\n")  # four columns: Ultralytics drops the image
    err = refused(["train", f"data={data / 'data.yaml'}", "epochs=1"], capsys)
    assert f"data={data / 'data.yaml'}: Ultralytics' label check drops all 16 training images" in err
    assert "labels require 5 columns" in err
    only(workdir, "corrupt")


def unwritable_folder(tmp_path) -> Path:
    """Return a folder in which nothing can be created, also for root (skip where none can be made)."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").mkdir()
    except OSError:
        return folder
    (folder / "probe").rmdir()  # root ignores permissions: a pseudo file system refuses it too
    if Path("/sys").is_dir() and _cannot_create(Path("/sys")):
        return Path("/sys") / "yolo-alpha-test"
    pytest.skip("no folder here refuses to create files")


def _cannot_create(folder: Path) -> bool:
    try:
        (folder / "yolo-alpha-test").mkdir()
    except OSError:
        return True
    (folder / "yolo-alpha-test").rmdir()
    return False


def test_an_unusable_cache_folder_names_yolo_alpha_cache(tmp_path, workdir, capsys, monkeypatch):
    (tmp_path / "a_file").write_text("")
    cases = {
        str(tmp_path / "a_file"): f"{tmp_path / 'a_file'} is a file, not a folder",  # was a bare [Errno 17]
        str(tmp_path / "a_file" / "cache"): f"{tmp_path / 'a_file'} is a file, not a folder",  # was [Errno 20]
        str(unwritable_folder(tmp_path) / "cache"): "cannot write the data cache",
    }
    for cache, reason in cases.items():
        monkeypatch.setenv("YOLO_ALPHA_CACHE", cache)
        err = refused(["train", "epochs=1"], capsys)  # the embedded set is generated into the cache first
        assert f"environment variable YOLO_ALPHA_CACHE={cache}: cannot write the data cache" in err
        assert reason in err and "set YOLO_ALPHA_CACHE to a writable folder" in err
    only(workdir, "a_file", "read_only")


def test_a_read_only_home_is_one_line_naming_the_cache_and_what_to_set(tmp_path):
    import subprocess
    import sys

    home = unwritable_folder(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in {"YOLO_ALPHA_CACHE", "XDG_CACHE_HOME", "YOLO_CONFIG_DIR"}}
    env["HOME"] = str(home)  # Ultralytics' config folder falls back to the temporary folder; our cache cannot
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "yolo_alpha.cli", "train", "epochs=1"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"yolo-alpha: error: cannot write the data cache {home}/.cache/yolo-alpha"), last
    assert "Traceback" not in done.stderr and "set YOLO_ALPHA_CACHE to a writable folder" in last
    assert list(work.iterdir()) == []


def test_a_run_name_too_long_for_the_file_system_is_refused(workdir, capsys):
    err = refused(["train", f"name={'n' * 300}", "epochs=1"], capsys)
    assert "name=nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn…: a folder name of 300 bytes" in err and "at most" in err
    only(workdir)


def test_a_project_that_is_a_file_or_lies_under_one_is_refused(workdir, capsys):
    (workdir / "a_file").write_text("")
    for project in ("a_file", "a_file/sub"):
        err = refused(["train", f"project={project}", "epochs=1"], capsys)
        assert f"project={project}: {workdir / 'a_file'} is a file, not a folder; give a folder for the runs" in err
    only(workdir, "a_file")


def test_a_url_source_that_cannot_be_downloaded_is_one_line(workdir, capsys, monkeypatch, untrained_weights):
    from ultralytics.utils import downloads

    def offline(url, **kwargs):  # Ultralytics' downloader without network (no DNS attempt in the test)
        raise ConnectionError(f"❌  Download failure for {url}. Environment may be offline.")

    monkeypatch.setattr(downloads, "safe_download", offline)
    url = "https://example.com/bus.jpg"
    err = refused(["predict", f"model={untrained_weights[5]}", f"source={url}"], capsys)
    assert f"source={url}: could not be downloaded (❌  Download failure for {url}" in err
    assert "download it and give its path" in err
    only(workdir)


def test_the_threads_variable_is_checked_before_the_run_folder_on_both_paths(tiny_train, workdir, capsys, monkeypatch):
    from yolo_alpha.ultralytics.trainer import AlphaDetectionTrainer

    monkeypatch.setenv("YOLO_ALPHA_THREADS", "two")
    message = "environment variable YOLO_ALPHA_THREADS must be a whole number >= 1, got 'two'"
    assert message in refused(["train", "epochs=1"], capsys)
    only(workdir)
    with pytest.raises(ConfigError, match=re.escape(message)):  # the Python API's trainer, as Ultralytics builds it
        AlphaDetectionTrainer(overrides=tiny_train)
    assert not Path(tiny_train["project"]).exists()


def test_iou_cls_eta_on_a_one_class_anchor_model_is_refused_before_the_run_folder(tiny_train, workdir, capsys):
    from yolo_alpha.ultralytics.trainer import AlphaDetectionTrainer

    argv = ["train", "model=yolov5n-anchor.yaml", "iou_cls_eta=1.5", "single_cls=True", "epochs=1"]
    message = "iou_cls_eta=1.5 weights each positive's class loss, but single_cls=True makes the model one class"
    assert message in refused(argv, capsys)
    only(workdir)
    keys = {**tiny_train, "model": "yolov5n-anchor.yaml", "iou_cls_eta": 1.5, "single_cls": True}
    with pytest.raises(ConfigError, match=re.escape(message)):
        AlphaDetectionTrainer(overrides=keys)
    assert not Path(tiny_train["project"]).exists()


def test_iou_cls_eta_on_a_one_class_data_set_names_the_data_set():
    from yolo_alpha.model_families import ANCHOR_FAMILY, TASK_ALIGNED_FAMILY
    from yolo_alpha.settings import from_flat
    from yolo_alpha.ultralytics.trainer import check_before_run

    settings = from_flat({"iou_cls_eta": 1.5}, ANCHOR_FAMILY)
    with pytest.raises(ConfigError, match=re.escape("but data=one.yaml has one class")):
        check_before_run(settings, ANCHOR_FAMILY, {"data": "one.yaml"}, {"nc": 1})
    check_before_run(settings, ANCHOR_FAMILY, {"data": "two.yaml"}, {"nc": 2})
    check_before_run(settings, TASK_ALIGNED_FAMILY, {"data": "one.yaml"}, {"nc": 1})  # its loss has a class term


def test_half_and_int8_point_to_quantize(workdir, capsys, untrained_weights):
    err = refused(["export", f"model={untrained_weights[5]}", "half=True"], capsys)
    assert "half=True: Ultralytics" in err and "write quantize=16 (FP16) instead" in err
    assert "write quantize=8 (INT8) instead" in refused(["export", f"model={untrained_weights[5]}", "int8"], capsys)
    only(workdir)


def test_fp16_torchscript_on_the_cpu_is_one_line_saying_what_to_use(workdir, capsys, untrained_weights):
    argv = ["export", f"model={untrained_weights[5]}", "quantize=16", "device=cpu", "imgsz=64"]
    err = refused(argv, capsys)
    assert "export format=torchscript: FP16 TorchScript export is only supported on GPU, i.e. use device=0." in err
    assert not list(untrained_weights[5].parent.glob("*.torchscript"))


@pytest.mark.parametrize("model_nc,data_nc", [(5, 2), (2, 5)])
def test_val_of_a_model_whose_class_count_differs_from_the_data_set_is_refused(
    model_nc, data_nc, tiny_data, workdir, capsys, untrained_weights
):
    data = workdir / f"classes{data_nc}.yaml"
    names = "".join(f"  {i}: class{i}\n" for i in range(data_nc))
    data.write_text(f"path: {tiny_data.parent}\ntrain: images/train\nval: images/val\nnames:\n{names}")
    err = refused(["val", f"model={untrained_weights[model_nc]}", f"data={data}", "imgsz=64"], capsys)
    assert f"model={untrained_weights[model_nc]} predicts {model_nc} classes but data={data} has {data_nc}" in err
    only(workdir, data.name)


def test_val_without_data_of_weights_whose_data_set_is_gone_names_data_not_coco8(workdir, capsys, untrained_weights):
    """Upstream would validate on coco8 instead, downloading it; the message names data= and the set it was."""
    ckpt = torch.load(untrained_weights[5], weights_only=False)
    ckpt["train_args"] = {"data": "/gone/.cache/yolo-alpha/synthetic-0577056b1e7b/data.yaml"}  # n_val=800's hash
    torch.save(ckpt, workdir / "best.pt")
    err = refused(["val", "model=best.pt", "imgsz=64"], capsys)
    assert "data=: not given, and the data set model=best.pt trained on (/gone/" in err
    assert "give data=<its data.yaml, or a named set: synthetic[:n_val=…], neon-trees[:tile=…]>" in err
    only(workdir, "best.pt")


@pytest.mark.parametrize(
    "train_args, data",
    [
        ({"data": "/gone/synthetic-0/data.yaml", "data_name": "synthetic:n_val=800"}, "synthetic:n_val=800"),
        # weights from before data_name: a NEON cache folder names its set, and the default synthetic set's is known
        ({"data": "/gone/synthetic-d1942bf71902/data.yaml"}, "synthetic"),
        (
            {"data": "/gone/neon-trees-tile320-overlap0-min0.5-pad/data.yaml"},
            "neon-trees:tile=320,overlap=0,min_area=0.5,edge=pad",
        ),
        ({"data": "HERE"}, None),  # still where it trained: upstream reads it
        ({"data": "coco8.yaml"}, None),  # a name upstream resolves (and downloads, as it would)
        ({}, None),
    ],
)
def test_val_without_data_takes_the_set_the_weights_name_or_leaves_it_to_upstream(
    train_args, data, tiny_data, workdir, untrained_weights
):
    from yolo_alpha.run import checkpoint_data

    ckpt = torch.load(untrained_weights[5], weights_only=False)
    ckpt["train_args"] = {k: str(tiny_data) if v == "HERE" else v for k, v in train_args.items()}
    torch.save(ckpt, workdir / "best.pt")
    assert checkpoint_data("best.pt") == ({"data": data} if data else {})
    assert checkpoint_data("yolov8n.yaml") == {} and checkpoint_data(None) == {}


def test_resuming_a_last_pt_outside_a_weights_folder_says_where_to_put_it(workdir, capsys):
    torch.save(STOPPED, workdir / "last.pt")  # resumable: epoch 2 of 3, optimizer state
    err = refused(["train", "resume=True", "model=last.pt"], capsys)
    assert "model=last.pt: resume writes into the run folder that holds the weights" in err
    assert "mkdir -p myrun/weights && mv last.pt myrun/weights/last.pt" in err
    only(workdir, "last.pt")


def test_a_single_cls_checkpoint_is_compared_as_one_class_like_upstreams_val(tiny_data):
    """A model trained with single_cls=True predicts one class; upstream's val keeps the checkpoint's single_cls."""
    from dataclasses import replace

    from yolo_alpha.run import check_class_count
    from yolo_alpha.ultralytics.checkpoints import CheckpointInfo

    info = CheckpointInfo(Path("best.pt"), -1, 1, False, {"single_cls": True}, task="detect", nc=1)
    check_class_count(info, {"data": str(tiny_data)})  # the tiny set's 5 classes are one: nothing to refuse
    with pytest.raises(ConfigError, match=r"predicts 1 classes but data=.* has 5"):
        check_class_count(replace(info, train_args={}), {"data": str(tiny_data)})
