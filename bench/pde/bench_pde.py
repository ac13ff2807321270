#!/usr/bin/env python3
"""PDE solvers: oplab against a numpy/scipy peer on the same problem, one thread each.

The Rust example `bench_pde` writes its input fields; this script solves exactly the same problem
in Python, checks that the answers agree, and records both timings (best of --repeats per side,
the sides alternating: the machine may be shared). BLAS/OpenMP threads are pinned to 1 before numpy
is imported; faer and rustfft run sequentially.

- darcy: FNO's 421² piecewise-constant Darcy problem, the same 5-point matrix; scipy's `spsolve`
  (SuperLU) against oplab's multigrid-PCG (the default Darcy solver) and its sparse Cholesky.
- ns: Navier-Stokes 256², nu = 1e-3, dt = 1e-4, 1000 steps of FNO's `ns_2d.py` scheme.
- burgers: Burgers 8192 points, nu = 0.1, t in [0, 1], ETDRK4 at CFL 0.5.
The spectral problems are also regression checks: the final fields of both sides must agree to
`AGREE_TOL` relative to the peer's max, or the script exits with status 1.
The full size adds two oplab-only studies: `burgers-steps` (errors and times of larger Burgers
steps against a 4x-finer reference) and `ns-schemes` (FNO's Crank-Nicolson/Euler scheme against
ETDRK4 on the FNO problem, each against a fine ETDRK4 reference).

usage (repository root): python3 bench/pde/bench_pde.py [--size quick|full] [PROBLEM...] [--repeats R]
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import record  # noqa: E402

record.ensure("numpy", "scipy")
import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.fft as sfft  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402


# Max relative difference of the final fields allowed between oplab and the peer: both run the
# same scheme from the same input, so they may differ only by accumulated round-off.
AGREE_TOL = 1e-10


def run_rust(binary, *args):
    out = subprocess.run([binary, *map(str, args)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def load(path, shape):
    return np.fromfile(path, dtype="<f8").reshape(shape)


# ---------------------------------------------------------------- Darcy
def darcy_matrix(a):
    """The same 5-point flux-form matrix as oplab (interior unknowns, face = mean of nodes)."""
    s = a.shape[0]
    m = s - 2
    inv_h2 = float((s - 1) ** 2)
    c = a[1:-1, 1:-1]
    west = 0.5 * (c + a[:-2, 1:-1])
    east = 0.5 * (c + a[2:, 1:-1])
    south = 0.5 * (c + a[1:-1, :-2])
    north = 0.5 * (c + a[1:-1, 2:])
    diag = (west + east + south + north).ravel() * inv_h2
    idx = np.arange(m * m).reshape(m, m)
    rows, cols, vals = [idx.ravel()], [idx.ravel()], [diag]
    # Couplings (i,j)-(i+1,j) and (i,j)-(i,j+1), both triangles.
    for src, dst, w in ((idx[:-1, :], idx[1:, :], east[:-1, :]), (idx[:, :-1], idx[:, 1:], north[:, :-1])):
        rows += [src.ravel(), dst.ravel()]
        cols += [dst.ravel(), src.ravel()]
        vals += [-w.ravel() * inv_h2] * 2
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m * m, m * m))


def bench_darcy(binary, out, s=421, repeats=3):
    repeats = max(repeats, 1)
    rust = run_rust(binary, "darcy", out, s, repeats)
    a = load(os.path.join(out, "darcy_coeff.f64"), (s, s))
    u_rust = load(os.path.join(out, "darcy_solution.f64"), (s, s))
    A = darcy_matrix(a)
    f = np.ones(A.shape[0])
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        u = spla.spsolve(A, f)
        best = min(best, time.perf_counter() - t0)
    residual = np.linalg.norm(A @ u - f) / np.linalg.norm(f)
    diff = np.abs(u.reshape(s - 2, s - 2) - u_rust[1:-1, 1:-1]).max() / np.abs(u).max()
    mg = rust["multigrid_pcg"]
    chol = rust["amd"]["solve_s"]
    return {
        "problem": "darcy", "resolution": s, "peer": "scipy.sparse.linalg.spsolve (SuperLU, COLAMD)",
        "peer_s": best, "peer_residual": residual,
        "oplab_s": mg["solve_s"], "oplab_method": "multigrid-PCG (default)", "oplab_residual": mg["residual"],
        "oplab_pcg_iterations": mg["iterations"], "oplab_cholesky_s": chol, "oplab_cholesky_residual": rust["amd"]["residual"],
        "oplab_nested_dissection_s": rust["nested_dissection"]["solve_s"], "max_rel_diff_cholesky": diff,
        "ratio": best / mg["solve_s"], "ratio_cholesky": best / chol,
    }


# ---------------------------------------------------------------- Navier-Stokes (FNO ns_2d.py scheme)
def ns_numpy(w0, visc, dt, steps):
    s = w0.shape[0]
    k_max = s // 2
    x = np.arange(s) / s
    X, Y = np.meshgrid(x, x, indexing="ij")
    f = 0.1 * (np.sin(2 * np.pi * (X + Y)) + np.cos(2 * np.pi * (X + Y)))
    freq = np.fft.fftfreq(s, 1.0 / s)
    k_x = np.repeat(freq[:, None], k_max + 1, axis=1)
    k_y = np.repeat(np.abs(freq[: k_max + 1])[None, :], s, axis=0)
    lap = 4 * np.pi ** 2 * (k_x ** 2 + k_y ** 2)
    lap[0, 0] = 1.0
    dealias = (np.abs(k_x) <= 2.0 / 3.0 * k_max) & (np.abs(k_y) <= 2.0 / 3.0 * k_max)
    w_h = sfft.rfft2(w0)
    f_h = sfft.rfft2(f)
    for _ in range(steps):
        psi_h = w_h / lap
        u = sfft.irfft2(2j * np.pi * k_y * psi_h, s=(s, s))
        v = sfft.irfft2(-2j * np.pi * k_x * psi_h, s=(s, s))
        w_x = sfft.irfft2(2j * np.pi * k_x * w_h, s=(s, s))
        w_y = sfft.irfft2(2j * np.pi * k_y * w_h, s=(s, s))
        F_h = sfft.rfft2(u * w_x + v * w_y) * dealias
        w_h = (-dt * F_h + dt * f_h + (1.0 - 0.5 * dt * visc * lap) * w_h) / (1.0 + 0.5 * dt * visc * lap)
    return sfft.irfft2(w_h, s=(s, s))


def bench_ns(binary, out, s=256, steps=1000, repeats=1):
    # Alternate the two sides and keep each one's best time: the machine may be shared.
    runs = []
    peer = peer_cpu = float("inf")
    for _ in range(repeats):
        runs.append(run_rust(binary, "ns", out, s, steps))
        w0 = load(os.path.join(out, "ns_w0.f64"), (s, s))
        t0, c0 = time.perf_counter(), time.process_time()
        w = ns_numpy(w0, 1e-3, runs[-1]["time_step"], steps)
        peer = min(peer, time.perf_counter() - t0)
        peer_cpu = min(peer_cpu, time.process_time() - c0)
    rust = min(runs, key=lambda r: r["solve_s"])
    rust_cpu = min(r["solve_cpu_s"] for r in runs)
    w_rust = load(os.path.join(out, "ns_wT.f64"), (s, s))
    diff = np.abs(w - w_rust).max() / np.abs(w).max()
    return {
        "problem": "navier-stokes", "resolution": s, "steps": steps, "peer": "numpy + scipy.fft (FNO ns_2d.py scheme)",
        "peer_s": peer, "oplab_s": rust["solve_s"], "max_rel_diff": diff, "agree": bool(diff < AGREE_TOL),
        "ratio": peer / rust["solve_s"], "peer_cpu_s": peer_cpu, "oplab_cpu_s": rust_cpu, "cpu_ratio": peer_cpu / rust_cpu,
        "repeats": repeats,
    }


# ---------------------------------------------------------------- Burgers (ETDRK4, Kassam-Trefethen)
def burgers_numpy(u0, nu, dt, steps):
    n = u0.size
    k = np.arange(n // 2 + 1)
    L = -nu * (2 * np.pi * k) ** 2
    g = -0.5j * 2 * np.pi * k * ((k <= n / 3.0) & (k != n // 2))
    E, E2 = np.exp(dt * L), np.exp(dt * L / 2)
    M = 32
    r = np.exp(1j * np.pi * (np.arange(1, M + 1) - 0.5) / M)
    LR = dt * L[:, None] + r[None, :]
    Q = dt * np.real(np.mean((np.exp(LR / 2) - 1) / LR, axis=1))
    f1 = dt * np.real(np.mean((-4 - LR + np.exp(LR) * (4 - 3 * LR + LR ** 2)) / LR ** 3, axis=1))
    f2 = dt * np.real(np.mean((2 + LR + np.exp(LR) * (LR - 2)) / LR ** 3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * LR - LR ** 2 + np.exp(LR) * (4 - LR)) / LR ** 3, axis=1))
    v = sfft.rfft(u0)

    def N(v):
        return g * sfft.rfft(sfft.irfft(v, n) ** 2)

    for _ in range(steps):
        Nv = N(v)
        a = E2 * v + Q * Nv
        Na = N(a)
        b = E2 * v + Q * Na
        Nb = N(b)
        c = E2 * a + Q * (2 * Nb - Nv)
        Nc = N(c)
        v = E * v + Nv * f1 + 2 * (Na + Nb) * f2 + Nc * f3
    return sfft.irfft(v, n)


def bench_burgers(binary, out, n=8192, repeats=1):
    runs = []
    peer = peer_cpu = float("inf")
    for _ in range(repeats):
        runs.append(run_rust(binary, "burgers", out, n))
        u0 = load(os.path.join(out, "burgers_u0.f64"), (n,))
        t0, c0 = time.perf_counter(), time.process_time()
        u = burgers_numpy(u0, 0.1, runs[-1]["time_step"], runs[-1]["steps"])
        peer = min(peer, time.perf_counter() - t0)
        peer_cpu = min(peer_cpu, time.process_time() - c0)
    rust = min(runs, key=lambda r: r["solve_s"])
    rust_cpu = min(r["solve_cpu_s"] for r in runs)
    u_rust = load(os.path.join(out, "burgers_uT.f64"), (n,))
    diff = np.abs(u - u_rust).max() / np.abs(u).max()
    return {
        "problem": "burgers", "resolution": n, "steps": rust["steps"], "peer": "numpy + scipy.fft (same ETDRK4 scheme)",
        "peer_s": peer, "oplab_s": rust["solve_s"], "max_rel_diff": diff, "agree": bool(diff < AGREE_TOL),
        "ratio": peer / rust["solve_s"], "peer_cpu_s": peer_cpu, "oplab_cpu_s": rust_cpu, "cpu_ratio": peer_cpu / rust_cpu,
        "repeats": repeats,
    }


def bench_burgers_steps(binary, out, n=8192, repeats=1):
    """oplab's step-size study (no peer run): accuracy and time of larger steps."""
    del repeats  # one pass: each run's time is reported for orientation, not as a benchmark
    return run_rust(binary, "burgers-steps", out, n)


