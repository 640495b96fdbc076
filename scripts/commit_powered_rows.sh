#!/bin/bash
# Maintainers: commit the powered study's finished rows while `yolo-alpha reproduce suite=cpu_powered
# project=docs/reproduction` trains: the report and the README block regenerated from exactly the committed rows, and
# only the run folders that have a row (a run still training has absolute paths in its args.yaml until it ends).
set -e
cd "$(dirname "$0")/.."
S=docs/reproduction/cpu_powered
SNAP=$(mktemp)
trap 'rm -f "$SNAP"' EXIT
cp $S/results.jsonl "$SNAP"
n=$(wc -l < "$SNAP")
nice .venv/bin/yolo-alpha report $S > /dev/null 2>&1
# the rows may have grown while the report was written: write it again until they are the same
while ! cmp -s $S/results.jsonl "$SNAP"; do
  cp $S/results.jsonl "$SNAP"
  nice .venv/bin/yolo-alpha report $S > /dev/null 2>&1
done
n=$(wc -l < "$SNAP")
.venv/bin/python scripts/readme_verdicts.py
if [ "$n" -lt 200 ] && ! grep -q "\*\*is training\*\*: $n of 200 cells" README.md; then echo "rows moved on: run again"; exit 1; fi
git add README.md $S/report $S/sweep.yaml
# the rows exactly as the report read them (the sweep may have written another since)
git update-index --add --cacheinfo 100644,$(git hash-object -w "$SNAP"),$S/results.jsonl
for run in $(.venv/bin/python -c "
import json
for l in open('$SNAP'): print(json.loads(l)['run_dir'])"); do
  git add "$S/$run"
done
git commit -q -m "cpu_powered: $n of 200 rows (the report and the README block regenerated from them)" && git log --oneline | head -1
