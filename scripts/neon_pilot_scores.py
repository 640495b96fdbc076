"""Maintainers: score every NEON pilot's final weights as the study will score its cells, into pilots/scores.csv.

    .venv/bin/python scripts/neon_pilot_scores.py [PILOTS_DIR]
    .venv/bin/python scripts/neon_pilot_scores.py --anchor-recipe [PILOTS_DIR]
    .venv/bin/python scripts/neon_pilot_scores.py --below [PILOTS_DIR]
    .venv/bin/python scripts/neon_pilot_scores.py --decide [PILOTS_DIR]
    .venv/bin/python scripts/neon_pilot_scores.py --finished RUN_DIR

A study cell is scored on its final weights with pycocotools (:func:`yolo_alpha.evaluate.evaluate_detector`), not on
Ultralytics' per-epoch validation. This writes, per pilot that still has its ``weights/last.pt``: its epochs, its last
and best per-epoch AP50 (``results.csv``), and the pycocotools AP50, mAP50-95 and mAP75-95 of last.pt on the padded
val split, pooled and per val source image, all in %. Pilots already in scores.csv are kept as they are (their weights
may be gone); the evaluation folders go to a temporary folder, never into the pilots'.

``--anchor-recipe`` scores nothing: it prints which anchor warm start the scored pilots choose, by the rule
docs/reproduction/neon_trees/PROTOCOL.md fixed before they ran (:func:`anchor_recipe`). ``--below`` prints the regimes
whose three first-round seeds miss the criterion (rule 4: they get a 300-epoch warm start). ``--decide`` prints what
rules 3-5 then read from the chosen rounds' three seeds: each regime's mean AP50 against the criterion, and the seeds
a cell (:func:`decide`). ``--finished`` exits 0 when a pilot folder's training has ended (:func:`finished`).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from yolo_alpha.charts.files import write_csv  # noqa: E402
from yolo_alpha.evaluate import evaluate_detector  # noqa: E402
from yolo_alpha.reproduce.stats import PairedDifference, mean_std, t_critical  # noqa: E402
from yolo_alpha.reproduce.verdicts import seeds_needed  # noqa: E402
from yolo_alpha.ultralytics.checkpoints import checkpoint_info  # noqa: E402

PILOTS = ROOT / "docs" / "reproduction" / "neon_trees" / "pilots"
METRICS = ("AP50", "mAP50-95", "mAP75-95")
# Rule 1 of PROTOCOL.md's "How the next pilots decide": the anchor candidates' seed-0 fine-tunes, and the recipe each
# stands for. The earlier recipe (anchor_b8_nbs8_e150) is scored by its fine-tune ft20_b8_anchor_seed0 as measured
# (pycocotools AP50, recorded in PROTOCOL.md) before its weights were lost.
ANCHOR_CANDIDATES = {"ft20_anchor_on_ta_b8_seed0": "on_ta", "ft20_anchor_flipud_seed0": "flipud"}
EARLIER_ANCHOR = ("earlier", 37.8)
# Rules 3 and 5: the three CIoU fine-tunes (seeds 0-2) each regime's criterion and seed count are read on, per anchor
# recipe; if the flips win, the task-aligned regime's are its flip pilots (rule 2).
SEED_PILOTS = {
    "on_ta": {"anchor": "ft20_anchor_on_ta_b8_seed", "task_aligned": "ft20_b8_ta_rerun_seed"},
    "flipud": {"anchor": "ft20_anchor_flipud_seed", "task_aligned": "ft20_ta_flipud_seed"},
    "earlier": {"anchor": "ft20_anchor_b8_e150_seed", "task_aligned": "ft20_b8_ta_rerun_seed"},
}
# Rule 4: a regime below the criterion gets its warm start trained for 300 epochs, and three fine-tunes of it.
E300_PILOTS = {"anchor": "ft20_anchor_e300_seed", "task_aligned": "ft20_ta_e300_seed"}
CRITERION_AP50 = 40.0  # %, the mean of the three seeds
MARGIN = 0.5  # AP points: the half-width the seeds are sized for
MIN_SEEDS, MAX_SEEDS = 8, 12  # the powered study's floor; the budget (PROTOCOL.md, rule 5)
SHORT = {"2019_YELL_2_541000_4977000_image_crop": "YELL", "OSBS_029": "OSBS", "SOAP_061": "SOAP"}


def epoch_ap50(results_csv: Path) -> tuple[int, float, float, int]:
    """Return (epochs, last AP50, best AP50, its epoch) of Ultralytics' per-epoch validation, AP50 in %."""
    with results_csv.open(newline="", encoding="utf-8") as f:
        rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(f)]
    ap50 = [100 * float(row["metrics/mAP50(B)"]) for row in rows]
    best = max(range(len(ap50)), key=ap50.__getitem__)
    return len(rows), ap50[-1], ap50[best], int(float(rows[best]["epoch"]))


