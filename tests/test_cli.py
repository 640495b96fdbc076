"""The yolo-alpha command: help, clear errors, and train → val → predict → export with the network blocked."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from yolo_alpha.cli import main, parse_key_values
from yolo_alpha.losses import list_losses
from yolo_alpha.settings import USER_KEYS


def test_help_lists_verbs_and_keys(capsys):
    assert main(["help"]) == 0
    out = capsys.readouterr().out
    for word in ("train", "val", "predict", "export", "loss=alpha_ciou", "alpha2", "iou_term", "mAP75-95"):
        assert word in out
    assert [key for key in USER_KEYS if f"  {key}=" not in out] == []  # every key of ours is documented


def test_help_losses_lists_every_registered_loss(capsys):
    assert main(["help", "losses"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in list_losses())


def test_key_values_are_typed_like_ultralytics():
    assert parse_key_values(["alpha=3", "loss=alpha_ciou", "amp=False", "resume", "name=007"]) == {
        "alpha": 3,
        "loss": "alpha_ciou",
        "amp": False,
        "resume": True,
        "name": "007",  # run names stay strings, as in `yolo`
    }


@pytest.mark.parametrize(
    "argv,message",
    [
        (["fit"], "unknown verb 'fit'"),
        (["train", "lr=0.1"], "'lr' is not a valid train key. Did you mean 'lrf' or 'lr0'?"),
        (["train", "loss=alpha_cio"], "Did you mean 'alpha_ciou'"),
        (["train", "alpha=-1"], "alpha"),
        (["train", "alpha=nan"], "alpha"),
        (["train", "alpha=three"], "alpha"),
        (["train", "loss=ciou", "alpha=3"], "loss='ciou'"),
        (["train", "iou_term=cubic"], "iou_term"),
        (["train", "alpha2=0"], "alpha2"),
        (["train", "noise_eta=1"], "noise_eta must be a finite number in [0, 1)"),
        (["train", "noise_seed=-2"], "noise_seed must be an integer"),
        (["train", "noise_mean_iou=0.5"], "'noise_mean_iou' is not a valid train key"),
        (["train", "epochs=many"], "epochs"),
        (["train", "cfg=missing.yaml"], "cfg=missing.yaml: no such file"),
        (["train", "alpha="], "'alpha=' has no value"),
        (["train", "lossy"], "'lossy' is not key=value"),
        (["train", "resume=True"], "resume=True needs model="),
        (["val", "loss=alpha_ciou", "model=x.pt"], "'loss' is not a valid val key"),
        (["val"], "val needs model="),
        (["val", "model=nope.pt"], "model=nope.pt: no such weights file"),
        (["train", "data=nope.yaml"], "data=nope.yaml: "),
    ],
)
def test_bad_input_is_a_clear_error_naming_the_key(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be created here by a refused command
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("yolo-alpha: error:") and message in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_a_data_set_without_its_images_is_refused_before_a_run_folder_exists(tmp_path, capsys):
    data = tmp_path / "empty.yaml"
    data.write_text(f"path: {tmp_path / 'nowhere'}\ntrain: images/train\nval: images/val\nnames: {{0: thing}}\n")
    assert main(["train", f"data={data}", f"project={tmp_path / 'runs'}"]) == 2
    err = capsys.readouterr().err
    assert f"data={data}:" in err and "images not found" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


# Runs the CLI verbs in a fresh Python whose sockets refuse every connection and name lookup and record them.
NO_NETWORK = """
import json, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[:2]))
    raise OSError("network blocked by the test")
