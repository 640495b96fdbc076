#!/usr/bin/env bash
# GPU check for a session lent a GPU (≤ 8 minutes on one H100): the box losses under CUDA AMP in both families, the
# training-step ratio α-CIoU / stock on CUDA, the VOC suite's first cell at 640 px (scripts/gpu_check.py says how).
#
#     scripts/gpu_check.sh OUT_DIR [--dry-run] [--losses modules|all|a,b] [--models m.yaml,...] [--device 0] [--work DIR]
#
# Writes OUT_DIR/gpu_check.json and OUT_DIR/gpu_check.log; prints lines `gpu_check <item> <key=value ...>`, all of them
# again at the end (docs/benchmarks.md, "GPU check"). Exit 0 when every item passed, 1 otherwise, 2 on bad arguments.
# --dry-run: the same code on the CPU on a tiny set, in under a minute. PYTHON=<interpreter> (default .venv's, else
# python3) must import yolo_alpha as installed (a wheel or `pip install -e`), Ultralytics and torch. Offline: the
# Ultralytics config folder and yolo-alpha's cache go to a temporary folder, removed at the end, unless already set.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [[ $# -lt 1 || "$1" == -* ]]; then
    echo "usage: scripts/gpu_check.sh OUT_DIR [--dry-run] [--losses modules|all|a,b] [--models m.yaml,...] [--device 0]" \
        "[--work DIR]" >&2
    exit 2
fi
OUT="$1"
mkdir -p "$OUT"
PYTHON="${PYTHON:-$( [[ -x "$ROOT/.venv/bin/python" ]] && echo "$ROOT/.venv/bin/python" || echo python3)}"
STATE="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check_state.XXXXXX")"
trap 'rm -rf "$STATE"' EXIT
export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=False MPLBACKEND=Agg PYTHONUNBUFFERED=1
export YOLO_CONFIG_DIR="${YOLO_CONFIG_DIR:-$STATE/ultralytics}" YOLO_ALPHA_CACHE="${YOLO_ALPHA_CACHE:-$STATE/cache}"
"$PYTHON" "$ROOT/scripts/gpu_check.py" "$@" 2>&1 | tee "$OUT/gpu_check.log"
