#!/usr/bin/env bash
# α-IoU paper experiment as one command: the sweep cfg/sweeps/voc_noise.yaml on one GPU, with the paper's settings
# (YOLOv5s-class model from scratch, 640 px, 300 epochs, batch 64, SGD: see cfg/voc.yaml / cfg/coco.yaml).
# Resumable: run it again after an interruption. Extra key=value pairs apply to every run (e.g. device=0,1), or say
# how the cells run (e.g. backend=process devices=0,1,2,3: one cell per GPU; backend=ray address=auto gpus_per_run=1).
# Afterwards: yolo-alpha report runs/sweeps/voc_noise
exec "$(dirname "$0")/paper_sweep.sh" voc_noise "$@"
