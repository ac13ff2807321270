//! Solver checks: statistics of the Gaussian-random-field sampler, and refinement studies of
//! the PDE/ODE solvers against exact or manufactured solutions (order of the fitted log-log
//! slope, or exactness to round-off where the method is exact).

use super::order::fitted_order;
use super::{CheckSpec, Ctx};
use crate::error::{Result, ValidationError};
use crate::plot::{self, Figure, LegendCorner, Series};
use crate::report::{CheckResult, Measurement};
use crate::stats::MeanAccumulator;
use oplab_solvers::grf::{cosine_eigenfunction, CosineGrf2d, GrfParams};
use std::f64::consts::PI;

/// The solver checks.
pub fn checks() -> Vec<CheckSpec> {
    vec![
        CheckSpec { name: "solver-grf", group: "solver", run: grf },
        CheckSpec { name: "solver-convergence", group: "solver", run: convergence },
        CheckSpec { name: "solver-elliptic", group: "solver", run: super::solvers_pde::elliptic },
        CheckSpec { name: "solver-burgers", group: "solver", run: super::solvers_pde::burgers },
        CheckSpec { name: "solver-advection", group: "solver", run: super::solvers_pde::advection },
        CheckSpec { name: "solver-reaction-diffusion", group: "solver", run: super::solvers_pde::reaction_diffusion },
        CheckSpec { name: "solver-navier-stokes", group: "solver", run: super::solvers_pde::navier_stokes },
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
        format!(
            "oplab_solvers::grf::CosineGrf2d with the default parameters (α = {}, τ = {}, mean mode dropped), K = {modes} modes, \
                 {samples} samples on a 5×5 grid; sample variance at each point within 3 s.e. (s.e. ≈ var·√(2/(M−1))) or 2%; \
                 mean within 4 s.e. at every point (3 s.e. would be exceeded somewhere on 25 points by chance ~7% of the time).",
            params.alpha, params.tau
        ),
    );
    let pts: Vec<f64> = vec![0.0, 0.25, 0.5, 0.7, 1.0];
    let sampler = CosineGrf2d::new(params, &pts, &pts, modes).map_err(|e| ValidationError::invalid("grf", e.to_string(), "valid GRF parameters"))?;
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
            all_mean_ok &= mean[k].abs() <= 4.0 * mean_se[k] + 1e-12;
            xs.push(k as f64);
            th.push(v);
            sim.push(m2[k]);
            se.push(m2_se[k]);
        }
    }
    let mut m = Measurement::at_most("max |mean u| / s.e. over the grid", 4.0, worst_mean);
    m.passed = all_mean_ok;
    res.measurements.push(m);
    let fig = Figure::new("solver_grf_variance", "GRF pointwise variance on a 5×5 grid", "grid point index (row-major)", "E u²")
        .with(Series::line("theory Σλ e_k² e_l²", xs.clone(), th, 0))
        .with(Series::markers(format!("{samples} samples (±1 s.e.)"), xs, sim, Some(se), 1));
    plot::render(&fig, ctx.out_dir)?;
    res.figures.push(fig.stem);
    Ok(res.finish())
}

