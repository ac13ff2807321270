#!/bin/bash
# Session 7, call 8: more rounds of the side-by-side steps with the committed defaults (MgNO on
# `--device cuda-direct`, FNO on `--device cuda`), each round PyTorch then oplab, because host-bound
# steps on this machine move by 10-30 % between runs and the 256² verdict is within that.
set -u
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-3}
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
{
  echo "gpu_bench md5 $(md5sum < gpu_bench | cut -c1-12)"
  for r in $(seq 1 $ROUNDS); do
    part "round $r: PyTorch"; timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 2>&1 | grep -E "^\| [MF]"
    part "round $r: oplab"
    timeout 60 ./gpu_bench --device cuda-direct --only steps --models mgno --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\| [MF]"
    timeout 60 ./gpu_bench --device cuda --only steps --models fno --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\| [MF]"
  done
  part "done"
} > $OUT/rounds.md 2>&1
cat $OUT/rounds.md
