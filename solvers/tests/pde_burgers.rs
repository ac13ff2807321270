//! Burgers: spectral accuracy in space and fourth order in time against the exact Cole–Hopf
//! solution; typed errors on blow-up and bad input.

use oplab_solvers::burgers::{BurgersConfig, BurgersError, BurgersSampler, BurgersSolver};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::f64::consts::PI;

const NU: f64 = 0.05;
const T: f64 = 0.2;

/// Cole–Hopf: u = −2ν φ_x / φ with φ solving the heat equation,
/// φ = 1 + 0.4 e^{−4π²νt} cos 2πx + 0.2 e^{−16π²νt} sin 4πx.
fn exact(x: f64, t: f64) -> f64 {
    let e1 = (-4.0 * PI * PI * NU * t).exp();
    let e2 = (-16.0 * PI * PI * NU * t).exp();
    let phi = 1.0 + 0.4 * e1 * (2.0 * PI * x).cos() + 0.2 * e2 * (4.0 * PI * x).sin();
    let phi_x = -0.8 * PI * e1 * (2.0 * PI * x).sin() + 0.8 * PI * e2 * (4.0 * PI * x).cos();
    -2.0 * NU * phi_x / phi
}

fn config(n: usize) -> BurgersConfig {
    BurgersConfig { resolution: n, viscosity: NU, final_time: T, record_times: 1, max_cfl: 1e3, ..Default::default() }
}

/// Max error at t = T for `n` points and `steps` ETDRK4 steps.
fn error(n: usize, steps: usize) -> f64 {
    let solver = BurgersSolver::new(config(n)).unwrap();
    let u0: Vec<f64> = (0..n).map(|j| exact(j as f64 / n as f64, 0.0)).collect();
    let u = solver.solve_with_step(&u0, T / steps as f64, steps).unwrap();
    (0..n).map(|j| (u[n + j] - exact(j as f64 / n as f64, T)).abs()).fold(0.0, f64::max)
}

#[test]
fn spectral_accuracy_in_space() {
    let errors: Vec<(usize, f64)> = [16, 24, 32, 48, 64].iter().map(|&n| (n, error(n, 400))).collect();
    println!("burgers space errors (400 steps): {errors:?}");
    // Exponential convergence: each refinement gains far more than any algebraic rate would.
    for w in errors.windows(2) {
        assert!(w[1].1 < w[0].1 / 8.0 || w[1].1 < 1e-11, "{w:?}");
    }
    assert!(errors.last().unwrap().1 < 1e-11);
}

#[test]
fn fourth_order_in_time() {
    let e: Vec<f64> = [5, 10, 20].iter().map(|&steps| error(64, steps)).collect();
    let orders: Vec<f64> = e.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
    println!("burgers time errors {e:?} orders {orders:?}");
    assert!((orders[1] - 4.0).abs() < 0.3, "observed order {}", orders[1]);
}

#[test]
fn automatic_step_solve_matches_exact() {
    let n = 128;
    let solver = BurgersSolver::new(BurgersConfig { record_times: 4, max_cfl: 1.2, ..config(n) }).unwrap();
    let u0: Vec<f64> = (0..n).map(|j| exact(j as f64 / n as f64, 0.0)).collect();
    let u = solver.solve(&u0).unwrap();
    assert_eq!(u.len(), 5 * n);
    for (k, t) in solver.config().times().iter().enumerate() {
        for j in 0..n {
            assert!((u[k * n + j] - exact(j as f64 / n as f64, *t)).abs() < 1e-9);
        }
    }
}

#[test]
fn blow_up_and_bad_input_are_typed_errors() {
    let solver = BurgersSolver::new(BurgersConfig { resolution: 64, viscosity: 1e-4, ..Default::default() }).unwrap();
    let u0: Vec<f64> = (0..64).map(|j| (2.0 * PI * j as f64 / 64.0).sin()).collect();
    match solver.solve_with_step(&u0, 0.1, 10) {
        Err(BurgersError::BlowUp { viscosity, resolution, .. }) => {
            assert_eq!(viscosity, 1e-4);
            assert_eq!(resolution, 64);
        }
        other => panic!("expected blow-up, got {other:?}"),
    }
    assert!(matches!(
        BurgersSolver::new(BurgersConfig { viscosity: 0.0, ..Default::default() }),
        Err(BurgersError::InvalidParameter(e)) if e.field == "viscosity"
    ));
    assert!(matches!(
        BurgersSolver::new(BurgersConfig { resolution: 8192, subsample: 3, ..Default::default() }),
        Err(BurgersError::InvalidParameter(e)) if e.field == "subsample"
    ));
}

#[test]
fn fno_sampler_runs_on_a_small_grid() {
    let cfg = BurgersConfig { resolution: 256, subsample: 2, record_times: 2, ..Default::default() };
    let s = BurgersSampler::new(cfg).unwrap();
    let a = s.sample(&mut ChaCha20Rng::seed_from_u64(4)).unwrap();
    assert_eq!(a.u.len(), 3 * 128);
    assert!(a.u.iter().all(|v| v.is_finite()));
    // Viscous decay: the last snapshot is smaller than the first.
    let peak = |row: &[f64]| row.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    assert!(peak(&a.u[256..]) < peak(&a.u[..128]));
}
