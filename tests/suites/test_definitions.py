"""The reproduction suites: their cells, warm starts and folder layout (stand-in train), the verb's errors."""

import os
import re
from pathlib import Path

import pytest
import torch
from helpers import FakeTrain

from yolo_alpha.cli import main
from yolo_alpha.errors import ConfigError
from yolo_alpha.model_families import FAMILIES
from yolo_alpha.reproduce import DEFAULT_MARGINS, pairing
from yolo_alpha.reproduce.verdicts import margin_of
from yolo_alpha.suites.definitions import (
    CPU,
    CPU_POWERED,
    NEON_TREES,
    SUITES,
    ClaimGroup,
    Regime,
    Suite,
    WarmStart,
    get_suite,
    suite_grid,
    warm_start_weights,
)
from yolo_alpha.suites.runner import reproduce, suite_sweep, warm_start_sweep
from yolo_alpha.sweep import read_results, validate_cells


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_suite_validates_and_holds_both_regimes_with_its_seeds_in_every_configuration(name):
    suite = get_suite(name)
    sweep = suite_sweep(suite, "runs/reproduce")
    validate_cells(sweep)  # every cell's keys and values would train
    cells = sweep.cells()
    assert {pairing.regime_of(dict(c.params)) for c in cells} == set(FAMILIES)
    seeds = {}
    for cell in cells:
        params = dict(cell.params)
        seeds.setdefault(tuple(sorted((k, str(v)) for k, v in params.items() if k != "seed")), set()).add(
            params["seed"]
        )
    assert all(s == set(suite.seeds) for s in seeds.values())  # every configuration has every seed
    assert len({c.cell_id for c in cells}) == len(cells)


def test_the_cpu_suite_pairs_every_alpha_cell_with_its_baseline_in_each_regime():
    sweep = suite_sweep(CPU, "docs/reproduction")
    params = [dict(c.params) for c in sweep.cells()]
    for regime in (r.model for r in CPU.regimes):
        mine = [p for p in params if p["model"] == regime]
        assert {p["pretrained"] for p in mine} == {f"warm/{_regime(regime)}.pt"}  # relative to the suite folder
        for p in mine:
            if p["loss"].startswith("alpha_") and "alpha" not in p and "alpha_warmup" not in p:
                base = {**p, "loss": p["loss"][len("alpha_") :]}
                assert base in mine, f"{p} has no α = 1 partner"
    assert len(params) == 2 * 3 * (6 + 3 + 6 + 4 + 1)
    assert all(len(c.cell_id) <= 120 for c in sweep.cells())


def _regime(model):
    return "anchor" if model.endswith("-anchor.yaml") else "task_aligned"


def test_the_warm_starts_share_the_base_and_the_anchor_one_starts_from_the_task_aligned():
    project = "runs/reproduce"
    task_aligned, anchor = (warm_start_sweep(CPU, w, project) for w in CPU.warm_starts)
    assert task_aligned.base["loss"] == anchor.base["loss"] == "ciou"
    assert task_aligned.base["imgsz"] == CPU.base["imgsz"] and "warmup_epochs" not in task_aligned.base
    assert "pretrained" not in task_aligned.base
    # relative to the anchor warm start's own folder, <suite>/warm/anchor: the task-aligned one's weights
    assert anchor.base["pretrained"] == "../task_aligned.pt"
    own_folder = Path(anchor.project) / anchor.name
    assert os.path.normpath(own_folder / anchor.base["pretrained"]) == str(
        warm_start_weights(f"{project}/cpu", "task_aligned")
    )
    assert [dict(c.params) for c in anchor.cells()] == [{"model": "yolov5n-anchor.yaml"}]


TINY = Suite(
    name="tiny",
    summary="two losses, two regimes, one seed",
    base={"epochs": 1},
    regimes=(Regime("anchor", "yolov5n-anchor.yaml"), Regime("task_aligned", "yolov5nu.yaml")),
    groups=(ClaimGroup("C1", {"loss": ("iou", "alpha_iou")}),),
    seeds=(0,),
    warm_starts=(
        WarmStart("task_aligned", {"model": "yolov5nu.yaml", "loss": "ciou", "epochs": 1}),
        WarmStart("anchor", {"model": "yolov5n-anchor.yaml", "loss": "ciou", "epochs": 1}, start_from="task_aligned"),
    ),
)


