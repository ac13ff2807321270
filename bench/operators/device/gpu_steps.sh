#!/bin/bash
# Second device call: whole training steps only, with the PTX/autotune cache of the first call.
set -u
cd "$(dirname "$0")"
tar xzf cubecl_cache.tgz && du -sh cuda autotune
t0=$(date +%s)
run() { local lim=$1; shift; echo "### gpu_bench $* (t=$(( $(date +%s)-t0 )) s)"; timeout $lim ./gpu_bench --device cuda --only steps --warmup 2 --reps 10 "$@" 2>&1; echo "rc=$?"; }
run 200 --sizes 64 --models mgno --paths fast
run 100 --sizes 64 --models fno --paths stock,fast
run 170 --sizes 256 --models mgno,fno --paths fast
echo "### done (t=$(( $(date +%s)-t0 )) s)"