def score(pilot: Path, out: Path) -> dict:
    """Return the scores.csv row of one pilot folder (its last.pt evaluated into `out`)."""
    args = yaml.safe_load((pilot / "args.yaml").read_text(encoding="utf-8"))
    epochs, last, best, best_epoch = epoch_ap50(pilot / "results.csv")
    found = evaluate_detector(
        str(pilot / "weights" / "last.pt"), "neon-trees", imgsz=args["imgsz"], batch=8, project=str(out),
        name=pilot.name,
    )  # fmt: skip
    row = {"pilot": pilot.name, "epochs": epochs, "epoch_AP50_last": f"{last:.2f}"}
    row["epoch_AP50_best"] = f"{best:.2f} (epoch {best_epoch})"
    row.update({metric: f"{100 * found[metric]:.2f}" for metric in METRICS})
    for source, table in found.get("by_source", {}).items():
        name = SHORT.get(source, source)
        row.update({f"{name} {metric}": f"{100 * table[metric]:.2f}" for metric in METRICS})
    return row


def anchor_recipe(rows: list[dict]) -> str:
    """Return the anchor recipe the scored `rows` choose: the candidate whose seed-0 fine-tune has the highest
    pycocotools AP50 (``earlier``, ``on_ta`` or ``flipud``; of equal scores, the first in that order)."""
    scored = {row["pilot"]: float(row["AP50"]) for row in rows if row["pilot"] in ANCHOR_CANDIDATES}
    missing = sorted(set(ANCHOR_CANDIDATES) - set(scored))
    if missing:
        raise SystemExit(f"scores.csv has no row of {', '.join(missing)}: train and score them first")
    ap50 = dict([EARLIER_ANCHOR, *((recipe, scored[pilot]) for pilot, recipe in ANCHOR_CANDIDATES.items())])
    return max(ap50, key=ap50.__getitem__)  # the first of equal values


def _three_seeds(by_pilot: dict[str, dict], prefix: str) -> dict | None:
    """Return the fine-tunes `prefix`0-2 read: their names, mean AP50 and sample stds; None if one is missing."""
    names = [f"{prefix}{seed}" for seed in range(3)]
    if any(name not in by_pilot for name in names):
        return None
    scores = {m: [float(by_pilot[name][m]) for name in names] for m in METRICS}
    stds = {m: mean_std(scores[m])[1] for m in ("mAP50-95", "mAP75-95")}
    return {"pilots": names, "AP50": mean_std(scores["AP50"])[0], "std": stds}


def _first_round(rows: list[dict]) -> tuple[str, dict[str, dict], dict[str, dict]]:
    """Return (anchor recipe, {regime: its first round's three seeds}, rows by pilot); SystemExit if one is missing."""
    recipe = anchor_recipe(rows)
    by_pilot = {row["pilot"]: row for row in rows}
    first = {}
    for regime, prefix in SEED_PILOTS[recipe].items():
        first[regime] = _three_seeds(by_pilot, prefix)
        if first[regime] is None:
            missing = [f"{prefix}{seed}" for seed in range(3) if f"{prefix}{seed}" not in by_pilot]
            raise SystemExit(f"scores.csv has no row of {', '.join(missing)}: train and score them first")
    return recipe, first, by_pilot


def below_criterion(rows: list[dict]) -> list[str]:
    """Return the regimes whose first round's three seeds have a mean AP50 below the criterion (rule 4's round)."""
    _, first, _ = _first_round(rows)
    return [regime for regime, found in first.items() if found["AP50"] < CRITERION_AP50]


