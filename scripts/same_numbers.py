#!/usr/bin/env python3
"""Same numbers before and after a change: run one fixed set of oplab commands with two binaries and
compare every output they write.

    python3 scripts/same_numbers.py BEFORE_BINARY AFTER_BINARY [--keep DIR] [--only NAME ...]

The set: every `oplab generate` problem (native layout, plus the fno and pdebench exports where a
problem has them), a 5-epoch CPU MgNO and FNO run with `oplab eval`, a short AL-RNN run with its
evaluation, and `oplab validate --quick`. Each command runs in its own directory per binary.

Compared:
- HDF5 files: every dataset (dtype, shape, bytes) and every attribute, except the two that name the
  writer and the moment (`oplab_version`, `created`);
- JSON and JSONL files: every value, except wall-clock fields (keys named seconds, elapsed, time or
  ending in _seconds/_ms/_s);
- burn records (`.mpk`) and oplab checkpoints (`OPLABCK1`/`OPLABCK2` framing of MessagePack records
  and a JSON state): every value, except burn's parameter ids (random per process) and wall-clock
  fields; a checkpoint's checksum and a kept model's seal (`OPLSUM01` trailer) are checked and
  dropped, as is the seal of a sealed JSON file (`{"fnv1a64": ..., "content": ...}`);
- TOML (stored configurations): every value of the "before" file; keys only the "after" file has
  (a new option, written out with its default) are listed but do not count as a difference;
- text (HTML, notes inside JSON): every character, except lines naming the oplab version or a date
  and "Wall time ... s." sentences;
- everything else (PNG/SVG figures): byte for byte.
Exit status 0 when everything matches, 1 otherwise (each difference is listed).

Needs h5py and numpy (make test installs them).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import h5py
import numpy as np

# name -> list of oplab argument lists, run in order in one directory.
MGNO_TOML = """epochs = 5
batch_size = 4
[data]
n_train = 16
n_val = 4
n_test = 4
[mgno]
channels = 8
layers = 2
levels = [[1, 1], [1, 1], [2, 0]]
"""
FNO_TOML = """model = "fno"
epochs = 5
batch_size = 4
[data]
n_train = 16
n_val = 4
n_test = 4
[fno]
width = 8
modes = [4, 4]
layers = 2
projection = 16
"""
ALRNN_TOML = """epochs = 4
batches_per_epoch = 5
batch_size = 8
seq_len = 40
[alrnn]
latent_dim = 10
relu_units = 2
[forcing]
tau = 8
[data]
skip = 500
obs_noise = 0.05
[eval]
every = 2
transient = 100
test_len = 1000
coding_len = 2000
"""

CASES = {
    "grf": [["generate", "grf", "--n", "6", "--resolution", "32", "--seed", "3", "--out", "grf.h5"]],
    "darcy": [
        ["generate", "darcy", "--n", "4", "--resolution", "33", "--seed", "3", "--out", "darcy.h5"],
        ["generate", "darcy", "--n", "4", "--resolution", "33", "--seed", "3", "--layout", "fno", "--out", "darcy.mat"],
        ["generate", "darcy", "--n", "4", "--resolution", "33", "--seed", "3", "--layout", "pdebench", "--out", "darcy.hdf5"],
    ],
    "poisson": [["generate", "poisson", "--n", "4", "--resolution", "33", "--seed", "3", "--out", "poisson.h5"]],
    "helmholtz": [["generate", "helmholtz", "--n", "3", "--resolution", "33", "--seed", "3", "--out", "helmholtz.h5"]],
    "burgers": [
        ["generate", "burgers", "--n", "3", "--resolution", "128", "--seed", "3", "--out", "burgers.h5"],
        ["generate", "burgers", "--n", "3", "--resolution", "128", "--seed", "3", "--layout", "pdebench", "--out", "burgers.hdf5"],
    ],
    "navier-stokes": [
        ["generate", "navier-stokes", "--n", "2", "--resolution", "32", "--subsample", "1", "--final-time", "0.5",
         "--record-times", "5", "--seed", "3", "--out", "ns.h5"],
        ["generate", "navier-stokes", "--n", "2", "--resolution", "32", "--subsample", "1", "--final-time", "0.5",
         "--record-times", "5", "--seed", "3", "--layout", "fno", "--out", "ns.mat"],
    ],
    "advection": [["generate", "advection", "--n", "3", "--seed", "3", "--out", "advection.h5"]],
    "reaction-diffusion": [["generate", "reaction-diffusion", "--n", "3", "--seed", "3", "--out", "reacdiff.h5"]],
    "ode": [["generate", "ode", "--system", "lorenz", "--n", "3", "--seed", "3", "--out", "lorenz.h5"]],
    "prose-ode": [["generate", "prose-ode", "--n", "12", "--seed", "3", "--out", "prose.h5"]],
    "mgno": [
        ["generate", "darcy", "--n", "24", "--resolution", "33", "--seed", "1", "--out", "d.h5"],
        ["train", "mgno", "--data", "d.h5", "--config", "mgno.toml", "--out", "run"],
        ["eval", "--run", "run", "--data", "d.h5"],
    ],
    "fno": [
        ["generate", "darcy", "--n", "24", "--resolution", "33", "--seed", "1", "--out", "d.h5"],
        ["train", "fno", "--data", "d.h5", "--config", "fno.toml", "--out", "run"],
        ["eval", "--run", "run", "--data", "d.h5"],
    ],
    "alrnn": [
        ["generate", "ode", "--system", "lorenz", "--n", "2", "--t-end", "40", "--resolution", "4001", "--out", "lorenz.h5"],
        ["train", "alrnn", "--data", "lorenz.h5", "--config", "alrnn.toml", "--out", "run"],
        ["eval", "--run", "run", "--data", "lorenz.h5"],
    ],
    "validate": [["validate", "--quick", "--out", "report"]],
}
CONFIG_FILES = {"mgno": ("mgno.toml", MGNO_TOML), "fno": ("fno.toml", FNO_TOML), "alrnn": ("alrnn.toml", ALRNN_TOML)}

VOLATILE_ATTRS = {"oplab_version", "created"}
TIME_KEY = re.compile(r"^(seconds|elapsed|time|wall|.*_seconds|.*_ms|.*_s)$")
VOLATILE_LINE = re.compile(r"oplab_version|\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|oplab \d+\.\d+\.\d+")


def run_case(binary, name, workdir):
    os.makedirs(workdir, exist_ok=True)
    if name in CONFIG_FILES:
        fname, text = CONFIG_FILES[name]
        with open(os.path.join(workdir, fname), "w") as f:
            f.write(text)
    for args in CASES[name]:
        res = subprocess.run([binary, *args, "-q"] if args[0] != "validate" else [binary, *args],
                             cwd=workdir, capture_output=True, text=True)
        # validate exits 1 when a check fails: that is an output to compare, not a harness error.
        if res.returncode not in (0, 1) or (res.returncode == 1 and args[0] != "validate"):
            raise RuntimeError(f"{binary} {' '.join(args)} (in {workdir}) exited {res.returncode}: {res.stderr.strip()[-500:]}")


def attr_value(f, v):
    """An attribute's value to compare. Object references (the dimension-scale attributes
    DIMENSION_LIST and REFERENCE_LIST) compare by the path they point to: their numpy bytes are
    pointers of this process."""
    if isinstance(v, (str, bytes)):
        return v
    a = np.asarray(v)
    if a.dtype == object or a.dtype.names:
        def named(x):
            if isinstance(x, h5py.Reference):
                return f[x].name
            if isinstance(x, np.ndarray):
                x = x.tolist()
            return [named(y) for y in x] if isinstance(x, (list, tuple)) else x
        return repr(named(a.tolist()))
    return a.tobytes()


def h5_items(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            for k, v in obj.attrs.items():
                if k not in VOLATILE_ATTRS:
                    out[f"{name}@{k}"] = ("attr", attr_value(f, v))
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                if isinstance(data, np.ndarray) and data.dtype == object:
                    data = repr(data.tolist())
                out[name] = ("data", str(obj.dtype), obj.shape, data.tobytes() if isinstance(data, np.ndarray) else repr(data))
        for k, v in f.attrs.items():
            if k not in VOLATILE_ATTRS:
                out[f"/@{k}"] = ("attr", attr_value(f, v))
        f.visititems(visit)
    return out


WALL_TIME = re.compile(r"[Ww]all time[^\n]*?\.(?=\s|$)|wall time [\d.]+ s|<td class=\"num\">[\d.]+</td></tr>")


def strip_times(value):
    if isinstance(value, dict):
        return {k: strip_times(v) for k, v in value.items() if not (isinstance(k, str) and TIME_KEY.match(k))}
    if isinstance(value, list):
        return [strip_times(v) for v in value]
    if isinstance(value, str):
        return WALL_TIME.sub("", value)
    return value


def msgpack_decode(buf):
    """The subset of MessagePack that burn's recorders write, decoded to Python values."""
    pos = 0

    def take(n):
        nonlocal pos
        pos += n
        return buf[pos - n:pos]

    def uint(n):
        return int.from_bytes(take(n), "big")

    def value():
        b = take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0x80 <= b <= 0x8F:
            return mapping(b & 0x0F)
        if 0x90 <= b <= 0x9F:
            return [value() for _ in range(b & 0x0F)]
        if 0xA0 <= b <= 0xBF:
            return take(b & 0x1F).decode()
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in simple:
            return simple[b]
        if b in (0xC4, 0xC5, 0xC6):
            return bytes(take(uint(1 << (b - 0xC4))))
        if b == 0xCA:
            return take(4)
        if b == 0xCB:
            return take(8)
        if 0xCC <= b <= 0xCF:
            return uint(1 << (b - 0xCC))
        if 0xD0 <= b <= 0xD3:
            return int.from_bytes(take(1 << (b - 0xD0)), "big", signed=True)
        if b in (0xD9, 0xDA, 0xDB):
            return take(uint(1 << (b - 0xD9))).decode()
        if b in (0xDC, 0xDD):
            return [value() for _ in range(uint(2 if b == 0xDC else 4))]
        if b in (0xDE, 0xDF):
            return mapping(uint(2 if b == 0xDE else 4))
        raise ValueError(f"MessagePack byte 0x{b:02x} at {pos - 1} is not handled")

    def mapping(n):
        return {value(): value() for _ in range(n)}

    return value()


