"""Where a study's spread comes from: the same trained weights scored on the 80-image val set and on a larger one.

    .venv/bin/python scripts/variance_sources.py SWEEP_DIR [--n-val 800] [--out FILE.csv]

Every row of ``SWEEP_DIR/results.jsonl`` whose run kept ``weights/best.pt`` is evaluated with pycocotools (the rows'
own evaluation, :func:`yolo_alpha.evaluate.evaluate_detector`) on the embedded set's val split of 80 images and of
``--n-val`` images. Image i of a split depends only on (seed, split, i), so the large set holds the 80 and adds more:
what changes between the two columns is evaluation noise alone; what stays is training chaos. It prints, per metric
and val size, the seed spread of each configuration (std over seeds) and of each α-loss's paired difference to its
α = 1 form (std over seeds of α − classic), and writes every model's numbers to ``--out`` (CSV).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from yolo_alpha.config_labels import base_loss, config_label
from yolo_alpha.data.synthetic import SyntheticSpec, synthetic_dataset
from yolo_alpha.evaluate import evaluate_detector
from yolo_alpha.sweep_folder import read_results

METRICS = ("mAP50-95", "mAP75-95", "AP50")


def evaluate_rows(sweep: Path, n_val: int, work: Path) -> list[dict[str, Any]]:
    """Return one record per row with kept weights: its params and each metric on val 80 and val `n_val`, in AP."""
    sets = {80: synthetic_dataset(SyntheticSpec()), n_val: synthetic_dataset(SyntheticSpec(n_val=n_val))}
    records = []
    for row in read_results(sweep / "results.jsonl"):
        weights = sweep / row["run_dir"] / "weights" / "best.pt"
        if not weights.is_file():
            continue
        record = {"cell_id": row["cell_id"], "params": row["params"]}
        for size, data in sets.items():
            scores = evaluate_detector(
                str(weights), str(data), imgsz=160, batch=16, device="cpu", project=str(work), name=f"val{size}"
            )
            record.update({f"{metric}@{size}": 100 * scores[metric] for metric in METRICS})
        records.append(record)
        print(f"evaluated {row['cell_id']}", file=sys.stderr, flush=True)
    return records


def _std(values: list[float]) -> str:
    return f"{statistics.stdev(values):.2f}"


def spreads(records: list[dict[str, Any]], sizes: tuple[int, int]) -> list[str]:
    """Return Markdown rows: per configuration and per α-vs-classic pair, the std over seeds on each val size."""
    loss_keys = ("loss", "alpha", "alpha2")
    groups: dict[tuple[str, str], dict[Any, dict[str, Any]]] = defaultdict(dict)
    for record in records:
        params = record["params"]
        context = config_label({k: v for k, v in params.items() if k not in (*loss_keys, "seed")})
        groups[(context, params.get("loss"))][params.get("seed", 0)] = record
    lines = ["| configuration | metric | " + " | ".join(f"std, val {s}" for s in sizes) + " | seeds |"]
    lines.append("|---|---|" + "---|" * (len(sizes) + 1))
    for (context, loss), seeds in sorted(groups.items(), key=str):
        label = config_label({k: v for k, v in next(iter(seeds.values()))["params"].items() if k != "seed"})
        rows = [(label, seeds, None)]
        base = groups.get((context, base_loss(loss)))
        if base:
            rows.append((f"{label} − loss={base_loss(loss)}, paired", seeds, base))
        for name, runs, against in rows:
            common = sorted(set(runs) & set(against if against is not None else runs))
            if len(common) < 2:
                continue
            for metric in METRICS:
                cells = []
                for size in sizes:
                    key = f"{metric}@{size}"
                    cells.append(_std([runs[k][key] - (against[k][key] if against else 0) for k in common]))
                lines.append(f"| {name} | {metric} | " + " | ".join(cells) + f" | {len(common)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder whose runs kept weights/best.pt")
    parser.add_argument("--n-val", type=int, default=800, help="the large val set's size (default 800)")
    parser.add_argument("--out", type=Path, default=None, help="CSV of every model's numbers (default: none)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:  # the validators' folders: predictions nobody needs to keep
        records = evaluate_rows(args.sweep, args.n_val, Path(work))
    if not records:
        print(f"{args.sweep}: no row whose run kept weights/best.pt", file=sys.stderr)
        return 2
    print("\n".join(spreads(records, (80, args.n_val))))
    if args.out is not None:
        fields = ["cell_id", *(f"{m}@{s}" for s in (80, args.n_val) for m in METRICS)]
        with args.out.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
