#!/usr/bin/env bash
# The GPU rows of docs/benchmarks/engineering.md, in one go on a GPU machine (results under OUT):
#   OUT=benchmarks/results bash benchmarks/gpu_checks.sh
set -euo pipefail
OUT=${OUT:-benchmarks/results}
PY=${PYTHON:-python3}
dev=$("$PY" -c "import re, torch; print(re.search(r'[A-Z]\d{3}', torch.cuda.get_device_name(0)).group().lower())")
"$PY" -m pytest -q tests/test_gpu.py -p no:cacheprovider
"$PY" benchmarks/step_time.py --model slim --steps 100 --warmup 10 --repeats 2 \
  --out "$OUT/step_time_slim_$dev.json"
"$PY" benchmarks/step_time.py --model slim --steps 100 --warmup 10 --repeats 1 --num-workers 4 \
  --out "$OUT/step_time_slim_${dev}_4workers.json"
"$PY" benchmarks/step_time.py --model r50 --steps 100 --warmup 10 --repeats 2 \
  --out "$OUT/step_time_r50_$dev.json"
"$PY" benchmarks/step_time.py --model r50 --steps 100 --warmup 10 --repeats 1 --amp \
  --out "$OUT/step_time_r50_${dev}_amp.json"
# the stall repro of the issue: classification demo, 6 persistent train + 2 persistent val workers
time "$PY" tools/train.py configs/colt_smallconv_demo.py --work-dir work_dirs/cls_persistent \
  --cfg-options train_dataloader.num_workers=6 train_dataloader.persistent_workers=True \
  val_dataloader.num_workers=2 val_dataloader.persistent_workers=True colt.max_rounds=3 \
  colt.final_train=False
cp work_dirs/cls_persistent/colt_summary.json "$OUT/cls_persistent_workers_$dev.json"
