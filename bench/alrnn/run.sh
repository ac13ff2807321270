#!/usr/bin/env bash
# AL-RNN acceptance runs (bench/RESULTS.md, section "AL-RNN"): Lorenz-63 (P = 2) and Rössler (P = 1).
# usage: bench/alrnn/run.sh [OPLAB_BINARY] [WORK_DIR]   (default: target/release/oplab, /tmp/alrnn)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oplab=${1:-target/release/oplab}
work=${2:-/tmp/alrnn}
mkdir -p "$work"
oplab=$(realpath "$oplab")
cd "$work"
# Two trajectories per system (sample 0 trains, sample 1 is the unseen test series), 1000 transient steps
# dropped by the configs' data.skip: Lorenz Δt = 0.01, Rössler Δt = 0.08, 100001 steps kept.
"$oplab" generate ode --system lorenz --params 10,28,2.6666666666666665 --n 2 --t-end 1010 --resolution 101001 \
    --method dop853 --rtol 1e-10 --atol 1e-10 --seed 1 --out lorenz.h5 -q --force
"$oplab" generate ode --system rossler --params 0.2,0.2,5.7 --n 2 --t-end 8080 --resolution 101001 \
    --method dop853 --rtol 1e-10 --atol 1e-10 --seed 1 --out rossler.h5 -q --force
for sys in lorenz rossler; do
    rm -rf "${sys}_run"
    /usr/bin/time -v "$oplab" train alrnn --data "$sys.h5" --config "$here/$sys.toml" --out "${sys}_run" 2> "${sys}_train.log"
    grep -E "trained|User time|System time|Percent|Elapsed" "${sys}_train.log"
    "$oplab" eval --run "${sys}_run" --data "$sys.h5"
done
python3 "$here/floor.py" lorenz.h5 1000
python3 "$here/floor.py" rossler.h5 1000
