#!/usr/bin/env python3
"""The resolution protocol of issue 22 on one device: Darcy data, FNO/MgNO/U-Net/CNN trained at one
grid with one recipe, every model evaluated on every grid (`oplab eval --subsample`), one table.

Data: `oplab generate darcy` with FNO's coefficient (12/3 threshold of a GRF with α 2, τ 3, the
generator's defaults) and f = 1 on RESOLUTION² nodes (default 513), N_TRAIN + N_VAL + N_TEST samples
(1000/100/200). Runs: `[data] layout = "periodic"` (the last node row and column dropped, so the
grids are x_i = i/n: 512, 256, 128, 64, 32 from 513 nodes), trained at subsample TRAIN_SUBSAMPLE (4:
128²) with the same recipe for every model: oplab's defaults (H¹ loss, Adam 5e-4 with weight decay
1e-4, OneCycle, batch 8, scalar Gaussian normalisers, best model by validation error at the training
grid) and EPOCHS epochs. Then every model at every grid of SUBSAMPLES (plain, converted and
input-output interpolation for the convolutional nets from the same weights; FNO and MgNO as they
are plus io-interp).

No Rust on the device: pass a prebuilt oplab (built with the cuda feature) as --oplab. Each step
skips what a previous call finished (the data file, finished runs; an unfinished run resumes), so
the protocol can be split over several device calls with --steps (generate, train, eval, table) and
--models, as long as --work survives between them (a warm machine keeps ignored files of the tree).

Writes to --out ($OUT on the device): resolution_protocol.md (model × grid table: rel. L2, ratio to
the training-grid error, cross-grid gap; parameters, epochs and train time), sweeps.json (every
run's resolution_sweep.json and metrics, one file), each run's resolution_sweep.png, and
protocol.log (every command and its output): at most 7 files, which the device tool brings back.

--deadline bounds the wall time of one call: a training that would run past it is stopped (its
last finished epoch is checkpointed, so a later call with the same --work resumes it), and the
table says how many epochs each model has.

Timing (development machine, CPU, 2 shared cores): generating one 513² sample takes ~0.25 s on one
thread, so 1300 samples take ~25 s on 16 threads; the file is ~1.4 GB. If that or the training does
not fit one 10-minute call, lower --resolution (2^k + 1) or split with --steps / --models.

usage:
  python3 bench/operators/resolution_protocol.py --oplab ./oplab --device cuda --epochs 50 [--out $OUT]
  python3 bench/operators/resolution_protocol.py --oplab target/release/oplab --device cpu --tiny   # a quick CPU test
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

MODELS = ["fno", "mgno", "unet", "cnn"]
CONVOLUTIONAL = {"unet", "cnn"}


class Log:
    """Commands and their output, appended to one file and echoed briefly."""

    def __init__(self, path):
        self.path = path
        self.t0 = time.time()

    def run(self, cmd, check=True, timeout=None):
        header = f"$ {' '.join(cmd)}   (t = {time.time() - self.t0:.0f} s)"
        print(header, flush=True)
        start = time.time()
        try:
            done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
            output, code = done.stdout, done.returncode
        except subprocess.TimeoutExpired as stopped:
            output = (stopped.stdout or b"").decode(errors="replace") if isinstance(stopped.stdout, bytes) else (stopped.stdout or "")
            output += f"\n(stopped after {timeout:.0f} s: the deadline)"
            code = None
        wall = time.time() - start
        with open(self.path, "a") as fh:
            fh.write(f"{header}\n{output}\n(exit {code}, {wall:.1f} s)\n\n")
        if code is None:
            print(f"  stopped at the deadline after {wall:.0f} s", flush=True)
            return output, wall
        done = subprocess.CompletedProcess(cmd, code, output)
        if check and done.returncode != 0:
            sys.exit(f"command failed (exit {done.returncode}): {' '.join(cmd)}\n{done.stdout[-2000:]}")
        return done.stdout, wall


def config_toml(model, a):
    """The one recipe, with the model named; everything else is oplab's defaults."""
    lines = [
        f'model = "{model}"',
        f"epochs = {a.epochs}",
        "batch_size = 8",
        "[data]",
        f"n_train = {a.n_train}",
        f"n_val = {a.n_val}",
        f"n_test = {a.n_test}",
        f"subsample = {a.train_subsample}",
        'layout = "periodic"',
    ]
    return "\n".join(lines) + "\n"


def run_state(run_dir):
    """(epochs done, parameters, training seconds) from the run's metrics, or None."""
    metrics = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(metrics):
        return None
    rows = [json.loads(l) for l in open(metrics) if l.strip()]
    return len(rows), sum(r.get("seconds", 0.0) for r in rows)


def fmt(x, spec=".3e"):
    return "–" if x is None else format(x, spec)


