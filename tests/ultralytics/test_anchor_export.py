"""Exports of the anchor family through Ultralytics' exporter run where yolo_alpha cannot be imported.

The ONNX / TorchScript output ``output0`` must equal the PyTorch eval output ``y`` (b, 4 + nc, N), and Ultralytics'
``YOLO(export).predict`` (its backend and NMS, in a Python without yolo_alpha) must give ``predict``'s boxes.
"""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers import BLOCK_YOLO_ALPHA

from yolo_alpha.ultralytics.anchor_model import AlphaYOLO, AnchorDetectionModel

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

IMGSZ = 64
N_BOXES = 3 * ((IMGSZ // 8) ** 2 + (IMGSZ // 16) ** 2 + (IMGSZ // 32) ** 2)  # na · Σ ny · nx = 252

# Runs an export in a Python where `import yolo_alpha` fails: its raw output on one input, then Ultralytics' predict.
WITHOUT_YOLO_ALPHA = (
    BLOCK_YOLO_ALPHA
    + """
try:
    import yolo_alpha
    raise SystemExit("yolo_alpha is importable")
except ImportError:
    pass
import numpy as np
from ultralytics import YOLO
exported, inputs, image, out = sys.argv[1:5]
x = np.load(inputs)
if exported.endswith(".onnx"):
    import onnxruntime
    session = onnxruntime.InferenceSession(exported, providers=["CPUExecutionProvider"])
    y = session.run(["output0"], {"images": x})[0]
else:
    import torch
    y = torch.jit.load(exported)(torch.from_numpy(x)).numpy()
boxes = YOLO(exported, task="detect").predict(image, imgsz=int(sys.argv[5]), conf=0.25, verbose=False)[0].boxes
np.savez(out, y=y, xyxy=boxes.xyxy.numpy(), conf=boxes.conf.numpy(), cls=boxes.cls.numpy())
print("NO-YOLO-ALPHA-OK", y.shape)
"""
)


@pytest.fixture(scope="module")
def anchor_pt(tmp_path_factory) -> Path:
    """Return a freshly built yolov5n-anchor (nc 80) saved with ``.save()``, its head biases spread so it detects."""
    torch.manual_seed(0)
    model = AlphaYOLO("yolov5n-anchor.yaml")
    with torch.no_grad():
        for conv in model.model.model[-1].m:
            conv.bias.normal_(0, 3)  # scores σ(obj) · σ(cls) well above and below conf=0.25
    path = tmp_path_factory.mktemp("anchor_export") / "anchor.pt"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def image(anchor_pt) -> Path:
    path = anchor_pt.parent / "noise.png"
    cv2.imwrite(str(path), (np.random.default_rng(0).random((IMGSZ, IMGSZ, 3)) * 255).astype(np.uint8))
    return path


def reference(anchor_pt: Path, image: Path, x: np.ndarray) -> tuple[torch.Tensor, object]:
    """Return the PyTorch eval ``y`` for ``x`` and Ultralytics' predict boxes, from the same .pt."""
    model = AlphaYOLO(str(anchor_pt))
    assert type(model.model) is AnchorDetectionModel
    with torch.no_grad():
        y = model.model.eval()(torch.from_numpy(x))[0]
    boxes = model.predict(str(image), imgsz=IMGSZ, conf=0.25, verbose=False)[0].boxes
    return y, boxes


def run_without_yolo_alpha(exported: str, x: np.ndarray, image: Path, imgsz: int = IMGSZ) -> dict:
    folder = Path(exported).parent
    np.save(folder / "inputs.npy", x)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_YOLO_ALPHA, exported, str(folder / "inputs.npy"), str(image),
         str(folder / "out.npz"), str(imgsz)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "NO-YOLO-ALPHA-OK" in done.stdout
    return dict(np.load(folder / "out.npz"))


def assert_same_detections(got: dict, boxes) -> None:
    """Pair each exported detection with the reference box nearest to it: a one-to-one match, same class and score.

    Not by sorting on the score: the spread biases make many scores tie to 1e-4.
    """
    ref_xyxy, ref_conf, ref_cls = boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy()
    assert len(ref_xyxy) > 0  # the spread biases give detections above conf=0.25
    assert got["xyxy"].shape == ref_xyxy.shape
    distance = np.abs(got["xyxy"][:, None] - ref_xyxy[None]).max(-1)  # (got, ref) L∞ in px
    match = distance.argmin(1)
    assert sorted(match) == list(range(len(ref_xyxy)))
    assert distance[np.arange(len(match)), match].max() < 1e-2
    np.testing.assert_allclose(got["conf"], ref_conf[match], atol=1e-4)
    np.testing.assert_array_equal(got["cls"], ref_cls[match])


def embedded_metadata(exported: str) -> dict:
    """Return the metadata Ultralytics wrote into an .onnx (metadata_props) or .torchscript (config.txt)."""
    if exported.endswith(".onnx"):
        import onnx

        props = {p.key: p.value for p in onnx.load(exported).metadata_props}
        return {"head": props["head"], "task": props["task"], "stride": int(props["stride"])}
    with zipfile.ZipFile(exported) as archive:
        config = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith("config.txt"))))
    return {k: config[k] for k in ("head", "task", "stride")}


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_runs_without_yolo_alpha_and_matches_pytorch(anchor_pt, image, fmt):
    model, exporters = AlphaYOLO(str(anchor_pt)), []
    model.add_callback("on_export_start", exporters.append)
    exported = model.export(format=fmt, imgsz=IMGSZ)
    assert Path(exported).parent == anchor_pt.parent
    # The exporter's dry run calls the model outside tracing: (y, raw), the raw list recorded as () beside y.
    assert exporters[0].output_shape == ((1, 4 + 80, N_BOXES), ())
    assert embedded_metadata(exported) == {"head": "AnchorDetect", "task": "detect", "stride": 32}
    assert exporters[0].metadata["end2end"] is False and len(exporters[0].metadata["names"]) == 80

    x = np.random.default_rng(1).random((1, 3, IMGSZ, IMGSZ), dtype=np.float32)
    y, boxes = reference(anchor_pt, image, x)
    got = run_without_yolo_alpha(exported, x, image)
    assert got["y"].shape == (1, 4 + 80, N_BOXES)
    np.testing.assert_allclose(got["y"], y.numpy(), rtol=1e-4, atol=1e-3)  # xywh in px, scores
    assert_same_detections(got, boxes)


def test_dynamic_onnx_decodes_other_sizes(anchor_pt, image):
    exported = AlphaYOLO(str(anchor_pt)).export(format="onnx", imgsz=IMGSZ, dynamic=True)
    x = np.random.default_rng(2).random((2, 3, 96, 128), dtype=np.float32)
    y, _ = reference(anchor_pt, image, x)  # the grid must come from the input's shape, not the export's
    got = run_without_yolo_alpha(exported, x, image)
    assert got["y"].shape == (2, 84, 3 * (12 * 16 + 6 * 8 + 3 * 4))
    np.testing.assert_allclose(got["y"], y.numpy(), rtol=1e-4, atol=1e-3)