def test_reproduce_trains_warm_starts_first_then_cells_from_them_and_resumes(tmp_path, capsys):
    train = FakeTrain()
    report = reproduce(TINY, project=tmp_path, train=train)
    suite_dir = tmp_path / "tiny"
    assert report == suite_dir / "report" / "report.md" and report.is_file()
    names = [c.get("name") for c in train.calls]
    assert names[:2] == ["model-yolov5nu_yaml", "model-yolov5n-anchor.yaml"]  # the warm starts, in order
    assert train.calls[1]["pretrained"] == str(suite_dir / "warm" / "task_aligned.pt")
    for regime in ("task_aligned", "anchor"):
        assert torch.load(suite_dir / "warm" / f"{regime}.pt", weights_only=False)["epoch"] == 0
    cells = train.calls[2:]
    assert len(cells) == 4
    assert {c["pretrained"] for c in cells} == {str(suite_dir / "warm" / f"{r}.pt") for r in ("anchor", "task_aligned")}
    assert len(read_results(suite_dir / "results.jsonl")) == 4
    # a rerun trains nothing: every stage has its rows
    again = FakeTrain()
    reproduce(TINY, project=tmp_path, train=again)
    assert again.calls == []
    reproduce(TINY, project=tmp_path, dry_run=True)
    assert "done  model-yolov5nu_yaml__seed-0__loss-alpha_iou" in capsys.readouterr().out


def test_a_dry_run_lists_every_training_and_writes_nothing(tmp_path, capsys):
    reproduce("voc", project=tmp_path, dry_run=True)
    out = capsys.readouterr().out
    assert "suite=voc" in out and len(re.findall(r"^\s+todo\s+model-", out, re.M)) == len(
        suite_sweep(SUITES["voc"], tmp_path).cells()
    )
    assert not any(tmp_path.iterdir())


def test_bad_input_names_the_key(tmp_path):
    choices = r"choose suite=cpu\|cpu_powered\|neon_trees\|voc\|coco"
    with pytest.raises(ConfigError, match=rf"suite=nope: no such suite; {choices}"):
        get_suite("nope")
    with pytest.raises(ConfigError, match="loss: set by the suite per cell"):
        reproduce("cpu", project=tmp_path, overrides={"loss": "iou"}, dry_run=True)
    assert main(["reproduce"]) == 2
    assert main(["reproduce", "suite=cpu", "epoch=3", "dry_run=True", f"project={tmp_path}"]) == 2


@pytest.mark.parametrize("name", ["cpu", "voc"])
def test_the_suites_rows_allow_every_claim_in_both_regimes(name):
    """Rows shaped exactly as the suite's cells (random metrics) give a row of every claim in each regime."""
    import random

    from yolo_alpha.metrics import COUNT_KEYS, TABLE_METRICS
    from yolo_alpha.reproduce import CLAIM_IDS, all_claims

    rng = random.Random(0)
    rows, series = [], {}
    for cell in suite_sweep(get_suite(name), "runs/reproduce").cells():
        row = {"cell_id": cell.cell_id, "params": dict(cell.params), "run_dir": cell.cell_id}
        row |= {m: rng.uniform(0.2, 0.6) for m in TABLE_METRICS} | {k: rng.randint(50, 100) for k in COUNT_KEYS}
        rows.append(row)
        series[cell.cell_id] = [rng.uniform(0.2, 0.6) for _ in range(6)]
    found = {(c.claim, c.regime) for c in all_claims(rows, series)}
    assert found == {(claim, regime) for claim in CLAIM_IDS for regime in FAMILIES}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_suite_states_an_equivalence_margin_for_the_metrics_it_claims_about(name):
    # m per metric, in the metric's units: valid for the verdicts (finite, > 0), and AP50's "about flat" needs one.
    margins = get_suite(name).margins
    assert {"AP50", "mAP50-95", "mAP75-95"} <= set(margins)
    assert all(margin_of(margins, metric) > 0 for metric in margins)


def test_the_margin_is_half_an_ap_point_unless_a_suite_sets_its_own():
    assert CPU.margins == dict(DEFAULT_MARGINS) and CPU.margins["mAP50-95"] == 0.005
    own = Suite("own", "", {}, CPU.regimes, CPU.groups, margins={"mAP50-95": 0.002, "AP50": 0.005})
    assert own.margins["mAP50-95"] == 0.002 and CPU.margins["mAP50-95"] == 0.005  # no default shared by reference


