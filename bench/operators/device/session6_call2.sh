#!/bin/bash
# Session 6, second call: the tiled kernel on narrow outputs, the two-level weight-gradient sum and the
# contiguous bias-gradient sum, against the same call's PyTorch; variants by environment; cubecl's
# per-kernel profile of the MgNO 256² step; Nsight Compute on the weight-gradient kernel. At most 8
# files come back from $OUT, so parts share files.
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
part "PyTorch steps"; timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 > $OUT/steps.md 2>&1
part "oplab steps"; timeout 80 ./gpu_bench --device cuda --only steps --paths fast --warmup 2 --reps 10 >> $OUT/steps.md 2>&1
part "oplab check"; timeout 40 ./gpu_bench --device cuda --only check > $OUT/check.md 2>&1
for v in OPLAB_TILED_MIN_W=32 OPLAB_TILED_WARPS=4 OPLAB_WGRAD_THREADS=65536 OPLAB_WGRAD_THREADS=1048576; do
  part "variant $v"; echo "### $v" >> $OUT/variants.md
  env $v timeout 45 ./gpu_bench --device cuda --only steps --paths fast --models mgno --warmup 2 --reps 10 >> $OUT/variants.md 2>&1
done
part "PyTorch steps again"; timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 >> $OUT/steps.md 2>&1
part "oplab layers"; timeout 50 ./gpu_bench --device cuda --only layers --paths fast --warmup 2 --reps 10 > $OUT/layers.md 2>&1
part "oplab layers, 4 warps"; OPLAB_TILED_WARPS=4 timeout 50 ./gpu_bench --device cuda --only layers --paths fast --warmup 2 --reps 10 >> $OUT/layers.md 2>&1
part "cubecl profile"
CUBECL_DEBUG_LOG=/tmp/prof.log CUBECL_DEBUG_OPTION=profile timeout 60 ./gpu_bench --device cuda --only steps --paths fast --models mgno --sizes 256 --warmup 1 --reps 3 > /dev/null 2>&1
python3 - > $OUT/profile.md <<'PY'
import re
txt = open('/tmp/prof.log', encoding='utf-8', errors='replace').read()
blocks = re.findall(r'\| Name\s+\| Duration.*?\| Total[^\n]*', txt, re.S)
print(blocks[-1] if blocks else 'no summary')
PY
part "PyTorch profile"; timeout 70 python3 -u torch_step.py --device cuda --only profile --sizes 256,64 --warmup 3 > $OUT/torch_profile.md 2>&1
part "Nsight Compute, weight gradient and 4-warp tiled"
NCU="/usr/local/cuda/bin/ncu --target-processes all --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats --csv"
timeout 90 $NCU --kernel-name regex:"wgrad_partial|wgrad_sum" --launch-count 4 ./gpu_bench --device cuda --only layers --paths fast --warmup 0 --reps 1 > $OUT/ncu.csv 2>&1
timeout 90 $NCU --kernel-name regex:"tiled_conv" --launch-count 2 env OPLAB_TILED_WARPS=4 ./gpu_bench --device cuda --only layers --paths fast --warmup 0 --reps 1 >> $OUT/ncu.csv 2>&1
part "done"
tail -n 12 $OUT/steps.md $OUT/variants.md
