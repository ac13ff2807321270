#!/bin/bash
# One device call: Nsight Compute (`ncu`, present on the H200 machine at /usr/local/cuda/bin/ncu) on
# oplab's convolution kernels as `gpu_bench --only layers --paths fast` runs them: the tiled forward /
# input-gradient kernel, the weight-gradient kernel and the gather kernel. Sections: speed of light,
# occupancy, launch statistics (registers, shared memory), warp states and scheduler statistics,
# i.e. what bounds each kernel. Written in session 5; first run in session 6 (16:33 UTC, from
# profile_steps.sh): the counters are exposed. With 10 queued calls per layer timing, the first 16
# matching launches were one of burn's own `direct_conv2d_kernel` (the pattern "direct_conv" matches it)
# and 15 tiled-kernel launches of the first layer; narrow the regex (e.g.
# NCU_LAUNCHES and --kernel-name regex:wgrad_partial) to reach the other kernels. The CSV starts after
# the benchmark's own output: parse from the line that begins with "ID".
# Run from a folder holding a fixed-kernel `gpu_bench` (see side_by_side.sh); writes $OUT/ncu.csv.
set -u
cd "$(dirname "$0")"
NCU=${NCU:-/usr/local/cuda/bin/ncu}
# cubecl names each CUDA kernel after its #[cube] function; the first matching launches are the
# 3×3 32→32 and 24→24 layers at 256² (batch 16), forward, input gradient and weight gradient.
timeout ${NCU_LIMIT:-500} "$NCU" --target-processes all \
  --kernel-name regex:"tiled_conv|wgrad_partial|wgrad_sum|direct_conv" --launch-count ${NCU_LAUNCHES:-16} \
  --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
  --csv ./gpu_bench --device cuda --only layers --paths fast --warmup 1 --reps 1 > $OUT/ncu.csv 2> $OUT/ncu.err
echo "ncu exit $?"
tail -n 5 $OUT/ncu.err
grep -c . $OUT/ncu.csv