def decide(rows: list[dict]) -> dict:
    """Return rules 3-5 read on the scored `rows`.

    Per regime: the round its cells use — the first, or for a regime below the criterion the 300-epoch warm start of
    rule 4 where its three seeds have the higher mean AP50 — with that mean, whether it meets the criterion, and its
    sample std of mAP50-95 and mAP75-95 (AP points). Then the seeds a cell: the fewest n in [MIN_SEEDS, MAX_SEEDS]
    whose half-width t(0.975, n − 1) · √2 · s / √n ≤ MARGIN at the largest of those stds (no credit for pairing),
    and the half-width n seeds allow at that spread.
    """
    recipe, first, by_pilot = _first_round(rows)
    out: dict = {"anchor_recipe": recipe, "regimes": {}}
    for regime, found in first.items():
        chosen = {**found, "round": "first"}
        longer = _three_seeds(by_pilot, E300_PILOTS[regime]) if found["AP50"] < CRITERION_AP50 else None
        if longer is not None and longer["AP50"] > found["AP50"]:
            chosen = {**longer, "round": "e300"}
        chosen["meets"] = chosen["AP50"] >= CRITERION_AP50
        out["regimes"][regime] = chosen
    spread = max(std for r in out["regimes"].values() for std in r["std"].values())
    paired = PairedDifference(3, 0.0, 2**0.5 * spread, None, None)
    needed = seeds_needed(paired, MARGIN)
    n = min(max(needed, MIN_SEEDS), MAX_SEEDS)
    half_width = t_critical(n - 1) * paired.std / n**0.5
    return out | {"spread": spread, "seeds_needed": needed, "seeds": n, "half_width": half_width}


def read_scores(pilots: Path) -> list[dict]:
    """Return the rows of `pilots`/scores.csv, none when it is missing."""
    table = pilots / "scores.csv"
    if not table.is_file():
        return []
    with table.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _finished(pilot: Path) -> bool:
    """Return True when the pilot's training has ended (its last.pt stripped, epoch -1): one still training is not
    scored, or its unfinished weights would be kept as its score."""
    return checkpoint_info(pilot / "weights" / "last.pt").epoch < 0


def finished(pilot: Path) -> bool:
    """Return True when the pilot folder's training has ended: by its last.pt, or, its weights not kept (a pilot
    committed on another machine), when scores.csv beside it has its row (only a finished pilot is scored; an early
    stop by Ultralytics' patience leaves fewer epochs than it asked for, so results.csv cannot tell)."""
    if (pilot / "weights" / "last.pt").is_file():
        return _finished(pilot)
    return pilot.name in {row["pilot"] for row in read_scores(pilot.parent)}


def main(pilots: Path = PILOTS) -> list[dict]:
    table = pilots / "scores.csv"
    rows = read_scores(pilots)
    done = {row["pilot"] for row in rows}
    with tempfile.TemporaryDirectory() as out:
        for pilot in sorted(p for p in pilots.iterdir() if (p / "weights" / "last.pt").is_file()):
            if pilot.name not in done and (pilot / "results.csv").is_file() and _finished(pilot):
                rows.append(score(pilot, Path(out)))
                print(rows[-1], flush=True)
                write_csv(table, rows)  # after each pilot: an interrupted run keeps what it scored
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pilots", nargs="?", type=Path, default=PILOTS, help="the pilots folder")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--anchor-recipe", action="store_true", help="print rule 1's anchor recipe")
    only.add_argument("--below", action="store_true", help="print the regimes below the criterion (rule 4)")
    only.add_argument("--decide", action="store_true", help="print rules 3-5's decision")
    only.add_argument("--finished", type=Path, metavar="RUN_DIR", help="exit 0 if that pilot has finished")
    args = parser.parse_args()
    if args.finished:
        sys.exit(0 if finished(args.finished) else 1)
    if args.anchor_recipe:
        print(anchor_recipe(read_scores(args.pilots)))
    elif args.below:
        print(" ".join(below_criterion(read_scores(args.pilots))))
    elif args.decide:
        print(yaml.safe_dump(decide(read_scores(args.pilots)), sort_keys=False), end="")
    else:
        main(args.pilots)