def bench_ns_schemes(binary, out, s=256, repeats=1):
    """oplab's Navier-Stokes time-integrator study (no peer run): FNO's scheme vs ETDRK4."""
    del repeats  # one pass: each run's time is reported for orientation, not as a benchmark
    return run_rust(binary, "ns-schemes", out, s)


PROBLEMS = {
    "darcy": bench_darcy, "ns": bench_ns, "burgers": bench_burgers, "burgers-steps": bench_burgers_steps,
    "ns-schemes": bench_ns_schemes,
}


def record_rows(rec, name, row):
    """The records of one problem's row."""
    versions = {"numpy": np.__version__, "scipy": scipy.__version__}
    if name == "darcy":
        problem = {"resolution": row["resolution"], "unknowns": (row["resolution"] - 2) ** 2}
        common = {"peer_residual": row["peer_residual"], **versions}
        rec.add(f"Darcy {row['resolution']}², multigrid-PCG vs spsolve", "solve time", "s", row["oplab_s"],
                peer=row["peer_s"], peer_name=row["peer"], problem=problem,
                extra={"oplab_residual": row["oplab_residual"], "pcg_iterations": row["oplab_pcg_iterations"], **common})
        rec.add(f"Darcy {row['resolution']}², sparse Cholesky (AMD) vs spsolve", "solve time", "s",
                row["oplab_cholesky_s"], peer=row["peer_s"], peer_name=row["peer"], problem=problem,
                extra={"oplab_residual": row["oplab_cholesky_residual"], "max_rel_diff": row["max_rel_diff_cholesky"],
                       "nested_dissection_s": row["oplab_nested_dissection_s"], **common})
    elif name in ("ns", "burgers"):
        title = (f"Navier-Stokes {row['resolution']}², {row['steps']} steps" if name == "ns"
                 else f"Burgers {row['resolution']}, ETDRK4 t=1")
        rec.add(title, "solve time", "s", row["oplab_s"], peer=row["peer_s"], peer_name=row["peer"],
                problem={"resolution": row["resolution"], "steps": row["steps"]},
                extra={"cpu_speedup": row["cpu_ratio"], "oplab_cpu_s": row["oplab_cpu_s"],
                       "peer_cpu_s": row["peer_cpu_s"], "max_rel_diff": row["max_rel_diff"],
                       "agree": row["agree"], "repeats": row["repeats"], **versions})
    elif name == "burgers-steps":
        for run in row["runs"]:
            rec.add(f"Burgers {row['resolution']} step study, {run['steps']} steps", "solve time", "s",
                    run["solve_s"], problem={"resolution": row["resolution"], "steps": run["steps"]},
                    extra={"cfl": run["cfl"], "max_rel_error": run["max_rel_error"],
                           "reference_steps": row["reference_steps"]})
    elif name == "ns-schemes":
        for run in row["runs"]:
            rec.add(f"Navier-Stokes {row['resolution']} t=1, {run['scheme']} dt={run['time_step']:g}", "solve time",
                    "s", run["solve_s"], problem={"resolution": row["resolution"], "steps": run["steps"]},
                    extra={"max_rel_error": run["max_rel_error"]})


