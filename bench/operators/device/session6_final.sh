#!/bin/bash
# Session 6, last call: side_by_side.sh on the committed kernels (every table of bench/RESULTS.md,
# without the opt-in fused Adam), then in extra.md a second round of PyTorch and oplab steps (the
# spread between rounds) and cubecl's per-kernel profile of both 256² steps. At most 8 files.
set -u
cd "$(dirname "$0")"
SKIP_FUSED_ADAM=1 bash side_by_side.sh
{
  echo "## Second round of steps"
  timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 2>&1 | grep -E "^\\| (MgNO|FNO)"
  timeout 80 ./gpu_bench --device cuda --only steps --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\\| (MgNO|FNO)"
  echo "## The same steps with up to 8 output channels per weight-gradient unit (OPLAB_WGRAD_OT=8)"
  OPLAB_WGRAD_OT=8 timeout 80 ./gpu_bench --device cuda --only steps --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\\| (MgNO|FNO)"
  echo "## The same steps with the fused Adam step (OPLAB_ADAM=fused)"
  OPLAB_ADAM=fused timeout 80 ./gpu_bench --device cuda --only steps --paths fast --warmup 2 --reps 10 2>&1 | grep -E "^\\| (MgNO|FNO)"
  for m in mgno fno; do
    CUBECL_DEBUG_LOG=/tmp/prof_$m.log CUBECL_DEBUG_OPTION=profile timeout 60 ./gpu_bench --device cuda --only steps --paths fast --models $m --sizes 256 --warmup 1 --reps 3 > /dev/null 2>&1
  done
  python3 - <<'PY'
import re
for m in ("mgno", "fno"):
    txt = open(f"/tmp/prof_{m}.log", encoding="utf-8", errors="replace").read()
    blocks = re.findall(r"\| Name\s+\| Duration.*?\| Total[^\n]*", txt, re.S)
    print(f"\n## cubecl profile (each kernel timed alone), {m} 256², one step\n")
    for line in (blocks[-1].splitlines() if blocks else ["no summary"]):
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1]:
            print(cells[1][:48].ljust(48), " | ".join(cells[-4:-1]))
PY
} > $OUT/extra.md 2>&1
cat $OUT/extra.md
