"""Sweep backends with a stand-in train(): options, parallel workers, retries, reported failures, dead workers."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psutil
import pytest
import torch
import yaml

from yolo_alpha.cli import main
from yolo_alpha.sweep import SweepError, SweepGrid, read_results, run_sweep
from yolo_alpha.sweep.backends import SweepOptions, parse_devices, split_sweep_options, worker_devices
from yolo_alpha.sweep.runner import SweepCellsFailed

GRID = SweepGrid("s", {"epochs": 2}, {"loss": ("ciou", "alpha_ciou"), "seed": (0, 1)})
IDS = [c.cell_id for c in GRID.cells()]


class FakeTrain:
    """Stands in for yolo_alpha.run.train in any process: a run folder, a last.pt, AP from the seed; picklable.

    `fail_on` cells raise every time, `flaky` ones only on their first attempt, `die_on` ones end their process.
    Each call leaves call-<pid>-<n>.json in the run folder (its keys, device and threads) for the test to read.
    """

    def __init__(self, fail_on=(), flaky=(), die_on=(), sleep=0.0):
        self.fail_on, self.flaky, self.die_on, self.sleep = set(fail_on), set(flaky), set(die_on), sleep

    def __call__(self, **kw):
        run_dir = Path(kw["model"]).parents[1] if kw.get("resume") else Path(kw["project"]) / kw["name"]
        run_dir.mkdir(parents=True, exist_ok=True)
        calls = run_dir.parent / f"{run_dir.name}.calls.jsonl"  # outside the run folder, which a fresh start empties
        with open(calls, "a") as f:
            f.write(json.dumps({**kw, "pid": os.getpid(), "threads": os.environ.get("YOLO_ALPHA_THREADS")}) + "\n")
        time.sleep(self.sleep)
        if run_dir.name in self.die_on:
            os._exit(3)
        if run_dir.name in self.fail_on or (run_dir.name in self.flaky and len(calls.read_text().splitlines()) == 1):
            raise RuntimeError(f"training diverged in {run_dir.name}")
        (run_dir / "weights").mkdir(exist_ok=True)
        torch.save({"epoch": 0, "train_args": {"epochs": 2}}, run_dir / "weights" / "last.pt")
        seed = kw.get("seed", 0)
        metrics = SimpleNamespace(box=SimpleNamespace(all_ap=np.full((2, 10), 0.25 + 0.25 * seed)))
        trainer = SimpleNamespace(validator=SimpleNamespace(metrics=metrics), save_dir=run_dir, args=SimpleNamespace())
        trainer.epoch = 1
        return SimpleNamespace(trainer=trainer)


def calls(project: Path, cell_id: str) -> list[dict]:
    path = project / "s" / "runs" / f"{cell_id}.calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def without_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("seconds", "run_dir")} for row in rows]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "dask"}, "backend='dask' is not valid (a sweep backend). Valid: local, process, ray."),
        ({"backend": "proces"}, "Valid: local, process, ray. Did you mean 'process'?"),
        ({"backend": "process", "workers": 0}, "workers must be an integer >= 1, got 0 (workers= is the number of"),
        ({"backend": "process", "workers": 1.5}, "workers must be an integer >= 1, got 1.5"),
        ({"backend": "process", "workers": True}, "workers must be an integer >= 1, got True"),
        ({"workers": 2}, "workers=2 needs backend=process or backend=ray"),
        ({"backend": "process", "devices": "0,gpu"}, "devices='0,gpu': give GPU indices, e.g. devices=0,1"),
        ({"backend": "process", "devices": -1}, "devices=-1"),
        ({"backend": "ray", "devices": "0,1"}, "devices= is an option of backend=process, not ray; with backend=ray"),
        ({"backend": "process", "address": "auto"}, "address= is an option of backend=ray, not process"),
        ({"backend": "process", "gpus_per_run": 1}, "gpus_per_run= is an option of backend=ray"),
        (
            {"backend": "ray", "gpus_per_run": -1},
            "gpus_per_run must be a finite number >= 0, got -1 (a fraction shares",
        ),
        ({"backend": "ray", "gpus_per_run": "one"}, "gpus_per_run must be a finite number >= 0, got 'one'"),
        ({"backend": "ray", "gpus_per_run": 1.5}, "gpus_per_run=1.5: above 1 it must be a whole number"),
        ({"backend": "ray", "address": ""}, "address='': give a Ray address"),
        ({"retries": -1}, "retries must be an integer >= 0, got -1"),
        ({"retries": "twice"}, "retries must be an integer >= 0, got 'twice'"),
    ],
)
def test_bad_options_are_refused_naming_the_key(options, message):
    with pytest.raises(SweepError, match=re.escape(message)):
        SweepOptions(**options)


def test_options_are_split_from_train_keys_and_devices_parsed():
    options, rest = split_sweep_options({"backend": "process", "devices": (0, 1), "retries": 2, "epochs": 3})
    assert options == SweepOptions(backend="process", devices=("0", "1"), retries=2) and rest == {"epochs": 3}
    assert (options.slots, options.threads_per_run()) == (2, max(1, (os.cpu_count() or 1) // 2))
    assert parse_devices(0) == ("0",) and parse_devices("2, 3") == ("2", "3") and parse_devices(None) == ()
    assert SweepOptions(backend="ray", address="auto").slots is None  # the cluster's resources decide
    assert SweepOptions().slots == 1 and SweepOptions().threads_per_run() is None


def test_cli_options_do_not_change_the_grid_so_a_sweep_resumes_with_another_backend(tmp_path, capsys):
    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(yaml.safe_dump({"name": "s", "base": {"epochs": 1}, "grid": {"loss": ["ciou"]}}))
    (tmp_path / "sweeps" / "s").mkdir(parents=True)
    (tmp_path / "sweeps" / "s" / "sweep.yaml").write_text("name: s\nbase: {epochs: 1}\ngrid: {loss: [ciou]}\n")
    argv = ["sweep", f"cfg={sweep_file}", f"project={tmp_path / 'sweeps'}", "dry_run=True"]
    assert main([*argv, "backend=process", "workers=2", "retries=0"]) == 0
    assert capsys.readouterr().out.split()[:2] == ["todo", "loss-ciou"]
    assert main([*argv, "backend=process", "workers=0"]) == 2
    err = capsys.readouterr().err
    assert "workers must be an integer >= 1, got 0" in err and "data-loader workers go in the sweep's base" in err
    assert "Traceback" not in err


def test_a_missing_ray_is_a_clear_error_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(SweepError, match=re.escape("pip install 'yolo-alpha[ray]'")):
        run_sweep(GRID, project=tmp_path, train=FakeTrain(), options=SweepOptions(backend="ray"))
    assert list(tmp_path.iterdir()) == []


def test_pinned_gpus_and_a_device_chosen_by_the_sweep_are_refused_together(tmp_path):
    grid = SweepGrid("s", {"device": 0}, {"seed": (0, 1)})
    with pytest.raises(SweepError, match="devices= chooses each run's GPU, but the sweep sets device"):
        run_sweep(grid, project=tmp_path, train=FakeTrain(), options=SweepOptions(backend="process", devices="0,1"))


def test_process_workers_give_the_local_rows_in_grid_order_each_pinned_with_its_threads(tmp_path):
    run_sweep(GRID, project=tmp_path / "local", train=FakeTrain())
    options = SweepOptions(backend="process", workers=2, devices="0,1")
    results = run_sweep(GRID, project=tmp_path / "proc", train=FakeTrain(sleep=0.5), options=options)
    rows = read_results(results)
    assert [r["cell_id"] for r in rows] == IDS
    assert without_timing(rows) == without_timing(read_results(tmp_path / "local" / "s" / "results.jsonl"))
    made = [calls(tmp_path / "proc", i)[0] for i in IDS]
    assert {c["device"] for c in made} == {"0", "1"} and len({c["pid"] for c in made}) == 2  # two workers
    assert {c["threads"] for c in made} == {str(max(1, (os.cpu_count() or 1) // 2))}
    assert all(os.getpid() != c["pid"] for c in made)
    assert "device" not in calls(tmp_path / "local", IDS[0])[0]  # the local backend leaves device to the cell
    assert (tmp_path / "proc" / "s" / "logs" / f"{IDS[0]}.log").read_text().startswith(f"--- {IDS[0]} on ")


def test_failed_cells_are_retried_then_reported_while_the_others_finish(tmp_path, capsys):
    """One cell always raises, one raises once, one kills its worker: the others still finish and are recorded."""
    options = SweepOptions(backend="process", workers=2, retries=1)
    train = FakeTrain(fail_on={IDS[1]}, flaky={IDS[2]}, die_on={IDS[3]})
    failed = rf"2 cell\(s\) failed after 2 attempt\(s\) each .*: {IDS[1]}, {IDS[3]};"
    with pytest.raises(SweepCellsFailed, match=failed):
        run_sweep(GRID, project=tmp_path, train=train, options=options)
    sweep_dir = tmp_path / "s"
    assert [r["cell_id"] for r in read_results(sweep_dir / "results.jsonl")] == [IDS[0], IDS[2]]
    assert [len(calls(tmp_path, i)) for i in IDS] == [1, 2, 2, 2]  # each failed cell tried once more
    died = calls(tmp_path, IDS[3])
    assert died[0]["pid"] != died[1]["pid"]  # a dead worker is replaced by a fresh process
    failures = [json.loads(line) for line in (sweep_dir / "failures.jsonl").read_text().splitlines()]
    assert failures == [
        {"cell_id": IDS[1], "params": {"loss": "ciou", "seed": 1}, "attempts": 2,
         "error": f"RuntimeError: training diverged in {IDS[1]}", "log": str(sweep_dir / "logs" / f"{IDS[1]}.log")},
        {"cell_id": IDS[3], "params": {"loss": "alpha_ciou", "seed": 1}, "attempts": 2,
         "error": "WorkerDied: the worker process training it ended (exit code 3)",
         "log": str(sweep_dir / "logs" / f"{IDS[3]}.log")},
    ]  # fmt: skip
    assert (sweep_dir / "logs" / f"{IDS[1]}.log").read_text().count("Traceback") == 2
    out = capsys.readouterr().out
    assert f"{IDS[1]}: failed (RuntimeError: training diverged in {IDS[1]}); trying again" in out
    assert f"{IDS[1]}: failed after 2 attempt(s)" in out
    # a rerun, here with the local backend, trains only the failed cells; the list of failures goes once all are done
    run_sweep(GRID, project=tmp_path, train=FakeTrain())
    assert [r["cell_id"] for r in read_results(sweep_dir / "results.jsonl")] == IDS
    assert len(calls(tmp_path, IDS[0])) == 1 and not (sweep_dir / "failures.jsonl").exists()


def test_each_worker_pins_the_devices_given_else_the_cpu_unless_cells_choose():
    cpu_cells = SweepGrid("s", {}, {"seed": (0,)}).cells()
    assert worker_devices(SweepOptions(backend="process", devices="2,3"), cpu_cells) == ("2", "3")
    assert worker_devices(SweepOptions(backend="process", workers=2), cpu_cells) == ("cpu",)
    own_device = SweepGrid("s", {}, {"device": ("cpu", "0")}).cells()
    assert worker_devices(SweepOptions(backend="process", workers=2), own_device) == (None,)  # left to the cell
    # Ray makes a task's GPUs visible as 0, 1, ...; a fraction of a GPU is still GPU 0
    assert worker_devices(SweepOptions(backend="ray", gpus_per_run=2), cpu_cells) == ("0,1",)
    assert worker_devices(SweepOptions(backend="ray", gpus_per_run=0.5), cpu_cells) == ("0",)


def test_the_local_backend_retries_then_raises_the_cells_own_error(tmp_path):
    run_sweep(GRID, project=tmp_path, train=FakeTrain(flaky={IDS[0]}))  # retries=1 by default: the retry succeeds
    assert len(calls(tmp_path, IDS[0])) == 2
    assert [r["cell_id"] for r in read_results(tmp_path / "s" / "results.jsonl")] == IDS
    with pytest.raises(RuntimeError, match="diverged"):
        run_sweep(GRID, project=tmp_path / "b", train=FakeTrain(flaky={IDS[0]}), options=SweepOptions(retries=0))
    assert not (tmp_path / "b" / "s" / "results.jsonl").exists()
    assert json.loads((tmp_path / "b" / "s" / "failures.jsonl").read_text())["log"] is None


def test_a_script_without_a_main_guard_gets_an_explanation_not_a_failure_per_cell(tmp_path):
    script = tmp_path / "sweep_script.py"  # spawned workers import it, and would start the sweep again
    script.write_text(
        "from yolo_alpha.sweep import SweepGrid, run_sweep\n"
        "from yolo_alpha.sweep.backends import SweepOptions\n"
        f"run_sweep(SweepGrid('s', {{}}, {{'seed': (0, 1)}}), {str(tmp_path)!r},\n"
        "          options=SweepOptions(backend='process'))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "could not start (exit code 1)" in done.stderr and "if __name__ == '__main__':" in done.stderr
    assert not (tmp_path / "s" / "results.jsonl").exists() and not (tmp_path / "s" / "runs").exists()


KILL_DRIVER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_backends import GRID, FakeTrain
from yolo_alpha.sweep.backends import SweepOptions
from yolo_alpha.sweep.runner import run_sweep
options = SweepOptions(backend="process", workers=2)
run_sweep(GRID, project=Path(sys.argv[1]), train=FakeTrain(sleep=1.0), options=options)
"""


def test_killing_the_driver_ends_its_workers_and_a_rerun_completes(tmp_path):
    """SIGKILL the driver with cells in flight: its workers exit too (no orphan writes a run), a rerun finishes."""
    child = subprocess.Popen([sys.executable, "-c", KILL_DRIVER, str(tmp_path), str(Path(__file__).parent)])
    results = tmp_path / "s" / "results.jsonl"
    try:
        deadline = time.monotonic() + 60
        while not (results.exists() and read_results(results)):
            assert child.poll() is None and time.monotonic() < deadline, "no result row from the driver"
            time.sleep(0.05)
        # its worker processes (not multiprocessing's resource tracker, which also ends with the driver)
        workers = [p for p in psutil.Process(child.pid).children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []
    done_before = {r["cell_id"] for r in read_results(results)}
    run_sweep(GRID, project=tmp_path, train=FakeTrain())
    assert [r["cell_id"] for r in read_results(results)] == IDS
    assert all(len(calls(tmp_path, i)) == 1 for i in done_before)  # recorded cells are never trained again
