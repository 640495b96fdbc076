"""Test-wide isolation: Ultralytics' config folder and our data cache live in a temporary folder, no network."""

import os
import tempfile
from pathlib import Path

# Set before any test module imports ultralytics (which reads these at import time).
_SANDBOX = Path(tempfile.mkdtemp(prefix="yolo_alpha_tests_"))
os.environ["YOLO_CONFIG_DIR"] = str(_SANDBOX / "ultralytics_config")
os.environ["YOLO_ALPHA_CACHE"] = str(_SANDBOX / "cache")
os.environ["YOLO_OFFLINE"] = "True"
os.environ["YOLO_AUTOINSTALL"] = "False"
os.environ["PIP_NO_INDEX"] = "1"  # a pip the code runs (data neon-trees' download) never reaches an index
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import ultralytics  # noqa: E402, F401  (imported here so its logger binds the real stdout, not one test's capsys)
from hypothesis import settings  # noqa: E402

# CI explores the same examples on every run (a red CI must be reproducible); locally, hypothesis explores anew.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """Return the data.yaml of a tiny synthetic detection set (16 train / 8 val images of 64 px)."""
    from yolo_alpha.data.synthetic import SyntheticSpec, write_synthetic_dataset

    return write_synthetic_dataset(
        tmp_path_factory.mktemp("tiny_synthetic"), SyntheticSpec(n_train=16, n_val=8, imgsz=64)
    )


@pytest.fixture
def tiny_train(tiny_data, tmp_path) -> dict:
    """Return train keys for a one-epoch, deterministic CPU smoke training on `tiny_data` under tmp_path."""
    return dict(
        data=str(tiny_data), model="yolov8n.yaml", epochs=1, imgsz=64, batch=8, workers=0, device="cpu", seed=0,
        deterministic=True, plots=False, optimizer="SGD", verbose=False, project=str(tmp_path / "runs"), name="train",
    )  # fmt: skip


@pytest.fixture
def model_yaml(request) -> str:
    """Return the model YAML of an indirect parameter; skip where the installed Ultralytics does not ship it."""
    from ultralytics.nn.tasks import yaml_model_load

    try:
        yaml_model_load(request.param)
    except FileNotFoundError:
        pytest.skip(f"{request.param} is not shipped by this Ultralytics version")
    return request.param
