//! Advection: exact shift. Reaction–diffusion: exact logistic and heat limits, Strang order 2.

use oplab_solvers::advection::{cell_centres, pdebench_initial_condition, AdvectionConfig, AdvectionSolver, Pde1dError};
use oplab_solvers::reaction_diffusion::{ReactionDiffusionConfig, ReactionDiffusionSolver};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::f64::consts::PI;

#[test]
fn advection_is_an_exact_shift() {
    let n = 64;
    let cfg = AdvectionConfig { resolution: n, beta: 0.7, final_time: 2.0, record_times: 10 };
    let x = cell_centres(n);
    let profile = |x: f64| (2.0 * PI * x).sin() + 0.3 * (2.0 * PI * 5.0 * x + 1.0).cos();
    let u0: Vec<f64> = x.iter().map(|&x| profile(x)).collect();
    let u = AdvectionSolver::new(cfg).unwrap().solve(&u0).unwrap();
    for (k, t) in cfg.times().iter().enumerate() {
        for j in 0..n {
            assert!((u[k * n + j] - profile(x[j] - cfg.beta * t)).abs() < 1e-12);
        }
    }
    // A full period of shifts returns the grid function itself, whatever it is.
    let rough = pdebench_initial_condition(&x, &mut ChaCha20Rng::seed_from_u64(9));
    let cfg = AdvectionConfig { resolution: n, beta: 1.0, final_time: 1.0, record_times: 1 };
    let back = AdvectionSolver::new(cfg).unwrap().solve(&rough).unwrap();
    for j in 0..n {
        assert!((back[n + j] - rough[j]).abs() < 1e-12);
    }
}

#[test]
fn reaction_diffusion_limits_are_exact() {
    let n = 32;
    // Uniform state: pure logistic growth u(t) = u0 e^{ρt} / (1 − u0 + u0 e^{ρt}).
    let cfg = ReactionDiffusionConfig { resolution: n, nu: 1.0, rho: 5.0, final_time: 1.0, record_times: 4, max_time_step: 0.05 };
    let u = ReactionDiffusionSolver::new(cfg).unwrap().solve(&vec![0.1; n]).unwrap();
    for (k, t) in cfg.times().iter().enumerate() {
        let e = (cfg.rho * t).exp();
        let exact = 0.1 * e / (0.9 + 0.1 * e);
        assert!((u[k * n] - exact).abs() < 1e-12, "t={t}");
    }
    // No reaction: heat equation, each mode decays exactly.
    let cfg = ReactionDiffusionConfig { rho: 0.0, nu: 0.1, ..cfg };
    let x = cell_centres(n);
    let u0: Vec<f64> = x.iter().map(|&x| 0.5 + 0.2 * (4.0 * PI * x).cos()).collect();
    let u = ReactionDiffusionSolver::new(cfg).unwrap().solve(&u0).unwrap();
    let decay = (-cfg.nu * 16.0 * PI * PI * cfg.final_time).exp();
    for j in 0..n {
        assert!((u[4 * n + j] - (0.5 + 0.2 * decay * (4.0 * PI * x[j]).cos())).abs() < 1e-12);
    }
}

#[test]
fn strang_splitting_is_second_order() {
    let n = 64;
    let cfg = ReactionDiffusionConfig { resolution: n, nu: 0.01, rho: 5.0, final_time: 0.5, record_times: 1, max_time_step: 1.0 };
    let x = cell_centres(n);
    let u0: Vec<f64> = x.iter().map(|&x| 0.5 + 0.4 * (2.0 * PI * x).sin()).collect();
    let solver = ReactionDiffusionSolver::new(cfg).unwrap();
    let final_state = |steps| solver.solve_with_steps(&u0, steps).unwrap()[n..].to_vec();
    let reference = final_state(2048);
    let err = |steps| final_state(steps).iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let (e1, e2) = (err(16), err(32));
    let order = (e1 / e2).log2();
    println!("strang errors {e1:e} {e2:e} order {order:.3}");
    assert!((order - 2.0).abs() < 0.2, "order {order}");
}

#[test]
fn bad_parameters_are_typed_errors() {
    assert!(matches!(
        AdvectionSolver::new(AdvectionConfig { beta: f64::NAN, ..Default::default() }),
        Err(Pde1dError::InvalidParameter(e)) if e.field == "beta"
    ));
    assert!(matches!(
        ReactionDiffusionSolver::new(ReactionDiffusionConfig { nu: -1.0, ..Default::default() }),
        Err(Pde1dError::InvalidParameter(e)) if e.field == "nu"
    ));
    let solver = ReactionDiffusionSolver::new(ReactionDiffusionConfig { resolution: 8, ..Default::default() }).unwrap();
    // A state at the edge of f64 range overflows the reaction step: reported, not returned.
    let cfg = ReactionDiffusionConfig { resolution: 8, rho: 5.0, record_times: 1, max_time_step: 0.5, ..Default::default() };
    let blow = ReactionDiffusionSolver::new(cfg).unwrap().solve(&[1e308; 8]);
    assert!(matches!(blow, Err(Pde1dError::BlowUp { problem: "reaction-diffusion", .. })), "{blow:?}");
    assert!(solver.solve(&[0.5; 7]).is_err());
}

/// PDEBench's `init_multi` gives every one of its four modes an amplitude and a phase, and a
/// mode that was not drawn keeps wavenumber 0, so it adds the constant `A sin φ`: the spatial
/// mean of a profile is then far from 0 (E[(A sin φ)²] = 1/6 per undrawn mode, 2.25 undrawn on
/// average, about 0.37 in all). A random sign flip makes positive and negative means equally
/// likely even though 10 % of the profiles are rectified.
#[test]
fn pdebench_initial_condition_has_the_scripts_offsets_and_sign_symmetry() {
    let x = cell_centres(256);
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let n = 4000;
    let (mut mean_sq, mut positive) = (0.0, 0usize);
    for _ in 0..n {
        let u = pdebench_initial_condition(&x, &mut rng);
        assert!(u.iter().all(|v| v.is_finite() && v.abs() <= 4.0));
        let mean = u.iter().sum::<f64>() / u.len() as f64;
        mean_sq += mean * mean / n as f64;
        positive += usize::from(mean > 0.0);
    }
    assert!((0.28..0.46).contains(&mean_sq), "mean square of the spatial means {mean_sq}");
    let share = positive as f64 / n as f64;
    assert!((share - 0.5).abs() < 0.04, "share of positive means {share}");
}
