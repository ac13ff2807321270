#!/bin/bash
# Device call 4 (session 3): part 2 of the MgNO Darcy-rough GPU run: resume, then evaluate on the test split.
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
D=/tmp/darcy_rough256.h5
if ! ./oplab inspect $D >/dev/null 2>&1; then ./oplab generate darcy --config darcy_rough.toml --n 1224 --seed 1 --out $D -q; echo "regenerated in $(( $(date +%s)-t0 )) s"; fi
left=$(( ${LIMIT:-400} - ($(date +%s)-t0) ))
echo "### resume (limit $left s)"
timeout $left ./oplab train mgno --data $D --device cuda --out run --resume -q 2>&1 | tail -5
echo "rc=${PIPESTATUS[0]} t=$(( $(date +%s)-t0 )) s"
tail -2 run/metrics.jsonl
./oplab eval --run run --data $D --device cuda 2>&1 | tail -15
echo "t=$(( $(date +%s)-t0 )) s"; ls run
mkdir -p $OUT/run; cp run/*.jsonl run/*.json run/*.png run/*.toml run/*.txt run/*.csv $OUT/run/ 2>/dev/null; ls -la $OUT/run