socket.getaddrinfo = socket.create_connection = refuse
socket.socket.connect = socket.socket.connect_ex = lambda self, *a: refuse(*a)
from yolo_alpha.cli import main
codes = [main(argv) for argv in json.loads(sys.argv[1])]
print("RESULT", json.dumps({"codes": codes, "attempts": attempts}))
"""


def test_train_val_predict_export_on_the_embedded_data_without_network(tmp_path):
    runs = tmp_path / "runs"
    weights = runs / "train" / "weights" / "best.pt"
    commands = [
        ["train", "loss=alpha_giou", "alpha=2", "epochs=1", f"project={runs}", "name=train"],
        ["val", f"model={weights}", f"project={runs}", "name=val"],
        ["predict", f"model={weights}", f"project={runs}", "name=predict", "imgsz=160"],
        ["export", f"model={weights}", "format=torchscript", "imgsz=160"],
        ["export", f"model={weights}", "format=onnx", "imgsz=160"],
    ]
    env = {k: v for k, v in os.environ.items() if k not in {"YOLO_OFFLINE", "YOLO_AUTOINSTALL"}}  # ours must set them
    env["YOLO_CONFIG_DIR"] = str(tmp_path / "fresh_config")  # no fonts yet: they must not be downloaded
    (tmp_path / "fresh_config").mkdir()  # Ultralytics 8.3 ignores a config dir that does not exist yet
    env["YOLO_ALPHA_CACHE"] = str(tmp_path / "cache")  # the embedded set is generated here on first use
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, json.dumps(commands)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert result["attempts"] == [], f"network was attempted: {result['attempts']}"
    assert result["codes"] == [0] * len(commands), done.stderr[-4000:]
    assert done.stdout.count("AP by IoU threshold") == 2  # train (best.pt) and val print the paper's table
    assert (runs / "val" / "ap_by_iou.csv").exists()
    assert list((runs / "predict").glob("*.jpg"))  # Ultralytics' bundled sample images, annotated
    assert weights.with_suffix(".torchscript").exists() and weights.with_suffix(".onnx").exists()
    assert list((tmp_path / "cache").glob("synthetic-*/data.yaml"))  # trained on the embedded default set
    assert list((tmp_path / "fresh_config").rglob("Arial.ttf"))  # placed by us (not downloaded) in its config dir


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "yolo-alpha"
    done = subprocess.run([str(exe), "help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "yolo-alpha" in done.stdout


def test_data_coco_converts_a_local_json_and_refuses_to_overwrite(tmp_path, capsys):
    import cv2
    import numpy as np

    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "a.jpg"), np.zeros((40, 80, 3), np.uint8))
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 80, "height": 40}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [10, 20, 40, 10], "iscrowd": 0}],
        "categories": [{"id": 5, "name": "kite"}],
    }
    (tmp_path / "instances_val.json").write_text(json.dumps(coco))
    argv = ["data", "coco", f"json={tmp_path / 'instances_val.json'}", f"images={tmp_path / 'imgs'}"]
    assert main([*argv, f"out={tmp_path / 'yolo'}"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(tmp_path / "yolo" / "data.yaml")
    # top-left (10, 20), 40 × 10 px in an 80 × 40 image: centre (30/80, 25/40), size (40/80, 10/40)
    label = (tmp_path / "yolo" / "labels" / "val" / "a.txt").read_text().split()
    assert [float(v) for v in label] == pytest.approx([0, 30 / 80, 25 / 40, 40 / 80, 10 / 40])
    assert main([*argv, f"out={tmp_path / 'yolo'}"]) == 2  # the existing output is never overwritten
    assert "yolo" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["data", "pascal"], "choose one of voc, coco, neon-trees"),
        (["data", "voc", "out=x"], "needs root=..."),
        (["data", "voc", "root=/nonexistent", "out=x"], "/nonexistent"),
        (["data", "voc", "root=.", "out=x", "tile=10"], "tile must be an integer >= 32, got 10"),
        (["data", "voc", "root=.", "out=x", "overlap=8"], "overlap: shape the tiles of tile=SIZE; give tile= too"),
        (["data", "coco", "json=a.json", "images=i", "out=o", "fmt=1"], "'fmt' is not a valid data coco key"),
        (["data", "neon-trees", "wheel=nowhere.whl"], "wheel=nowhere.whl: no such file"),  # into the cache
        (["data", "neon-trees", "out=o", "wheel=nowhere.whl"], "wheel=nowhere.whl: no such file"),
    ],
)
def test_data_verb_errors_name_the_problem(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_sweep_dry_run_lists_the_shipped_demo_cells_and_writes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "cfg=cfg/sweeps/demo.yaml", "dry_run=True"]) == 0
    out = capsys.readouterr().out
    assert [line.split() for line in out.splitlines()[:4]] == [
        ["todo", "loss-ciou__seed-0"],
        ["todo", "loss-ciou__seed-1"],
        ["todo", "loss-alpha_ciou__seed-0"],
        ["todo", "loss-alpha_ciou__seed-1"],
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv,message",
    [
        (["sweep"], "sweep needs cfg="),
        (["sweep", "cfg=nosuch"], "no such file (shipped sweeps: alpha_sensitivity, coco_clean, demo"),
        (["sweep", "cfg=demo", "alpha=-1", "dry_run=True"], "alpha must be a finite number > 0"),
        (["sweep", "cfg=demo", "dry_run=maybe"], "dry_run must be True or False"),
        (["report"], "report takes one sweep folder"),
        (["report", "nowhere"], "no results.jsonl"),
    ],
)
def test_sweep_and_report_errors_name_the_problem(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_folder_from_another_grid_or_with_a_broken_results_file_is_a_clear_error(tmp_path, capsys):
    sweep_dir = tmp_path / "sweeps" / "demo"
    sweep_dir.mkdir(parents=True)
    (sweep_dir / "sweep.yaml").write_text("name: demo\nbase: {epochs: 3}\ngrid: {loss: [iou]}\n")
    assert main(["sweep", "cfg=demo", f"project={tmp_path / 'sweeps'}", "dry_run=True"]) == 2
    assert "come from a different grid" in capsys.readouterr().err
    (sweep_dir / "results.jsonl").write_text("{bad\n")
    assert main(["report", str(sweep_dir)]) == 2
    err = capsys.readouterr().err
    assert "results.jsonl, line 1: not valid JSON" in err and "Traceback" not in err
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["results.jsonl", "sweep.yaml"]  # nothing written


def test_sweep_then_report_end_to_end_on_tiny_data(tiny_data, tmp_path, capsys):
    sweep_file = tmp_path / "tiny.yaml"
    base = {"data": str(tiny_data), "epochs": 1, "imgsz": 64, "batch": 8, "device": "cpu", "plots": False, "seed": 0}
    sweep_file.write_text(yaml.safe_dump({"name": "tiny", "base": base, "grid": {"loss": ["ciou", "alpha_ciou"]}}))
    assert main(["sweep", f"cfg={sweep_file}", f"project={tmp_path / 'sweeps'}"]) == 0
    rows = (tmp_path / "sweeps" / "tiny" / "results.jsonl").read_text().splitlines()
    assert [json.loads(row)["params"]["loss"] for row in rows] == ["ciou", "alpha_ciou"]
    assert main(["sweep", f"cfg={sweep_file}", f"project={tmp_path / 'sweeps'}", "dry_run=True"]) == 0
    listed = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [words[0] for words in listed if words[-1:] in (["loss-ciou"], ["loss-alpha_ciou"])] == ["done", "done"]
    assert main(["report", str(tmp_path / "sweeps" / "tiny")]) == 0
    report = (tmp_path / "sweeps" / "tiny" / "report" / "report.md").read_text()
    assert "mAP75-95" in report and "rela. improv." in report
    assert (tmp_path / "sweeps" / "tiny" / "report" / "ap_vs_iou.png").exists()
