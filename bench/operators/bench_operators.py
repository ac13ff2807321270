#!/usr/bin/env python3
"""Neural operators on the CPU: training-step times, and the Darcy training protocols.

steps     MgNO (Darcy-rough layout, 572,661 parameters) and FNO (width 32, 12 modes, 2,368,001
          parameters) training steps (forward, relative L2, backward, Adam), batch 8, f32, on
          burn's CPU backend with the CPU's default convolution backward (`gpu_bench --device cpu
          --paths tuned`, operators/examples/gpu_bench.rs). PyTorch's CPU step on the same shapes
          and thread count (`torch_step.py --device cpu`) is the peer when torch is importable, or
          when BENCH_TORCH=1 asks this script to pip-install it (a large download, so not by default).
protocol  Darcy training protocols through the `oplab` command line (generate, train, eval on the
          test split), the same recipe for every model, best checkpoint chosen on the validation
          split:
          darcy64      64² nodes, 200 / 50 / 50 samples, MgNO (572,661 parameters) vs FNO (width 16,
                       12×12 modes, 593,281 parameters), relative-H1 loss, Adam 1e-3, weight decay
                       1e-4, OneCycle per epoch, batch 8 (`cpu_darcy64_{mgno,fno}.toml`); 50 epochs
                       at the full size, 2 at the quick one.
          darcy-rough  MgNO's Darcy-rough recipe (`darcy_rough.toml` data: GRF alpha 2, tau 5 on
                       512², stored at 256², 1224 samples; `mgno_gpu.toml`: 1000 / 112 / 112, Adam
                       5e-4, OneCycle, relative-H1 loss), meant for a GPU: `--device cuda` with a
                       CUDA build of oplab (`make cuda`). A device call is limited to 10 min,
                       so `--work DIR --epochs E` keeps the data and the run, and a later call with
                       `--resume` extends it.

usage (repository root):
  python3 bench/operators/bench_operators.py [--size quick|full] [--parts steps,protocol] [--threads T]
  python3 bench/operators/bench_operators.py --parts protocol --recipe darcy-rough --device cuda \\
      --oplab PATH --work DIR --epochs 17 [--resume]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import record  # noqa: E402
import tables  # noqa: E402

MODELS = {"mgno": "MgNO Darcy-rough (4 layers, 24 ch, 6 levels)", "fno": "FNO (4 layers, width 32, 12 modes)"}

# recipe: generate options, n, {model: config}, epochs at the full and the quick size.
RECIPES = {
    "darcy64": (["--resolution", "64"], 300,
                {"mgno": "cpu_darcy64_mgno.toml", "fno": "cpu_darcy64_fno.toml"}, 50, 2),
    "darcy-rough": (["--config", os.path.join(HERE, "darcy_rough.toml")], 1224, {"mgno": "mgno_gpu.toml"}, 34, 2),
}


def torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        if os.environ.get("BENCH_TORCH") == "1":
            record.ensure("torch")
            return True
        return False


def steps(rec, size, threads):
    sizes = "32,64" if size == "quick" else "64,128"
    reps = "3" if size == "quick" else "5"
    gpu_bench = record.build_example("oplab-operators", "gpu_bench")
    opts = ["--only", "steps", "--sizes", sizes, "--step-batch", "8", "--warmup", "1", "--reps", reps]
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    oplab_out = subprocess.run([gpu_bench, "--device", "cpu", "--paths", "tuned", *opts], check=True, env=env,
                               stdout=subprocess.PIPE, text=True).stdout
    ours, params = tables.step_times(oplab_out, "tuned ms"), tables.step_params(oplab_out)
    peer, peer_name = {}, None
    if torch_available():
        import torch
        torch_out = subprocess.run([sys.executable, os.path.join(HERE, "torch_step.py"), "--device", "cpu", *opts],
                                   check=True, env=env, stdout=subprocess.PIPE, text=True).stdout
        peer, peer_name = tables.step_times(torch_out, "torch ms"), f"PyTorch {torch.__version__} CPU"
    else:
        print("bench_operators: torch is not installed: CPU steps without a peer (BENCH_TORCH=1 installs it)",
              file=sys.stderr)
    for (model, n), ms in sorted(ours.items(), key=lambda item: (item[0][0] != "mgno", item[0][1])):
        rec.add(f"{MODELS[model]} training step {n}², batch 8, CPU", "time per step", "ms", ms,
                peer=peer.get((model, n)), peer_name=peer_name if (model, n) in peer else None, threads=threads,
                problem={"model": model, "grid": n, "batch": 8, "params": params.get(model)},
                extra={"conv_backward": "tuned (CPU default)", "reps": int(reps)})


def protocol(rec, args):
    gen, n, configs, full_epochs, quick_epochs = RECIPES[args.recipe]
    epochs = args.epochs or (full_epochs if args.size == "full" else quick_epochs)
    oplab = record.oplab_binary(args.oplab)
    env = {**os.environ, "RAYON_NUM_THREADS": str(args.threads)}
    with tempfile.TemporaryDirectory(prefix="oplab-bench-operators-") as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        data = os.path.join(work, f"{args.recipe}.h5")
        if not os.path.isfile(data):
            record.timed([oplab, "generate", "darcy", *gen, "--n", str(n), "--seed", "1", "--out", data, "-q"], env=env)
        for model, config in configs.items():
            run = os.path.join(work, model)
            cmd = [oplab, "train", model, "--data", data, "--config", os.path.join(HERE, config), "--epochs", str(epochs),
                   "--device", args.device, "--out", run, "--quiet"]
            wall, cpu, _ = record.timed(cmd + (["--resume"] if args.resume else []), env=env)
            record.timed([oplab, "eval", "--run", run, "--data", data, "--device", args.device, "--quiet"], env=env)
            with open(os.path.join(run, "eval.json")) as fh:
                ev = json.load(fh)
            with open(os.path.join(run, "metrics.jsonl")) as fh:
                metrics = [json.loads(line) for line in fh if line.strip()]
            per_epoch = sorted(m["seconds"] for m in metrics)
            rec.add(f"{args.recipe} protocol, {model}, {len(metrics)} epochs, {args.device}", "test rel. L2", "",
                    ev["mean_l2"], threads=args.threads if args.device == "cpu" else None,
                    problem={"recipe": args.recipe, "samples": n, "epochs": len(metrics), "config": config,
                             "device": args.device},
                    extra={"test_h1": ev["mean_h1"], "test_samples": ev["n"],
                           "best_epoch": min(metrics, key=lambda m: m["val_l2"])["epoch"],
                           "median_epoch_s": per_epoch[len(per_epoch) // 2], "train_wall_s": wall,
                           "train_cpu_s": cpu, "resumed": args.resume})


def main():
    p = argparse.ArgumentParser(description="neural operators on the CPU: training steps and training protocols")
    record.add_size_argument(p)
    p.add_argument("--parts", default="steps,protocol", help="comma-separated: steps, protocol")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads on both sides (all cores)")
    p.add_argument("--recipe", default="darcy64", choices=sorted(RECIPES))
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the protocol trains")
    p.add_argument("--epochs", type=int, help="override the recipe's epochs (with --resume: extend to this many)")
    p.add_argument("--work", help="keep the protocol's data and runs here (default: a temporary folder)")
    p.add_argument("--resume", action="store_true", help="continue the runs in --work")
    p.add_argument("--oplab", help="the oplab binary (default: $OPLAB_BIN or the release build)")
    args = p.parse_args()
    parts = args.parts.split(",")
    if any(part not in ("steps", "protocol") for part in parts):
        p.error(f"--parts {args.parts} must list steps and/or protocol")
    if args.threads < 1:
        p.error(f"--threads {args.threads} must be at least 1")
    if args.resume and not args.work:
        p.error("--resume needs --work, the folder of the runs to continue")
    rec = record.Recorder("operators", args.size, gpu=args.device == "cuda")
    if "steps" in parts:
        steps(rec, args.size, args.threads)
    if "protocol" in parts:
        protocol(rec, args)


if __name__ == "__main__":
    main()
