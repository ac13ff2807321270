//! Solver checks: statistics of the Gaussian-random-field sampler, and the hook for
//! convergence-order checks of the PDE/ODE solvers.

use super::{CheckSpec, Ctx};
use crate::error::{Result, ValidationError};
use crate::plot::{self, Figure, Series};
use crate::report::{CheckResult, Measurement, Status};
use crate::stats::MeanAccumulator;
use oplab_solvers::grf::{cosine_eigenfunction, CosineGrf2d, GrfParams};
use std::f64::consts::PI;

/// The solver checks.
pub fn checks() -> Vec<CheckSpec> {
    vec![
        CheckSpec { name: "solver-grf", group: "solver", run: grf },
        CheckSpec { name: "solver-convergence", group: "solver", run: convergence },
    ]
}

fn grf(ctx: &Ctx) -> Result<CheckResult> {
    let samples = if ctx.quick { 1000 } else { 5000 };
    let params = GrfParams::default();
    let modes = 24;
    let mut res = CheckResult::new(
        "solver-grf",
        "Gaussian random field sampler (cosine KL expansion)",
        "u = Σ_{k,l<K} √λ_kl ξ_kl e_k(x)e_l(y) with λ_kl = s²(π²(k²+l²) + τ²)^(−α) has pointwise variance \
         Σ λ_kl e_k(x)² e_l(y)² and is unbiased (mean 0).",
        format!("oplab_solvers::grf::CosineGrf2d with the default parameters (α = {}, τ = {}, mean mode dropped), K = {modes} modes, \
                 {samples} samples on a 5×5 grid; sample variance at each point within 3 s.e. (s.e. ≈ var·√(2/(M−1))) or 2%; \
                 mean within 3 s.e.", params.alpha, params.tau),
    );
    let pts: Vec<f64> = vec![0.0, 0.25, 0.5, 0.7, 1.0];
    let sampler = CosineGrf2d::new(params, &pts, &pts, modes)
        .map_err(|e| ValidationError::invalid("grf", e.to_string(), "valid GRF parameters"))?;
    let np = pts.len();
    let mut acc = MeanAccumulator::new(np * np);
    let mut acc2 = MeanAccumulator::new(np * np);
    let mut rng = ctx.rng(0x6F, 0);
    for _ in 0..samples {
        let u = sampler.sample(&mut rng);
        acc.push(&u);
        acc2.push(&u.iter().map(|v| v * v).collect::<Vec<_>>());
    }
    let (mean, mean_se) = (acc.mean(), acc.std_err());
    let (m2, m2_se) = (acc2.mean(), acc2.std_err());
    let theory = |x: f64, y: f64| -> f64 {
        let mut s = 0.0;
        for k in 0..modes {
            for l in 0..modes {
                if k == 0 && l == 0 && !params.keep_mean_mode {
                    continue;
                }
                let lam = params.covariance_eigenvalue(PI * PI * (k * k + l * l) as f64);
                s += lam * cosine_eigenfunction(k, x).powi(2) * cosine_eigenfunction(l, y).powi(2);
            }
        }
        s
    };
    let (mut xs, mut th, mut sim, mut se) = (vec![], vec![], vec![], vec![]);
    let (mut worst_mean, mut all_mean_ok) = (0.0f64, true);
    for i in 0..np {
        for j in 0..np {
            let k = i * np + j;
            let v = theory(pts[i], pts[j]);
            let m = Measurement::within(format!("E u² at ({}, {})", pts[i], pts[j]), v, m2[k], Some(m2_se[k]), 3.0, 0.02, 0.0);
            res.measurements.push(m);
            worst_mean = worst_mean.max(mean[k].abs() / mean_se[k]);
            all_mean_ok &= mean[k].abs() <= 3.0 * mean_se[k] + 1e-12;
            xs.push(k as f64);
            th.push(v);
            sim.push(m2[k]);
            se.push(m2_se[k]);
        }
    }
    let mut m = Measurement::at_most("max |mean u| / s.e. over the grid", 3.0, worst_mean);
    m.passed = all_mean_ok;
    res.measurements.push(m);
    let fig = Figure::new("solver_grf_variance", "GRF pointwise variance on a 5×5 grid", "grid point index (row-major)", "E u²")
        .with(Series::line("theory Σλ e_k² e_l²", xs.clone(), th, 0))
        .with(Series::markers(format!("{samples} samples (±1 s.e.)"), xs, sim, Some(se), 1));
    plot::render(&fig, ctx.out_dir)?;
    res.figures.push(fig.stem);
    Ok(res.finish())
}

/// Hook for convergence-order checks of the PDE and ODE solvers (Poisson/Darcy
/// second-order, RK4 fourth-order, …). The solvers were being written concurrently when this
/// harness was built; until their APIs settle this section reports itself as skipped.
fn convergence(_ctx: &Ctx) -> Result<CheckResult> {
    let mut res = CheckResult::new(
        "solver-convergence",
        "Convergence orders of the PDE/ODE solvers (hook)",
        "Finite-difference elliptic solvers converge at order 2 in the grid spacing on smooth manufactured solutions; \
         explicit Runge–Kutta integrators at their nominal order in the step size.",
        "Not implemented yet: see the notes.",
    );
    res.status = Status::Skipped;
    res.notes.push(
        "Hook only: oplab-solvers' elliptic and ODE modules were under concurrent development; add manufactured-solution \
         refinement studies here (validation/src/checks/solvers.rs, fn convergence) once their public APIs are stable."
            .into(),
    );
    Ok(res.finish())
}
