#!/usr/bin/env bash
# MPI strong scaling of dataset generation: samples/s vs ranks for Darcy (FNO's 421² grid) and
# Navier–Stokes (256², ν=1e-3, FNO's scheme, 1000 steps of Δt=1e-4 per sample: a shortened horizon
# so that a point takes seconds, not hours). One thread per rank. Prints a Markdown table.
#   bench/hpc/scaling.sh [OPLAB_BINARY] [MAX_RANKS]
set -euo pipefail
oplab=${1:-target/release/oplab}
max=${2:-$(nproc)}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ranks=(1)
r=2
while [ "$r" -le "$max" ]; do ranks+=("$r"); r=$((r * 2)); done

run() { # problem n ranks args...
  local problem=$1 n=$2 k=$3; shift 3
  local out="$dir/$problem-$k.h5"
  local t0 t1
  t0=$(date +%s.%N)
  mpirun --allow-run-as-root --oversubscribe --bind-to none -n "$k" "$oplab" generate "$problem" --n "$n" --threads 1 \
    --block-size 1 --out "$out" --quiet "$@"
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk -v n="$n" '{printf "%.3f", n / ($2 - $1)}'
}

echo "| problem | ranks | samples/s | speed-up | parallel efficiency |"
echo "|---|---|---|---|---|"
for spec in "darcy 16 --resolution 421" "navier-stokes 4 --resolution 256 --final-time 0.1 --record-times 1 --time-step 1e-4 --subsample 4"; do
  set -- $spec
  problem=$1 n=$2; shift 2
  base=""
  for k in "${ranks[@]}"; do
    rate=$(run "$problem" "$n" "$k" "$@")
    [ -z "$base" ] && base=$rate
    awk -v p="$problem" -v k="$k" -v r="$rate" -v b="$base" 'BEGIN { printf "| %s | %d | %.2f | %.2f | %.0f%% |\n", p, k, r, r / b, 100 * r / b / k }'
  done
done
