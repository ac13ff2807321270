#!/bin/bash
# One device call (session 6): where the GPU time of a training step goes, on both sides.
# - PyTorch: torch.profiler over 5 steps per model and grid (`torch_step.py --only profile`):
#   GPU time and kernel launches per step, and the kernels that take most of it;
# - oplab: Nsight Systems (`nsys`, if the machine has it) over `gpu_bench --only steps` per model and
#   grid, summarised by `nsys stats` (per-kernel GPU time, CUDA API time); without nsys, cubecl's own
#   per-kernel profile log (CUBECL_DEBUG_OPTION=profile, which times each kernel and so slows the step);
# - then profile_kernels.sh (Nsight Compute on the convolution kernels), if time is left.
# Run from a folder holding a fixed-kernel `gpu_bench` and `torch_step.py` (see side_by_side.sh).
# At most 8 files come back from a call: the per-step logs are summarised into profile.md and removed
# (the first run, 16:33 UTC on 2026-11-29, kept them all, and its torch_profile.md was left out).
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
NSYS=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys /usr/local/cuda/nsight-systems*/bin/nsys 2>/dev/null | head -1)
echo "nsys: ${NSYS:-none}; ncu: $(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null)"
part "PyTorch profile"
timeout ${TORCH_LIMIT:-90} python3 -u torch_step.py --device cuda --only profile --sizes 256,64 --warmup 3 > $OUT/torch_profile.md 2>&1
for job in mgno:256 fno:256 mgno:64 fno:64; do
  m=${job%:*}; n=${job#*:}
  part "oplab $m $n²"
  if [ -n "$NSYS" ]; then
    timeout ${NSYS_LIMIT:-80} "$NSYS" profile -t cuda,nvtx -o $OUT/oplab_${m}_$n --force-overwrite true \
      ./gpu_bench --device cuda --only steps --paths fast --models $m --sizes $n --warmup 1 --reps 10 > $OUT/oplab_${m}_$n.log 2>&1
    timeout 60 "$NSYS" stats -r cuda_gpu_kern_sum,cuda_api_sum,cuda_gpu_mem_time_sum -f csv -o $OUT/oplab_${m}_$n $OUT/oplab_${m}_$n.nsys-rep >> $OUT/oplab_${m}_$n.log 2>&1
    rm -f $OUT/oplab_${m}_$n.sqlite
  else
    CUBECL_DEBUG_LOG=$OUT/cubecl_${m}_$n.log CUBECL_DEBUG_OPTION=profile timeout ${NSYS_LIMIT:-80} \
      ./gpu_bench --device cuda --only steps --paths fast --models $m --sizes $n --warmup 1 --reps 3 > $OUT/oplab_${m}_$n.log 2>&1
  fi
done
# One summary per step: cubecl's last per-kernel table (or nsys's kernel summary), then drop the logs.
python3 - "$OUT" > $OUT/profile.md <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
for log in sorted(out.glob("oplab_*.log")):
    print(f"## {log.name}\n\n{log.read_text(errors='replace')}\n")
for log in sorted(out.glob("cubecl_*.log")) + sorted(out.glob("oplab_*cuda_gpu_kern_sum*.csv")):
    txt = log.read_text(encoding="utf-8", errors="replace")
    blocks = re.findall(r"\| Name\s+\| Duration.*?\| Total[^\n]*", txt, re.S)
    print(f"## {log.name}\n")
    print(blocks[-1] if blocks else txt[:4000])
    print()
PY
rm -f $OUT/cubecl_*.log $OUT/oplab_*.log $OUT/oplab_*.csv $OUT/*.nsys-rep
part "Nsight Compute"
[ $(( $(date +%s)-t0 )) -lt ${NCU_AFTER:-330} ] && NCU_LIMIT=${NCU_LIMIT:-180} bash profile_kernels.sh
part "done"
ls -la $OUT | head -40
