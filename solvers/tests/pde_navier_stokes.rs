//! Navier–Stokes: exact Taylor–Green-type decay, the forced enstrophy budget, blow-up errors.

use oplab_solvers::grf::{PeriodicGrf2d, PeriodicGrfParams};
use oplab_solvers::navier_stokes::{
    vorticity_diagnostics, Forcing, NavierStokesConfig, NavierStokesError, NavierStokesSampler, NavierStokesSolver, TimeScheme,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::f64::consts::PI;

fn grid(s: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    (0..s * s).map(|idx| f((idx / s) as f64 / s as f64, (idx % s) as f64 / s as f64)).collect()
}

/// Two modes with the same |k|² = 5: ψ ∝ w, so u·∇w ≡ 0 and w decays as exp(−20π²νt).
fn taylor_green(x: f64, y: f64) -> f64 {
    (2.0 * PI * (x + 2.0 * y)).cos() + (2.0 * PI * (2.0 * x - y)).sin()
}

/// The unforced Taylor–Green run of these tests: 32², ν = 0.01, T = 1.
fn taylor_green_config(time_step: f64, record_times: usize) -> NavierStokesConfig {
    NavierStokesConfig { resolution: 32, viscosity: 0.01, final_time: 1.0, time_step, record_times, subsample: 1, forcing: Forcing::None, ..Default::default() }
}

fn taylor_green_error(time_step: f64) -> f64 {
    let cfg = taylor_green_config(time_step, 5);
    let (s, nu) = (cfg.resolution, cfg.viscosity);
    let traj = NavierStokesSolver::new(cfg).unwrap().solve(&grid(s, taylor_green)).unwrap();
    let mut worst: f64 = 0.0;
    for (k, t) in traj.times.iter().enumerate() {
        let decay = (-20.0 * PI * PI * nu * t).exp();
        let snap = &traj.vorticity[k * s * s..(k + 1) * s * s];
        for (w, exact) in snap.iter().zip(grid(s, taylor_green)) {
            worst = worst.max((w - decay * exact).abs());
        }
    }
    worst
}

#[test]
fn taylor_green_decays_exactly_with_second_order_in_time() {
    let coarse = taylor_green_error(0.02);
    let fine = taylor_green_error(0.01);
    let order = (coarse / fine).log2();
    println!("taylor-green max errors {coarse:e} (dt=0.02), {fine:e} (dt=0.01); order {order:.3}");
    assert!(fine < 1e-4);
    assert!((order - 2.0).abs() < 0.1, "observed order {order}");
}

#[test]
fn forced_enstrophy_budget_closes() {
    let s = 64;
    let nu = 1e-3;
    let cfg = NavierStokesConfig { resolution: s, viscosity: nu, final_time: 1.0, time_step: 5e-4, record_times: 200, subsample: 1, ..Default::default() };
    let w0 = PeriodicGrf2d::new(PeriodicGrfParams::fno_navier_stokes(), s).unwrap().sample(&mut ChaCha20Rng::seed_from_u64(11));
    let traj = NavierStokesSolver::new(cfg).unwrap().solve(&w0).unwrap();
    let forcing = Forcing::Diagonal { amplitude: 0.1 }.nodes(s);
    // d/dt ½⟨w²⟩ = −ν⟨|∇w|²⟩ + ⟨f w⟩, integrated with the trapezoidal rule over the records.
    let rates: Vec<(f64, f64)> = (0..traj.times.len())
        .map(|k| {
            let w = &traj.vorticity[k * s * s..(k + 1) * s * s];
            let d = vorticity_diagnostics(w, s);
            let work = w.iter().zip(&forcing).map(|(a, b)| a * b).sum::<f64>() / (s * s) as f64;
            (d.enstrophy, -2.0 * nu * d.palinstrophy + work)
        })
        .collect();
    let dt_rec = traj.times[1] - traj.times[0];
    let integral: f64 = rates.windows(2).map(|w| 0.5 * dt_rec * (w[0].1 + w[1].1)).sum();
    let scale: f64 = rates.windows(2).map(|w| 0.5 * dt_rec * (w[0].1.abs() + w[1].1.abs())).sum();
    let change = rates.last().unwrap().0 - rates[0].0;
    let mismatch = (change - integral).abs() / scale;
    println!("enstrophy change {change:e}, budget integral {integral:e}, relative mismatch {mismatch:e}");
    assert!(mismatch < 5e-3, "mismatch {mismatch}");
}

#[test]
fn blow_up_is_a_typed_error_naming_the_parameters() {
    let cfg = NavierStokesConfig { resolution: 32, viscosity: 1e-6, final_time: 10.0, time_step: 0.5, record_times: 2, subsample: 1, ..Default::default() };
    let sampler = NavierStokesSampler::new(cfg).unwrap();
    let err = sampler.sample(&mut ChaCha20Rng::seed_from_u64(1)).unwrap_err();
    match &err {
        NavierStokesError::BlowUp { viscosity, resolution, .. } => {
            assert_eq!(*viscosity, 1e-6);
            assert_eq!(*resolution, 32);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("viscosity") && msg.contains("time_step"), "{msg}");
}

#[test]
fn bad_configuration_is_a_typed_error() {
    let bad = |cfg: NavierStokesConfig, field: &str| match NavierStokesSolver::new(cfg) {
        Err(NavierStokesError::InvalidParameter(e)) => assert_eq!(e.field, field),
        other => panic!("expected error on {field}, got {other:?}"),
    };
    bad(NavierStokesConfig { resolution: 30, subsample: 4, ..Default::default() }, "subsample");
    bad(NavierStokesConfig { resolution: 7, ..Default::default() }, "resolution");
    bad(NavierStokesConfig { viscosity: -1.0, ..Default::default() }, "viscosity");
    bad(NavierStokesConfig { record_times: 0, ..Default::default() }, "record_times");
    // A parameter of the nested initial-condition field is named by its path in the config.
    let mut cfg = NavierStokesConfig::default();
    cfg.initial.tau = -1.0;
    bad(cfg, "initial.tau");
}

#[test]
fn sampler_stores_initial_condition_and_subsamples() {
    let cfg = NavierStokesConfig { resolution: 32, final_time: 0.01, time_step: 1e-3, record_times: 2, subsample: 4, ..Default::default() };
    let sampler = NavierStokesSampler::new(cfg).unwrap();
    let a = sampler.sample(&mut ChaCha20Rng::seed_from_u64(5)).unwrap();
    assert_eq!(a.vorticity.len(), 3 * 8 * 8);
    let w0 = PeriodicGrf2d::new(cfg.initial, 32).unwrap().sample(&mut ChaCha20Rng::seed_from_u64(5));
    for i in 0..8 {
        for j in 0..8 {
            assert!((a.vorticity[i * 8 + j] - w0[(4 * i) * 32 + 4 * j]).abs() < 1e-12);
        }
    }
}

/// Final vorticity of a forced run from an FNO initial field with `steps` equal steps to t = 1
/// (32², ν = 10⁻², strong enough nonlinearity for the scheme's temporal error to dominate).
fn forced_final_state(scheme: TimeScheme, steps: usize) -> Vec<f64> {
    let s = 32;
    let cfg = NavierStokesConfig {
        resolution: s,
        viscosity: 1e-2,
        final_time: 1.0,
        time_step: 1.0 / steps as f64,
        record_times: 1,
        subsample: 1,
        max_cfl: 10.0,
        scheme,
        ..Default::default()
    };
    let w0: Vec<f64> =
        PeriodicGrf2d::new(PeriodicGrfParams::fno_navier_stokes(), s).unwrap().sample(&mut ChaCha20Rng::seed_from_u64(3)).iter().map(|w| 4.0 * w).collect();
    let traj = NavierStokesSolver::new(cfg).unwrap().solve(&w0).unwrap();
    traj.vorticity[s * s..].to_vec()
}

fn max_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()))
}