def test_the_powered_suite_starts_from_the_cpu_suites_warm_starts_with_the_cheaper_keys_and_800_val_images():
    cells = [dict(c.params) for c in suite_sweep(CPU_POWERED, "docs/reproduction").cells()]
    assert CPU_POWERED.base["data"] == "synthetic:n_val=800" and CPU_POWERED.base["val"] is False
    fast = ("data", "val", "cache", "channels_last")
    assert {k: v for k, v in CPU_POWERED.base.items() if k not in fast} == {
        k: CPU.base[k] for k in CPU.base if k != "data"
    }
    for regime in ("anchor", "task_aligned"):
        mine = [p for p in cells if _regime(p["model"]) == regime]
        assert {p["pretrained"] for p in mine} == {f"../cpu/warm/{regime}.pt"}  # the committed study's weights
        assert Path("docs/reproduction/cpu_powered", f"../cpu/warm/{regime}.pt").resolve().is_file()
        assert {p.get("batch") for p in mine} == ({32} if regime == "task_aligned" else {None})
        assert {p.get("nbs") for p in mine} == ({16} if regime == "anchor" else {None})
        losses = {(p["loss"], p.get("alpha"), p.get("noise_eta"), p.get("alpha_warmup")) for p in mine}
        assert losses == {
            *((loss, None, None, None) for loss in ("iou", "alpha_iou", "diou", "alpha_diou", "ciou", "alpha_ciou")),
            ("iou", None, 0.3, None),
            ("alpha_iou", None, 0.3, None),
            ("alpha_iou", 2, None, None),
            ("alpha_iou", None, None, 5),
        }
    assert len(cells) == 2 * 10 * len(CPU_POWERED.seeds) and len(CPU_POWERED.seeds) >= 8


NEON_PILOTS = Path("docs/reproduction/neon_trees/pilots")
# The keys that set a training's numerics, compared with the pilots the protocol was chosen from.
RECIPE_KEYS = ("data", "imgsz", "batch", "nbs", "epochs", "optimizer", "warmup_epochs", "cache", "channels_last")


def _pilot_args(name):
    import yaml

    return yaml.safe_load((NEON_PILOTS / name / "args.yaml").read_text())


@pytest.mark.parametrize(("regime", "pilot"), [("anchor", "anchor_e300"), ("task_aligned", "ta_b8_nbs8_pad_rerun")])
def test_the_neon_suites_warm_starts_repeat_the_pilots_the_protocol_chose_from_the_cpu_suites_weights(regime, pilot):
    warm = NEON_TREES.warm_start(regime)
    sweep = warm_start_sweep(NEON_TREES, warm, "docs/reproduction")
    args = _pilot_args(pilot)
    for key in (*RECIPE_KEYS, "loss", "patience", "val", "diagnostics"):
        assert sweep.base[key] == args[key], key
    # the pilot started from the cpu suite's committed warm start: so does the suite's, named from its own folder
    own_folder = Path("docs/reproduction/neon_trees/warm", regime)
    assert (own_folder / sweep.base["pretrained"]).resolve() == Path(args["pretrained"]).resolve()
    assert Path(args["pretrained"]).is_file()


def test_the_neon_suites_cells_fine_tune_its_own_warm_starts_as_the_pilots_did_with_12_seeds_and_the_core_claims():
    cells = [dict(c.params) for c in suite_sweep(NEON_TREES, "docs/reproduction").cells()]
    base = NEON_TREES.base
    for regime, pilot in (("anchor", "ft20_anchor_e300_seed0"), ("task_aligned", "ft20_b8_ta_rerun_seed0")):
        args = _pilot_args(pilot)
        assert {key: base[key] for key in RECIPE_KEYS} == {key: args[key] for key in RECIPE_KEYS}
        mine = [p for p in cells if _regime(p["model"]) == regime]
        assert {p["pretrained"] for p in mine} == {f"warm/{regime}.pt"}  # its own warm start, not the cpu suite's
        losses = {(p["loss"], p.get("alpha"), p.get("noise_eta")) for p in mine}
        assert losses == {
            *((loss, None, None) for loss in ("iou", "alpha_iou", "diou", "alpha_diou", "ciou", "alpha_ciou")),
            ("iou", None, 0.3),
            ("alpha_iou", None, 0.3),
            ("alpha_iou", 2, None),
        }
    # scored on final weights, as the pilots were; the gradient diagnostics of item 5 in every cell
    assert base["val"] is False and base["diagnostics"] is True
    assert NEON_TREES.seeds == tuple(range(12)) and NEON_TREES.seed_major
    assert len(cells) == 2 * 9 * 12


