"""scripts/neon_pilot_scores.py: each NEON pilot's final weights scored as the study scores a cell, kept once scored."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import yaml
from test_named_sets import fake_pip  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("neon_pilot_scores", ROOT / "scripts" / "neon_pilot_scores.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_pilot_is_scored_pooled_and_per_val_site_once(fake_pip, tmp_path):  # noqa: F811
    from yolo_alpha.run import train

    pilots = tmp_path / "pilots"
    train(
        data="neon-trees", model="yolov8n.yaml", imgsz=64, epochs=2, batch=4, loss="ciou", plots=False,
        project=str(pilots), name="tiny", workers=0,
    )  # fmt: skip
    (pilots / "kept_without_weights").mkdir()  # an earlier pilot whose weights were not kept
    script = load_script()
    rows = script.main(pilots)
    assert [row["pilot"] for row in rows] == ["tiny"] and rows[0]["epochs"] == 2
    imgsz = yaml.safe_load((pilots / "tiny" / "args.yaml").read_text())["imgsz"]
    assert imgsz == 64 and set(rows[0]) >= {"AP50", "mAP50-95", "mAP75-95", "YELL AP50", "OSBS AP50", "SOAP AP50"}
    with (pilots / "scores.csv").open(newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert written == [{k: str(v) for k, v in rows[0].items()}]
    assert sorted(p.name for p in (pilots / "tiny").iterdir()) == ["args.yaml", "results.csv", "weights"]

    (pilots / "tiny" / "weights" / "last.pt").write_bytes(b"")  # scored already: never evaluated again
    assert script.main(pilots) == written
