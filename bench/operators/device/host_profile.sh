#!/bin/bash
# Session 7, call 3: where the host time of a training step goes, by pprof's sampler
# (`gpu_bench --only host-profile`, a build with `--features cuda,host-profile` whose symbol table
# is kept: `strip --strip-debug`). One file per configuration; the tables are per function, self
# and inclusive, over 150 steps.
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
prof() { local out=$1; shift; part "$out: $*" >> $OUT/$out.md; timeout 120 "$@" 2>&1 | grep -E "^\||^#" >> $OUT/$out.md; }
prof mgno64_cuda ./gpu_bench --device cuda --only host-profile --models mgno --sizes 64 --warmup 3 --reps 150
prof mgno64_cuda_fusedadam env OPLAB_ADAM=fused ./gpu_bench --device cuda --only host-profile --models mgno --sizes 64 --warmup 3 --reps 150
prof mgno64_raw_fusedadam env OPLAB_ADAM=fused ./gpu_bench --device cuda-raw --only host-profile --models mgno --sizes 64 --warmup 3 --reps 150
prof fno64_cuda ./gpu_bench --device cuda --only host-profile --models fno --sizes 64 --warmup 3 --reps 150
part done
head -c 3000 $OUT/mgno64_cuda.md