/// Refinement studies of the reference solvers on problems with exact solutions: the
/// five-point Poisson solver (order 2 in h on u = sin πx sin πy) and the ODE integrators run
/// with fixed steps on the harmonic oscillator (RK4: 4, Dormand–Prince 5(4): 5, DOP853: 8,
/// Rosenbrock 2(3): 2). The other PDE solvers have their own checks (`solvers_pde`).
fn convergence(ctx: &Ctx) -> Result<CheckResult> {
    use oplab_solvers::elliptic::PoissonSolver;
    use oplab_solvers::ode::{self, FnRhs, Method, SolveOptions};
    let mut res = CheckResult::new(
        "solver-convergence",
        "Convergence orders of the reference solvers",
        "Second-order finite differences converge as h² on smooth solutions; a one-step ODE method of order p run with fixed \
         step h has global error ∝ h^p.",
        "Poisson −Δu = f on [0,1]², u = sin(πx)sin(πy), f = 2π²u, node grids s ∈ {17, 33, 65, 129} (full: also 257), max-norm \
         error; harmonic oscillator y'' = −y, y(0) = (1, 0), T = 10, fixed steps halving four times, error at T. Fitted \
         log-log slope within ±10% of the nominal order (points at the rounding floor, error < 1e-12, are left out).",
    );
    let sizes: Vec<usize> = if ctx.quick { vec![17, 33, 65, 129] } else { vec![17, 33, 65, 129, 257] };
    let (mut hs, mut errs) = (vec![], vec![]);
    for &s in &sizes {
        let solver = PoissonSolver::new(s).map_err(|e| ValidationError::Numerical { context: "poisson", message: e.to_string() })?;
        let h = 1.0 / (s - 1) as f64;
        let exact: Vec<f64> = (0..s * s).map(|k| (PI * (k / s) as f64 * h).sin() * (PI * (k % s) as f64 * h).sin()).collect();
        let forcing: Vec<f64> = exact.iter().map(|u| 2.0 * PI * PI * u).collect();
        let sol = solver.solve(&forcing).map_err(|e| ValidationError::Numerical { context: "poisson", message: e.to_string() })?;
        let err = sol.solution.iter().zip(&exact).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        hs.push(h);
        errs.push(err);
    }
    let order = fitted_order(&hs, &errs);
    res.measurements.push(Measurement::within("Poisson five-point stencil: observed order", 2.0, order, None, 0.0, 0.1, 0.0));
    let fig = Figure::new("solver_convergence_poisson", "Poisson five-point solver: max-norm error vs grid spacing", "h", "max |u_h − u|")
        .log(true, true)
        .legend_at(LegendCorner::LowerRight)
        .with(Series::markers(format!("measured (order {order:.2})"), hs.clone(), errs.clone(), None, 0))
        .with(Series::line("slope 2", hs.clone(), hs.iter().map(|h| errs[0] * (h / hs[0]).powi(2)).collect(), 6));
    plot::render(&fig, ctx.out_dir)?;
    res.figures.push(fig.stem);
    let mut fig = Figure::new("solver_convergence_ode", "ODE integrators with fixed steps: error at T = 10 (harmonic oscillator)", "step h", "error")
        .log(true, true)
        .legend_at(LegendCorner::LowerRight);

    let rhs = FnRhs::new(2, |_t: f64, y: &[f64], _p: &[f64], dy: &mut [f64]| {
        dy[0] = y[1];
        dy[1] = -y[0];
    });
    let t_end = 10.0;
    let cases = [(Method::Rk4, 4.0, 0.2), (Method::Dopri5, 5.0, 0.4), (Method::Dop853, 8.0, 1.0), (Method::Rosenbrock23, 2.0, 0.1)];
    for (ci, &(method, p, h0)) in cases.iter().enumerate() {
        let (mut hh, mut ee) = (vec![], vec![]);
        for k in 0..5 {
            let h = h0 / 2f64.powi(k);
            let opts = SolveOptions { fixed_step: Some(h), ..Default::default() };
            let (out, _) = ode::solve(method, &rhs, &[], 0.0, &[1.0, 0.0], &[t_end], &opts)
                .map_err(|e| ValidationError::Numerical { context: "ode", message: e.to_string() })?;
            let err = ((out[0] - t_end.cos()).powi(2) + (out[1] + t_end.sin()).powi(2)).sqrt();
            hh.push(h);
            ee.push(err);
        }
        let keep: Vec<usize> = (0..hh.len()).filter(|&i| ee[i] > 1e-12).collect();
        let (kh, ke): (Vec<f64>, Vec<f64>) = keep.iter().map(|&i| (hh[i], ee[i])).unzip();
        let order = if kh.len() >= 2 { fitted_order(&kh, &ke) } else { f64::NAN };
        res.measurements.push(Measurement::within(format!("{}: observed order ({} points)", method.name(), kh.len()), p, order, None, 0.0, 0.1, 0.0));
        fig = fig
            .with(Series::markers(format!("{}: order {order:.2} (line: slope {p})", method.name()), hh.clone(), ee.clone(), None, ci + 1))
            .with(Series::line("", hh.clone(), hh.iter().map(|h| ee[0] * (h / hh[0]).powf(p)).collect(), ci + 1));
    }
    plot::render(&fig, ctx.out_dir)?;
    res.figures.push(fig.stem);
    res.notes.push(
        "Darcy, Helmholtz, Burgers, advection, reaction–diffusion and Navier–Stokes have their own sections \
         (solver-elliptic, solver-burgers, solver-advection, solver-reaction-diffusion, solver-navier-stokes)."
            .into(),
    );
    Ok(res.finish())
}
