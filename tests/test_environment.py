"""What every sweep row records of the environment that sets its numerics (yolo_alpha.environment)."""

from importlib import metadata
from pathlib import Path

from helpers import FakeTrain

from yolo_alpha import environment
from yolo_alpha.environment import PACKAGES, numerics_environment, package_version
from yolo_alpha.sweep import SweepGrid, read_results, run_sweep


def test_it_names_each_package_version_the_cpu_and_the_device():
    env = numerics_environment("cpu")
    assert list(env) == [*PACKAGES, "cpu", "device"]
    assert env["torch"] == metadata.version("torch") and env["ultralytics"] == metadata.version("ultralytics")
    assert env["device"] == "cpu" and env["cpu"]


def test_a_missing_package_says_so():
    assert package_version("no-such-distribution-here") == "not installed"


def test_the_cpu_is_read_from_cpuinfo_when_there_is_one():
    environment.processor.cache_clear()
    try:
        text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
        names = [line.partition(":")[2].strip() for line in text.splitlines() if line.startswith("model name")]
        assert environment.processor() == (names[0] if names else environment.processor())
    finally:
        environment.processor.cache_clear()


def test_every_sweep_row_records_it(tmp_path):
    sweep = SweepGrid("env", {"epochs": 1}, {"loss": ("iou", "ciou")}, str(tmp_path))
    run_sweep(sweep, train=FakeTrain())
    rows = read_results(tmp_path / "env" / "results.jsonl")
    assert len(rows) == 2 and all(row["environment"] == numerics_environment("cpu") for row in rows)
