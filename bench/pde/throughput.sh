#!/usr/bin/env bash
# Whole-dataset generation throughput (samples/s) of every PDE problem at its canonical size, on
# a fixed number of rayon threads, through the `oplab generate` command line (progress bar off,
# HDF5 writing included). Prints one line per problem: problem, n, wall seconds, samples/s, the
# process's CPU seconds (user + system), samples per CPU-second times the thread count (what the
# rate would be with the threads' cores to itself: less sensitive to other jobs on a shared
# machine, but blind to parallel overheads such as waiting on the single HDF5 writer), and the
# load average before the run.
#
# usage: bench/pde/throughput.sh [OPLAB_BINARY] [THREADS]
#   OPLAB_BINARY defaults to $CARGO_TARGET_DIR/release/oplab (or target/release/oplab);
#   build it with `cargo build --release -p oplab`.
set -euo pipefail
bin=${1:-${CARGO_TARGET_DIR:-target}/release/oplab}
threads=${2:-2}
out=$(mktemp -d /tmp/oplab-throughput.XXXXXX)
trap 'rm -rf "$out"' EXIT

run() {
    local name=$1 n=$2
    shift 2
    local load times
    load=$(cut -d' ' -f1 /proc/loadavg)
    # wall, user and system seconds of the whole process (all its threads).
    times=$( { /usr/bin/time -f "%e %U %S" "$bin" generate "$@" --n "$n" --threads "$threads" --seed 1 -q --force \
        --out "$out/$name.h5" 2>&1 1>/dev/null; } | tail -n 1)
    awk -v p="$name" -v n="$n" -v t="$times" -v l="$load" -v th="$threads" 'BEGIN {
        split(t, a, " "); cpu = a[2] + a[3];
        printf "%-24s n=%-4d wall %7.2f s  %9.3f samples/s  cpu %7.2f s  %9.3f samples/cpu-s x %d = %9.3f  (load %s)\n",
            p, n, a[1], n / a[1], cpu, n / cpu, th, th * n / cpu, l }'
}

# FNO Darcy (piececonst r421) and its MgNO 211 subsample.
run darcy-421 64 darcy --resolution 421
run darcy-421-sub2 64 darcy --resolution 421 --subsample 2
# Poisson at MgNO's Darcy-smooth grid size, Helmholtz at MgNO's 101.
run poisson-211 512 poisson --resolution 211
run helmholtz-101 256 helmholtz --resolution 101
# FNO Burgers: 8192 points, stored at 1024 (nu = 0.1, t = 1).
run burgers-8192-sub8 8 burgers --resolution 8192 --subsample 8
# FNO Navier-Stokes: 256^2 solver stored at 64^2, nu = 1e-3, dt = 1e-4. T = 50 (500,000 steps) takes
# minutes per sample, so this runs to T = 2 with the same step and record spacing; the cost is linear
# in the number of steps, so samples/s at T = 50 is this rate x 2/50.
run navier-stokes-256-T2 4 navier-stokes --resolution 256 --subsample 4 --final-time 2 --record-times 2
# PDEBench 1-D advection (1024 cells, 201 stored times on [0, 2]) and reaction-diffusion (1024 cells,
# 101 stored times on [0, 1]): the defaults.
run advection-1024 512 advection --resolution 1024
run reaction-diffusion-1024 512 reaction-diffusion --resolution 1024
# FNO's Darcy GRF alone at 421^2.
run grf-421 512 grf --resolution 421
