#!/bin/bash
# Session 7, call 4: cubecl's memory pool under the host profile. call 3 found the compute-server
# thread spending most of its samples in the sliced pool's page search (MemoryPage::try_reserve,
# ::coalesce) and the main thread blocked on allocations (ComputeClient::do_empty). cubecl's
# persistent pool (exact-size buckets, never returned) is switched on for every allocation by
#   [memory] persistent_memory = "enforced"
# in a cubecl.toml of the working directory. Same binary, default pool against enforced persistent
# pool, on burn's CUDA backend with fusion (burn's Adam) and without (fused Adam); PyTorch before
# and after. Then the host profiles of MgNO 64² with the persistent pool.
set -u
cd "$(dirname "$0")"
mkdir -p pers && ln -sf ../gpu_bench pers/gpu_bench
printf '[memory]\npersistent_memory = "enforced"\n' > pers/cubecl.toml
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
steps() { timeout $1 ./gpu_bench --only steps --paths fast --warmup 2 --reps 10 "${@:2}" 2>&1 | grep -E "^\| [MF]"; }
{
  part "PyTorch steps"; timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 2>&1 | grep -E "^\| [MF]"
  part "oplab cuda (fusion), burn Adam, default pool"; steps 90 --device cuda
  part "oplab cuda (fusion), burn Adam, persistent pool"; (cd pers && steps 90 --device cuda)
  part "oplab cuda-raw, fused Adam, default pool"; OPLAB_ADAM=fused steps 90 --device cuda-raw
  part "oplab cuda-raw, fused Adam, persistent pool"; (cd pers && OPLAB_ADAM=fused steps 90 --device cuda-raw)
  part "oplab cuda (fusion), fused Adam, persistent pool"; (cd pers && OPLAB_ADAM=fused steps 90 --device cuda)
  part "PyTorch steps again"; timeout 60 python3 -u torch_step.py --device cuda --only steps --reps 10 2>&1 | grep -E "^\| [MF]"
  part "done"
} > $OUT/steps.md 2>&1
cat $OUT/steps.md
prof() { local out=$1; shift; part "$out: $*" >> $OUT/$out.md; (cd pers && timeout 60 "$@" 2>&1 | grep -E "^\||^#" >> $OUT/$out.md); }
prof prof_raw_pers env OPLAB_ADAM=fused ./gpu_bench --device cuda-raw --only host-profile --models mgno --sizes 64 --warmup 3 --reps 150
prof prof_cuda_pers ./gpu_bench --device cuda --only host-profile --models mgno --sizes 64 --warmup 3 --reps 150