def table(a, sweeps, trained):
    """The markdown report: one row per model variant, one column group per grid."""
    out = [
        "# Resolution protocol (issue 22)",
        "",
        f"Darcy, FNO coefficient (12/3 threshold of a GRF, α 2, τ 3), f = 1, {a.resolution}² nodes; "
        f"{a.n_train}/{a.n_val}/{a.n_test} train/val/test; periodic layout; trained at subsample {a.train_subsample} "
        f"with oplab's default recipe (H¹ loss, Adam 5e-4, OneCycle, batch 8, scalar normalisers), {a.epochs} epochs each, "
        f"device {a.device}. Cells: test rel. L2 (ratio to the training-grid error); gap: cross-grid gap "
        "‖G_n(a)[::2] − G_{n/2}(a)‖/‖G_{n/2}(a)‖ to the next coarser grid.",
        "",
    ]
    grids = None
    for s in sweeps.values():
        grids = [g["grid"][1] for g in s["variants"][0]["grids"]]
        break
    if grids is None:
        return "\n".join(out + ["(no sweep results)"]) + "\n"
    head = ["variant", "parameters", "epochs", "train s"] + [f"n = {n}" for n in grids] + [f"gap {n}/{n // 2}" for n in grids[:-1]]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for model, s in sweeps.items():
        epochs, seconds = trained.get(model, (None, None))
        for v in s["variants"]:
            by = {g["grid"][1]: g for g in v["grids"]}
            cells = [v["name"], str(s["params"]), str(epochs or "–"), fmt(seconds, ".0f")]
            for n in grids:
                g = by.get(n)
                cells.append("–" if g is None else f"{g['rel_l2']:.4f} ({g['ratio_to_train']:.2f})")
            for n in grids[:-1]:
                gap = (by.get(n) or {}).get("gap_to_coarser")
                cells.append("–" if gap is None else f"{gap['mean']:.2e}")
            out.append("| " + " | ".join(cells) + " |")
    notes = sorted({n for s in sweeps.values() for n in s.get("notes", [])})
    if notes:
        out += [""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--oplab", required=True, help="the oplab binary")
    p.add_argument("--device", default="cuda", help="cpu or cuda")
    p.add_argument("--out", default=os.environ.get("OUT", "protocol_out"), help="report folder [$OUT]")
    p.add_argument("--work", default="protocol_work", help="data and run directories (kept between calls)")
    p.add_argument("--resolution", type=int, default=513, help="solver nodes per side, 2^k + 1")
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-val", type=int, default=100)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--train-subsample", type=int, default=4)
    p.add_argument("--subsamples", default="1,2,4,8,16")
    p.add_argument("--epochs", type=int, default=50, help="the same for every model")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--steps", default="generate,train,eval,table")
    p.add_argument("--threads", type=int, default=0, help="generator threads (0: one per core)")
    p.add_argument("--deadline", type=float, default=0, help="wall seconds for this call (0: none); trainings stop in time for the evaluations")
    p.add_argument("--eval-reserve", type=float, default=60, help="seconds kept per model for its evaluation under --deadline")
    p.add_argument("--tiny", action="store_true", help="a CPU smoke test: 65² nodes, 24/4/4 samples, 2 epochs, subsamples 1,2,4")
    a = p.parse_args()
    if a.tiny:
        a.resolution, a.n_train, a.n_val, a.n_test, a.epochs, a.train_subsample, a.subsamples = 65, 24, 4, 4, 2, 2, "1,2,4"
    models = [m for m in a.models.split(",") if m]
    for m in models:
        if m not in MODELS:
            sys.exit(f"--models: {m} is not one of {', '.join(MODELS)}")
    steps = set(a.steps.split(","))
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.work, exist_ok=True)
    log = Log(os.path.join(a.out, "protocol.log"))
    data = os.path.join(a.work, f"darcy_{a.resolution}.h5")
    n = a.n_train + a.n_val + a.n_test

    if "generate" in steps:
        cmd = [a.oplab, "generate", "darcy", "--n", str(n), "--resolution", str(a.resolution), "--forcing", "1", "--out", data, "-q"]
        if a.threads:
            cmd += ["--threads", str(a.threads)]
        log.run(cmd)

    trained = {}
    for model in models:
        run_dir = os.path.join(a.work, f"run_{model}")
        cfg = os.path.join(a.work, f"{model}.toml")
        if "train" in steps:
            with open(cfg, "w") as fh:
                fh.write(config_toml(model, a))
            state = run_state(run_dir)
            if state is None and os.path.isdir(run_dir):
                # Stopped before its first epoch finished: nothing to resume.
                shutil.rmtree(run_dir)
            if state is None or state[0] < a.epochs:
                cmd = [a.oplab, "train", model, "--data", data, "--config", cfg, "--out", run_dir, "--device", a.device, "-q"]
                if state is not None:
                    cmd.append("--resume")
                timeout = None
                if a.deadline:
                    left_models = len(models) - models.index(model)
                    timeout = a.deadline - (time.time() - log.t0) - a.eval_reserve * left_models
                    if timeout < 30:
                        print(f"  {model}: no time left before the deadline; not trained", flush=True)
                        continue
                log.run(cmd, timeout=timeout)
        state = run_state(run_dir)
        if state is not None:
            trained[model] = state
        if "eval" in steps and state is not None:
            cmd = [a.oplab, "eval", "--run", run_dir, "--data", data, "--subsample", a.subsamples, "--io-interp", "--device", a.device, "-q"]
            if model in CONVOLUTIONAL:
                cmd += ["--convert", "both"]
            timeout = a.deadline - (time.time() - log.t0) - 10 if a.deadline else None
            if timeout is not None and timeout < 10:
                print(f"  {model}: no time left before the deadline; not evaluated", flush=True)
                continue
            text, _ = log.run(cmd, timeout=timeout)
            print(text, flush=True)

    if "table" in steps:
        sweeps, bundle = {}, {}
        for model in models:
            run_dir = os.path.join(a.work, f"run_{model}")
            path = os.path.join(run_dir, "resolution_sweep.json")
            if os.path.exists(path):
                sweeps[model] = json.load(open(path))
                metrics = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl")) if l.strip()]
                bundle[model] = {"sweep": sweeps[model], "metrics": metrics}
                shutil.copyfile(os.path.join(run_dir, "resolution_sweep.png"), os.path.join(a.out, f"{model}_resolution_sweep.png"))
        with open(os.path.join(a.out, "sweeps.json"), "w") as fh:
            json.dump(bundle, fh, indent=1)
        report = table(a, sweeps, trained)
        with open(os.path.join(a.out, "resolution_protocol.md"), "w") as fh:
            fh.write(report)
        print(report)


if __name__ == "__main__":
    main()
