#!/bin/bash
# For the next session (written in session 7, NOT YET RUN): the tiled kernel's register prefetch
# (OPLAB_TILED_PREFETCH=1, off by default) against the plain staging, in one call: the layer table
# (fast path), then MgNO's steps at 64² and 256² on `--device cuda-direct`, alternating
# plain / prefetch / plain / prefetch. A first launch with the prefetch also shows whether NVRTC
# compiles it (the lavapipe check only proves the sums). Run from a folder holding a fixed-kernel
# `gpu_bench` (see side_by_side.sh).
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
steps() { timeout 40 env "$@" ./gpu_bench --device cuda-direct --only steps --models mgno --sizes 64,256 --paths fast --warmup 2 --reps 15 2>&1 | grep -E "^\| M|rror|panic"; }
{
  part "layers, plain"; timeout 60 ./gpu_bench --device cuda-direct --only layers --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\||rror|panic"
  part "layers, prefetch"; OPLAB_TILED_PREFETCH=1 timeout 60 ./gpu_bench --device cuda-direct --only layers --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\||rror|panic"
  for r in 1 2; do
    part "steps round $r, plain"; steps OPLAB_TILED_PREFETCH=0
    part "steps round $r, prefetch"; steps OPLAB_TILED_PREFETCH=1
  done
  part "check with the prefetch"; OPLAB_TILED_PREFETCH=1 timeout 40 ./gpu_bench --device cuda-direct --only check 2>&1 | grep -E "^\||within|ABOVE"
  part "done"
} > $OUT/prefetch.md 2>&1
cat $OUT/prefetch.md
