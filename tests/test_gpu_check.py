"""scripts/gpu_check.sh: what its callbacks count, the summary it prints, and its CPU dry run end to end."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_LINE = re.compile(r"gpu_check (device|step|voc_cell|amp|error|result)( [\w.+-]+=\S+)+")


@pytest.fixture(scope="module")
def gpu_check():
    """Return scripts/gpu_check.py as a module."""
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being defined
    spec.loader.exec_module(module)
    return module


def fake_trainer(loss_items) -> SimpleNamespace:
    """Return the parts of an Ultralytics trainer the watch reads: a one-layer model, its optimizer, a scaler."""
    model = torch.nn.Linear(2, 1)
    return SimpleNamespace(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        scaler=torch.amp.GradScaler("cuda", enabled=False),  # disabled (no CUDA here): step() is the optimizer's
        amp=False,
        device=torch.device("cpu"),
        train_loader=SimpleNamespace(dataset=[0] * 16),
        loss=torch.tensor(1.0),
        loss_items=loss_items,
    )


def test_the_watch_counts_non_finite_gradients_at_the_scalers_step(gpu_check):
    watch, trainer = gpu_check.TrainingWatch(), fake_trainer({"box": torch.tensor(0.5)})
    watch.on_train_start(trainer)
    for grad in (1.0, float("inf"), float("nan"), 2.0):  # two of four steps carry gradients the scaler would skip
        for p in trainer.model.parameters():
            p.grad = torch.full_like(p, grad)
        trainer.scaler.step(trainer.optimizer)
    assert (watch.steps, watch.nonfinite_grad_steps, watch.train_images) == (4, 2, 16)
    watch.on_train_end(trainer)
    assert watch.params_finite is False  # the CPU optimizer applied them: the weights are NaN now
    assert watch.problems(cuda=False) == ["non-finite weights after training"]  # 2 of 4 skipped: within the share


def test_the_watch_counts_batches_with_a_non_finite_loss_term(gpu_check):
    watch = gpu_check.TrainingWatch()
    for box in (0.5, float("nan"), 0.7):
        watch.on_train_batch_end(fake_trainer({"box": torch.tensor(box), "cls": torch.tensor(1.0)}))
    watch.on_train_batch_end(fake_trainer(torch.tensor([0.1, float("inf")])))  # Ultralytics < 8.4: one tensor
    assert (watch.batches, watch.nonfinite_losses) == (4, 2)
    assert watch.problems(cuda=False)[0] == "2 of 4 batches had non-finite loss items"


@pytest.mark.parametrize(
    ("fields", "cuda", "problem"),
    [
        ({"steps": 4, "nonfinite_grad_steps": 0, "amp": True}, True, None),
        ({"steps": 4, "nonfinite_grad_steps": 3, "amp": True}, True, "3 of 4 optimizer steps"),  # over half skipped
        ({"steps": 0, "nonfinite_grad_steps": 0, "amp": True}, True, "0 of 0 optimizer steps"),  # nothing applied
        ({"steps": 4, "nonfinite_grad_steps": 0, "amp": False}, True, "AMP was off"),  # on CUDA, AMP must be on
        ({"steps": 4, "nonfinite_grad_steps": 0, "amp": False}, False, None),  # the CPU dry run has no AMP
    ],
)
def test_problems(gpu_check, fields, cuda, problem):
    problems = gpu_check.TrainingWatch(batches=4, params_finite=True, **fields).problems(cuda)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_summary_lines_are_key_value_pairs(gpu_check):
    report = {
        "device": "NVIDIA H100 80GB HBM3",
        "torch": "2.11.0",
        "ultralytics": "8.4.190",
        "step": {"step_ratio": 1.01, "via_criterion": 1.002, "step_ms": {"stock": 30.5, "alpha_ciou": 30.8}},
        "voc_cell": {"cell_id": "model-yolov5s-anchor.yaml__seed-0__loss-iou", "ok": True, "seconds": 41.0},
        "amp": [
            {"model": "yolov8n.yaml", "loss": "siou", "ok": False, "problems": ["ValueError: bad thing"]},
            {"model": "yolov8n.yaml", "loss": "iou", "ok": True, "problems": [], "steps": 20, "final_scale": None},
        ],
        "errors": {"step": "RuntimeError: out of memory"},
        "passed": False,
        "seconds": 300.2,
    }
    lines = gpu_check.summary_lines(report)
    assert all(SUMMARY_LINE.fullmatch(line) for line in lines), lines
    assert lines[0] == "gpu_check device device=NVIDIA_H100_80GB_HBM3 torch=2.11.0 ultralytics=8.4.190"
    assert "gpu_check step step_ratio=1.01 via_criterion=1.002 stock_ms=30.5 alpha_ciou_ms=30.8" in lines
    assert "gpu_check amp model=yolov8n.yaml loss=siou ok=False problems=ValueError:_bad_thing" in lines
    assert "gpu_check amp model=yolov8n.yaml loss=iou ok=True steps=20" in lines  # None values are left out
    assert "gpu_check error item=step message=RuntimeError:_out_of_memory" in lines
    assert lines[-1] == "gpu_check result passed=False seconds=300"


def test_the_real_run_trains_every_loss_on_cuda_with_amp(gpu_check, tmp_path):
    from yolo_alpha.losses import list_losses
    from yolo_alpha.losses.catalogue import training_cases

    args = SimpleNamespace(dry_run=False, losses="all", device="0")
    plan = gpu_check.plan(args, tmp_path)
    assert plan["device"] == "cuda:0" and plan["losses"] == list_losses()
    modules = gpu_check.plan(SimpleNamespace(dry_run=False, losses="modules", device="0"), tmp_path)["losses"]
    assert modules == [name for name, _ in training_cases()] and {"nwd", "inner_ciou", "piou2"} <= set(modules)
    keys = gpu_check.plan(SimpleNamespace(dry_run=False, losses="modules", device="0"), tmp_path)["loss_keys"]
    assert keys == dict(training_cases()) and keys["nwd"] == {"nwd_c": 1.6}
    assert plan["amp"] == {
        **{"data": "synthetic", "device": "cuda:0", "epochs": 1, "workers": 2, "plots": False},
        **{"imgsz": 160, "batch": 16, "nbs": 16},  # Ultralytics' amp=True stays: AMP on
    }
    assert plan["voc"]["imgsz"] == 640 and "batch" not in plan["voc"]  # the cell's own batch (cfg/voc.yaml: 64)
    assert plan["step"] == ("cuda:0", 64, 640, 20)
    assert list(tmp_path.iterdir()) == []  # the real run's data is the embedded set, generated on first use


def test_amp_is_kept_on_cuda_only(gpu_check):
    assert gpu_check.amp_without_download(torch.nn.Linear(2, 1)) is False  # as Ultralytics' check on the CPU


def test_results_csv_is_read_as_ultralytics_reads_it(gpu_check, tmp_path):
    trainer = SimpleNamespace(csv=tmp_path / "results.csv")
    assert gpu_check.read_results_csv(trainer) == {}  # no file yet: no table, as Ultralytics
    trainer.csv.write_text("epoch,train/box_loss,metrics/mAP50(B)\n1,0.5,0.25\n2,0.4,0.5\n")
    assert gpu_check.read_results_csv(trainer) == {
        "epoch": [1.0, 2.0],
        "train/box_loss": [0.5, 0.4],
        "metrics/mAP50(B)": [0.25, 0.5],
    }


def test_refuses_a_call_without_an_output_folder():
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: scripts/gpu_check.sh OUT_DIR")


@pytest.mark.slow
def test_dry_run_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_check.sh"), str(out), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    report = json.loads((out / "gpu_check.json").read_text(encoding="utf-8"))
    assert report["passed"] and report["errors"] == {} and report["device"] == "cpu (dry run)"
    assert "check_amp" in report["substituted"].split(",")
    assert [(r["family"], r["loss"], r["ok"]) for r in report["amp"]] == [
        ("task_aligned", "alpha_ciou", True),
        ("anchor", "alpha_ciou", True),
    ]
    assert all(r["steps"] >= 1 and r["batches"] >= 1 and r["nonfinite_losses"] == 0 for r in report["amp"])
    assert [r["amp"] for r in report["amp"]] == [False, False]  # on the CPU, as Ultralytics decides there
    assert report["step"]["step_ratio"] > 0 and report["step"]["via_criterion"] > 0
    assert report["voc_cell"]["ok"] and report["voc_cell"]["cell_id"].startswith("model-yolov5s-anchor.yaml__seed-0")
    assert report["voc_cell"]["settings"]["cfg"] == "voc.yaml"  # the suite's cell: its settings file, ours on top
    # The summary comes last on stdout, one line per item, and the log holds the whole output.
    tail = done.stdout.splitlines()[-6:]
    assert [line.split()[1] for line in tail] == ["device", "step", "voc_cell", "amp", "amp", "result"]
    assert tail[-1].startswith("gpu_check result passed=True seconds=")
    assert all(SUMMARY_LINE.fullmatch(line) for line in done.stdout.splitlines() if line.startswith("gpu_check "))
    assert (out / "gpu_check.log").read_text(encoding="utf-8") == done.stdout
    assert not list(tmp_path.glob("gpu_check_*"))  # the runs and the state went to temporary folders, removed
