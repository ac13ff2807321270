#!/usr/bin/env python3
"""oplab against PyTorch on one GPU, in one device call: MgNO and FNO training steps, several rounds.

Each round runs PyTorch's steps (`torch_step.py`, cuDNN with its default TF32 convolutions) and
then oplab's (`gpu_bench`: MgNO on burn's CUDA backend without the fusion layer, `--device
cuda-direct`, FNO with it, `--device cuda`, as `oplab train` runs them), batch 8, f32, 64² and
256², median of --reps steps after 2 warm-ups. Host-bound steps on these machines move by 10-30 %
between runs, so the sides alternate and each case's record holds every round; its figures are
the medians over the rounds. Then PyTorch once more with TF32 off (`--strict-fp32`: oplab's kernels
are plain FP32), and oplab's fast-vs-stock gradient check on the backend MgNO trains on
(`--checks all` adds the MgNO loss curves and fused-vs-burn Adam).

Records go to $OUT/records.jsonl (the device machine's output folder; --out overrides), the raw
tables to $OUT/side_by_side.md. On the development machine afterwards:
    python3 bench/record.py merge FILES_AT/records.jsonl && python3 bench/report.py
The device copy of the tree has no .git: pass the commit as BENCH_COMMIT. bench/README.md has the
whole `run` call (build, strip, carry).

usage: BENCH_COMMIT=<hash> python3 bench/operators/gpu_side_by_side.py --gpu-bench PATH [--rounds 3] [--reps 10]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import record  # noqa: E402
import tables  # noqa: E402

NAMES = {"mgno": "MgNO Darcy-rough (4 layers, 24 ch, 6 levels)", "fno": "FNO (4 layers, width 32, 12 modes)"}
BACKEND = {"mgno": "cuda-direct", "fno": "cuda"}


class Log:
    """Every command's output, appended to one file (a device call returns at most 8 files)."""

    def __init__(self, path):
        self.path = path
        self.t0 = time.time()

    def run(self, title, cmd, limit):
        header = f"## {title} (t={time.time() - self.t0:.0f} s): {' '.join(cmd)}"
        print(header, flush=True)
        # Only stdout is parsed: gpu_bench prints its progress (warm-up calls, medians) on stderr,
        # and those lines between a table's header and its rows would split the table.
        try:
            done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=limit)
            text, progress, note = done.stdout, done.stderr, f"exit {done.returncode}"
        except subprocess.TimeoutExpired as e:
            text, progress = (x.decode() if isinstance(x, bytes) else (x or "") for x in (e.stdout, e.stderr))
            note = f"cut by its {limit} s limit"
        with open(self.path, "a") as fh:
            fh.write(f"{header}\n\n{text}\n### stderr\n\n{progress}\n({note})\n\n")
        print(f"   {note}", flush=True)
        return text


