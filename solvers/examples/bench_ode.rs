//! Timing driver for `bench/ode/bench_ode.py`: prints one JSON object per measurement.
//!
//! 1. Lorenz-63 on t ∈ [0, 100], rtol = atol = 1e-8, 1001 output times, one thread: Dopri5 and
//!    DOP853 with the symbolic (tape) right-hand side and with a hand-written closure.
//! 2. PROSE-mixture generation (12 systems round-robin, ±10 % parameters rounded to 3 digits,
//!    u0 ~ U[-2, 2]^d, t ∈ [0, 6] at 192 points, rtol 1e-5 / atol 1e-6 as PROSE, redraw on
//!    failure or max|u| above the bound): trajectories per second on one thread and on all.
//!
//! Run: `cargo run --release -p oplab-solvers --example bench_ode [-- --quick]`

use oplab_solvers::ode::{FnRhs, Integrator, Method, Rhs, SolveOptions};
use oplab_solvers::symbolic::tokens::round_significant;
use oplab_solvers::symbolic::Expr;
use oplab_solvers::systems::{self, CompiledRhs, OdeSystem};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::time::Instant;

/// Best of the repeats: on a shared machine the minimum is the least disturbed measurement
/// (the Python side uses the same estimator).
fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn time_lorenz<R: Rhs>(label: &str, method: Method, rhs: &R, params: &[f64], repeats: usize) {
    let t_eval: Vec<f64> = (0..=1000).map(|k| k as f64 * 0.1).collect();
    let opts = SolveOptions::with_tolerances(1e-8, 1e-8);
    let mut integ = Integrator::new(method, 3);
    let mut out = vec![0.0; t_eval.len() * 3];
    let mut stats = Default::default();
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t0 = Instant::now();
        stats = integ.solve(rhs, params, 0.0, &[1.0, 1.0, 1.0], &t_eval, &opts, &mut out).unwrap();
        times.push(t0.elapsed().as_secs_f64());
    }
    let last = &out[out.len() - 3..];
    println!(
        "{{\"bench\": \"lorenz_t100\", \"impl\": \"oplab-{}-{label}\", \"seconds\": {:.6e}, \"steps\": {}, \"rejected\": {}, \"nfev\": {}, \"y_end\": [{:.10}, {:.10}, {:.10}]}}",
        method.name(),
        best(&times),
        stats.accepted,
        stats.rejected,
        stats.rhs_evals,
        last[0],
        last[1],
        last[2]
    );
}

