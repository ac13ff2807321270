#!/bin/bash
# Session 7, call 2: does burn's CUDA backend WITHOUT its fusion layer (--device cuda-raw), with the
# fused Adam step, lower the host time of MgNO's step? host_diag.sh (call 1) found, per MgNO step at
# 16², host 3.8 ms forward + 10.5 ms backward with fusion against 3.8 + 6.4 ms without it, and a
# fused-Adam phase of 6-7 ms. PyTorch side by side, before and after.
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
steps() { timeout $1 ./gpu_bench --only steps --paths fast --warmup 2 --reps 10 "${@:2}" 2>&1 | grep -E "^\||^#"; }
{
  part "PyTorch steps"; timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 2>&1 | grep -E "^\||^#"
  part "oplab steps, cuda (fusion), burn Adam"; steps 100 --device cuda
  part "oplab steps, cuda-raw, fused Adam"; OPLAB_ADAM=fused steps 100 --device cuda-raw
  part "oplab steps, cuda-raw, burn Adam"; steps 100 --device cuda-raw --models mgno
  part "breakdown, cuda-raw, fused Adam"; OPLAB_ADAM=fused timeout 120 ./gpu_bench --device cuda-raw --only breakdown --sizes 16,64,256 --warmup 2 --reps 10 2>&1 | grep -E "^\||^#"
  part "PyTorch steps again"; timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 2>&1 | grep -E "^\||^#"
  part "done"
} > $OUT/raw.md 2>&1
cat $OUT/raw.md
