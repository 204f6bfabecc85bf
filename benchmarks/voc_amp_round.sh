#!/usr/bin/env bash
# The main job on a GPU without the real data: configs/colt_faster_rcnn_voc.py (Faster R-CNN R-50
# FPN, VOC07+12 layout, 1000x600, batch 2, 2 persistent dataloader workers) with --amp, on
# generated VOC-scale images (colt_det.synthetic.demo.make_voc0712), one COLT round + final training,
# 1 epoch per stage. The summary's stage seconds show whether any stage stalled.
#   bash benchmarks/voc_amp_round.sh [WORK_DIR] [IMAGES_PER_YEAR]
set -euo pipefail
WORK=${1:-work_dirs/voc_amp_round}
N=${2:-150}
DATA=data/voc_scale_$N
PY=${PYTHON:-python3}
"$PY" -c "from colt_det.synthetic.demo import make_voc0712; make_voc0712('$DATA', $N, 50)"
time "$PY" tools/train.py configs/colt_faster_rcnn_voc.py --amp --work-dir "$WORK" --cfg-options \
  "train_dataloader.dataset.dataset.datasets.0.data_root=$DATA/VOCdevkit/" \
  "train_dataloader.dataset.dataset.datasets.1.data_root=$DATA/VOCdevkit/" \
  "val_dataloader.dataset.data_root=$DATA/VOCdevkit/" "test_dataloader.dataset.data_root=$DATA/VOCdevkit/" \
  train_cfg.max_epochs=1 train_cfg.val_interval=1 colt.max_rounds=1
cp "$WORK/colt_summary.json" "${OUT:-$WORK}/voc_amp_round.json" 2>/dev/null || true
