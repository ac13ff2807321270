#!/bin/bash
# Session 6, third call: the two-stage per-sample loss sums, the 1×1 weight-gradient kernel, the slab
# sum and the tiled kernel on narrow outputs, against PyTorch in the same call (twice each, for the
# spread); variants by environment; cubecl's per-kernel profile of both 256² steps; the gradient check.
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
{
  date -u +"%Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  echo "gpu_bench md5 $(md5sum < gpu_bench | cut -c1-12)"
} > $OUT/call.txt 2>&1
for round in 1 2; do
  part "PyTorch steps $round"; timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 >> $OUT/steps.md 2>&1
  part "oplab steps $round"; timeout 80 ./gpu_bench --device cuda --only steps --paths fast --warmup 2 --reps 10 >> $OUT/steps.md 2>&1
done
part "oplab check"; timeout 40 ./gpu_bench --device cuda --only check > $OUT/check.md 2>&1
for v in OPLAB_WGRAD_POINTWISE=0 OPLAB_TILED_MIN_W=32 OPLAB_WGRAD_THREADS=1048576; do
  part "variant $v"; echo "### $v" >> $OUT/variants.md
  env $v timeout 60 ./gpu_bench --device cuda --only steps --paths fast --sizes 256 --warmup 2 --reps 10 >> $OUT/variants.md 2>&1
done
part "oplab breakdown"; timeout 60 ./gpu_bench --device cuda --only breakdown --warmup 2 --reps 10 > $OUT/breakdown.md 2>&1
part "cubecl profile"
for m in mgno fno; do
  CUBECL_DEBUG_LOG=/tmp/prof_$m.log CUBECL_DEBUG_OPTION=profile timeout 60 ./gpu_bench --device cuda --only steps --paths fast --models $m --sizes 256 --warmup 1 --reps 3 > /dev/null 2>&1
done
python3 - > $OUT/profile.md <<'PY'
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
part "oplab layers"; timeout 50 ./gpu_bench --device cuda --only layers --paths fast --warmup 2 --reps 10 > $OUT/layers.md 2>&1
part "done"
grep -E "^\| (MgNO|FNO)|###" $OUT/steps.md $OUT/variants.md
cat $OUT/profile.md
