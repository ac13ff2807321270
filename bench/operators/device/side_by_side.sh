#!/bin/bash
# One device call: PyTorch and oplab side by side on the same GPU, every table the issue asks for.
# Run from a folder holding `gpu_bench` (built with `--features cuda`, best `--no-default-features`
# too: see bench/RESULTS.md) and `torch_step.py`; then, on the development machine,
#   python3 bench/operators/update_results.py <files_at of the call>
# writes the merged ratio tables into bench/RESULTS.md. Per-part limits (s) via environment:
# CHECK_LIMIT, CURVE_LIMIT, STEP_LIMIT, LAYER_LIMIT, BREAKDOWN_LIMIT (all limits together: 500 s, inside one 600 s
# call with the fixed-kernel build, whose first calls take seconds; the autotuned build needs far more).
# oplab runs its CUDA defaults (direct conv kernels, weight-gradient kernel, stacked FNO spectral
# layout), then the step breakdown once more with OPLAB_ADAM=fused (the fused Adam step, opt-in).
# `gpu_bench --device cuda-raw --only breakdown` times burn's CUDA backend without fusion.
# A part cut by its limit keeps the rows it printed.
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
part "PyTorch steps";  timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 > $OUT/torch_steps.md 2>&1
part "PyTorch layers"; timeout 30 python3 -u torch_step.py --device cuda --only layers --reps 10 > $OUT/torch_layers.md 2>&1
part "oplab check";    timeout ${CHECK_LIMIT:-40} ./gpu_bench --device cuda --only check > $OUT/oplab_check.md 2>&1
part "oplab loss curves"; timeout ${CURVE_LIMIT:-100} ./gpu_bench --device cuda --only curve --sizes 64 >> $OUT/oplab_check.md 2>&1
part "oplab fused Adam check"; timeout ${CHECK_LIMIT:-40} ./gpu_bench --device cuda --only adam --sizes 64 >> $OUT/oplab_check.md 2>&1
part "oplab steps";    timeout ${STEP_LIMIT:-80} ./gpu_bench --device cuda --only steps --paths fast --warmup 2 --reps 10 > $OUT/oplab_steps.md 2>&1
# Fast path only: with 10 queued calls per timing, burn's stock kernels (up to 175 ms a call)
# alone would need minutes; their columns are in the calls recorded in bench/RESULTS.md.
part "oplab layers";   timeout ${LAYER_LIMIT:-50} ./gpu_bench --device cuda --only layers --paths fast --warmup 2 --reps 10 > $OUT/oplab_layers.md 2>&1
part "oplab breakdown"; timeout ${BREAKDOWN_LIMIT:-50} ./gpu_bench --device cuda --only breakdown --warmup 2 --reps 10 > $OUT/oplab_breakdown.md 2>&1
# The fused Adam step (training/fused_adam.rs), opt-in until timed here.
# SKIP_FUSED_ADAM=1 leaves it out (a call that needs its eighth returned file for something else).
if [ -z "${SKIP_FUSED_ADAM:-}" ]; then
  part "oplab breakdown, fused Adam"; OPLAB_ADAM=fused timeout ${BREAKDOWN_LIMIT:-50} ./gpu_bench --device cuda --only breakdown --warmup 2 --reps 10 > $OUT/oplab_breakdown_fused_adam.md 2>&1
fi
part "done"
tail -n 30 $OUT/*.md
