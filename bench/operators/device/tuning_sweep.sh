#!/bin/bash
# Session 7, call 6: the kernels' tuning switches on MgNO's 256² step (GPU-bound after the move to
# the backend without fusion), one process per setting, defaults first and last.
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
run() { echo "## $* (t=$(( $(date +%s)-t0 )) s)"; env "$@" timeout 40 ./gpu_bench --device cuda-direct --only steps --models mgno --sizes 256 --paths fast --warmup 2 --reps 15 2>&1 | grep -E "^\| M"; }
{
  run OPLAB_DEFAULTS=1
  run OPLAB_WGRAD_GROUP=2
  run OPLAB_WGRAD_GROUP=8
  run OPLAB_WGRAD_OT=2
  run OPLAB_TILED_PY=2
  run OPLAB_TILED_BATCH=4
  run OPLAB_TILED_SMEM=6144
  run OPLAB_WGRAD_POINTWISE=0
  run OPLAB_DEFAULTS=2
} > $OUT/sweep.md 2>&1
cat $OUT/sweep.md
