"""AlphaDetectionTrainer end to end on tiny data: records, stock-loadable weights, resume, the DDP worker file."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers import BLOCK_YOLO_ALPHA, train_one_epoch_then_stop
from ultralytics import YOLO
from ultralytics.utils import DEFAULT_CFG_DICT
from ultralytics.utils.dist import generate_ddp_file
from ultralytics.utils.patches import torch_load
from ultralytics.utils.torch_utils import unwrap_model

from yolo_alpha import run
from yolo_alpha.errors import YoloAlphaError
from yolo_alpha.losses import LossConfigError
from yolo_alpha.losses.registry import all_loss_params
from yolo_alpha.ultralytics.criterion import AlphaBboxLoss
from yolo_alpha.ultralytics.loss_state import detection_branches
from yolo_alpha.ultralytics.trainer import AlphaDetectionTrainer

LOSS_KEYS = {"loss": "alpha_giou", "alpha": 2.0, "alpha2": 2.0, "iou_term": "power"}
# The loss-specific keys (soft_iou's kappa, ...) that these losses do not take: recorded as None.
UNUSED_LOSS_KEYS = dict.fromkeys(all_loss_params())

# Runs a command in a Python where `import yolo_alpha` fails, as on a machine with only stock Ultralytics.
WITHOUT_YOLO_ALPHA = (
    BLOCK_YOLO_ALPHA
    + """
