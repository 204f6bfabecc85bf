#!/usr/bin/env bash
# Calibration sweep of the hard detection set (issue #13) on a many-core GPU machine: variants of
# the generator trained dense from a random theta0 (val mAP every 4 epochs), and for one variant
# a 1-round IMP ticket at 80% vs a random mask of the same per-layer sparsity. All in parallel,
# 2 threads each. Logs and a summary under OUT.   OUT=... bash benchmarks/calibration/hard_sweep.sh
set -uo pipefail
OUT=${OUT:-work_dirs/hard_sweep}; W=work_dirs/hard_sweep_runs; mkdir -p "$OUT" "$W"
PY=${PYTHON:-python3}; export OMP_NUM_THREADS=2
D=data/hard_sweep
gen() {  # name img_size kwargs
  "$PY" -c "from colt_det.synthetic.hard import make_hard_voc; make_hard_voc('$D/$1', img_size=$2, $3)"
}
gen A 160 "seed=0" &
gen B 128 "min_side=16, max_side=80, min_objects=2, max_objects=5, fills=('plain','plain','stripes'), distractors=(0, 2), covering=(0, 0), deform=0.06" &
gen C 96 "min_side=12, max_side=60, min_objects=2, max_objects=4, fills=('plain','plain','stripes'), distractors=(0, 2), covering=(0, 0), deform=0.06" &
gen E 160 "min_side=16, min_objects=2, max_objects=5" &
wait
train() {  # run_name variant img_size epochs extra-options...
  local name=$1 v=$2 size=$3 ep=$4; shift 4
  local root=$D/$v/VOCdevkit/
  timeout "${TL:-520}" "$PY" tools/train.py configs/colt_faster_rcnn_hard.py --work-dir "$W/$name" \
    --cfg-options demo_data=None train_dataloader.dataset.data_root=$root \
    val_dataloader.dataset.data_root=$root test_dataloader.dataset.data_root=$root \
    "train_dataloader.dataset.pipeline.2.scale=($size,$size)" \
    "val_dataloader.dataset.pipeline.1.scale=($size,$size)" \
    "test_dataloader.dataset.pipeline.1.scale=($size,$size)" \
    colt.final_train_cfg.max_epochs=$ep colt.final_train_cfg.val_interval=4 \
    "param_scheduler.1.milestones=[$((ep - 3))]" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc"
  return $rc  # the random run waits for a finished IMP ticket
}
dense="colt.method=dense colt.num_partitions=1"
train A_dense A 160 16 $dense &
train B_dense B 128 16 $dense &
train C_dense C 96 16 $dense &
train E_dense E 160 16 $dense &
(TL=250 train B_imp80 B 128 8 colt.method=imp colt.num_partitions=1 colt.prune_ratio=0.8 \
   colt.target_sparsity=0.8 colt.max_rounds=1 train_cfg.max_epochs=3 train_cfg.val_interval=3 &&
 TL=250 train B_random80 B 128 8 colt.method=random colt.num_partitions=1 colt.target_sparsity=0.8 \
   colt.random_from=$W/B_imp80/tickets/round_01.safetensors) &
(TL=250 train C_imp80 C 96 8 colt.method=imp colt.num_partitions=1 colt.prune_ratio=0.8 \
   colt.target_sparsity=0.8 colt.max_rounds=1 train_cfg.max_epochs=3 train_cfg.val_interval=3 &&
 TL=250 train C_random80 C 96 8 colt.method=random colt.num_partitions=1 colt.target_sparsity=0.8 \
   colt.random_from=$W/C_imp80/tickets/round_01.safetensors) &
wait
for f in "$OUT"/*.log; do
  name=$(basename "$f" .log)
  curve=$(cat "$W/$name"/final/*/*.log 2>/dev/null | grep -o 'Epoch(val) \[[0-9]*\]\[[0-9/]*\] *pascal_voc/mAP: [0-9.]*' | sed 's/Epoch(val) //; s/\]\[[0-9/]*\] *pascal_voc\/mAP:/]/' | tr '\n' ' ')
  echo "== $name: $curve| $(grep -o '\[colt\] final: .*' "$f" | tail -1) $(grep -o 'final: iter [0-9/]*.*s/iter' "$f" | tail -1)"
done | tee "$OUT/summary.txt"
