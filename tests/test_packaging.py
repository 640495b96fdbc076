"""The wheel holds every package of yolo_alpha/ and cfg/'s settings files (as yolo_alpha.cfg), found without a list.

Built the way scripts/wheel_check.sh builds it (pip, no build isolation, offline) from a copy of the package's
sources, to which a new subpackage and a new settings folder are added: discovery must pick them up unaided (the
hand-written list once left yolo_alpha.suites out of every pip-installed copy). The installed wheel running every
verb is scripts/wheel_check.sh's job (`make test`).
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md")
NEW_PACKAGE, NEW_CFG = "yolo_alpha/added_later", "cfg/added_later"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[zipfile.ZipFile, Path]:
    """Return (the wheel, the sources it was built from): the package's sources plus a new package and cfg folder."""
    src, dist = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in BUILD_INPUTS:
        shutil.copy(ROOT / name, src / name)
    for folder in ("yolo_alpha", "cfg"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for added in (NEW_PACKAGE, NEW_CFG):
        (src / added).mkdir()
        (src / added / "__init__.py").write_text('"""Added after the packaging was written."""\n')
    (src / NEW_CFG / "extra.yaml").write_text("epochs: 1\n")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    subprocess.run([*command, "-w", str(dist), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("yolo_alpha-*.whl")
    return zipfile.ZipFile(wheel), src


def test_every_module_is_in_the_wheel(built):
    wheel, src = built
    modules = {p.relative_to(src).as_posix() for p in (src / "yolo_alpha").rglob("*.py")}
    assert f"{NEW_PACKAGE}/__init__.py" in modules
    assert "yolo_alpha/suites/__init__.py" in modules
    assert modules - set(wheel.namelist()) == set()


def test_cfg_ships_inside_the_package(built):
    wheel, src = built
    settings = {p.relative_to(src).as_posix() for p in (src / "cfg").rglob("*") if p.suffix in {".py", ".yaml"}}
    expected = {"cfg/default.yaml", "cfg/sweeps/demo.yaml", "cfg/models/yolov5-anchor.yaml", f"{NEW_CFG}/extra.yaml"}
    assert expected <= settings
    assert {f"yolo_alpha/{path}" for path in settings} - set(wheel.namelist()) == set()


def test_nothing_but_the_package_at_the_top(built):
    wheel, _ = built
    top = {name.split("/", 1)[0] for name in wheel.namelist()}
    assert {t for t in top if not t.endswith(".dist-info")} == {"yolo_alpha"}  # no cfg/, tests/ or scripts/


def test_the_command_is_installed(built):
    wheel, _ = built
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert parser["console_scripts"]["yolo-alpha"] == "yolo_alpha.cli:main"


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_wheel_check_names_the_step_that_failed(tmp_path):
    """A failing step stops scripts/wheel_check.sh with exit 1 and a line naming the step and the exit code."""
    fake_python = tmp_path / "venv" / "bin" / "python"
    fake_python.parent.mkdir(parents=True)
    fake_python.write_text("#!/bin/sh\necho 'no wheel today' >&2\nexit 3\n")
    fake_python.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "VENV": str(tmp_path / "venv"), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "wheel_check.sh")], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "wheel_check: FAILED at step 'build': exit code 3 (expected 0)" in done.stderr
    assert "no wheel today" in done.stderr  # the end of the step's log
    assert sorted(p.name for p in tmp_path.iterdir()) == ["venv"]  # its temporary folder removed
