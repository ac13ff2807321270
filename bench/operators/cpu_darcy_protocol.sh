#!/bin/bash
# Reduced CPU Darcy protocol (issue "Operator training engine"): 64×64 nodes, 200 train / 50 validation /
# 50 test samples, MgNO (572,661 parameters) vs FNO (width 16, 12×12 modes: 593,281 parameters), the same
# recipe for both (H1 loss, Adam lr 1e-3, weight decay 1e-4, OneCycle per epoch, batch 8, 50 epochs),
# best checkpoint chosen on the validation split, error reported on the test split.
# Usage: bench/operators/cpu_darcy_protocol.sh [OUTDIR]   (needs a release build: cargo build --release)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oplab=${OPLAB:-$(cd "$here/../.." && pwd)/target/release/oplab}
out=${1:-runs/cpu_darcy64}
mkdir -p "$out"
"$oplab" generate darcy --n 300 --resolution 64 --seed 1 --out "$out/darcy64.h5" --force
for m in mgno fno; do
  start=$(date +%s)
  "$oplab" train $m --data "$out/darcy64.h5" --config "$here/cpu_darcy64_$m.toml" --epochs 50 --out "$out/$m" --quiet
  echo "$m: trained in $(( $(date +%s) - start )) s"
  "$oplab" eval --run "$out/$m" --data "$out/darcy64.h5" --quiet
done
