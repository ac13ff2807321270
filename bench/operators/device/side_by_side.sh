#!/bin/bash
# One device call: PyTorch and oplab side by side on the same GPU, every table the issue asks for.
# Run from a folder holding `gpu_bench` (built with `--features cuda`, best `--no-default-features`
# too: see bench/RESULTS.md) and `torch_step.py`; then, on the development machine,
#   python3 bench/operators/update_results.py <files_at of the call>
# writes the merged ratio tables into bench/RESULTS.md.
#
# oplab runs as its trainer does (session 7): MgNO on burn's CUDA backend without the fusion layer
# (`--device cuda-direct`), FNO with it (`--device cuda`), cubecl's persistent memory pool and the
# fused Adam step (both defaults of gpu_bench and the trainer). The steps run in two rounds, each
# PyTorch then oplab, because host-bound steps on this machine vary by 10-30 % between runs; then
# PyTorch once more with TF32 off (`--strict-fp32`: oplab's kernels are plain FP32). The checks run
# on the backend MgNO trains on. RUN_LAYERS=1 adds the single-layer tables (about 60 s).
# Per-part limits (s) via environment: CHECK_LIMIT, CURVE_LIMIT, STEP_LIMIT, LAYER_LIMIT,
# BREAKDOWN_LIMIT. A part cut by its limit keeps the rows it printed. At most 8 files come back.
set -u
cd "$(dirname "$0")"
{
  date -u +"%Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  echo "gpu_bench md5 $(md5sum < gpu_bench | cut -c1-12)"
} > $OUT/call.txt 2>&1
cat $OUT/call.txt
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
torch_steps() { timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 "$@"; }
oplab_steps() {
  timeout ${STEP_LIMIT:-60} ./gpu_bench --device cuda-direct --only steps --models mgno --paths fast --warmup 2 --reps 10
  timeout ${STEP_LIMIT:-60} ./gpu_bench --device cuda --only steps --models fno --paths fast --warmup 2 --reps 10
}
part "PyTorch steps";          torch_steps > $OUT/torch_steps.md 2>&1
part "oplab steps";            oplab_steps > $OUT/oplab_steps.md 2>&1
part "PyTorch steps, round 2"; torch_steps > $OUT/torch_steps2.md 2>&1
part "oplab steps, round 2";   oplab_steps > $OUT/oplab_steps2.md 2>&1
part "PyTorch steps, TF32 off"; torch_steps --strict-fp32 > $OUT/torch_steps_fp32.md 2>&1
part "oplab check";            timeout ${CHECK_LIMIT:-40} ./gpu_bench --device cuda-direct --only check > $OUT/oplab_check.md 2>&1
part "oplab loss curves";      timeout ${CURVE_LIMIT:-100} ./gpu_bench --device cuda-direct --only curve --sizes 64 >> $OUT/oplab_check.md 2>&1
part "oplab fused Adam check"; timeout ${CHECK_LIMIT:-40} ./gpu_bench --device cuda-direct --only adam --sizes 64 >> $OUT/oplab_check.md 2>&1
part "oplab breakdown"
{
  timeout ${BREAKDOWN_LIMIT:-50} ./gpu_bench --device cuda-direct --only breakdown --models mgno --warmup 2 --reps 10
  timeout ${BREAKDOWN_LIMIT:-50} ./gpu_bench --device cuda --only breakdown --models fno --warmup 2 --reps 10
} > $OUT/oplab_breakdown.md 2>&1
if [ -n "${RUN_LAYERS:-}" ]; then
  part "PyTorch layers"; timeout 30 python3 -u torch_step.py --device cuda --only layers --reps 10 > $OUT/torch_layers.md 2>&1
  # Fast path only: burn's stock kernels (up to 175 ms a call) would need minutes.
  part "oplab layers";   timeout ${LAYER_LIMIT:-50} ./gpu_bench --device cuda-direct --only layers --paths fast --warmup 2 --reps 10 > $OUT/oplab_layers.md 2>&1
fi
part "done"
tail -n 12 $OUT/*.md
