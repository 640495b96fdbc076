"""The bad-input tour of `yolo-alpha`: each refused command is one line naming the key or file, and creates nothing."""

import pytest
import torch

from yolo_alpha.cli import main

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
