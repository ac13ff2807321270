//! Convergence orders of every integrator on problems with exact solutions, dense-output
//! accuracy, and Lorenz/Rössler trajectories against a tight-tolerance reference.

// The test problems return `FnRhs<impl Fn(..)>` and take `&dyn Fn(..)` checks: an `impl` type
// cannot be named by a type alias, and spelling the closure types out is what reads best here.
#![allow(clippy::type_complexity)]

use oplab_solvers::ode::{FnRhs, Integrator, Method, Rhs, SolveOptions};
use oplab_solvers::systems;

/// Harmonic oscillator y1' = y2, y2' = -y1; exact y = [cos t, -sin t] from [1, 0].
fn oscillator() -> FnRhs<impl Fn(f64, &[f64], &[f64], &mut [f64])> {
    FnRhs::new(2, |_t, y: &[f64], _p: &[f64], d: &mut [f64]| {
        d[0] = y[1];
        d[1] = -y[0];
    })
}

/// Max-norm error at `t_end` with `n` fixed steps.
fn fixed_step_error<R: Rhs>(method: Method, rhs: &R, y0: &[f64], t_end: f64, n: usize, exact: &[f64]) -> f64 {
    let opts = SolveOptions { fixed_step: Some(t_end / n as f64), ..Default::default() };
    let mut out = vec![0.0; y0.len()];
    Integrator::new(method, rhs.dim()).solve(rhs, &[], 0.0, y0, &[t_end], &opts, &mut out).unwrap();
    out.iter().zip(exact).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

/// Least-squares slope of log(error) against log(h) over the step counts.
fn observed_order(errors: &[(usize, f64)]) -> f64 {
    let pts: Vec<(f64, f64)> = errors.iter().map(|&(n, e)| ((1.0 / n as f64).ln(), e.ln())).collect();
    let m = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
    let (mx, my) = (sx / m, sy / m);
    let num: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let den: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    num / den
}

fn check_order(method: Method, steps: &[usize], expected: f64) {
    let t_end: f64 = 4.0;
    let exact = [t_end.cos(), -t_end.sin()];
    let rhs = oscillator();
    let errors: Vec<(usize, f64)> = steps.iter().map(|&n| (n, fixed_step_error(method, &rhs, &[1.0, 0.0], t_end, n, &exact))).collect();
    let order = observed_order(&errors);
    println!("{}: errors {:?} -> order {:.3}", method.name(), errors, order);
    assert!((order - expected).abs() <= 0.3, "{}: observed order {order:.3}, expected {expected}", method.name());
}

#[test]
fn every_integrator_converges_at_its_order() {
    // Rosenbrock23 is checked on this non-stiff problem too.
    for (method, steps, order) in [
        (Method::Rk4, [20, 40, 80, 160], 4.0),
        (Method::Dopri5, [10, 20, 40, 80], 5.0),
        (Method::Dop853, [6, 8, 12, 16], 8.0),
        (Method::Rosenbrock23, [40, 80, 160, 320], 2.0),
    ] {
        check_order(method, &steps, order);
    }
}

/// y' = A y with A = [[-1000, 999], [0, -1]] (eigenvalues -1000, -1): exact
/// y = [e^{-t}, e^{-t}] from [1, 1]... plus a fast mode started by y1(0) = 2.
fn stiff_linear() -> FnRhs<impl Fn(f64, &[f64], &[f64], &mut [f64])> {
    FnRhs::new(2, |_t, y: &[f64], _p: &[f64], d: &mut [f64]| {
        d[0] = -1000.0 * y[0] + 999.0 * y[1];
        d[1] = -y[1];
    })
}

fn stiff_exact(t: f64) -> [f64; 2] {
    // y2 = e^{-t}; y1 = e^{-t} + (y1(0) - 1) e^{-1000 t} with y1(0) = 2.
    [(-t).exp() + (-1000.0 * t).exp(), (-t).exp()]
}

#[test]
fn rosenbrock_is_second_order_on_a_stiff_linear_system() {
    let rhs = stiff_linear();
    let t_end = 2.0;
    let exact = stiff_exact(t_end);
    // h·λ ranges from -100 to -12.5: far outside every explicit method's stability region.
    let errors: Vec<(usize, f64)> =
        [20, 40, 80, 160].iter().map(|&n| (n, fixed_step_error(Method::Rosenbrock23, &rhs, &[2.0, 1.0], t_end, n, &exact))).collect();
    let order = observed_order(&errors);
    println!("rosenbrock23 stiff: {errors:?} -> order {order:.3}");
    assert!((order - 2.0).abs() <= 0.3, "observed order {order:.3}");
}

#[test]
fn rosenbrock_adaptive_solves_stiff_system_in_few_steps() {
    let rhs = stiff_linear();
    let opts = SolveOptions::with_tolerances(1e-6, 1e-9);
    let mut out = vec![0.0; 2];
    let stats = Integrator::new(Method::Rosenbrock23, 2).solve(&rhs, &[], 0.0, &[2.0, 1.0], &[10.0], &opts, &mut out).unwrap();
    let exact = stiff_exact(10.0);
    // Global error of a 2nd-order method accumulates to a few hundred local tolerances.
    println!("rosenbrock23 stiff adaptive: {stats:?}, relative error {:.2e}", (out[1] - exact[1]).abs() / exact[1]);
    assert!((out[1] - exact[1]).abs() < 1e-3 * exact[1].abs(), "{out:?} vs {exact:?}");
    // An explicit method would need ~ 10 / (3/1000) > 3000 steps just for stability.
    assert!(stats.accepted < 500, "{stats:?}");
    let mut out5 = vec![0.0; 2];
    let s5 = Integrator::new(Method::Dopri5, 2).solve(&rhs, &[], 0.0, &[2.0, 1.0], &[10.0], &opts, &mut out5).unwrap();
    assert!(s5.accepted > 3 * stats.accepted, "dopri5 {s5:?} vs rosenbrock {stats:?}");
}

/// Max error of the continuous extension at step midpoints with `n` fixed steps.
fn dense_midpoint_error(method: Method, n: usize) -> f64 {
    let t_end = 4.0;
    let h = t_end / n as f64;
    let t_eval: Vec<f64> = (0..n).map(|k| (k as f64 + 0.5) * h).collect();
    let opts = SolveOptions { fixed_step: Some(h), ..Default::default() };
    let rhs = oscillator();
    let mut out = vec![0.0; 2 * n];
    Integrator::new(method, 2).solve(&rhs, &[], 0.0, &[1.0, 0.0], &t_eval, &opts, &mut out).unwrap();
    t_eval.iter().enumerate().map(|(k, &t)| (out[2 * k] - t.cos()).abs().max((out[2 * k + 1] + t.sin()).abs())).fold(0.0, f64::max)
}

#[test]
fn dense_output_orders() {
    for (method, steps, interpolant_order) in [(Method::Dopri5, [10, 20, 40, 80], 4.0), (Method::Dop853, [6, 8, 12, 16], 7.0)] {
        let errors: Vec<(usize, f64)> = steps.iter().map(|&n| (n, dense_midpoint_error(method, n))).collect();
        let order = observed_order(&errors);
        println!("{} dense: {errors:?} -> order {order:.3}", method.name());
        // A continuous extension of order p* has local error O(h^{p*+1}); the global error at
        // the step points is of the method's order, so the observed order is ≥ p*.
        assert!(order >= interpolant_order - 0.3, "{} dense order {order:.3}", method.name());
    }
}

#[test]
fn adaptive_dense_output_is_accurate_between_steps() {
    let rhs = oscillator();
    let t_eval: Vec<f64> = (0..=1000).map(|k| k as f64 * 0.01).collect();
    for (method, rtol, bound) in [(Method::Dopri5, 1e-10, 1e-8), (Method::Dop853, 1e-12, 1e-10)] {
        let opts = SolveOptions::with_tolerances(rtol, rtol);
        let mut out = vec![0.0; 2 * t_eval.len()];
        let stats = Integrator::new(method, 2).solve(&rhs, &[], 0.0, &[1.0, 0.0], &t_eval, &opts, &mut out).unwrap();
        let err = t_eval.iter().enumerate().map(|(k, &t)| (out[2 * k] - t.cos()).abs().max((out[2 * k + 1] + t.sin()).abs())).fold(0.0, f64::max);
        println!("{} adaptive dense: max error {err:.2e} with {} steps", method.name(), stats.accepted);
        assert!(err < bound, "{}: {err:e}", method.name());
        // Output times did not force steps: far fewer steps than outputs.
        assert!(stats.accepted < 400, "{stats:?}");
    }
}

#[test]
fn one_step_error_of_dopri5_matches_first_order_check() {
    // y' = -y: one adaptive solve to t = 1 at rtol 1e-10 hits e^{-1} closely.
    let rhs = FnRhs::new(1, |_t, y: &[f64], _p: &[f64], d: &mut [f64]| d[0] = -y[0]);
    let opts = SolveOptions::with_tolerances(1e-10, 1e-12);
    let mut out = [0.0];
    Integrator::new(Method::Dopri5, 1).solve(&rhs, &[], 0.0, &[1.0], &[1.0], &opts, &mut out).unwrap();
    assert!((out[0] - (-1.0f64).exp()).abs() < 1e-9);
}

/// Richardson-extrapolated RK4 at step points: y_h/2 + (y_h/2 - y_h) / 15.
fn rk4_reference(rhs: &impl Rhs, params: &[f64], y0: &[f64], t_eval: &[f64], h: f64) -> Vec<f64> {
    let solve = |h: f64| {
        let opts = SolveOptions { fixed_step: Some(h), ..Default::default() };
        let mut out = vec![0.0; t_eval.len() * y0.len()];
        Integrator::new(Method::Rk4, y0.len()).solve(rhs, params, 0.0, y0, t_eval, &opts, &mut out).unwrap();
        out
    };
    let coarse = solve(h);
    let fine = solve(h / 2.0);
    fine.iter().zip(&coarse).map(|(f, c)| f + (f - c) / 15.0).collect()
}

fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den
}

