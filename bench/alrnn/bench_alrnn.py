#!/usr/bin/env python3
"""AL-RNN dynamical-systems reconstruction: Lorenz-63 (P = 2) and Rössler (P = 1).

Data: `oplab generate ode` (dop853, rtol = atol = 1e-10), two trajectories from random initial
states; sample 0 trains, sample 1 is the test series never seen in training; 1000 transient steps
dropped by the configs' data.skip, 100,001 steps kept (Lorenz dt = 0.01, Rössler dt = 0.08).
Training: `oplab train alrnn` with `lorenz.toml` / `rossler.toml` beside this file (the reference's
settings/{lorenz63,rossler}.json: M = 20, RAdam with exponential decay, batches of 16 random
subsequences, sparse teacher forcing, model selection by D_stsp every 25 epochs); the quick size
trains fewer epochs. Evaluation: `oplab eval` (free run from the test series' first point: D_stsp
against the whole test series, D_H, 20-step prediction error, linear subregions used).
Each record carries the estimator floor of the same data (`floor.py`: D_stsp and D_H of true
10k-step segments), which no model can be expected to beat. There is no peer program.

usage (repository root): python3 bench/alrnn/bench_alrnn.py [--size quick|full] [--systems lorenz,rossler]
"""
import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import record  # noqa: E402

# system, oplab generate options, epochs at the full size (the config's) and at the quick size.
SYSTEMS = {
    "lorenz": (["--system", "lorenz", "--params", "10,28,2.6666666666666665", "--t-end", "1010"], 2000, 300),
    "rossler": (["--system", "rossler", "--params", "0.2,0.2,5.7", "--t-end", "8080"], 3000, 300),
}


def main():
    p = argparse.ArgumentParser(description="AL-RNN reconstruction of Lorenz-63 and Rössler")
    record.add_size_argument(p)
    p.add_argument("--systems", default="lorenz,rossler", help="comma-separated: lorenz, rossler")
    p.add_argument("--oplab", help="the oplab binary (default: $OPLAB_BIN or the release build)")
    args = p.parse_args()
    systems = args.systems.split(",")
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        p.error(f"--systems {unknown[0]} must be lorenz or rossler")
    record.ensure("numpy", "scipy", "h5py")
    import floor  # noqa: E402  (needs numpy, scipy and h5py)

    oplab = record.oplab_binary(args.oplab)
    rec = record.Recorder("alrnn", args.size)
    with tempfile.TemporaryDirectory(prefix="oplab-bench-alrnn-") as work:
        for name in systems:
            gen_args, full_epochs, quick_epochs = SYSTEMS[name]
            epochs = full_epochs if args.size == "full" else quick_epochs
            data = os.path.join(work, f"{name}.h5")
            run = os.path.join(work, f"{name}_run")
            config = os.path.join(HERE, f"{name}.toml")
            record.timed([oplab, "generate", "ode", *gen_args, "--n", "2", "--resolution", "101001", "--method", "dop853",
                          "--rtol", "1e-10", "--atol", "1e-10", "--seed", "1", "--out", data, "-q", "--force"])
            wall, cpu, _ = record.timed([oplab, "train", "alrnn", "--data", data, "--config", config,
                                         "--epochs", str(epochs), "--out", run, "-q"])
            _, _, summary = record.timed([oplab, "eval", "--run", run, "--data", data, "-q"])
            print(summary.strip())
            with open(os.path.join(run, "eval.json")) as fh:
                ev = json.load(fh)
            fl = floor.floor(data, 1000)
            binning = ev["binning"]
            other = "margin" if binning == "python" else "python"
            rec.add(f"{name}, {epochs} epochs", "training time", "s", wall, threads=os.cpu_count(),
                    problem={"system": name, "epochs": epochs, "config": os.path.relpath(config, record.ROOT),
                             "steps": 101001},
                    extra={"train_cpu_s": cpu, "best_epoch": ev["best_epoch"], f"dstsp_{binning}": ev["dstsp"],
                           f"dstsp_{other}": ev["dstsp_other_binning"], "dh": ev["dh"], f"pe{ev['pe_steps']}": ev["pe"],
                           "subregions": ev["n_subregions"], "diverged": ev["diverged"],
                           "floor_dstsp_python": fl["dstsp_python"], "floor_dstsp_margin": fl["dstsp_margin"],
                           "floor_dh": fl["dh"]})


if __name__ == "__main__":
    main()
