#!/usr/bin/env python3
"""The long unattended run of the reliability checks: one large `oplab generate` interrupted by
`kill -9` at random moments and resumed each time, whose data must equal, byte for byte, a
reference run of the same command with another thread count.

    python3 scripts/long-resume-check.py --oplab target/release/oplab --gib 20 --kills 3 --dir /big/disk

The problem is GRF at --resolution R (f32, R² × 4 bytes a sample); n is chosen for --gib. Steps:
1. the reference: `--threads 1`, timed; the SHA-256 of every dataset's data (read in slices) is
   kept and the file removed (generation needs about twice the file's size at its peak: the
   finished blocks plus the assembled file);
2. the interrupted run: `--threads T` (all cores), killed with SIGKILL after a random 10-30 %
   (seeded by --seed) of the time an uninterrupted run should take, --kills times, each time rerun with the same
   command, which resumes from the finished blocks; then left to finish;
3. the hashes compared; the file's `created` attribute is the only thing allowed to differ.

Prints one line per step (times, sizes, blocks finished at each kill) and exits 1 on a mismatch.
Needs h5py and numpy.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from data_digest import data_digests  # scripts/data_digest.py, beside this file


def blocks_finished(out):
    partial = out + ".partial"
    if not os.path.isdir(partial):
        return 0
    return sum(1 for e in os.listdir(partial) if e.endswith(".bin"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--oplab", required=True, help="the oplab binary")
    p.add_argument("--gib", type=float, default=20.0, help="size of the generated data in GiB (default 20)")
    p.add_argument("--resolution", type=int, default=512, help="GRF grid (default 512: 1 MiB a sample)")
    p.add_argument("--kills", type=int, default=3, help="kill -9 interruptions (default 3)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of the interrupted run (all cores)")
    p.add_argument("--seed", type=int, default=1, help="seed of the kill moments (default 1)")
    p.add_argument("--dir", required=True, help="working directory (needs about 2 × --gib free)")
    args = p.parse_args()
    if args.gib <= 0 or args.kills < 0 or args.resolution < 8:
        p.error("--gib must be > 0, --kills >= 0, --resolution >= 8")
    if args.threads == 1:
        p.error("--threads must differ from the reference's 1 thread")

    per_sample = args.resolution**2 * 4
    n = max(1, int(args.gib * 2**30 / per_sample))
    os.makedirs(args.dir, exist_ok=True)
    free = shutil.disk_usage(args.dir).free
    if free < 2.05 * n * per_sample:
        sys.exit(f"long-resume-check: {args.dir} has {free / 2**30:.1f} GiB free; a {args.gib} GiB run needs about "
                 f"{2.05 * n * per_sample / 2**30:.1f} GiB at its peak (blocks plus the assembled file)")
    base = [args.oplab, "generate", "grf", "--resolution", str(args.resolution), "--n", str(n), "--seed", "7", "-q"]
    print(f"grf {args.resolution}², n = {n:,}: {n * per_sample / 2**30:.2f} GiB of data", flush=True)

    ref = os.path.join(args.dir, "reference.h5")
    t0 = time.perf_counter()
    subprocess.run(base + ["--threads", "1", "--out", ref], check=True)
    t_ref = time.perf_counter() - t0
    size_ref = os.path.getsize(ref)
    want = data_digests(ref)
    os.remove(ref)
    print(f"reference (1 thread): {t_ref:.0f} s, file {size_ref / 2**30:.2f} GiB, {len(want)} datasets hashed", flush=True)

    out = os.path.join(args.dir, "interrupted.h5")
    cmd = base + ["--threads", str(args.threads), "--out", out]
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    for k in range(args.kills):
        child = subprocess.Popen(cmd)
        # 10-30 % of an uninterrupted run's expected time each, so all kills land before the end.
        delay = rng.uniform(0.1, 0.3) * t_ref / args.threads
        try:
            child.wait(timeout=delay)
            print(f"kill {k + 1}: the run finished before its kill at {delay:.1f} s", flush=True)
            break
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
        print(f"kill {k + 1}: SIGKILL after {delay:.1f} s, {blocks_finished(out)} blocks finished", flush=True)
    subprocess.run(cmd, check=True)
    t_run = time.perf_counter() - t0
    got = data_digests(out)
    size = os.path.getsize(out)
    os.remove(out)
    same = got == want
    print(f"interrupted run ({args.threads} threads, {args.kills} kills): {t_run:.0f} s in all, file {size / 2**30:.2f} GiB; "
          f"data {'byte-identical to' if same else 'DIFFERENT from'} the reference", flush=True)
    for name in sorted(set(want) | set(got)):
        if want.get(name) != got.get(name):
            print(f"  differs: {name}", flush=True)
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