/// One PROSE sample: system `i mod 12`, parameters, u0 redraws; returns the number of attempts.
fn prose_sample(systems: &[OdeSystem], i: u64, seed: u64, t_eval: &[f64], integ: &mut [Option<Integrator>]) -> usize {
    let sys = &systems[(i % systems.len() as u64) as usize];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i);
    let params: Vec<f64> = sys
        .params
        .iter()
        .map(|p| {
            if p.fixed {
                p.nominal
            } else {
                let h = 0.1 * p.nominal.abs();
                round_significant(rng.random_range(p.nominal - h..=p.nominal + h), 3)
            }
        })
        .collect();
    let concrete: Vec<Expr> = sys.concrete(&params).unwrap().iter().map(|e| e.round_constants(3)).collect();
    let rhs = CompiledRhs::new(&concrete, sys.dim, 0).unwrap();
    let opts = SolveOptions { blowup_bound: sys.blowup_bound, ..SolveOptions::with_tolerances(1e-5, 1e-6) };
    let slot = &mut integ[sys.dim];
    let integ = slot.get_or_insert_with(|| Integrator::new(Method::Dopri5, sys.dim));
    let mut y0 = vec![0.0; sys.dim];
    let mut out = vec![0.0; t_eval.len() * sys.dim];
    for attempt in 1..=200 {
        y0.iter_mut().for_each(|v| *v = rng.random_range(-2.0..2.0));
        if integ.solve(&rhs, &[], 0.0, &y0, t_eval, &opts, &mut out).is_ok() {
            return attempt;
        }
    }
    panic!("sample {i} of {} failed 200 times", sys.name);
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let repeats = if quick { 3 } else { 21 };
    let lorenz = systems::by_name("lorenz").unwrap();
    let tape = lorenz.compile();
    let p = lorenz.nominal_params();
    let native = FnRhs::new(3, |_t, y: &[f64], p: &[f64], d: &mut [f64]| {
        d[0] = p[0] * (y[1] - y[0]);
        d[1] = y[0] * (p[1] - y[2]) - y[1];
        d[2] = y[0] * y[1] - p[2] * y[2];
    });
    for method in [Method::Dopri5, Method::Dop853] {
        time_lorenz("tape", method, &tape, &p, repeats);
        time_lorenz("native", method, &native, &p, repeats);
    }
    // Cost of one right-hand-side evaluation: parametric tape (what `ode` uses), tape of the
    // folded concrete expression (what `prose-ode` uses), hand-written closure.
    let concrete = CompiledRhs::new(&lorenz.concrete(&p).unwrap(), 3, 0).unwrap();
    let evals = if quick { 1_000_000 } else { 10_000_000 };
    let per_eval = |rhs: &dyn Fn(&[f64], &mut [f64])| {
        let mut best_ns = f64::INFINITY;
        for _ in 0..3 {
            let mut y = [1.0, 1.0, 1.0];
            let mut d = [0.0; 3];
            let t0 = Instant::now();
            for _ in 0..evals {
                rhs(&y, &mut d);
                // A tiny Euler step keeps the input changing (no hoisting by the optimiser).
                for i in 0..3 {
                    y[i] += 1e-9 * d[i];
                }
            }
            std::hint::black_box(&y);
            best_ns = best_ns.min(t0.elapsed().as_secs_f64() * 1e9 / evals as f64);
        }
        best_ns
    };
    for (label, ns) in [
        ("tape-parametric", per_eval(&|y, d| tape.eval(0.0, y, &p, d))),
        ("tape-concrete", per_eval(&|y, d| concrete.eval(0.0, y, &[], d))),
        ("native", per_eval(&|y, d| native.eval(0.0, y, &p, d))),
    ] {
        println!("{{\"bench\": \"lorenz_rhs_eval\", \"impl\": \"oplab-{label}\", \"ns_per_eval\": {ns:.2}}}");
    }

    let mixture: Vec<OdeSystem> = systems::PROSE_3D.iter().map(|n| systems::by_name(n).unwrap()).collect();
    let t_eval: Vec<f64> = (0..192).map(|k| if k == 191 { 6.0 } else { k as f64 * 6.0 / 191.0 }).collect();
    let n: u64 = if quick { 1200 } else { 12_000 };
    let rounds = 3;
    // One thread.
    let mut serial = f64::INFINITY;
    let mut attempts = 0;
    for _ in 0..rounds {
        let t0 = Instant::now();
        let mut integ = vec![None, None, None, None, None, None];
        attempts = (0..n).map(|i| prose_sample(&mixture, i, 1, &t_eval, &mut integ)).sum();
        serial = serial.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "{{\"bench\": \"prose_mixture\", \"impl\": \"oplab-dopri5-1thread\", \"trajectories\": {n}, \"attempts\": {attempts}, \"seconds\": {serial:.6e}, \"traj_per_s\": {:.1}}}",
        n as f64 / serial
    );
    let threads = rayon::current_num_threads();
    let mut parallel = f64::INFINITY;
    for _ in 0..rounds {
        let t0 = Instant::now();
        attempts = (0..n).into_par_iter().map_init(|| vec![None, None, None, None, None, None], |integ, i| prose_sample(&mixture, i, 1, &t_eval, integ)).sum();
        parallel = parallel.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "{{\"bench\": \"prose_mixture\", \"impl\": \"oplab-dopri5-{threads}threads\", \"trajectories\": {n}, \"attempts\": {attempts}, \"seconds\": {parallel:.6e}, \"traj_per_s\": {:.1}}}",
        n as f64 / parallel
    );
}
