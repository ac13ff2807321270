#!/bin/bash
# One device call: PyTorch and oplab (stock vs fast conv backward) side by side on the same H200.
set -u
cd "$(dirname "$0")"            # cubecl.toml here: PTX + autotune caches persist in this folder
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
t0=$(date +%s)
echo "## PyTorch"
timeout 120 python3 torch_step.py --device cuda --only steps 2>&1 | tee $OUT/torch_steps.md
timeout 60 python3 torch_step.py --device cuda --only layers 2>&1 | tee $OUT/torch_layers.md
echo "## oplab steps (t=$(( $(date +%s)-t0 )) s)"
timeout ${STEP_LIMIT:-300} ./gpu_bench --device cuda --only steps --warmup 3 --reps 10 2>&1 | tee $OUT/oplab_steps.md
echo "## oplab layers (t=$(( $(date +%s)-t0 )) s)"
timeout ${LAYER_LIMIT:-120} ./gpu_bench --device cuda --only layers --warmup 2 --reps 10 2>&1 | tee $OUT/oplab_layers.md
echo "## done (t=$(( $(date +%s)-t0 )) s)"
dirs=$(find . -mindepth 1 -maxdepth 1 -type d); [ -n "$dirs" ] && tar czf $OUT/cubecl_cache.tgz $dirs; ls -la $OUT; du -sh $dirs 2>/dev/null