from ultralytics import YOLO
model = YOLO(sys.argv[1])
results = model.predict(sys.argv[2], imgsz=64, verbose=False)
metrics = model.val(data=sys.argv[3], imgsz=64, batch=8, plots=False, verbose=False)
print("STOCK-OK", len(results), round(float(metrics.box.map), 6))
"""
)


def pickled_classes(checkpoint: Path) -> list[str]:
    """Return the ``module.name`` of every class a torch checkpoint's pickle refers to (what loading must import).

    Read from the pickle's opcodes, not by searching its bytes: Ultralytics also pickles the git commit message.
    """
    return torch.serialization.get_unsafe_globals_in_checkpoint(str(checkpoint))


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    """Return the YOLO model after a one-epoch alpha_giou α = 2 training on the tiny set."""
    out = tmp_path_factory.mktemp("trained")
    return run.train(
        data=str(tiny_data), epochs=1, imgsz=64, batch=8, device="cpu", seed=0, deterministic=True, plots=False,
        project=str(out), name="train", loss="alpha_giou", alpha=2,
    )  # fmt: skip


def test_training_used_our_box_term_on_model_and_ema(trained):
    trainer = trained.trainer
    for model in (unwrap_model(trainer.model), trainer.ema.ema):
        assert isinstance(model.criterion.bbox_loss, AlphaBboxLoss)
        assert model.criterion.bbox_loss.spec.as_dict() == {**LOSS_KEYS, **UNUSED_LOSS_KEYS}
    results = (Path(trainer.save_dir) / "results.csv").read_text().splitlines()
    assert len(results) == 2 and "train/box_loss" in results[0]


def test_loss_settings_are_recorded_in_args_yaml_and_checkpoints(trained):
    save_dir = Path(trained.trainer.save_dir)
    args = yaml.safe_load((save_dir / "args.yaml").read_text())
    assert {k: args[k] for k in LOSS_KEYS} == LOSS_KEYS
    for name in ("last.pt", "best.pt"):
        ckpt = torch_load(save_dir / "weights" / name, map_location="cpu")
        assert {k: ckpt["train_args"][k] for k in LOSS_KEYS} == LOSS_KEYS


def test_checkpoints_pickle_no_yolo_alpha_class(trained):
    for name in ("last.pt", "best.pt"):
        classes = pickled_classes(Path(trained.trainer.save_dir) / "weights" / name)
        assert "ultralytics.nn.tasks.DetectionModel" in classes
        assert [c for c in classes if c.startswith("yolo_alpha")] == []


def test_best_pt_predicts_and_validates_in_stock_ultralytics_without_yolo_alpha(trained, tiny_data):
    best = Path(trained.trainer.save_dir) / "weights" / "best.pt"
    image = next((tiny_data.parent / "images" / "val").glob("*.png"))
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_YOLO_ALPHA, str(best), str(image), str(tiny_data)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "STOCK-OK 1" in done.stdout


def our_branches(trainer) -> tuple:
    """Return the box criteria of the trained model: one, or the two branches of an end-to-end head."""
    return detection_branches(unwrap_model(trainer.model).criterion)


@pytest.mark.parametrize("model_yaml", ["yolov5nu.yaml", "yolo11n.yaml", "yolo26n.yaml"], indirect=True)
def test_every_shipped_detection_family_trains_with_our_loss(tiny_train, model_yaml):
    model = run.train(**{**tiny_train, "model": model_yaml}, loss="alpha_ciou", alpha=3)
    assert all(isinstance(b.bbox_loss, AlphaBboxLoss) for b in our_branches(model.trainer))
    row = (Path(model.trainer.save_dir) / "results.csv").read_text().splitlines()[1].split(",")
    assert float(row[2]) > 0  # train/box_loss of epoch 1 is a finite positive number


@pytest.mark.parametrize("model_yaml", ["yolov8n.yaml", "yolo26n.yaml"], indirect=True)  # 26: criterion rebuilt
def test_resume_continues_with_the_checkpoints_loss(tiny_train, model_yaml):
    tiny_train.pop("model")
    last = train_one_epoch_then_stop(
        YOLO(model_yaml), trainer=AlphaDetectionTrainer, **{**tiny_train, "epochs": 2}, loss="alpha_diou", alpha=2.5
    )
    # A loss key given on resume is ignored by Ultralytics' resume rules: the run keeps its own loss.
    resumed = run.train(resume=True, model=str(last), loss="ciou")
    assert resumed.trainer.settings.loss.as_dict() == {
        "loss": "alpha_diou",
        "alpha": 2.5,
        "alpha2": 2.5,
        "iou_term": "power",
        **UNUSED_LOSS_KEYS,
    }
    assert resumed.trainer.start_epoch == 1
    assert all(b.bbox_loss.spec.loss == "alpha_diou" for b in our_branches(resumed.trainer))
    assert Path(resumed.trainer.save_dir) == last.parents[1]  # the run folder the weights lie in
    rows = (Path(resumed.trainer.save_dir) / "results.csv").read_text().splitlines()
    assert len(rows) == 3  # header + epoch 1 (before the interruption) + epoch 2 (after resume)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Return every file under ``folder`` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_copied_last_pt_resumes_in_its_own_folder_and_leaves_the_original_byte_identical(tiny_train, tmp_path):
    tiny_train.pop("model")
    last = train_one_epoch_then_stop(YOLO("yolov8n.yaml"), trainer=AlphaDetectionTrainer, **{**tiny_train, "epochs": 2})
    original = last.parents[1]
    before = folder_bytes(original)
    copy = tmp_path / "elsewhere" / "copied_run" / "weights" / "last.pt"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(last.read_bytes())  # its train_args still record the original run's save_dir
    resumed = run.train(resume=True, model=str(copy))
    assert Path(resumed.trainer.save_dir) == copy.parents[1]
    assert folder_bytes(original) == before  # best.pt, last.pt, results.csv, args.yaml: untouched
    assert sorted(p.name for p in copy.parent.iterdir()) == ["best.pt", "last.pt"]
    rows = (copy.parents[1] / "results.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[0].strip() == "2"  # header + epoch 2, trained from the copy


def test_val_and_predict_without_project_write_under_the_current_folder(trained, tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    best = str(Path(trained.trainer.save_dir) / "weights" / "best.pt")
    metrics, _ = run.val(model=best, data=str(tiny_data), imgsz=64, batch=8, plots=False)
    assert Path(metrics.save_dir) == tmp_path / "runs" / "detect" / "val"  # as the README's examples assume
    image = next((tiny_data.parent / "images" / "val").glob("*.png"))
    run.predict(model=best, source=str(image), imgsz=64, project="relative", name="pred")
    assert list((tmp_path / "relative" / "pred").glob("*")), "a relative project= is relative to the current folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relative", "runs"]


def test_ddp_worker_file_rebuilds_our_trainer_with_our_keys(tiny_train, tmp_path):
    trainer = AlphaDetectionTrainer(overrides={**tiny_train, "loss": "alpha_diou", "alpha": 1.5})
    trainer.model = trainer.get_model(cfg="yolov8n.yaml", verbose=False)  # as Model.train hands it over
    script = Path(generate_ddp_file(trainer))
    state_file = script.with_suffix(".pt")  # Ultralytics 8.4 pickles the trainer class and args beside the script
    if state_file.exists():
        state = torch_load(state_file, map_location="cpu")
        # The worker rebuilds the trainer from DEFAULT_CFG_DICT plus the pickled args (utils/dist.py).
        rebuilt = state["trainer"](cfg={**DEFAULT_CFG_DICT, "save_dir": ""}, overrides=state["args"])
        assert type(rebuilt) is AlphaDetectionTrainer
        assert rebuilt.settings.loss.as_dict() == {
            "loss": "alpha_diou", "alpha": 1.5, "alpha2": 1.5, "iou_term": "power", **UNUSED_LOSS_KEYS
        }  # fmt: skip
    # Run the generated worker file itself (one CPU process stands in for one rank).
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    args = yaml.safe_load((Path(trainer.save_dir) / "args.yaml").read_text())
    assert (args["loss"], args["alpha"]) == ("alpha_diou", 1.5)
    last = torch_load(Path(trainer.save_dir) / "weights" / "last.pt", map_location="cpu")
    assert (last["train_args"]["loss"], last["train_args"]["alpha"]) == ("alpha_diou", 1.5)  # the worker's own record


def test_trainer_refuses_a_bad_loss_before_creating_a_run(tiny_train, tmp_path):
    with pytest.raises(LossConfigError, match="alpha"):
        AlphaDetectionTrainer(overrides={**tiny_train, "loss": "alpha_ciou", "alpha": -1})
    assert not (Path(tiny_train["project"]) / "train").exists()


def label_bytes(data_yaml: Path) -> dict[str, bytes]:
    """Return every label file of a data set (relative path -> bytes), to prove nothing was written to them."""
    return {str(p.relative_to(data_yaml.parent)): p.read_bytes() for p in sorted(data_yaml.parent.rglob("*.txt"))}


def test_noisy_training_reads_the_noisy_view_records_it_and_leaves_labels_alone(tiny_data, tiny_train):
    before = label_bytes(tiny_data)
    runs = [
        run.train(**{**tiny_train, "name": name}, loss=loss, noise_eta=0.2, noise_seed=3)
        for name, loss in (("noisy_ciou", "ciou"), ("noisy_alpha", "alpha_ciou"))
    ]
    assert label_bytes(tiny_data) == before  # the user's label files are never written
    trainers = [model.trainer for model in runs]
    # Both losses train on exactly the same noisy labels; validation stays on the clean split.
    assert trainers[0].data["train"] == trainers[1].data["train"] and "noisy-" in trainers[0].data["train"]
    assert trainers[0].data["val"] == str(tiny_data.parent / "images" / "val")
    args = yaml.safe_load((Path(trainers[0].save_dir) / "args.yaml").read_text())
    assert (args["noise_eta"], args["noise_seed"]) == (0.2, 3) and 0 < args["noise_mean_iou"] < 1
    ckpt = torch_load(Path(trainers[0].save_dir) / "weights" / "last.pt", map_location="cpu")
    assert ckpt["train_args"]["noise_mean_iou"] == args["noise_mean_iou"]
    # The training loader's labels are the noisy ones, not the clean files.
    label = next(lb for lb in trainers[0].train_loader.dataset.labels if len(lb["cls"]))
    noisy_file = Path(label["im_file"].replace("/images/", "/labels/")).with_suffix(".txt")
    clean_file = f"labels/train/{Path(label['im_file']).resolve().stem}.txt"  # the view's images link to the originals
    noisy_boxes = [line.split()[1:] for line in noisy_file.read_text().splitlines()]
    clean_boxes = [line.split()[1:] for line in before[clean_file].decode().splitlines()]
    assert noisy_boxes != clean_boxes and len(noisy_boxes) == len(clean_boxes)
    np.testing.assert_allclose(label["bboxes"], np.array(noisy_boxes, dtype=float), atol=1e-6)


def test_alpha_warmup_trains_the_scheduled_power_each_epoch_and_resumes_it(tiny_train):
    seen = []

    def record(trainer):  # runs after the trainer's schedule callback: the powers this epoch trains with
        for model in (unwrap_model(trainer.model), trainer.ema.ema):
            seen.append((trainer.epoch, [b.bbox_loss.spec.alpha for b in detection_branches(model.criterion)]))

    tiny_train.pop("model")
    model = YOLO("yolov8n.yaml")
    model.add_callback("on_train_epoch_start", record)
    last = train_one_epoch_then_stop(
        model, trainer=AlphaDetectionTrainer, **{**tiny_train, "epochs": 3}, loss="alpha_iou", alpha=3, alpha_warmup=2
    )
    assert seen == [(0, [1.0]), (0, [1.0])]  # epoch 0: the classic loss, on the model and on the EMA
    resumed = YOLO(str(last))
    resumed.add_callback("on_train_epoch_start", record)
    resumed.train(trainer=AlphaDetectionTrainer, resume=True)
    assert seen[2:] == [(1, [2.0]), (1, [2.0]), (2, [3.0]), (2, [3.0])]  # 1 + 2·1/2, then α from epoch 2 on
    assert resumed.trainer.settings.alpha_warmup == 2


def test_the_python_api_trainer_refuses_alpha_warmup_not_below_epochs(tiny_train, tmp_path):
    """YOLO(...).train(trainer=AlphaDetectionTrainer, ...) skips run.train's checks: the trainer refuses it itself."""
    keys = {**tiny_train, "epochs": 3, "alpha_warmup": 3}
    with pytest.raises(YoloAlphaError, match=r"alpha_warmup=3 must be below epochs=3"):
        AlphaDetectionTrainer(overrides=keys)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("channels_last", [True, False])
def test_channels_last_converts_the_cpu_model_and_checkpoints_stay_nchw(tiny_train, channels_last):
    # Upstream converts CUDA models only; ours converts on the CPU too, before the EMA copy (issue 18's cheaper cells).
    from ultralytics.nn.tasks import DetectionModel

    trainer = AlphaDetectionTrainer(overrides={**tiny_train, "channels_last": channels_last})
    trainer.model = DetectionModel("yolov8n.yaml", nc=2, verbose=False)
    trainer.data = {**getattr(trainer, "data", {}), "nc": 2, "names": {0: "a", 1: "b"}}
    trainer.set_model_attributes()
    conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d)).weight
    assert conv.is_contiguous(memory_format=torch.channels_last) is channels_last
    if not channels_last:
        return
    model = run.train(**tiny_train, channels_last=True)
    ckpt = torch_load(model.trainer.last, map_location="cpu")
    saved = next(m for m in ckpt["model"].modules() if isinstance(m, torch.nn.Conv2d)).weight
    assert saved.is_contiguous()  # checkpoints are NCHW whatever trained: stock Ultralytics loads them
