#!/bin/bash
# Session 7, call 7: the user's path on CUDA after the backend switch: `oplab train` and `oplab eval`
# (a `make cuda-fixed` build of the root package, stripped) on a 48-sample 64² Darcy file made on the
# development machine (`oplab generate darcy --n 48 --seed 1`, `[darcy] resolution = 64`).
# MgNO runs without burn's fusion layer, FNO with it; MgNO once more with OPLAB_CUDA_BACKEND=fusion
# to compare the loss curves, and a resume. The binary links HDF5: the Debian shared libraries it
# needs travel in lib/.
set -u
cd "$(dirname "$0")"
export LD_LIBRARY_PATH=$PWD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
t0=$(date +%s)
part() { echo; echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
train() { local out=$1; shift; timeout 150 ./oplab train "$@" --data darcy.h5 --config train.toml --device cuda --out runs/$out -q 2>&1 | tail -5; cat runs/$out/metrics.jsonl; }
{
  ./oplab --version
  part "MgNO, 3 epochs (backend without fusion)"; train mgno mgno
  part "MgNO eval"; timeout 60 ./oplab eval --run runs/mgno --data darcy.h5 --device cuda 2>&1 | tail -6
  part "MgNO resumed to 5 epochs"; timeout 150 ./oplab train mgno --data darcy.h5 --config train.toml --device cuda --out runs/mgno --resume --epochs 5 -q 2>&1 | tail -5; tail -2 runs/mgno/metrics.jsonl
  part "MgNO, 3 epochs, OPLAB_CUDA_BACKEND=fusion"; OPLAB_CUDA_BACKEND=fusion train mgno_fusion mgno
  part "FNO, 3 epochs (fusion)"; train fno fno
  part "FNO eval"; timeout 60 ./oplab eval --run runs/fno --data darcy.h5 --device cuda 2>&1 | tail -6
  part "done"
} > $OUT/train.md 2>&1
cat $OUT/train.md
