#!/usr/bin/env python3
"""ODE integrators: oplab (Rust) against scipy.integrate.solve_ivp, same problem, same tolerances,
one thread each (plus oplab's PROSE mixture on all cores, without a peer).

1. Lorenz-63 (sigma=10, rho=28, beta=8/3), y0 = (1, 1, 1), t in [0, 100], 1001 output times,
   rtol = atol = 1e-8: scipy RK45 and DOP853 vs oplab dopri5 and dop853 (symbolic tape RHS, what
   the generators use, and a hand-written closure RHS). Best of the repeats on both sides.
2. PROSE-mixture generation (the 12 `chaotic_ode_3d` systems round-robin, parameters within
   +-10 % of nominal rounded to 3 significant digits, u0 ~ U[-2, 2]^3, t in [0, 6] at 192 points,
   rtol 1e-5 / atol 1e-6, reject failed solves or max|u| >= 1e3 (1e5 Fabrikant) and redraw):
   scipy with PROSE's per-system methods (BDF / LSODA / RK45) and numpy RHS as PROSE writes them,
   scipy with RK45 everywhere, vs oplab dopri5. Trajectories per second.

Usage (repository root): python3 bench/ode/bench_ode.py [--size quick|full]
Installs numpy/scipy with pip when missing, builds the Rust driver
(`cargo build --release -p oplab-solvers --example bench_ode`) and appends its records to
bench/records.jsonl (bench/record.py).
"""
import argparse
import json
import os
import subprocess
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import record  # noqa: E402

record.ensure("numpy", "scipy")
import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402


def run_rust(quick):
    binary = record.build_example("oplab-solvers", "bench_ode")
    cmd = [binary] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def lorenz(t, y):
    return [10.0 * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1], y[0] * y[1] - 8.0 / 3.0 * y[2]]


def time_scipy_lorenz(method, repeats):
    t_eval = np.linspace(0.0, 100.0, 1001)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sol = solve_ivp(lorenz, (0.0, 100.0), [1.0, 1.0, 1.0], method=method, rtol=1e-8, atol=1e-8, t_eval=t_eval)
        times.append(time.perf_counter() - t0)
    assert sol.status == 0
    # Best of the repeats (timeit's estimator; the Rust driver uses the same).
    return {"bench": "lorenz_t100", "impl": f"scipy-{method}", "seconds": float(np.min(times)),
            "nfev": int(sol.nfev)}


# --- PROSE's 12 systems, written the way PROSE's generator writes its numpy right-hand sides ---
def refine(x):
    return float("%.2e" % x)


def draw(rng, mean):
    half = abs(mean) * 0.1
    return refine(rng.uniform(mean - half, mean + half))


