#!/bin/bash
# A 10,000-sample Darcy dataset (FNO's setup: 421×421 grid) on a Slurm cluster: 8 array tasks of
# 1,250 samples each, then one merge job that joins the 8 parts into the file a single run writes.
#
# `oplab slurm generate` writes the two job scripts (and with --submit, submits them); this
# script is that one call with the choices spelled out, and prints the scripts it got:
#   OUT.array.sbatch  array task K of 8 runs `oplab generate darcy ... --shard K/8` into
#                     OUT.shard-K-of-8.h5 with --threads = its CPUs. Tasks are --requeue'd: a
#                     requeued task resumes from its finished blocks (crash-safe, fsynced), and a
#                     task whose part is already complete exits at once.
#   OUT.merge.sbatch  `oplab merge` of the 8 parts into OUT, submitted with
#                     --dependency=afterok on the whole array, so it starts only when all 8 succeeded.
# The bytes of OUT do not depend on the number of tasks, on requeues or on thread counts: sample i
# draws only from the random stream (seed, i).
#
# Usage (on the cluster's login node, from a build with `make build`):
#   OUT=/scratch/$USER/darcy421.h5 examples/slurm/darcy_10k.sh            # write the scripts, print them
#   OUT=/scratch/$USER/darcy421.h5 SUBMIT=1 examples/slurm/darcy_10k.sh   # ... and submit both jobs
# Environment: OPLAB (the oplab binary; default target/release/oplab), OUT (the dataset, on a file
# system every node sees), PARTITION, ACCOUNT, TIME (per task), CPUS (per task), SUBMIT=1.
# Cost: bench/RESULTS.md measures about 2 Darcy samples per second per core at 421², so one task
# (1,250 samples) needs about 10 core-minutes; TIME's default of one hour leaves ample room.
# Writing the scripts takes well under a second.
set -euo pipefail

OPLAB=${OPLAB:-target/release/oplab}
OUT=${OUT:?set OUT to the dataset path, on a shared file system (e.g. /scratch/\$USER/darcy421.h5)}
CPUS=${CPUS:-16}
TIME=${TIME:-01:00:00}

options=(--array 8 --cpus-per-task "$CPUS" --time "$TIME")
[ -n "${PARTITION:-}" ] && options+=(--partition "$PARTITION")
[ -n "${ACCOUNT:-}" ] && options+=(--account "$ACCOUNT")
[ "${SUBMIT:-0}" = 1 ] && options+=(--submit)

# Everything after `--` is an `oplab generate` command line without --shard (the array sets it).
# --seed fixes the dataset; --gzip 4 roughly halves the file for a few % more time.
"$OPLAB" slurm generate "${options[@]}" -- \
    darcy --n 10000 --resolution 421 --seed 0 --gzip 4 --out "$OUT"

for script in "$OUT.array.sbatch" "$OUT.merge.sbatch"; do
    echo
    echo "=== $script"
    cat "$script"
done
# After the merge job: `oplab inspect "$OUT"` summarises the file; the parts
# ($OUT.shard-K-of-8.h5) can be deleted once it is checked.