def test_a_seed_major_suite_trains_one_seed_of_every_cell_before_the_next():
    seeds = [dict(c.params)["seed"] for c in suite_sweep(CPU_POWERED, "runs/reproduce").cells()]
    per_seed = len(seeds) // len(CPU_POWERED.seeds)
    assert seeds == [s for s in CPU_POWERED.seeds for _ in range(per_seed)]
    # the same cells as the group-major order
    group_major = Suite(**{**CPU_POWERED.__dict__, "seed_major": False})
    assert sorted(map(str, suite_grid(group_major))) != sorted(map(str, suite_grid(CPU_POWERED)))
    cells = {c.cell_id for c in suite_sweep(group_major, "runs/reproduce").cells()}
    assert cells == {c.cell_id for c in suite_sweep(CPU_POWERED, "runs/reproduce").cells()}


SHARING = Suite(
    name="sharing",
    summary="TINY's warm starts, one loss",
    base={"epochs": 1},
    regimes=TINY.regimes,
    groups=(ClaimGroup("C1", {"loss": ("iou",)}),),
    seeds=(0,),
    warm_starts_from="tiny",
)


def test_a_suite_sharing_warm_starts_trains_them_once_in_the_owners_folder(tmp_path, monkeypatch):
    monkeypatch.setitem(SUITES, "tiny", TINY)
    train = FakeTrain()
    reproduce(SHARING, project=tmp_path, train=train)
    warm = tmp_path / "tiny" / "warm"
    assert [c.get("name") for c in train.calls[:2]] == ["model-yolov5nu_yaml", "model-yolov5n-anchor.yaml"]
    assert (warm / "anchor.pt").is_file() and (warm / "task_aligned.pt").is_file()
    assert not (tmp_path / "sharing" / "warm").exists()
    cells = train.calls[2:]
    assert {c["pretrained"] for c in cells} == {str(warm / f"{r}.pt") for r in ("anchor", "task_aligned")}
    # the owner's own run then finds its warm starts done: it trains its cells only
    again = FakeTrain()
    reproduce(TINY, project=tmp_path, train=again)
    assert len(again.calls) == 4 and all(c["name"].startswith("model-yolov5n") and "seed" in c for c in again.calls)


CHAINED = Suite(
    name="chained",
    summary="its own warm starts, each fine-tuned from tiny's of the same regime (as neon_trees from cpu's)",
    base={"epochs": 1, "imgsz": 64},
    regimes=TINY.regimes,
    groups=(ClaimGroup("C1", {"loss": ("iou",)}),),
    seeds=(0,),
    warm_starts=(
        WarmStart("task_aligned", {"model": "yolov5nu.yaml", "loss": "ciou", "epochs": 1}, "tiny/task_aligned"),
        WarmStart("anchor", {"model": "yolov5n-anchor.yaml", "loss": "ciou", "epochs": 1}, "tiny/anchor"),
    ),
)


def test_a_warm_start_from_another_suites_trains_that_one_first_and_names_it_relatively(tmp_path, monkeypatch):
    monkeypatch.setitem(SUITES, "tiny", TINY)
    train = FakeTrain()
    reproduce(CHAINED, project=tmp_path, train=train)
    tiny, chained = tmp_path / "tiny" / "warm", tmp_path / "chained" / "warm"
    # tiny's two warm starts first (its anchor one from its task-aligned), then chained's, each from tiny's own
    assert [c.get("pretrained") for c in train.calls[:4]] == [
        None, str(tiny / "task_aligned.pt"), str(tiny / "task_aligned.pt"), str(tiny / "anchor.pt")
    ]  # fmt: skip
    assert [c["imgsz"] for c in train.calls[2:4]] == [64, 64]  # chained's warm starts share chained's base
    anchor = warm_start_sweep(CHAINED, CHAINED.warm_starts[1], tmp_path)
    assert anchor.base["pretrained"] == "../../../tiny/warm/anchor.pt"  # relative to chained/warm/anchor
    assert {c["pretrained"] for c in train.calls[4:]} == {str(chained / f"{r}.pt") for r in ("anchor", "task_aligned")}
    again = FakeTrain()
    reproduce(CHAINED, project=tmp_path, train=again)
    assert again.calls == []  # every warm start and cell found done
