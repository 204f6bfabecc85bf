#!/usr/bin/env bash
# Ticket transfer on the demo data, end to end (run `make demo` first for the COLT/dense runs):
#   1. COLT on the demo classification set with a torchvision-layout ResNet-18 -> a ticket whose
#      names are mmdet ResNet names;
#   2. the demo Faster R-CNN initialised from that ticket (trained values, mask kept fixed);
#   3. a random mask with the same per-layer sparsity, same schedule;
#   4. one evaluation table: dense, COLT, transferred ticket, random mask.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
run() {  # run CONFIG: start it, or continue it if its work dir already holds a run
  local wd="work_dirs/$(basename "$1" .py)"
  if [[ -f "$wd/theta0.safetensors" ]]; then $PY tools/train.py "$1" --resume; else $PY tools/train.py "$1"; fi
}
run configs/colt_tvresnet18_demo_cls.py
run configs/ticket_faster_rcnn_demo.py
run configs/random_faster_rcnn_demo.py
$PY tools/eval_series.py configs/colt_faster_rcnn_demo.py \
  work_dirs/demo/dense_faster_rcnn_demo work_dirs/demo/colt_faster_rcnn_demo \
  work_dirs/ticket_faster_rcnn_demo work_dirs/random_faster_rcnn_demo \
  --out-dir work_dirs/eval_demo