def without_ids(value):
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def param_paths(value, path="", out=None):
    """burn's parameter id -> the parameter's place in the module record."""
    out = {} if out is None else out
    if isinstance(value, dict):
        if "id" in value and "param" in value:
            out[value["id"]] = path
        for k, v in value.items():
            param_paths(v, f"{path}/{k}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            param_paths(v, f"{path}[{i}]", out)
    return out


def renamed_keys(value, names):
    if isinstance(value, dict):
        return {names.get(k, k): renamed_keys(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed_keys(v, names) for v in value]
    return value


def record_values(raw):
    """A burn record or an oplab checkpoint, as comparable values. burn names parameters by a
    random id: the optimiser state, keyed by those ids, is re-keyed by the parameter's place."""
    if raw[-16:-8] == b"OPLSUM01":
        body = raw[:-16]
        if fnv1a64(body) != int.from_bytes(raw[-8:], "little"):
            raise ValueError("seal checksum mismatch")
        raw = body
    if raw[:8] == b"OPLABCK2":
        if fnv1a64(raw[:-8]) != int.from_bytes(raw[-8:], "little"):
            raise ValueError("checkpoint checksum mismatch")
        raw = b"OPLABCK1" + raw[8:-8]
    if raw[:8] == b"OPLABCK1":
        n, pos, parts = int.from_bytes(raw[8:16], "little"), 16, []
        for _ in range(n):
            size = int.from_bytes(raw[pos:pos + 8], "little")
            parts.append(raw[pos + 8:pos + 8 + size])
            pos += 8 + size
        decoded = [part_values(p) for p in parts]
        names = {}
        for d in decoded:
            param_paths(d, out=names)
        return [strip_times(without_ids(renamed_keys(d, names))) for d in decoded]
    return strip_times(without_ids(part_values(raw)))


def fnv1a64(raw):
    h = 0xCBF29CE484222325
    for b in raw:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def unsealed(value):
    """The content of a sealed JSON file (its checksum is checked by oplab when it reads it)."""
    if isinstance(value, dict) and set(value) == {"fnv1a64", "content"}:
        return value["content"]
    return value


def part_values(raw):
    if raw[:1] == b"{":
        return json.loads(raw)
    try:
        return msgpack_decode(raw)
    except (ValueError, UnicodeDecodeError, IndexError):
        return raw


def compare_file(a, b):
    """None when equal, else a short reason."""
    if h5py.is_hdf5(a):
        if not h5py.is_hdf5(b):
            return "HDF5 before, not after"
        x, y = h5_items(a), h5_items(b)
        if x.keys() != y.keys():
            return f"different objects: {sorted(set(x) ^ set(y))[:5]}"
        bad = [k for k in x if x[k] != y[k]]
        return f"differs in {bad[:5]}" if bad else None
    if a.endswith(".json"):
        with open(a) as f, open(b) as g:
            return None if strip_times(unsealed(json.load(f))) == strip_times(unsealed(json.load(g))) else "JSON values differ"
    if a.endswith(".jsonl"):
        with open(a) as f, open(b) as g:
            x = [strip_times(json.loads(l)) for l in f if l.strip()]
            y = [strip_times(json.loads(l)) for l in g if l.strip()]
        if x == y:
            return None
        first = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        return f"JSONL record {first + 1} differs"
    with open(a, "rb") as f, open(b, "rb") as g:
        x, y = f.read(), g.read()
    if x == y:
        return None
    if a.endswith(".toml"):
        flat = lambda t: flatten(tomllib.loads(t.decode()))
        x, y = flat(x), flat(y)
        changed = [k for k in x if k not in y or x[k] != y[k]]
        if changed:
            return f"TOML values differ at {changed[:5]}"
        added = sorted(set(y) - set(x))
        if added:
            NOTES.append(f"{a}: the after side adds {', '.join(added[:8])}{' ...' if len(added) > 8 else ''}")
        return None
    if a.endswith((".mpk", ".bin")):
        try:
            return None if record_values(x) == record_values(y) else "record values differ"
        except ValueError as e:
            return f"bytes differ and the record could not be decoded ({e})"
    if a.endswith((".html", ".toml", ".txt")):
        keep = lambda t: [WALL_TIME.sub("", l) for l in t.decode(errors="replace").splitlines() if not VOLATILE_LINE.search(l)]
        if keep(x) == keep(y):
            return None
    return f"bytes differ ({len(x)} vs {len(y)} bytes)"


NOTES = []


def flatten(table, prefix=""):
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def compare_dirs(a, b):
    problems = []
    files_a = {os.path.relpath(os.path.join(r, f), a) for r, _, fs in os.walk(a) for f in fs}
    files_b = {os.path.relpath(os.path.join(r, f), b) for r, _, fs in os.walk(b) for f in fs}
    # A checksum sidecar (`config.toml.sha256`) follows its file's exact bytes, and the file itself
    # is compared (a stored config may legitimately gain keys), so the sidecar is not compared.
    derived = {rel for rel in files_a | files_b if rel.endswith(".sha256") and rel[: -len(".sha256")] in files_a | files_b}
    files_a, files_b = files_a - derived, files_b - derived
    for rel in sorted(files_a ^ files_b):
        problems.append(f"{rel}: only {'before' if rel in files_a else 'after'}")
    for rel in sorted(files_a & files_b):
        why = compare_file(os.path.join(a, rel), os.path.join(b, rel))
        if why:
            problems.append(f"{rel}: {why}")
    return problems, len(files_a & files_b)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--keep", help="keep the outputs in this directory")
    p.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these cases")
    args = p.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="oplab-same-numbers-")
    failed = 0
    for name in args.only or CASES:
        dirs = [os.path.join(root, side, name) for side in ("before", "after")]
        for binary, d in zip((args.before, args.after), dirs):
            shutil.rmtree(d, ignore_errors=True)
            run_case(os.path.abspath(binary), name, d)
        problems, n = compare_dirs(*dirs)
        status = "same" if not problems else "DIFFERENT"
        print(f"{name:20s} {status:9s} ({n} files compared)")
        for line in problems:
            print(f"    {line}")
        for note in NOTES:
            print(f"    note: {note.replace(root + os.sep, '')}")
        NOTES.clear()
        failed += bool(problems)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{len(args.only or CASES) - failed} of {len(args.only or CASES)} cases give the same numbers")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
