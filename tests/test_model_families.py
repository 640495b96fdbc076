"""The model families and their two rules: by name (what a results row records) and by content (what training reads).

Both must agree on every model the project ships or names; the adapter's reading (`model_family`) is checked against
the name rule on the same models.
"""

from __future__ import annotations

import pytest
import yaml

from yolo_alpha.config import packaged_cfg_dir
from yolo_alpha.model_families import (
    ANCHOR_FAMILY,
    ANCHOR_HEAD,
    FAMILIES,
    TASK_ALIGNED_FAMILY,
    family_of_name,
    has_anchor_head,
)
from yolo_alpha.suites.definitions import SUITES
from yolo_alpha.ultralytics.families import model_family

SHIPPED = sorted((packaged_cfg_dir() / "models").glob("*.y*ml"))
SCALES = "nsmlx"


def test_the_families_are_the_two_regimes_in_report_order():
    assert list(FAMILIES) == [ANCHOR_FAMILY, TASK_ALIGNED_FAMILY] == ["anchor", "task_aligned"]


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("yolov5s-anchor.yaml", ANCHOR_FAMILY),
        ("cfg/models/yolov5n-anchor.yaml", ANCHOR_FAMILY),
        ("C:\\models\\YOLOV5X-ANCHOR.YML", ANCHOR_FAMILY),  # a Windows path, any case
        ("yolov5su.yaml", TASK_ALIGNED_FAMILY),
        ("anchor.yaml", TASK_ALIGNED_FAMILY),  # the rule is the "-anchor" suffix, not the word
        ("yolov5s-anchor.yaml.bak", TASK_ALIGNED_FAMILY),
        ("runs/detect/train/weights/best.pt", TASK_ALIGNED_FAMILY),  # weights: the name does not say
    ],
)
def test_family_of_name(model, family):
    assert family_of_name(model) == family


@pytest.mark.parametrize(
    ("head", "anchor"),
    [
        ([[-1, 1, "Conv", [64]], [[17, 20, 23], 1, ANCHOR_HEAD, ["nc", "anchors"]]], True),
        ([[[15, 18, 21], 1, "Detect", ["nc"]]], False),
        ([[[15, 18, 21], 1, ANCHOR_HEAD]], False),  # not a layer line (from, number, module, args)
        ([[ANCHOR_HEAD, 1, "Detect", ["nc"]], [-1, 1, "Conv", [64]]], False),  # only the last head line counts
        ([], False),
    ],
)
def test_has_anchor_head(head, anchor):
    assert has_anchor_head({"head": head}) is anchor
    assert has_anchor_head({}) is False


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_yaml_is_named_by_its_head(path):
    # The name rule stands in for the content rule where only the name is known: it must say the same.
    by_content = ANCHOR_FAMILY if has_anchor_head(yaml.safe_load(path.read_text(encoding="utf-8"))) else None
    by_content = by_content or TASK_ALIGNED_FAMILY
    stem, suffix = path.name.split("-", 1) if "-" in path.name else (path.stem, path.suffix)
    scaled = [f"{stem}{s}-{suffix}" for s in SCALES] if "-" in path.name else []
    for name in (path.name, *scaled):
        assert family_of_name(name) == by_content, name


def test_the_name_rule_agrees_with_training_on_every_suite_model():
    models = {regime.model: regime.name for suite in SUITES.values() for regime in suite.regimes}
    models |= {"yolov8n.yaml": TASK_ALIGNED_FAMILY, "yolo11n.yaml": TASK_ALIGNED_FAMILY}
    assert {m: family_of_name(m) for m in models} == models
    assert {m: model_family(m) for m in models} == models


@pytest.mark.parametrize(("name", "source"), [("my.yaml", "anchor"), ("plain-anchor.yaml", "task_aligned")])
def test_a_yaml_whose_head_and_name_tell_different_families_is_refused_before_anything_trains(
    name, source, tmp_path, monkeypatch, capsys
):
    from ultralytics.nn.tasks import yaml_model_load

    from yolo_alpha.cli import main

    content = SHIPPED[0].read_text() if source == "anchor" else yaml.safe_dump(
        {k: v for k, v in yaml_model_load("yolov8n.yaml").items() if k != "yaml_file"}
    )  # fmt: skip
    (tmp_path / name).write_text(content)
    monkeypatch.chdir(tmp_path)
    assert main(["train", f"model={name}", "epochs=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"yolo-alpha: error: model={name}: its last head layer is") and "rename it" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing created
