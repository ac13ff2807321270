#!/usr/bin/env python3
"""The one recorder of oplab's benchmark suite: every entry appends its measurements through it.

A record is one JSON object per line of `bench/records.jsonl` (or of the file `$BENCH_RECORDS`
names):

    date      UTC time of the measurement, ISO 8601 ("2026-11-30T12:00:00Z")
    family    ode | pde | hpc | alrnn | operators
    case      what was measured, the same string run after run (the report keeps the latest
              record per family, case and machine)
    machine   {"host", "cpu", "cores", "gpu", "load"}: gpu is "name, driver" on device runs and
              null elsewhere; load is the 1-minute load average when the entry started
    command   the entry's command line
    commit    the git commit measured ("-dirty" appended when tracked files other than Markdown
              files and the records had changes), or
              $BENCH_COMMIT where the tree has no .git (the device machine)
    size      quick | full (BENCH_SIZE or the entry's --size)
    threads   threads per side (MPI ranks for the scaling rows)
    problem   the problem's size and parameters
    metric, unit, better   what the figures are ("time per trajectory", "s", "lower")
    oplab     oplab's figure
    peer, peer_name        the peer's figure on the same problem, and what the peer is (null
              where the case has no peer)
    speedup   how many times faster oplab is: peer / oplab for times, oplab / peer for rates
    extra     what the entry measured alongside (counts, residuals, agreement, CPU times, rounds)
    source    only in records carried over from the earlier hand-written report: where the
              number was written down

Command line: `python3 bench/record.py merge FILE...` appends the records of other files (a
device run's `$OUT/records.jsonl`) to the records file, skipping lines it already holds.
"""

import argparse
import datetime
import hashlib
import importlib.util
import json
import os
import platform
import resource
import shlex
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = ("quick", "full")


def records_path():
    return os.environ.get("BENCH_RECORDS") or os.path.join(ROOT, "bench", "records.jsonl")


def ensure(*packages):
    """Imports each module, installing the missing ones with pip first. Items are module names or
    (module, pip name) pairs."""
    missing = []
    for item in packages:
        module, pip_name = item if isinstance(item, tuple) else (item, item)
        if importlib.util.find_spec(module) is None:
            missing.append(pip_name)
    if missing:
        print(f"bench: installing {' '.join(missing)} with pip", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *missing])


def add_size_argument(parser):
    """--size quick|full, defaulting to $BENCH_SIZE, else quick."""
    default = os.environ.get("BENCH_SIZE", "quick")
    if default not in SIZES:
        sys.exit(f"bench: BENCH_SIZE={default} must be quick or full")
    parser.add_argument("--size", choices=SIZES, default=default,
                        help="quick (the `make bench` size) or full (the canonical problem sizes)")


def oplab_binary(path=None):
    """The release `oplab` binary: the given path, $OPLAB_BIN, or the cargo target directory's."""
    path = path or os.environ.get("OPLAB_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "oplab")
    if not os.path.isfile(path):
        sys.exit(f"bench: no oplab binary at {path}; build it with `make build` "
                 "(cargo build --release --features mpi) or set OPLAB_BIN")
    return os.path.abspath(path)


def build_example(package, example, *features):
    """Builds a release example with cargo and returns the binary's path."""
    cmd = ["cargo", "build", "--release", "-q", "-p", package, "--example", example]
    if features:
        cmd += ["--features", ",".join(features)]
    subprocess.run(cmd, cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "examples", example)


def timed(cmd, **kwargs):
    """Runs a command to completion; returns (wall seconds, CPU seconds of the child, stdout).
    The CPU time (user + system, from the children's rusage) is steadier than the wall time on a
    machine that other jobs share."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, **kwargs).stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def peak_rss(cmd, **kwargs):
    """Runs a command to completion; returns (peak resident memory of that process in MiB, wall
    seconds). The peak is the kernel's high-water mark for the one child (wait4's rusage), so
    earlier children do not mask it."""
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, **kwargs)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, cmd)
    return usage.ru_maxrss / 1024, wall


def file_md5(path):
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()[:12]


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()
    except (OSError, subprocess.CalledProcessError):
        return None
    return out[0].strip() if out else None


def machine(gpu=False):
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"host": socket.gethostname(), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "gpu": _gpu() if gpu else None, "load": None if load is None else round(load, 2)}


def machine_key(m):
    """How the report tells machines apart: the GPU for device runs, else the CPU and its cores
    (host names of virtual machines change from one session to the next)."""
    return m["gpu"].split(",")[0] if m.get("gpu") else f"{m['cpu']}, {m['cores']} cores"


def commit():
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        # The suite's own outputs and prose (Markdown) do not make the measured code dirty.
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                 ":!bench/records.jsonl", ":!*.md"],
                                cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if status else "")


def command_line():
    """The entry's command line as a user would type it from the repository root."""
    argv = [os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:]
    prefix = f"BENCH_SIZE={os.environ['BENCH_SIZE']} " if "BENCH_SIZE" in os.environ else ""
    return prefix + "python3 " + " ".join(shlex.quote(a) for a in argv)


def speedup(oplab, peer, better):
    if oplab is None or peer is None or oplab == 0 or peer == 0:
        return None
    return peer / oplab if better == "lower" else oplab / peer


class Recorder:
    """Appends one record per `add` call; the shared fields are taken once per entry run."""

    def __init__(self, family, size, gpu=False):
        self.family = family
        self.size = size
        self.machine = machine(gpu)
        self.commit = commit()
        self.command = command_line()
        self.path = records_path()

    def add(self, case, metric, unit, oplab, *, better="lower", peer=None, peer_name=None, threads=1,
            problem=None, extra=None):
        rec = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "family": self.family, "case": case, "machine": self.machine, "command": self.command,
            "commit": self.commit, "size": self.size, "threads": threads, "problem": problem or {},
            "metric": metric, "unit": unit, "better": better, "oplab": oplab, "peer": peer,
            "peer_name": peer_name, "speedup": speedup(oplab, peer, better), "extra": extra or {},
        }
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "a") as fh:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        s = rec["speedup"]
        print(f"[{self.family}] {case}: oplab {oplab:.4g} {unit}"
              + (f", {peer_name} {peer:.4g} {unit}, speed-up {s:.2f}x" if s is not None else ""), flush=True)
        return rec


def read(path=None):
    """The records of a file, in the order written (the last of a case is its latest)."""
    path = path or records_path()
    if not os.path.isfile(path):
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def merge(files):
    path = records_path()
    have = {json.dumps(r, sort_keys=True) for r in read(path)}
    added = 0
    with open(path, "a") as out:
        for name in files:
            for rec in read(name):
                key = json.dumps(rec, sort_keys=True)
                if key not in have:
                    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    have.add(key)
                    added += 1
    print(f"record: {added} new records appended to {os.path.relpath(path)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="verb", required=True)
    m = sub.add_parser("merge", help="append the records of other files (e.g. a device run's records.jsonl)")
    m.add_argument("files", nargs="+")
    args = p.parse_args()
    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        print(f"record: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    merge(args.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
