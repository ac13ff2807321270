#!/bin/bash
# Device call 2 (session 3): the same training steps with a build WITHOUT burn's autotuner
# (`--no-default-features --features cuda`): fixed default kernels, so the first call only
# compiles one kernel per shape. PTX cache of call 1 unpacked first; PyTorch side by side.
set -u
cd "$(dirname "$0")"
tar xzf cubecl_cache.tgz && rm -f cubecl_cache.tgz && du -sh cuda autotune
t0=$(date +%s)
run() { local lim=$1; shift; echo "### gpu_bench(no autotune) $* (t=$(( $(date +%s)-t0 )) s, limit $lim s)"; timeout $lim ./gpu_bench --device cuda --only steps --warmup 2 --reps 10 "$@" 2>&1; echo "rc=$?"; }
run 120 --sizes 256 --models mgno --paths fast
run 110 --sizes 64 --models fno --paths fast
run 90 --sizes 256 --models fno --paths fast
run 120 --sizes 64 --models mgno --paths fast
echo "### PyTorch (t=$(( $(date +%s)-t0 )) s)"
timeout 60 python3 torch_step.py --device cuda --only steps --reps 10 2>&1
echo "### done (t=$(( $(date +%s)-t0 )) s)"
tar czf $OUT/cubecl_cache.tgz cuda autotune; du -sh cuda autotune
