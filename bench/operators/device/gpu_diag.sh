#!/bin/bash
# Diagnose GPU training: time per epoch, autotune activity.
set -u
B=./devbin/oplab-cuda
nvidia-smi --query-gpu=name,driver_version,memory.used --format=csv
$B generate darcy --n 300 --resolution 64 --seed 1 --out /tmp/darcy64.h5 --force 2>&1 | tail -1
stamp() { while IFS= read -r l; do echo "$(date +%s) $l"; done; }
for lvl in minimal; do
  echo "== mgno, CUBECL_AUTOTUNE_LEVEL=$lvl, start $(date +%s)"
  CUBECL_AUTOTUNE_LEVEL=$lvl CUBECL_DEBUG_LOG=/tmp/cubecl_mgno.log timeout 240 $B train mgno --device cuda --data /tmp/darcy64.h5 --config devbin/mgno.toml --epochs 4 --out /tmp/r_mgno 2>&1 | stamp
  echo "rc=${PIPESTATUS[0]} end $(date +%s)"
  wc -l /tmp/cubecl_mgno.log; grep -ci autotun /tmp/cubecl_mgno.log; head -c 300000 /tmp/cubecl_mgno.log > $OUT/cubecl_mgno_head.log; tail -c 200000 /tmp/cubecl_mgno.log > $OUT/cubecl_mgno_tail.log
  cp /tmp/r_mgno/metrics.jsonl $OUT/mgno_metrics.jsonl 2>/dev/null
done
echo "== fno start $(date +%s)"
CUBECL_AUTOTUNE_LEVEL=minimal timeout 150 $B train fno --device cuda --data /tmp/darcy64.h5 --config devbin/fno.toml --epochs 4 --out /tmp/r_fno 2>&1 | stamp
echo "rc=${PIPESTATUS[0]} end $(date +%s)"
cp /tmp/r_fno/metrics.jsonl $OUT/fno_metrics.jsonl 2>/dev/null