def make_system(kind, rng):
    """Returns (rhs, prose_method, bound)."""
    if kind == "thomas":
        b = draw(rng, 0.17)
        return (lambda t, u: np.array([np.sin(u[1]) - b * u[0], np.sin(u[2]) - b * u[1],
                                       np.sin(u[0]) - b * u[2]]).reshape(u.shape)), "BDF", 1e3
    if kind == "lorenz":
        s, r, b = draw(rng, 10.0), draw(rng, 28.0), draw(rng, 8 / 3)
        return (lambda t, u: np.array([s * (u[1] - u[0]), u[0] * (r - u[2]) - u[1],
                                       u[0] * u[1] - b * u[2]]).reshape(u.shape)), "BDF", 1e3
    if kind == "aizawa":
        a, b, c, d, e, f = [draw(rng, m) for m in (0.95, 0.7, 0.6, 3.5, 0.25, 0.1)]
        return (lambda t, u: np.array([(u[2] - b) * u[0] - d * u[1], d * u[0] + (u[2] - b) * u[1],
                                       c + a * u[2] - u[2] ** 3 / 3 - u[0] ** 2 + f * u[2] * u[0] ** 3]
                                      ).reshape(u.shape)), "BDF", 1e3
    if kind == "chen_lee":
        a, d, b = draw(rng, 5.0), draw(rng, -0.38), -10.0
        return (lambda t, u: np.array([a * u[0] - u[1] * u[2], b * u[1] + u[0] * u[2],
                                       d * u[2] + u[0] * u[1] / 3]).reshape(u.shape)), "LSODA", 1e3
    if kind == "dadras":
        a, b, c, d, e = [draw(rng, m) for m in (1.25, 1.15, 0.75, 0.8, 4.0)]
        return (lambda t, u: np.array([0.5 * u[1] - a * u[0] + b * u[1] * u[2],
                                       c * u[1] - 0.5 * u[0] * u[2] + 0.5 * u[2],
                                       d * u[0] * u[1] - e * u[2]]).reshape(u.shape)), "LSODA", 1e3
    if kind == "rossler":
        a, b, c = draw(rng, 0.1), draw(rng, 0.1), draw(rng, 14.0)
        return (lambda t, u: np.array([-u[1] - u[2], u[0] + a * u[1], b + u[2] * (u[0] - c)]
                                      ).reshape(u.shape)), "LSODA", 1e3
    if kind == "halvorsen":
        a = draw(rng, -0.35)
        return (lambda t, u: np.array([a * u[0] - u[1] - u[2] - 0.25 * u[1] * u[1],
                                       a * u[1] - u[2] - u[0] - 0.25 * u[2] * u[2],
                                       a * u[2] - u[0] - u[1] - 0.25 * u[0] * u[0]]).reshape(u.shape)), "RK45", 1e3
    if kind == "fabrikant":
        al, g = refine(-2.0 * rng.uniform(0.882, 1.078)), draw(rng, 0.1)
        return (lambda t, u: np.array([u[1] * (u[2] - 1 + u[0] * u[0]) + g * u[0],
                                       u[0] * (3 * u[2] + 1 - u[0] * u[0]) + g * u[1],
                                       al * u[2] - 2 * u[0] * u[1] * u[2]]).reshape(u.shape)), "BDF", 1e5
    if kind == "sprott_b":
        a, b, c = draw(rng, 0.4), draw(rng, 1.2), draw(rng, 1.0)
        return (lambda t, u: np.array([a * u[1] * u[2], u[0] - b * u[1], c - u[0] * u[1]]).reshape(u.shape)), "BDF", 1e3
    if kind == "sprott_linz_f":
        a = draw(rng, 0.5)
        return (lambda t, u: np.array([u[1] + u[2], -u[0] + a * u[1], u[0] * u[0] - u[2]]).reshape(u.shape)), "BDF", 1e3
    if kind == "four_wing":
        a, b, c = draw(rng, 0.2), draw(rng, 0.01), draw(rng, -0.4)
        return (lambda t, u: np.array([a * u[0] + u[1] * u[2], b * u[0] + c * u[1] - u[0] * u[2],
                                       -u[2] - u[0] * u[1]]).reshape(u.shape)), "BDF", 1e3
    if kind == "duffing":
        al, be, ga, de, om = [draw(rng, m) for m in (-1.0, -5.0, 8.0, -0.02, 0.5)]
        return (lambda t, u: np.array([1.0, u[2], de * u[2] + al * u[1] + be * u[1] ** 3 + ga * np.cos(om * u[0])]
                                      ).reshape(u.shape)), "BDF", 1e3
    raise ValueError(kind)


KINDS = ["thomas", "lorenz", "aizawa", "chen_lee", "dadras", "rossler", "halvorsen", "fabrikant", "sprott_b",
         "sprott_linz_f", "four_wing", "duffing"]


def time_scipy_prose(n, force_method=None, rounds=3):
    best = None
    for _ in range(rounds):
        r = prose_round(n, force_method)
        if best is None or r["seconds"] < best["seconds"]:
            best = r
    return best


def prose_round(n, force_method):
    rng = np.random.RandomState(0)
    t_eval = np.linspace(0.0, 6.0, 192)
    attempts = 0
    t0 = time.perf_counter()
    for i in range(n):
        rhs, method, bound = make_system(KINDS[i % len(KINDS)], rng)
        for _ in range(200):
            attempts += 1
            y0 = rng.uniform(-2, 2, 3)
            try:
                sol = solve_ivp(rhs, (0.0, 6.0), y0, method=force_method or method, t_eval=t_eval,
                                rtol=1e-5, atol=1e-6)
                if sol.status == 0 and np.max(np.abs(sol.y)) < bound:
                    break
            except Exception:
                pass
    seconds = time.perf_counter() - t0
    label = "scipy-" + (force_method or "prose-methods")
    return {"bench": "prose_mixture", "impl": label, "trajectories": n, "attempts": attempts, "seconds": seconds,
            "traj_per_s": n / seconds}


