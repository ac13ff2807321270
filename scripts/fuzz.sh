#!/usr/bin/env bash
# The fuzz targets of tests/fuzz for longer than `make test`'s 30 s each, one after the other.
#   scripts/fuzz.sh [--seconds N] [--seed S] [hdf5|config|tokens ...]
# Defaults: 600 s per target, a seed from the clock (printed, so a crash can be replayed with
# FUZZ_SEED=S FUZZ_INPUTS=<index + 1>), all three targets. Crashing inputs are
# written to $CARGO_TARGET_DIR/tmp/fuzz-crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600
seed=$(date +%s)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    hdf5) targets+=(hdf5::fuzz_hdf5_files); shift ;;
    config) targets+=(config::fuzz_config_toml); shift ;;
    tokens) targets+=(tokens::fuzz_prose_tokens); shift ;;
    *) echo "usage: $0 [--seconds N] [--seed S] [hdf5|config|tokens ...]" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(hdf5::fuzz_hdf5_files config::fuzz_config_toml tokens::fuzz_prose_tokens)
echo "fuzz: ${seconds} s per target, seed ${seed}"
status=0
for t in "${targets[@]}"; do
  FUZZ_SECONDS=$seconds FUZZ_SEED=$seed \
    cargo test -q --workspace --features oplab/mpi --test fuzz -- --ignored --nocapture --exact "$t" || status=1
done
exit $status
