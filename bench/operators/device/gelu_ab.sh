#!/bin/bash
# Session 8, call 2: the fused gelu(a + b) (`layers::add_gelu`, one kernel each way on cuda-direct)
# against burn's composition (OPLAB_GELU=burn), MgNO 64²/256² on cuda-direct and FNO 64²/256² on
# cuda (fusion), alternating twice; then `--only check` (the conv gradients and the new add_gelu
# line) and `--only curve` on cuda-direct; then cubecl's per-kernel profile of one MgNO 256² step;
# then Nsight Compute on the weight-gradient partial-sum kernel (what bounds it).
# Run from a folder holding a fixed-kernel `gpu_bench`. First run (session 8, call 2): the step lines
# were empty, the model flag had gone to `env`; fixed for call 3. STEPS_ONLY=1 stops after the steps.
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
# steps DEVICE MODEL VAR=VALUE...
steps() { dev=$1; model=$2; shift 2; timeout 60 env "$@" ./gpu_bench --device $dev --only steps --models $model --sizes 64,256 --paths fast --warmup 2 --reps 15 2>&1 | grep -E "^\| (M|F)|rror|panic"; }
{
  for r in 1 2; do
    part "round $r, MgNO cuda-direct, fused gelu"; steps cuda-direct mgno OPLAB_GELU=fused
    part "round $r, MgNO cuda-direct, burn gelu"; steps cuda-direct mgno OPLAB_GELU=burn
    part "round $r, FNO cuda, fused gelu"; steps cuda fno OPLAB_GELU=fused
    part "round $r, FNO cuda, burn gelu"; steps cuda fno OPLAB_GELU=burn
  done
  [ "${STEPS_ONLY:-0}" = 1 ] && { part "done"; exit 0; }
  part "check, cuda-direct"; timeout 60 ./gpu_bench --device cuda-direct --only check 2>&1 | grep -E "^\||within|ABOVE|##"
  part "curve, cuda-direct"; timeout 90 ./gpu_bench --device cuda-direct --only curve --sizes 64 2>&1 | grep -E "worst|did not|rror|panic"
  part "cubecl profile, MgNO 256²"
  CUBECL_DEBUG_LOG=$OUT/cubecl.log CUBECL_DEBUG_OPTION=profile timeout 90 ./gpu_bench --device cuda-direct --only steps --paths fast --models mgno --sizes 256 --warmup 1 --reps 3 2>&1 | grep -E "^\| M"
  python3 - "$OUT/cubecl.log" <<'PY'
import re, sys
txt = open(sys.argv[1], encoding="utf-8", errors="replace").read()
blocks = re.findall(r"\| Name\s+\| Duration.*?\| Total[^\n]*", txt, re.S)
print(blocks[-1] if blocks else txt[:3000])
PY
  rm -f $OUT/cubecl.log
  part "Nsight Compute, weight-gradient partial sums (3×3 32→32 at 256², batch 16)"
  timeout 150 /usr/local/cuda/bin/ncu --target-processes all --kernel-name regex:wgrad_partial --launch-count 2 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
    --csv ./gpu_bench --device cuda-direct --only layers --paths fast --warmup 0 --reps 1 > $OUT/ncu_wgrad.csv 2> $OUT/ncu.err
  echo "ncu exit $?"; tail -n 3 $OUT/ncu.err
  part "done"
} > $OUT/gelu.md 2>&1
cat $OUT/gelu.md