def main():
    p = argparse.ArgumentParser(description="oplab against PyTorch on one GPU: training steps in rounds")
    p.add_argument("--gpu-bench", required=True, help="gpu_bench built with --features cuda")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=10, help="timed steps per model and grid")
    p.add_argument("--sizes", default="64,256")
    p.add_argument("--checks", choices=["none", "gradients", "all"], default="gradients")
    p.add_argument("--step-limit", type=int, default=90, help="seconds per gpu_bench or torch_step.py call")
    p.add_argument("--out", default=os.environ.get("OUT", "."), help="folder of records.jsonl and the raw tables")
    args = p.parse_args()
    for name, v in (("--rounds", args.rounds), ("--reps", args.reps)):
        if v < 1:
            p.error(f"{name} {v} must be at least 1")
    if not os.access(args.gpu_bench, os.X_OK):
        p.error(f"--gpu-bench {args.gpu_bench} is not an executable file")
    import torch  # the device machine has it; it cannot be installed there (no network)

    os.makedirs(args.out, exist_ok=True)
    os.environ.setdefault("BENCH_RECORDS", os.path.join(args.out, "records.jsonl"))
    rec = record.Recorder("operators", "full", gpu=True)
    if rec.commit is None:
        print("gpu_side_by_side: no git here and no BENCH_COMMIT: records carry commit null", file=sys.stderr)
    log = Log(os.path.join(args.out, "side_by_side.md"))
    md5 = record.file_md5(args.gpu_bench)
    peer_name = f"PyTorch {torch.__version__} (cuDNN TF32 convolutions)"
    common = ["--only", "steps", "--sizes", args.sizes, "--reps", str(args.reps)]
    torch_cmd = [sys.executable, "-u", os.path.join(HERE, "torch_step.py"), "--device", "cuda", *common]

    rounds = []  # per round: (torch times, oplab times), each {(model, grid): ms}
    for r in range(1, args.rounds + 1):
        theirs = tables.step_times(log.run(f"round {r}: PyTorch", torch_cmd, args.step_limit), "torch ms")
        ours = {}
        for model, device in BACKEND.items():
            out = log.run(f"round {r}: oplab {model}", [args.gpu_bench, "--device", device, *common, "--models", model,
                                                          "--paths", "fast", "--warmup", "2"], args.step_limit)
            ours.update(tables.step_times(out, "fast ms"))
        rounds.append((theirs, ours))
    strict = tables.step_times(log.run("PyTorch, TF32 off", torch_cmd + ["--strict-fp32"], args.step_limit), "torch ms")

    keys = sorted({k for theirs, ours in rounds for k in ours}, key=lambda k: (k[0] != "mgno", k[1]))
    for key in keys:
        model, n = key
        pairs = [(theirs[key], ours[key]) for theirs, ours in rounds if key in theirs and key in ours]
        if not pairs:
            continue
        peer = statistics.median(t for t, _ in pairs)
        ours = statistics.median(o for _, o in pairs)
        speedups = [t / o for t, o in pairs]
        problem = {"model": model, "grid": n, "batch": 8, "dtype": "f32"}
        extra = {"backend": BACKEND[model], "gpu_bench_md5": md5, "reps": args.reps,
                 "rounds_peer_oplab_ms": [[round(t, 3), round(o, 3)] for t, o in pairs],
                 "speedup_range": [min(speedups), max(speedups)]}
        rec.add(f"{NAMES[model]} training step {n}², batch 8", "time per step", "ms", ours, peer=peer,
                peer_name=peer_name, threads=None, problem=problem, extra=extra)
        if key in strict:
            rec.add(f"{NAMES[model]} training step {n}², batch 8, PyTorch TF32 off", "time per step", "ms", ours,
                    peer=strict[key], peer_name=f"PyTorch {torch.__version__} (TF32 off)", threads=None,
                    problem=problem, extra={"backend": BACKEND[model], "gpu_bench_md5": md5, "reps": args.reps})

    checks = {"gradients": ["check"], "all": ["check", "curve", "adam"]}.get(args.checks, [])
    for mode in checks:
        sizes = [] if mode == "check" else ["--sizes", "64"]
        out = log.run(f"oplab {mode}", [args.gpu_bench, "--device", "cuda-direct", "--only", mode, *sizes], 150)
        worst = worst_difference(out, mode)
        if worst is not None:
            rec.add(f"GPU check: {CHECKS[mode][0]}", "worst relative difference", "", worst, threads=None,
                    problem={"device": "cuda-direct"},
                    extra={"tolerance": CHECKS[mode][1], "within": worst <= CHECKS[mode][1], "gpu_bench_md5": md5})


CHECKS = {
    "check": ("fast vs stock convolution gradients, MgNO's layers", 1e-4),
    "curve": ("MgNO loss curves, fast vs stock path, 20 Adam steps", 1e-3),
    "adam": ("fused Adam vs burn's Adam, 10 MgNO steps", 1e-4),
}


def worst_difference(text, mode):
    """The largest relative difference a check printed (NaN cells count as failures)."""
    values = []
    for table in tables.tables(text):
        for row in table:
            if mode == "check" and "d/dw" in row:
                values += [tables.number(row[c]) for c in ("output", "d/dx", "d/dw", "d/db")]
            elif mode == "curve" and "relative difference" in row:
                values.append(tables.number(row["relative difference"]))
            elif mode == "adam":
                values += [tables.number(v) for k, v in row.items() if k.startswith("‖fused")]
    if not values:
        return None
    return float("inf") if any(v != v for v in values) else max(values)


if __name__ == "__main__":
    main()
