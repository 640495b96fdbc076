"""Rewrite the README's block of the powered study's verdicts from its committed report (claims.csv and rows).

    .venv/bin/python scripts/readme_verdicts.py [--check]

Run it after committing new rows of docs/reproduction/cpu_powered and regenerating its report
(``yolo-alpha report docs/reproduction/cpu_powered``); ``--check`` only reports a stale block (exit 1), as
tests/test_docs.py does. While the study is still training, the block says how far it is (its pre-registered
verdicts are those of all its cells, so none is shown before); once every cell has its row, the verdicts at a glance
(:mod:`yolo_alpha.report.verdict_glance`).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from yolo_alpha.marked_blocks import with_marked_block
from yolo_alpha.report.verdict_glance import glance_table, read_claims, sign_flips
from yolo_alpha.suites.definitions import CPU_POWERED
from yolo_alpha.suites.runner import suite_sweep
from yolo_alpha.sweep_folder import RESULTS_FILE, load_results

ROOT = Path(__file__).resolve().parents[1]
STUDY = Path("docs/reproduction") / CPU_POWERED.name
FIRST_PASS = Path("docs/reproduction/cpu")  # the 3-seed study the powered one re-runs
START = "<!-- powered verdicts: written by scripts/readme_verdicts.py from docs/reproduction/cpu_powered -->"
END = "<!-- end of powered verdicts -->"


def block(root: Path = ROOT) -> str:
    """Return the README block: the study's progress while it trains, its verdicts at a glance once complete."""
    study = root / STUDY
    cells = {c.cell_id for c in suite_sweep(CPU_POWERED, root / STUDY.parent).cells()}
    rows = [r for r in load_results(study) if r["cell_id"] in cells] if (study / RESULTS_FILE).is_file() else []
    done = {row["cell_id"] for row in rows}
    link = f"[{STUDY.as_posix()}]({STUDY.as_posix()}/report/report.md)"
    protocol = f"[pre-registered]({STUDY.as_posix()}/PROTOCOL.md)"
    if len(done) < len(cells):
        seeds = sorted({int(row["params"]["seed"]) for row in rows})
        trained = (
            "none yet" if not seeds else f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
        )
        return (
            f"**The powered re-run** ({protocol}: C1's three pairs, C3 at η = 0.3, C4 at α = 2 and S, both regimes, "
            f"{len(CPU_POWERED.seeds)} seeds, 800 val images) **is training**: {len(done)} of {len(cells)} cells in "
            f"({trained}), committed as they come, in {link}. Its verdicts appear here when every cell is in; until "
            "then the 3-seed answers below stand."
        )
    claims = read_claims(study / "report" / "claims.csv")
    counts = Counter(row["verdict"] for row in claims if row.get("ci_low"))
    tally = ", ".join(f"{counts[v]} {v}" for v in ("reproduced", "opposite", "equivalent", "inconclusive"))
    flips = sign_flips(claims, read_claims(root / FIRST_PASS / "report" / "claims.csv"))
    first_pass = f"[3-seed study]({FIRST_PASS.as_posix()}/report/report.md)"
    rule = "the sign of the difference changed, one of the two at least the margin (0.5 AP) from 0"
    if flips:
        against = [f"Against the {first_pass}, {rule}, in:", "", *(f"- {line}" for line in flips)]
    else:
        against = [f"Against the {first_pass}: no row where {rule}."]
    return "\n".join(
        [
            f"**The powered re-run** ({protocol}; {link}: {len(cells)} trainings, {len(CPU_POWERED.seeds)} seeds, 800 "
            f"val images, margin ±0.5 AP). Its verdicts, every row of its claims.csv with an interval: {tally}. "
            "α − baseline in AP points, paired by seed, 95 % interval:",
            "",
            *glance_table(claims),
            "",
            *against,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report a stale block, write nothing")
    args = parser.parse_args(argv)
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    updated = with_marked_block(text, START, END, block(), "README.md")
    if updated == text:
        print("README.md: the powered verdicts block is up to date")
        return 0
    if args.check:
        print("README.md: the powered verdicts block is stale: run .venv/bin/python scripts/readme_verdicts.py")
        return 1
    readme.write_text(updated, encoding="utf-8")
    print("README.md: the powered verdicts block rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
