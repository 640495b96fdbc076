"""scripts/neon_pilots.sh runs unattended after the powered study: each of its trainings must be one the CLI takes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from yolo_alpha.cli import parse_key_values
from yolo_alpha.run import check_settings

ROOT = Path(__file__).resolve().parents[1]
PILOTS = "docs/reproduction/neon_trees/pilots"


def planned_trainings() -> list[tuple[str, dict]]:
    """Return (pilot, train keys) of each training the script would run here, from its DRY=1 listing."""
    done = subprocess.run(
        ["bash", "scripts/neon_pilots.sh"], cwd=ROOT, env={**os.environ, "DRY": "1"}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    out = []
    for line in done.stdout.splitlines():
        name, _, command = line.removeprefix("== ").partition(": yolo-alpha train ")
        if command:
            out.append((name, parse_key_values(command.split())))
    return out


def test_every_pilot_is_a_valid_ciou_training_from_weights_that_exist_or_an_earlier_pilot_makes():
    trainings = planned_trainings()
    assert trainings, "the script listed no training"
    # a pilot committed finished (its weights not kept in a clean clone) made its weights where it trained
    made = {f"{PILOTS}/{run.parent.name}/weights/last.pt" for run in (ROOT / PILOTS).glob("*/results.csv")}
    for name, keys in trainings:
        if keys.get("resume"):  # a pilot interrupted on this machine: resumes from its own weights
            continue
        check_settings(dict(keys), "train")  # every key and value, as the CLI checks them
        assert keys["loss"] == "ciou" and keys["name"] == name and keys["project"] == PILOTS
        pretrained = str(keys["pretrained"])
        assert (ROOT / pretrained).is_file() or pretrained in made, f"{name}: {pretrained} is made by no earlier pilot"
        made.add(f"{PILOTS}/{name}/weights/last.pt")
