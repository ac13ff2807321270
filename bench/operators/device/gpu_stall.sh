#!/bin/bash
# Where does the first MgNO/FNO training step at 64² spend its time? Summarise cubecl's log on the device.
set -u
cd "$(dirname "$0")"; rm -f cubecl.toml
summ() {
  local log=$1
  echo "log lines: $(wc -l < $log); kernel compilations: $(grep -c START_KERNEL_COMPILATION $log); autotune results: $(grep -c 'Fastest result' $log)"
  echo "-- compiled kernel names (top 25):"
  grep -A1 START_KERNEL_COMPILATION $log | grep '^name:' | sed 's/<.*//' | sort | uniq -c | sort -rn | head -25
  echo "-- autotune keys (top 15):"
  grep -o 'Fastest result [^ ]*' $log | sort | uniq -c | sort -rn | head -15
  echo "-- last 15 non-source lines:"
  grep -v '^ \|^const\|^for\|^}\|^{\|^if\|^l_\|^uint\|^float\|^#\|^typedef\|^struct\|^extern\|^__\|^nvcuda\|^buffer' $log | tail -15
}
for m in mgno fno; do
  echo "===== $m 64², fast path, 75 s"
  CUBECL_DEBUG_LOG=/tmp/$m.log timeout 75 ./gpu_bench --device cuda --only steps --sizes 64 --models $m --paths fast --warmup 1 --reps 2 2>&1 | tail -5
  summ /tmp/$m.log
done
