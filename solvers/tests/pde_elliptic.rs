//! Darcy, Poisson and Helmholtz: second-order convergence on manufactured solutions, residuals,
//! and typed errors for bad input.

use oplab_solvers::elliptic::{
    subsample_nodes, CoefficientMap, DarcyConfig, DarcySampler, DarcySolver, EllipticError, HelmholtzConfig, HelmholtzSampler, HelmholtzSolver, Ordering,
    PoissonConfig, PoissonSampler, PoissonSolver,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::f64::consts::PI;

/// Node values of `f` on the `s × s` grid, x slow.
fn nodes(s: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let h = 1.0 / (s - 1) as f64;
    let mut out = Vec::with_capacity(s * s);
    for i in 0..s {
        for j in 0..s {
            out.push(f(i as f64 * h, j as f64 * h));
        }
    }
    out
}

fn max_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Observed orders between successive grid doublings (h = 1/16 … 1/128).
fn observed_orders(errors: &[f64]) -> Vec<f64> {
    errors.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// The errors on [`GRIDS`] fall at second order: every observed order past the first
/// (pre-asymptotic) pair within 0.2 of 2.
fn assert_second_order(name: &str, errors: &[f64]) {
    let orders = observed_orders(errors);
    println!("{name} errors {errors:?} orders {orders:?}");
    for p in &orders[1..] {
        assert!((p - 2.0).abs() < 0.2, "{name}: observed order {p}");
    }
}

const GRIDS: [usize; 4] = [17, 33, 65, 129];

#[test]
fn darcy_converges_at_second_order_with_tiny_residual() {
    // u = sin(πx) sin(πy), a = 1 + x² + y  ⇒  f = −∇a·∇u − a Δu.
    let exact = |x: f64, y: f64| (PI * x).sin() * (PI * y).sin();
    let coeff = |x: f64, y: f64| 1.0 + x * x + y;
    let forcing = |x: f64, y: f64| {
        let ux = PI * (PI * x).cos() * (PI * y).sin();
        let uy = PI * (PI * x).sin() * (PI * y).cos();
        -(2.0 * x * ux + uy) + 2.0 * PI * PI * coeff(x, y) * exact(x, y)
    };
    let mut errors = Vec::new();
    for s in GRIDS {
        let solver = DarcySolver::new(s).unwrap();
        let sol = solver.solve(&nodes(s, coeff), &nodes(s, forcing)).unwrap();
        assert!(sol.relative_residual < 1e-10, "s = {s}: residual {}", sol.relative_residual);
        errors.push(max_error(&sol.solution, &nodes(s, exact)));
    }
    assert_second_order("darcy", &errors);
}

#[test]
fn darcy_fno_sample_has_residual_below_1e_10() {
    let sampler = DarcySampler::new(DarcyConfig { resolution: 85, ..Default::default() }).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let sample = sampler.sample(&mut rng).unwrap();
    assert!(sample.relative_residual < 1e-10, "residual {}", sample.relative_residual);
    assert!(sample.coeff.iter().all(|&a| a == 12.0 || a == 3.0));
    assert!(sample.coeff.contains(&12.0) && sample.coeff.contains(&3.0));
    // u > 0 inside (maximum principle with f = 1), zero on the boundary.
    assert!(sample.solution[42 * 85 + 42] > 0.0);
    assert_eq!(sample.solution[0], 0.0);
}

#[test]
fn orderings_agree() {
    let s = 41;
    let coeff = nodes(s, |x, y| 2.0 + (3.0 * x).sin() * (2.0 * y).cos());
    let f = vec![1.0; s * s];
    let nd = DarcySolver::with_ordering(s, Ordering::NestedDissection).unwrap();
    let amd = DarcySolver::with_ordering(s, Ordering::Amd).unwrap();
    let a = nd.solve(&coeff, &f).unwrap().solution;
    let b = amd.solve(&coeff, &f).unwrap().solution;
    assert!(max_error(&a, &b) < 1e-12);
}

#[test]
fn poisson_converges_at_second_order() {
    let exact = |x: f64, y: f64| (PI * x).sin() * (2.0 * PI * y).sin();
    let forcing = |x: f64, y: f64| 5.0 * PI * PI * exact(x, y);
    let mut errors = Vec::new();
    for s in GRIDS {
        let sol = PoissonSolver::new(s).unwrap().solve(&nodes(s, forcing)).unwrap();
        assert!(sol.relative_residual < 1e-10);
        errors.push(max_error(&sol.solution, &nodes(s, exact)));
    }
    assert_second_order("poisson", &errors);
}

#[test]
fn helmholtz_converges_at_second_order() {
    // k = 5 + x puts k² between the first two Dirichlet eigenvalues: an indefinite system.
    let k = |x: f64, _y: f64| 5.0 + x;
    let exact = |x: f64, y: f64| (PI * x).sin() * (2.0 * PI * y).sin();
    let forcing = |x: f64, y: f64| (5.0 * PI * PI - k(x, y).powi(2)) * exact(x, y);
    let mut errors = Vec::new();
    for s in GRIDS {
        let sol = HelmholtzSolver::new(s).unwrap().solve(&nodes(s, k), &nodes(s, forcing)).unwrap();
        assert!(sol.relative_residual < 1e-10, "residual {}", sol.relative_residual);
        errors.push(max_error(&sol.solution, &nodes(s, exact)));
    }
    assert_second_order("helmholtz", &errors);
}

#[test]
fn samplers_are_deterministic_per_rng() {
    let p = PoissonSampler::new(PoissonConfig { resolution: 33, ..Default::default() }).unwrap();
    let h = HelmholtzSampler::new(HelmholtzConfig { resolution: 33, omega: 100.0, ..Default::default() }).unwrap();
    let a = p.sample(&mut ChaCha20Rng::seed_from_u64(3)).unwrap();
    let b = p.sample(&mut ChaCha20Rng::seed_from_u64(3)).unwrap();
    assert_eq!(a, b);
    let c = h.sample(&mut ChaCha20Rng::seed_from_u64(3)).unwrap();
    assert!(c.relative_residual < 1e-8);
    assert!(c.wave_speed.iter().all(|&v| v > 19.0 && v < 21.0));
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(DarcySolver::new(2), Err(EllipticError::InvalidParameter(e)) if e.field == "resolution"));
    let solver = DarcySolver::new(5).unwrap();
    let mut coeff = vec![1.0; 25];
    coeff[12] = -1.0;
    assert!(matches!(solver.solve(&coeff, &[1.0; 25]), Err(EllipticError::InvalidParameter(e)) if e.field == "coeff"));
    coeff[12] = f64::NAN;
    assert!(matches!(solver.solve(&coeff, &[1.0; 25]), Err(EllipticError::InvalidParameter(e)) if e.field == "coeff"));
    assert!(matches!(solver.solve(&[1.0; 24], &[1.0; 25]), Err(EllipticError::InvalidParameter(e)) if e.field == "coeff"));
    let bad = DarcyConfig { resolution: 9, coefficient: CoefficientMap::Threshold { high: 12.0, low: 0.0, threshold: 0.0 }, ..Default::default() };
    assert!(matches!(DarcySampler::new(bad), Err(EllipticError::InvalidParameter(e)) if e.field == "coefficient.low"));
    let bad = HelmholtzConfig { wave_speed: oplab_solvers::elliptic::WaveSpeedMap { mean: 1.0, amplitude: 2.0 }, ..Default::default() };
    assert!(matches!(HelmholtzSampler::new(bad), Err(EllipticError::InvalidParameter(e)) if e.field == "wave_speed.amplitude"));
    // The random field's parameters are named by their path in the config, e.g. `grf.alpha`.
    let mut bad = DarcyConfig { resolution: 9, ..Default::default() };
    bad.grf.alpha = -1.0;
    let e = DarcySampler::new(bad).unwrap_err();
    assert_eq!(e.to_string(), "grf.alpha = -1 is invalid: must be a finite number > 0");
}

#[test]
fn subsampling_matches_numpy_slicing() {
    for (k, expect) in [(5, 85), (3, 141), (2, 211), (1, 421)] {
        let field = vec![0.0; 421 * 421];
        assert_eq!(subsample_nodes(&field, 421, k).unwrap().1, expect);
    }
    let field: Vec<f64> = (0..25).map(|v| v as f64).collect();
    let (sub, n) = subsample_nodes(&field, 5, 2).unwrap();
    assert_eq!(n, 3);
    assert_eq!(sub, vec![0.0, 2.0, 4.0, 10.0, 12.0, 14.0, 20.0, 22.0, 24.0]);
}

#[test]
fn multigrid_pcg_matches_cholesky() {
    use oplab_solvers::elliptic::{DarcyMethod, MultigridPcg};
    for s in [65, 257] {
        let field = oplab_solvers::grf::CosineGrf2d::on_node_grid(Default::default(), s).unwrap().sample(&mut ChaCha20Rng::seed_from_u64(s as u64));
        let coeff = CoefficientMap::default().apply(&field);
        let f = vec![1.0; s * s];
        let direct = DarcySolver::new(s).unwrap().solve(&coeff, &f).unwrap();
        let mg = DarcySolver::with_method(s, DarcyMethod::Multigrid).unwrap();
        let iterative = mg.solve(&coeff, &f).unwrap();
        let (_, report) = MultigridPcg::new(s).unwrap().solve(&coeff, &f, 1e-12, 200).unwrap();
        println!("s = {s}: PCG iterations {}, residual {:e}", report.iterations, iterative.relative_residual);
        assert!(iterative.relative_residual < 1e-10, "{}", iterative.relative_residual);
        let scale = direct.solution.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(max_error(&direct.solution, &iterative.solution) < 1e-9 * scale);
    }
}
