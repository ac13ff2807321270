//! A reused integrator allocates nothing during a solve (stage buffers are preallocated, the
//! symbolic tape evaluates on the stack). Counted with a wrapping global allocator, which
//! counts the calling thread's allocations only.

use oplab_solvers::ode::{Integrator, Method, SolveOptions};
use oplab_solvers::systems;
mod alloc_counter;
use alloc_counter::count;

#[test]
fn solves_do_not_allocate() {
    let t_eval: Vec<f64> = (0..=200).map(|k| k as f64 * 0.05).collect();
    for name in ["lorenz", "double_pendulum", "lorenz96_5d"] {
        let sys = systems::by_name(name).unwrap();
        let rhs = sys.compile();
        let p = sys.nominal_params();
        let y0: Vec<f64> = (0..sys.dim).map(|i| 0.1 + 0.2 * i as f64).collect();
        let mut out = vec![0.0; t_eval.len() * sys.dim];
        for method in Method::ALL {
            let opts = SolveOptions { fixed_step: (method == Method::Rk4).then_some(1e-3), ..SolveOptions::with_tolerances(1e-8, 1e-10) };
            let mut integ = Integrator::new(method, sys.dim);
            // First solve may initialise lazily built data (the symbolic Jacobian tape).
            integ.solve(&rhs, &p, 0.0, &y0, &t_eval, &opts, &mut out).unwrap();
            let (allocated, stats) = count(|| integ.solve(&rhs, &p, 0.0, &y0, &t_eval, &opts, &mut out).unwrap());
            assert_eq!(allocated, 0, "{name} {}: {allocated} allocations over {} steps", method.name(), stats.accepted);
        }
    }
}