def main():
    p = argparse.ArgumentParser(description="oplab's PDE solvers against numpy/scipy peers")
    record.add_size_argument(p)
    p.add_argument("problems", nargs="*", metavar="PROBLEM",
                   help="darcy, ns, burgers, burgers-steps or ns-schemes; default: darcy ns burgers, "
                        "plus burgers-steps ns-schemes at the full size")
    p.add_argument("--repeats", type=int, help="runs per side, the best of each kept (quick 2, full 3)")
    args = p.parse_args()
    unknown = [name for name in args.problems if name not in PROBLEMS]
    if unknown:
        p.error(f"problem {unknown[0]} must be one of {', '.join(PROBLEMS)}")
    full = args.size == "full"
    problems = args.problems or (["darcy", "ns", "burgers"] + (["burgers-steps", "ns-schemes"] if full else []))
    repeats = args.repeats or (3 if full else 2)
    binary = record.build_example("oplab-solvers", "bench_pde")
    rec = record.Recorder("pde", args.size)
    disagree = []
    with tempfile.TemporaryDirectory(prefix="oplab-bench-pde-") as out:
        for name in problems:
            row = PROBLEMS[name](binary, out, repeats=repeats)
            record_rows(rec, name, row)
            if row.get("agree") is False:
                disagree.append(name)
    if disagree:
        print(f"oplab and the peer disagree beyond {AGREE_TOL:g} on: {', '.join(disagree)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
