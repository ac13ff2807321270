#!/usr/bin/env python3
"""oplab against PyTorch on one GPU, in one device call: the PROSE training step.

Each round runs the PyTorch re-implementation (`torch_prose_step.py`: f32 with TF32 off, f32 with
TF32 on, bf16 autocast as the reference trains) and then oplab's (`gpu_bench --only prose`, f32,
on each of --devices), presets medium and paper, batch 256, fixed lengths (64 data samples, 128
queries, 25 symbol tokens, 35 decoder tokens). The sides alternate over --rounds; each record's
figures are the medians over the rounds, and it holds every round. Both sides print their
parameter counts, which must agree (the PyTorch script asserts its own against oplab's).

Records (family `operators`) go to $OUT/records.jsonl (--out overrides), the raw tables to
$OUT/prose_side_by_side.md. On the development machine afterwards:
    python3 bench/record.py merge FILES_AT/records.jsonl && python3 bench/report.py

usage: BENCH_COMMIT=<hash> python3 bench/prose/gpu_side_by_side.py --gpu-bench target/dev/gpu_bench [--rounds 2]
"""
import argparse
import importlib.util
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "operators"))
import record  # noqa: E402
import tables  # noqa: E402


def _operators_side_by_side():
    """The MgNO/FNO driver's module (same file name as this one), for its command logger."""
    path = os.path.join(os.path.dirname(HERE), "operators", "gpu_side_by_side.py")
    spec = importlib.util.spec_from_file_location("operators_gpu_side_by_side", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Log = _operators_side_by_side().Log

MODES = {
    "f32": "TF32 off",
    "f32-tf32": "TF32 on",
    "bf16": "bf16 autocast, as the reference trains",
}


def rows(text):
    """{(preset, mode): (params, step ms)} from a PROSE step table (oplab's rows have no mode)."""
    out = {}
    for table in tables.tables(text):
        for row in table:
            if "preset" in row and "step ms" in row:
                step = tables.number(row["step ms"])
                if step == step:
                    out[(row["preset"], row.get("mode", "oplab"))] = (int(tables.number(row["params"])), step)
    return out


def main():
    p = argparse.ArgumentParser(description="oplab against PyTorch on one GPU: the PROSE training step")
    p.add_argument("--gpu-bench", required=True, help="gpu_bench built with --features cuda")
    p.add_argument("--presets", default="medium,paper")
    p.add_argument("--devices", default="cuda", help="oplab's backends: cuda (with burn's fusion), cuda-direct")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--step-limit", type=int, default=300, help="seconds per gpu_bench or torch_prose_step.py call")
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    args = p.parse_args()
    if args.rounds < 1 or args.reps < 1:
        p.error("--rounds and --reps must be at least 1")
    if not os.access(args.gpu_bench, os.X_OK):
        p.error(f"--gpu-bench {args.gpu_bench} is not an executable file")
    import torch  # the device machine has it

    os.makedirs(args.out, exist_ok=True)
    os.environ.setdefault("BENCH_RECORDS", os.path.join(args.out, "records.jsonl"))
    rec = record.Recorder("operators", "full", gpu=True)
    log = Log(os.path.join(args.out, "prose_side_by_side.md"))
    md5 = record.file_md5(args.gpu_bench)
    devices = [d for d in args.devices.split(",") if d]
    common = ["--reps", str(args.reps), "--warmup", "3"]
    torch_cmd = [sys.executable, "-u", os.path.join(HERE, "torch_prose_step.py"), "--device", "cuda",
                 "--presets", args.presets, "--batch", str(args.batch), *common]

    rounds = []  # per round: (torch rows, {device: oplab rows})
    for r in range(1, args.rounds + 1):
        theirs = rows(log.run(f"round {r}: PyTorch", torch_cmd, args.step_limit))
        ours = {}
        for device in devices:
            cmd = [args.gpu_bench, "--device", device, "--only", "prose", "--prose-presets", args.presets,
                   "--prose-batch", str(args.batch), *common]
            ours[device] = rows(log.run(f"round {r}: oplab {device}", cmd, args.step_limit))
        rounds.append((theirs, ours))

    for preset in [s for s in args.presets.split(",") if s]:
        for device in devices:
            for mode, what in MODES.items():
                pairs = [(t[(preset, mode)][1], o[device][(preset, "oplab")][1]) for t, o in rounds
                         if (preset, mode) in t and (preset, "oplab") in o[device]]
                if not pairs:
                    continue
                counts = {t[(preset, mode)][0] for t, _ in rounds if (preset, mode) in t}
                counts |= {o[device][(preset, "oplab")][0] for _, o in rounds if (preset, "oplab") in o[device]}
                if len(counts) != 1:
                    print(f"gpu_side_by_side: {preset}: parameter counts differ {sorted(counts)}", file=sys.stderr)
                    sys.exit(1)
                peer = statistics.median(t for t, _ in pairs)
                ours = statistics.median(o for _, o in pairs)
                problem = {"model": f"PROSE {preset}", "params": counts.pop(), "batch": args.batch,
                           "lengths": {"data": 64, "queries": 128, "symbols": 25, "decoder": 35},
                           "oplab_dtype": "f32", "peer_mode": mode}
                extra = {"backend": device, "gpu_bench_md5": md5, "reps": args.reps,
                         "rounds_peer_oplab_ms": [[round(t, 3), round(o, 3)] for t, o in pairs]}
                rec.add(f"PROSE {preset} training step, batch {args.batch}, oplab {device} f32 vs PyTorch {mode}",
                        "time per step", "ms", ours, peer=peer, peer_name=f"PyTorch {torch.__version__} ({what})",
                        threads=None, problem=problem, extra=extra)


if __name__ == "__main__":
    main()
