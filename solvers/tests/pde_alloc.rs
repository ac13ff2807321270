//! The spectral time loops allocate nothing: a solve with ten times as many steps (same stored
//! times) makes exactly as many allocations. Counted with a wrapping global allocator, which
//! counts the calling thread's allocations only.

use oplab_solvers::burgers::{BurgersConfig, BurgersSolver};
use oplab_solvers::navier_stokes::{NavierStokesConfig, NavierStokesSolver, TimeScheme};
mod alloc_counter;
use alloc_counter::count;

#[test]
fn spectral_time_loops_do_not_allocate() {
    let s = 16;
    let w0: Vec<f64> = (0..s * s).map(|i| ((i * 7 % 11) as f64 * 0.3).sin()).collect();
    for scheme in [TimeScheme::CrankNicolson, TimeScheme::Etdrk4] {
        let solver = |time_step| {
            let cfg = NavierStokesConfig { resolution: s, final_time: 0.1, time_step, record_times: 2, subsample: 1, scheme, ..Default::default() };
            NavierStokesSolver::new(cfg).unwrap()
        };
        let (few, many) = (solver(1e-2), solver(1e-3));
        let (a, _) = count(|| few.solve(&w0).unwrap());
        let (b, _) = count(|| many.solve(&w0).unwrap());
        assert_eq!(a, b, "navier-stokes {}: 10 steps {a} allocations, 100 steps {b}", scheme.name());
    }
    let n = 64;
    let u0: Vec<f64> = (0..n).map(|j| 0.1 * (2.0 * std::f64::consts::PI * j as f64 / n as f64).sin()).collect();
    let solver = BurgersSolver::new(BurgersConfig { resolution: n, record_times: 2, ..Default::default() }).unwrap();
    let (a, _) = count(|| solver.solve_with_step(&u0, 0.05, 10).unwrap());
    let (b, _) = count(|| solver.solve_with_step(&u0, 0.005, 100).unwrap());
    assert_eq!(a, b, "burgers: 10 steps {a} allocations, 100 steps {b}");
}
