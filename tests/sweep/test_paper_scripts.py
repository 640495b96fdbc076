"""scripts/paper_*.sh: one command per paper sweep; a dry run lists its cells, writes nothing, never downloads."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(s for s in (ROOT / "scripts").glob("paper_*.sh") if s.stem != "paper_sweep")  # the shared body


def dry_run(script: Path, tmp_path: Path, *keys: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(script), "dry_run=True", f"project={tmp_path / 'sweeps'}", *keys],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_there_is_one_script_per_paper_sweep():
    assert [s.stem for s in SCRIPTS] == [
        "paper_alpha_sensitivity", "paper_coco_clean", "paper_voc_clean", "paper_voc_noise",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_paper_script_lists_its_cells_without_writing(script, tmp_path):
    done = dry_run(script, tmp_path)
    assert done.returncode == 0, done.stderr
    cells = [line.split()[1] for line in done.stdout.splitlines() if line.strip().startswith("todo")]
    assert len(cells) >= 4 and all("loss-" in cell for cell in cells)
    assert not (tmp_path / "sweeps").exists()


@pytest.mark.slow
def test_choosing_gpus_replaces_the_scripts_gpu_0(tmp_path):
    # device=0 from the script beside devices= would be refused (a cell's device and the workers' GPUs conflict).
    done = dry_run(SCRIPTS[-1], tmp_path, "backend=process", "devices=0,1")
    assert done.returncode == 0, done.stderr
    assert "todo" in done.stdout
