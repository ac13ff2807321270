#!/bin/bash
# Session 8, call 5: the weight-gradient kernel with its rows staged as vectors of four columns and
# read as vectors (window and four pixels' gradients per output channel) against the previous binary
# (`gpu_bench_prev`: call 4's new staging, scalar reads; commit 1877966). Layers (fast path) with
# each, MgNO 64²/256² steps on cuda-direct alternating twice, then the gradient check with the new
# binary. Same script as wgrad_staging_ab.sh otherwise. Result: no gain in the step, not kept; the
# kernel change is device/wgrad_vector_reads.patch (against commit 1877966).
# Binaries come xz-packed (two do not fit the carry limit otherwise).
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
for b in gpu_bench gpu_bench_prev; do [ -f $b ] || xz -dk $b.xz; chmod +x $b; done
steps() { timeout 60 ./$1 --device cuda-direct --only steps --models mgno --sizes 64,256 --paths fast --warmup 2 --reps 15 2>&1 | grep -E "^\| M|rror|panic"; }
{
  part "layers, previous"; timeout 60 ./gpu_bench_prev --device cuda-direct --only layers --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\||rror|panic"
  part "layers, new"; timeout 60 ./gpu_bench --device cuda-direct --only layers --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\||rror|panic"
  for r in 1 2; do
    part "steps round $r, previous"; steps gpu_bench_prev
    part "steps round $r, new"; steps gpu_bench
  done
  part "check, new"; timeout 60 ./gpu_bench --device cuda-direct --only check 2>&1 | grep -E "^\||within|ABOVE|##"
  part "done"
} > $OUT/wgrad_vec_ab.md 2>&1
cat $OUT/wgrad_vec_ab.md
