#!/bin/bash
# Where the host time of oplab's MgNO step goes (written in session 6, first run in session 7).
# Session 6 found oplab's MgNO step bound by the host at 64² and 256² (host 18.1 of 18.9 ms and 26.7 of
# 27.6 ms, about 700 kernel launches per step). This call answers, in one file each:
# - breakdown.md: `gpu_bench --only breakdown` with the host time per phase (forward + loss, backward,
#   Adam), at 16² (no GPU work to speak of: the host floor of a step), 64² and 256²; then the same with
#   the fused Adam (OPLAB_ADAM=fused) and on burn's CUDA backend without its fusion layer (--device cuda-raw);
# - launch.md: `gpu_bench --only launch`, the host cost of one recorded operation and of one kernel
#   launch on tiny tensors (elementwise, custom conv, stock conv, autodiff), with and without fusion;
# - perf.txt: if the machine has `perf`, where the host spends one MgNO 64² steps run (top of `perf report`).
# Run from a folder holding a fixed-kernel `gpu_bench` (see side_by_side.sh).
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
{
  part "breakdown"
  timeout 120 ./gpu_bench --device cuda --only breakdown --sizes 16,64,256 --warmup 2 --reps 10 2>&1 | grep -E "^\||^#"
  part "breakdown, OPLAB_ADAM=fused"
  OPLAB_ADAM=fused timeout 120 ./gpu_bench --device cuda --only breakdown --sizes 16,64,256 --warmup 2 --reps 10 2>&1 | grep -E "^\||^#"
  part "breakdown, cuda-raw (no fusion)"
  timeout 150 ./gpu_bench --device cuda-raw --only breakdown --models mgno --sizes 16,64 --warmup 2 --reps 10 2>&1 | grep -E "^\||^#"
} > $OUT/breakdown.md 2>&1
{
  part "launch, cuda"
  timeout 100 ./gpu_bench --device cuda --only launch --warmup 3 --reps 15 2>&1 | grep -E "^\||^#"
  part "launch, cuda-raw"
  timeout 100 ./gpu_bench --device cuda-raw --only launch --warmup 3 --reps 15 2>&1 | grep -E "^\||^#"
} > $OUT/launch.md 2>&1
PERF=$(command -v perf || ls /usr/bin/perf* /usr/local/bin/perf 2>/dev/null | head -1)
if [ -n "$PERF" ]; then
  part "perf"
  timeout 120 "$PERF" record -g -o /tmp/perf.data ./gpu_bench --device cuda --only steps --paths fast --models mgno --sizes 64 --warmup 2 --reps 20 > /dev/null 2>&1
  timeout 120 "$PERF" report -i /tmp/perf.data --stdio --no-children --percent-limit 1 2>/dev/null | head -300 > $OUT/perf.txt
else
  echo "no perf on this machine" > $OUT/perf.txt
fi
part "done"
cat $OUT/breakdown.md $OUT/launch.md