/// Observed orders `log2(e(Δt)/e(Δt/2))` of `scheme` at `steps`, `2·steps`, `4·steps` against an
/// ETDRK4 reference with 512 steps.
fn observed_orders(scheme: TimeScheme, steps: usize) -> (Vec<f64>, Vec<f64>) {
    let reference = forced_final_state(TimeScheme::Etdrk4, 512);
    let errors: Vec<f64> = [steps, 2 * steps, 4 * steps].iter().map(|&n| max_difference(&forced_final_state(scheme, n), &reference)).collect();
    let orders = errors.windows(2).map(|e| (e[0] / e[1]).log2()).collect();
    (errors, orders)
}

#[test]
fn etdrk4_is_fourth_order_in_time_and_crank_nicolson_first() {
    let (errors, orders) = observed_orders(TimeScheme::Etdrk4, 8);
    println!("etdrk4 max errors (8, 16, 32 steps) {errors:?}; orders {orders:.3?}");
    for &p in &orders {
        assert!((p - 4.0).abs() < 0.35, "etdrk4 observed order {p}, errors {errors:?}");
    }
    let (errors, orders) = observed_orders(TimeScheme::CrankNicolson, 64);
    println!("crank-nicolson max errors (64, 128, 256 steps) {errors:?}; orders {orders:.3?}");
    for &p in &orders {
        assert!((p - 1.0).abs() < 0.15, "crank-nicolson observed order {p}, errors {errors:?}");
    }
}

#[test]
fn etdrk4_taylor_green_decay_is_exact() {
    // u·∇w ≡ 0 and no forcing: ETDRK4 integrates the remaining linear decay exactly.
    let cfg = NavierStokesConfig { max_cfl: 10.0, scheme: TimeScheme::Etdrk4, ..taylor_green_config(0.25, 1) };
    let (s, nu) = (cfg.resolution, cfg.viscosity);
    let traj = NavierStokesSolver::new(cfg).unwrap().solve(&grid(s, taylor_green)).unwrap();
    let decay = (-20.0 * PI * PI * nu).exp();
    let exact: Vec<f64> = grid(s, taylor_green).iter().map(|w| decay * w).collect();
    let err = max_difference(&traj.vorticity[s * s..], &exact);
    assert!(err < 1e-12, "max error {err:e}");
}
