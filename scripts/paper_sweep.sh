#!/usr/bin/env bash
# Shared body of scripts/paper_<sweep>.sh: run the shipped sweep cfg/sweeps/<sweep>.yaml with the paper's settings.
#   scripts/paper_sweep.sh <sweep> [key=value ...]
# GPU 0 unless the arguments choose the GPUs (device=, devices=) or Ray does (backend=ray).
set -euo pipefail
cd "$(dirname "$0")/.."
sweep=$1
shift
gpu=(device=0)
for arg in "$@"; do
    case "$arg" in device=* | devices=* | backend=ray) gpu=() ;; esac
done
exec .venv/bin/yolo-alpha sweep "cfg=cfg/sweeps/$sweep.yaml" ${gpu[@]+"${gpu[@]}"} "$@"
