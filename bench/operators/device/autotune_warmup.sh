#!/bin/bash
# Device call 1 (session 3): warm up and time the training steps that never finished their first call
# (FNO 64² and 256², MgNO 64², fast path), starting from the PTX + autotune cache of session 2 and
# saving the grown cache for the next call. PyTorch steps side by side at the end.
set -u
cd "$(dirname "$0")"
tar xzf cubecl_cache.tgz && rm cubecl_cache.tgz && du -sh cuda autotune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
t0=$(date +%s)
run() { local lim=$1; shift; echo "### gpu_bench $* (t=$(( $(date +%s)-t0 )) s, limit $lim s)"; timeout $lim ./gpu_bench --device cuda --only steps --warmup 2 --reps 10 "$@" 2>&1; echo "rc=$?"; }
run 170 --sizes 64 --models fno --paths fast
run 110 --sizes 256 --models fno --paths fast
run 190 --sizes 64 --models mgno --paths fast
echo "### PyTorch (t=$(( $(date +%s)-t0 )) s)"
timeout 60 python3 torch_step.py --device cuda --only steps --reps 10 2>&1
echo "### done (t=$(( $(date +%s)-t0 )) s)"
tar czf $OUT/cubecl_cache.tgz cuda autotune; ls -la $OUT; du -sh cuda autotune