#[test]
fn lorenz_and_rossler_match_tight_reference() {
    for (name, params, y0) in [
        ("lorenz", vec![10.0, 28.0, 8.0 / 3.0], vec![1.0, 1.0, 1.0]),
        ("rossler", vec![0.2, 0.2, 5.7], vec![1.0, 1.0, 0.0]),
        ("rossler", vec![0.1, 0.1, 14.0], vec![-1.0, 0.5, 1.5]),
    ] {
        let rhs = systems::by_name(name).unwrap().compile();
        // Output on a grid that is a multiple of the RK4 step, so RK4 is sampled at step points.
        let t_eval: Vec<f64> = (1..=10).map(|k| k as f64 * 0.1).collect();
        let reference = rk4_reference(&rhs, &params, &y0, &t_eval, 1e-3);
        for (method, rtol, bound) in [(Method::Dop853, 1e-13, 1e-8), (Method::Dopri5, 1e-12, 1e-8)] {
            let opts = SolveOptions::with_tolerances(rtol, rtol * 1e-2);
            let mut out = vec![0.0; t_eval.len() * 3];
            Integrator::new(method, 3).solve(&rhs, &params, 0.0, &y0, &t_eval, &opts, &mut out).unwrap();
            let err = relative_error(&out, &reference);
            println!("{name} {params:?} {}: relative error vs Richardson RK4 = {err:.2e}", method.name());
            assert!(err < bound, "{name} {}: {err:e}", method.name());
        }
        // The stiff method (symbolic Jacobian) on the same non-stiff problem: 2nd order, so a
        // looser bound.
        let opts = SolveOptions::with_tolerances(1e-10, 1e-12);
        let mut out = vec![0.0; t_eval.len() * 3];
        Integrator::new(Method::Rosenbrock23, 3).solve(&rhs, &params, 0.0, &y0, &t_eval, &opts, &mut out).unwrap();
        let err = relative_error(&out, &reference);
        println!("{name} {params:?} rosenbrock23: relative error vs Richardson RK4 = {err:.2e}");
        assert!(err < 1e-6, "{name} rosenbrock23: {err:e}");
    }
}
