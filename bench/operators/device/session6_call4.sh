#!/bin/bash
# Session 6, fourth call (17:08 UTC): one round of PyTorch and oplab steps, oplab's layer table and cubecl's
# per-kernel profile of both 256² steps, into one file (quick.md).
set -u
cd "$(dirname "$0")"
timeout 50 python3 -u torch_step.py --device cuda --only steps --reps 10 2>&1 | grep -E "^\| (MgNO|FNO)" > $OUT/quick.md
timeout 70 ./gpu_bench --device cuda --only steps --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\| (MgNO|FNO)" >> $OUT/quick.md
timeout 40 ./gpu_bench --device cuda --only layers --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\| " >> $OUT/quick.md
for m in mgno fno; do
  CUBECL_DEBUG_LOG=/tmp/prof_$m.log CUBECL_DEBUG_OPTION=profile timeout 40 ./gpu_bench --device cuda --only steps --paths fast --models $m --sizes 256 --warmup 1 --reps 2 > /dev/null 2>&1
done
python3 - >> $OUT/quick.md <<'PY'
import re
for m in ("mgno", "fno"):
    txt = open(f"/tmp/prof_{m}.log", encoding="utf-8", errors="replace").read()
    blocks = re.findall(r"\| Name\s+\| Duration.*?\| Total[^\n]*", txt, re.S)
    print(f"## {m} 256²")
    for line in (blocks[-1].splitlines() if blocks else ["no summary"]):
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1]:
            print(cells[1][:48].ljust(48), " | ".join(cells[-4:-1]))
PY
cat $OUT/quick.md
