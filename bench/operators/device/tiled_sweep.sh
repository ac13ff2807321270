#!/bin/bash
# Session 7, call 8: rows per unit and warps per cube of the tiled kernel (OPLAB_TILED_PY,
# OPLAB_TILED_WARPS) on MgNO's steps at 64² and 256² (`--device cuda-direct`), defaults first and last.
# Call 6 saw OPLAB_TILED_PY=2 at 24.00 ms against 24.62-24.76 ms for the defaults (py up to 4).
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
run() { echo "## $* (t=$(( $(date +%s)-t0 )) s)"; env "$@" timeout 40 ./gpu_bench --device cuda-direct --only steps --models mgno --sizes 64,256 --paths fast --warmup 2 --reps 15 2>&1 | grep -E "^\| M"; }
{
  run OPLAB_DEFAULTS=1
  run OPLAB_TILED_PY=2
  run OPLAB_TILED_PY=3
  run OPLAB_TILED_PY=2 OPLAB_TILED_WARPS=4
  run OPLAB_TILED_PY=1
  run OPLAB_DEFAULTS=2
} > $OUT/tiled_sweep.md 2>&1
cat $OUT/tiled_sweep.md