def main():
    p = argparse.ArgumentParser(description="oplab's ODE integrators against scipy.integrate.solve_ivp")
    record.add_size_argument(p)
    args = p.parse_args()
    quick = args.size == "quick"
    rec = record.Recorder("ode", args.size)
    rust = run_rust(quick)
    repeats = 3 if quick else 7
    n = 48 if quick else 240
    rounds = 1 if quick else 3
    py = [time_scipy_lorenz("RK45", repeats), time_scipy_lorenz("DOP853", repeats),
          time_scipy_prose(n, rounds=rounds), time_scipy_prose(n, "RK45", rounds=rounds)]
    by = {(r["bench"], r["impl"]): r for r in rust + py}
    versions = {"numpy": np.__version__, "scipy": scipy.__version__}

    lorenz_problem = {"system": "lorenz63", "t_end": 100, "outputs": 1001, "rtol": 1e-8, "atol": 1e-8}
    for peer, ours, rhs in (("RK45", "dopri5", "tape"), ("RK45", "dopri5", "native"),
                            ("DOP853", "dop853", "tape"), ("DOP853", "dop853", "native")):
        o, s = by[("lorenz_t100", f"oplab-{ours}-{rhs}")], by[("lorenz_t100", f"scipy-{peer}")]
        rhs_name = "symbolic tape RHS" if rhs == "tape" else "hand-written closure RHS"
        rec.add(f"Lorenz-63 t=100, {ours} ({rhs_name}) vs solve_ivp {peer}", "time per trajectory", "s",
                o["seconds"], peer=s["seconds"], peer_name=f"scipy solve_ivp {peer} (Python RHS)",
                problem=lorenz_problem,
                extra={"oplab_nfev": o["nfev"], "peer_nfev": s["nfev"], "oplab_repeats": 3 if quick else 21,
                       "peer_repeats": repeats, **versions})
    for r in rust:
        if r["bench"] == "lorenz_rhs_eval":
            rec.add(f"Lorenz-63 RHS evaluation, {r['impl'].removeprefix('oplab-')}", "time per evaluation", "ns",
                    r["ns_per_eval"], problem={"system": "lorenz63"})

    mixture_problem = {"systems": 12, "t_end": 6, "outputs": 192, "rtol": 1e-5, "atol": 1e-6}
    one = by[("prose_mixture", "oplab-dopri5-1thread")]
    for peer, label in (("scipy-prose-methods", "PROSE's methods (BDF/LSODA/RK45), numpy RHS"),
                        ("scipy-RK45", "RK45 for every system, numpy RHS")):
        s = by[("prose_mixture", peer)]
        rec.add(f"PROSE mixture, dopri5 vs solve_ivp {label.split(',')[0]}", "trajectories per second", "1/s",
                one["traj_per_s"], better="higher", peer=s["traj_per_s"], peer_name=f"scipy solve_ivp, {label}",
                problem={**mixture_problem, "oplab_trajectories": one["trajectories"], "peer_trajectories": n},
                extra={"oplab_attempts": one["attempts"], "peer_attempts": s["attempts"],
                       "oplab_trajectories": one["trajectories"], "peer_trajectories": n, **versions})
    for r in rust:
        if r["bench"] == "prose_mixture" and not r["impl"].endswith("1thread"):
            threads = int(r["impl"].rsplit("-", 1)[1].removesuffix("threads"))
            rec.add("PROSE mixture, dopri5 on all cores", "trajectories per second", "1/s", r["traj_per_s"],
                    better="higher", threads=threads,
                    problem={**mixture_problem, "oplab_trajectories": r["trajectories"]},
                    extra={"speedup_over_1_thread": r["traj_per_s"] / one["traj_per_s"]})


if __name__ == "__main__":
    main()
