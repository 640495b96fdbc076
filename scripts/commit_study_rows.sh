#!/bin/bash
# Maintainers: commit a pre-registered study's finished rows while `yolo-alpha reproduce suite=<study>
# project=docs/reproduction` trains: its warm starts once published, the report and the README block regenerated from
# exactly the committed rows, and only the run folders that have a row (a run still training has absolute paths in
# its args.yaml until it ends).
#   scripts/commit_study_rows.sh cpu_powered|neon_trees
set -e
cd "$(dirname "$0")/.."
case "$1" in
  cpu_powered|neon_trees) ;;
  *) echo "usage: scripts/commit_study_rows.sh cpu_powered|neon_trees" >&2; exit 2 ;;
esac
S=docs/reproduction/$1
total=$(.venv/bin/python -c "
from yolo_alpha.suites.definitions import get_suite
from yolo_alpha.suites.runner import suite_sweep
print(len(suite_sweep(get_suite('$1'), 'docs/reproduction').cells()))")
# a warm start is committed once the suite has published its weights (the training has ended)
for weights in "$S"/warm/*.pt; do
  [ -f "$weights" ] || continue
  warm=${weights%.pt}
  git add "$weights" "$warm/results.jsonl" "$warm/sweep.yaml"
  for name in args.yaml results.csv diagnostics.csv; do
    git add "$warm"/runs/*/"$name" 2>/dev/null || true
  done
done
if [ ! -s "$S/results.jsonl" ]; then
  git commit -q -m "$1: warm starts" && git log --oneline | head -1
  exit 0
fi
SNAP=$(mktemp)
trap 'rm -f "$SNAP"' EXIT
# the rows may grow while the report and the README block are written (a cell ends every minute or so): write both
# again until the rows they read are the snapshot's
for try in 1 2 3 4 5; do
  cp "$S/results.jsonl" "$SNAP"
  n=$(wc -l < "$SNAP")
  nice .venv/bin/yolo-alpha report "$S" > /dev/null 2>&1
  .venv/bin/python scripts/readme_verdicts.py > /dev/null
  if cmp -s "$S/results.jsonl" "$SNAP"; then break; fi
  [ "$try" -lt 5 ] || { echo "the rows kept moving: run again"; exit 1; }
done
git add README.md "$S/report" "$S/sweep.yaml"
# the rows exactly as the report read them (the sweep may have written another since)
git update-index --add --cacheinfo 100644,"$(git hash-object -w "$SNAP")","$S/results.jsonl"
for run in $(.venv/bin/python -c "
import json
for l in open('$SNAP'): print(json.loads(l)['run_dir'])"); do
  git add "$S/$run"
done
git commit -q -m "$1: $n of $total rows (the report and the README block regenerated from them)" && git log --oneline | head -1
