#!/bin/bash
# Device call 3 (session 3): the MgNO Darcy-rough run on the GPU, part 1 of 2. Generates the data
# on the device (1224 samples, GRF alpha 2 tau 5 on 512², every 2nd node -> 256²), trains until the
# time is up (checkpoints are atomic per epoch), and returns the run directory for `--resume`.
set -u
cd "$(dirname "$0")"
tar xzf cubecl_cache.tgz && rm -f cubecl_cache.tgz
ldd ./oplab | grep "not found" && exit 3
t0=$(date +%s)
./oplab generate darcy --config darcy_rough.toml --n 1224 --seed 1 --out /tmp/darcy_rough256.h5 -q
echo "generated in $(( $(date +%s)-t0 )) s"; ./oplab inspect /tmp/darcy_rough256.h5 | sed -n 1,16p
left=$(( 555 - ($(date +%s)-t0) ))
echo "### train (limit $left s)"
timeout $left ./oplab train mgno --data /tmp/darcy_rough256.h5 --config mgno_gpu.toml --device cuda --out run -q 2>&1 | tail -20
echo "rc=${PIPESTATUS[0]} t=$(( $(date +%s)-t0 )) s"
ls -la run; tail -3 run/metrics.jsonl
cp -r run $OUT/
