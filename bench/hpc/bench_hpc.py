#!/usr/bin/env python3
"""Dataset generation throughput: whole `oplab generate` runs (sampling, solving, HDF5 writing, f32)
on a fixed number of threads, then MPI strong scaling over 1, 2, 4, ... ranks.

1. Throughput (samples/s) of every problem at its canonical size on --threads threads (default: all
   cores), seed 1, progress off. Each record also carries the process's CPU seconds and the
   CPU-based rate threads * n / CPU seconds: what the rate would be with the threads' cores to
   itself (steadier on a shared machine, but blind to waits on the single HDF5 writer).
   Navier-Stokes runs FNO's 256² problem (nu = 1e-3, dt = 1e-4) to T = 2 (full) or T = 0.2 (quick)
   instead of FNO's T = 50: the cost is linear in the steps.
2. MPI strong scaling (`mpirun -n K oplab generate ... --threads 1`, merged finish): Darcy at FNO's
   421² and Navier-Stokes 256² for 1000 steps of dt = 1e-4; wall time includes mpirun's start-up and
   rank 0's final HDF5 assembly. Needs an oplab built with `--features mpi` (`make build`) and
   OpenMPI's mpirun; skipped with a message otherwise.
3. Memory against n: peak resident memory of `oplab generate grf --resolution 128` at two sample
   counts ten times apart (full: 10,000 and 100,000; quick: 1,000 and 10,000), and of `oplab merge`
   of 16 shards of each; generation streams blocks and merge copies in chunks, so the peaks should
   not grow with n. The full size writes 6.6 GB (13 GB on disk at the peak: blocks plus the file).

usage (repository root): python3 bench/hpc/bench_hpc.py [--size quick|full] [--threads T] [--max-ranks K]
                         [--parts throughput,scaling,memory]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import record  # noqa: E402

# name, (full n, quick n), problem and its options. Sample counts keep each quick run to seconds.
THROUGHPUT = [
    ("darcy 421²", (64, 16), ["darcy", "--resolution", "421"]),
    ("darcy 421² stored at 211²", (64, 16), ["darcy", "--resolution", "421", "--subsample", "2"]),
    ("poisson 211²", (512, 128), ["poisson", "--resolution", "211"]),
    ("helmholtz 101²", (256, 64), ["helmholtz", "--resolution", "101"]),
    ("burgers 8192 stored at 1024", (8, 2), ["burgers", "--resolution", "8192", "--subsample", "8"]),
    ("advection 1024", (512, 128), ["advection", "--resolution", "1024"]),
    ("reaction-diffusion 1024", (512, 128), ["reaction-diffusion", "--resolution", "1024"]),
    ("grf 421²", (512, 128), ["grf", "--resolution", "421"]),
]
NS_FINAL_TIME = {"full": "2", "quick": "0.2"}

SCALING = [
    ("darcy 421²", (16, 8), ["darcy", "--resolution", "421"]),
    ("navier-stokes 256², 1000 steps", (4, 2),
     ["navier-stokes", "--resolution", "256", "--final-time", "0.1", "--record-times", "1", "--time-step", "1e-4",
      "--subsample", "4"]),
]


def throughput(rec, oplab, size, threads, work):
    quick = size == "quick"
    rows = list(THROUGHPUT)
    t_end = NS_FINAL_TIME[size]
    rows.insert(5, (f"navier-stokes 256² stored at 64², T={t_end}", (4, 2),
                    ["navier-stokes", "--resolution", "256", "--subsample", "4", "--final-time", t_end,
                     "--record-times", "2"]))
    for name, ns, args in rows:
        n = ns[1] if quick else ns[0]
        load = os.getloadavg()[0]
        wall, cpu, _ = record.timed([oplab, "generate", *args, "--n", str(n), "--threads", str(threads), "--seed", "1",
                                     "-q", "--force", "--out", os.path.join(work, "throughput.h5")])
        rec.add(f"generate {name}", "samples per second", "1/s", n / wall, better="higher", threads=threads,
                problem={"command": "oplab generate " + " ".join(args), "n": n},
                extra={"wall_s": wall, "cpu_s": cpu, "cpu_based_rate": threads * n / cpu, "load_before": load})


def scaling(rec, oplab, size, max_ranks, work):
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        print("bench_hpc: no mpirun on PATH: MPI scaling skipped (scripts/install-deps.sh installs OpenMPI)",
              file=sys.stderr)
        return
    ranks = [1]
    while ranks[-1] * 2 <= max_ranks:
        ranks.append(ranks[-1] * 2)
    for name, ns, args in SCALING:
        n = ns[1] if size == "quick" else ns[0]
        base = None
        for k in ranks:
            cmd = [mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", str(k), oplab,
                   "generate", *args, "--n", str(n), "--threads", "1", "--block-size", "1", "--quiet", "--force",
                   "--out", os.path.join(work, f"scaling-{k}.h5")]
            try:
                wall, cpu, _ = record.timed(cmd)
            except subprocess.CalledProcessError as e:
                print(f"bench_hpc: {' '.join(cmd)} failed ({e.returncode}); is oplab built with --features mpi?",
                      file=sys.stderr)
                return
            rate = n / wall
            base = base or rate
            rec.add(f"MPI generate {name}, {k} ranks", "samples per second", "1/s", rate, better="higher", threads=k,
                    problem={"command": "mpirun -n K oplab generate " + " ".join(args) + " --threads 1", "n": n,
                             "ranks": k},
                    extra={"wall_s": wall, "cpu_s": cpu, "speedup_over_1_rank": rate / base,
                           "parallel_efficiency": rate / base / k})


MEMORY_N = {"full": (10_000, 100_000), "quick": (1_000, 10_000)}
MEMORY_SHARDS = 16


def memory(rec, oplab, size, threads, work):
    gen = ["grf", "--resolution", "128", "--seed", "1", "--threads", str(threads), "-q", "--force"]
    peaks = {}
    for n in MEMORY_N[size]:
        out = os.path.join(work, "memory.h5")
        rss, wall = record.peak_rss([oplab, "generate", *gen, "--n", str(n), "--out", out])
        gib = os.path.getsize(out) / 2**30
        os.remove(out)
        peaks[("generate", n)] = rss
        parts = []
        for k in range(1, MEMORY_SHARDS + 1):
            part = os.path.join(work, f"part-{k}.h5")
            record.timed([oplab, "generate", *gen, "--n", str(n), "--shard", f"{k}/{MEMORY_SHARDS}", "--out", part])
            parts.append(part)
        merged = os.path.join(work, "merged.h5")
        merge_rss, merge_wall = record.peak_rss([oplab, "merge", *parts, "--out", merged, "-q", "--force"])
        for path in parts + [merged]:
            os.remove(path)
        peaks[("merge", n)] = merge_rss
        for what, peak, seconds in (("generate", rss, wall), (f"merge of {MEMORY_SHARDS} shards", merge_rss, merge_wall)):
            first = peaks[(what.split()[0], MEMORY_N[size][0])]
            rec.add(f"peak memory, {what} grf 128², n = {n:,}", "peak resident memory", "MiB", peak, threads=threads,
                    problem={"command": f"oplab generate {' '.join(gen[:3])} --n {n}", "n": n, "file_gib": gib},
                    extra={"wall_s": seconds, "ratio_to_smallest_n": peak / first})


def main():
    p = argparse.ArgumentParser(description="oplab's dataset generation throughput and MPI scaling")
    record.add_size_argument(p)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of the throughput runs (all cores)")
    p.add_argument("--max-ranks", type=int, default=os.cpu_count(), help="most MPI ranks (all cores)")
    p.add_argument("--oplab", help="the oplab binary (default: $OPLAB_BIN or the release build)")
    p.add_argument("--parts", default="throughput,scaling,memory",
                   help="comma-separated parts to run: throughput, scaling, memory (default: all)")
    p.add_argument("--work", help="directory for the generated files (default: a temporary one; the full "
                   "memory part needs about 14 GB free there)")
    args = p.parse_args()
    parts = args.parts.split(",")
    for part in parts:
        if part not in ("throughput", "scaling", "memory"):
            p.error(f"--parts: '{part}' is not one of throughput, scaling, memory")
    for name, v in (("--threads", args.threads), ("--max-ranks", args.max_ranks)):
        if v < 1:
            p.error(f"{name} {v} must be at least 1")
    oplab = record.oplab_binary(args.oplab)
    rec = record.Recorder("hpc", args.size)
    with tempfile.TemporaryDirectory(prefix="oplab-bench-hpc-", dir=args.work) as work:
        if "throughput" in parts:
            throughput(rec, oplab, args.size, args.threads, work)
        if "scaling" in parts:
            scaling(rec, oplab, args.size, args.max_ranks, work)
        if "memory" in parts:
            memory(rec, oplab, args.size, args.threads, work)


if __name__ == "__main__":
    main()
