//! Many solves of one right-hand side in parallel (rayon): one integrator per worker,
//! reused across the members it handles, so stage buffers are allocated a handful of times
//! for the whole ensemble.
//!
//! ```
//! use oplab_solvers::ode::{solve_ensemble, EnsembleMember, Method, SolveOptions};
//! use oplab_solvers::systems;
//!
//! // Lorenz-63 at its nominal parameters from three initial states, recorded at t = 0, 0.1, …, 1.
//! let lorenz = systems::by_name("lorenz").unwrap();
//! let (rhs, params) = (lorenz.compile(), lorenz.nominal_params());
//! let starts = [[1.0, 1.0, 1.0], [-1.0, 2.0, 0.5], [0.0, -3.0, 20.0]];
//! let members: Vec<EnsembleMember> = starts.iter().map(|y0| EnsembleMember { params: &params, y0 }).collect();
//! let t_eval: Vec<f64> = (0..=10).map(|i| 0.1 * i as f64).collect();
//! let opts = SolveOptions::with_tolerances(1e-8, 1e-10);
//! let result = solve_ensemble(Method::Dop853, &rhs, &members, 0.0, &t_eval, &opts);
//! assert_eq!(result.n_failed(), 0);
//! // States are (member, time, component), row-major; each member starts where it was put.
//! assert_eq!(result.states.len(), 3 * 11 * 3);
//! assert_eq!(&result.states[11 * 3..11 * 3 + 3], &starts[1]);
//! ```

use super::{Integrator, Method, OdeError, Rhs, SolveOptions, Stats};
use rayon::prelude::*;

/// One ensemble member: its parameters and initial state.
#[derive(Debug, Clone, Copy)]
pub struct EnsembleMember<'a> {
    /// Parameters passed to the right-hand side.
    pub params: &'a [f64],
    /// Initial state at `t0`.
    pub y0: &'a [f64],
}

/// Results of an ensemble solve.
#[derive(Debug, Clone)]
pub struct EnsembleResult {
    /// States, row-major `(members, t_eval.len(), dim)`; a failed member's rows are NaN.
    pub states: Vec<f64>,
    /// Per-member outcome, in member order.
    pub outcomes: Vec<Result<Stats, OdeError>>,
}

impl EnsembleResult {
    /// Number of members that failed.
    pub fn n_failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.is_err()).count()
    }
}

/// Solve every member from `t0` and record its state at each of `t_eval`.
///
/// Runs on the current rayon pool (install a pool to bound the thread count). The result does
/// not depend on the number of threads.
pub fn solve_ensemble<R: Rhs + Sync + ?Sized>(
    method: Method,
    rhs: &R,
    members: &[EnsembleMember<'_>],
    t0: f64,
    t_eval: &[f64],
    opts: &SolveOptions,
) -> EnsembleResult {
    let dim = rhs.dim();
    let row = t_eval.len() * dim;
    let mut states = vec![0.0; members.len() * row];
    if row == 0 {
        // Nothing to store, but still validate and integrate each member for its outcome.
        let outcomes =
            members.par_iter().map_init(|| Integrator::new(method, dim), |integ, m| integ.solve(rhs, m.params, t0, m.y0, t_eval, opts, &mut [])).collect();
        return EnsembleResult { states, outcomes };
    }
    let outcomes = states
        .par_chunks_mut(row)
        .zip(members.par_iter())
        .map_init(
            || Integrator::new(method, dim),
            |integ, (chunk, m)| {
                let r = integ.solve(rhs, m.params, t0, m.y0, t_eval, opts, chunk);
                if r.is_err() {
                    chunk.iter_mut().for_each(|v| *v = f64::NAN);
                }
                r
            },
        )
        .collect();
    EnsembleResult { states, outcomes }
}
