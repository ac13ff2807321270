#!/bin/bash
# Session 8: what the weight-gradient and tiled kernels compile to, and what each SASS instruction
# costs. (1) The CUDA C++ cubecl generates for them (CUBECL_DEBUG_LOG: full compilation log of a
# `--only layers` run; only the two kernels' sources are kept). (2) Nsight Compute's per-instruction
# counters of one launch of each (`--section SourceCounters --section InstructionStats`, then the
# report's source page as SASS), 3×3 32→32 at 256², batch 16 (the layer table's first layer).
# Run from a folder holding a fixed-kernel `gpu_bench`.
set -u
cd "$(dirname "$0")"
NCU=${NCU:-/usr/local/cuda/bin/ncu}
CUBECL_DEBUG_LOG=$OUT/compile.log timeout 90 ./gpu_bench --device cuda-direct --only layers --paths fast --warmup 0 --reps 1 > /dev/null 2>&1
python3 - "$OUT/compile.log" > $OUT/kernel_sources.cu <<'PY'
import sys
txt = open(sys.argv[1], encoding="utf-8", errors="replace").read()
# Keep the first compiled source of each kernel of interest: from its `extern "C" __global__` line
# back to the preceding include block, up to the next log entry.
for name in ("wgrad_partial", "tiled_conv"):
    i = txt.find(name)
    while i >= 0 and "__global__" not in txt[max(0, i - 200):i + 200]:
        i = txt.find(name, i + 1)
    if i < 0:
        print(f"// {name}: not found"); continue
    start = txt.rfind("#include", 0, i)
    start = txt.rfind("\n\n", 0, start) if start >= 0 else max(0, i - 20000)
    end = txt.find("\n}\n", i)
    print(f"// ===== {name} =====\n{txt[start:end + 3]}\n")
PY
rm -f $OUT/compile.log
for k in wgrad_partial tiled_conv; do
  timeout 120 "$NCU" --target-processes all --kernel-name regex:$k --launch-count 1 --import-source yes \
    --section SourceCounters --section InstructionStats --section LaunchStats -o $OUT/$k -f \
    ./gpu_bench --device cuda-direct --only layers --paths fast --warmup 0 --reps 1 > /dev/null 2>> $OUT/ncu.err
  timeout 60 "$NCU" --import $OUT/$k.ncu-rep --page source --csv --print-source sass > $OUT/${k}_sass.csv 2>> $OUT/ncu.err
  timeout 60 "$NCU" --import $OUT/$k.ncu-rep --page details --csv > $OUT/${k}_details.csv 2>> $OUT/ncu.err
  rm -f $OUT/$k.ncu-rep
done
tail -5 $OUT/ncu.err
ls -la $OUT
