#!/bin/bash
# Confirmation call (session 4): oplab's steps, and PyTorch with its default (TF32 convolutions) and with --strict-fp32.
# Run from a folder holding a stripped fixed-kernel gpu_bench and torch_step.py (like side_by_side.sh).
set -u
cd "$(dirname "$0")"
date -u +"%Y-%m-%d %H:%M UTC" > $OUT/call.txt; echo "gpu_bench md5 $(md5sum < gpu_bench | cut -c1-12)" >> $OUT/call.txt
timeout 45 python3 -u torch_step.py --device cuda --only steps --reps 10 > $OUT/torch_steps.md 2>&1
timeout 45 python3 -u torch_step.py --device cuda --only steps --reps 10 --strict-fp32 > $OUT/torch_steps_strict.md 2>&1
timeout 60 ./gpu_bench --device cuda --only steps --paths fast --warmup 2 --reps 10 > $OUT/oplab_steps.md 2>&1
grep -h "^#\|^|" $OUT/*.md; cat $OUT/call.txt
