"""Reading checkpoints before use: the run folder a resume writes into, the model's task and class count."""

import pytest
import torch

from yolo_alpha.errors import ConfigError
from yolo_alpha.ultralytics.checkpoints import checkpoint_info, resume_run_dir


def test_resume_writes_into_the_run_folder_holding_the_weights(tmp_path):
    weights = tmp_path / "runs" / "copy" / "weights" / "last.pt"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"")
    assert resume_run_dir(weights) == tmp_path / "runs" / "copy"
    with pytest.raises(ConfigError, match="this file is not in a weights/ folder; move it into one"):
        resume_run_dir(tmp_path / "last.pt")


def test_a_symlinked_last_pt_resumes_in_the_folder_of_the_file_it_points_to(tmp_path):
    # Ultralytics writes last.pt through the link: the run that changes is the linked one, so it is named as such.
    real = tmp_path / "run" / "weights" / "last.pt"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"")
    link = tmp_path / "link" / "weights" / "last.pt"
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    assert resume_run_dir(link) == tmp_path / "run"


def test_checkpoint_info_reads_the_models_task_and_class_count(tmp_path):
    from ultralytics import YOLO

    YOLO("yolov8n.yaml").save(tmp_path / "detect.pt")
    info = checkpoint_info(tmp_path / "detect.pt")
    assert (info.task, info.nc) == ("detect", 80)
    torch.save({"model": None, "epoch": -1, "train_args": {}}, tmp_path / "bare.pt")
    assert (checkpoint_info(tmp_path / "bare.pt").task, checkpoint_info(tmp_path / "bare.pt").nc) == (None, None)
