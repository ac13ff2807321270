//! ODE integrators: Dormand–Prince 5(4) and DOP853 (adaptive, dense output), classic RK4
//! (fixed step) and a stiff Rosenbrock 2(3) method, plus rayon ensembles.
//!
//! Every integrator owns its stage buffers (allocated once in `new(dim)`), so a solve does not
//! allocate per step and an integrator can be reused across many solves (the ensemble keeps
//! one per worker thread). Output is produced at caller-requested times by each method's
//! continuous extension, never by shortening steps onto them.
// Index loops over several stage vectors at once read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

mod control;
mod dop853;
mod dop853_tableau;
mod dopri5;
mod driver;
pub mod ensemble;
mod linalg;
mod rk4;
mod rosenbrock;

pub use dop853::Dop853;
pub use dopri5::Dopri5;
pub use driver::Solver;
pub use ensemble::{solve_ensemble, EnsembleMember, EnsembleResult};
pub use rk4::Rk4;
pub use rosenbrock::Rosenbrock23;

/// A right-hand side `dy/dt = f(t, y; params)` evaluated on slices.
pub trait Rhs {
    /// State dimension.
    fn dim(&self) -> usize;

    /// Write `f(t, y; params)` into `dydt` (`y.len() == dydt.len() == dim()`).
    fn eval(&self, t: f64, y: &[f64], params: &[f64], dydt: &mut [f64]);

    /// Number of parameters `eval` reads (checked before a solve).
    fn n_params(&self) -> usize {
        0
    }

    /// Whether `f` does not depend on `t` (lets implicit methods skip the `∂f/∂t` evaluation).
    fn is_autonomous(&self) -> bool {
        false
    }

    /// Write the Jacobian `∂f/∂y` (row-major, `dim × dim`) and return `true`, or return `false`
    /// to let the integrator use finite differences.
    fn jacobian(&self, _t: f64, _y: &[f64], _params: &[f64], _jac: &mut [f64]) -> bool {
        false
    }
}

impl<R: Rhs + ?Sized> Rhs for &R {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn eval(&self, t: f64, y: &[f64], params: &[f64], dydt: &mut [f64]) {
        (**self).eval(t, y, params, dydt)
    }
    fn n_params(&self) -> usize {
        (**self).n_params()
    }
    fn is_autonomous(&self) -> bool {
        (**self).is_autonomous()
    }
    fn jacobian(&self, t: f64, y: &[f64], params: &[f64], jac: &mut [f64]) -> bool {
        (**self).jacobian(t, y, params, jac)
    }
}

/// A right-hand side from a closure `f(t, y, params, dydt)`.
#[derive(Clone)]
pub struct FnRhs<F> {
    dim: usize,
    f: F,
}

impl<F: Fn(f64, &[f64], &[f64], &mut [f64])> FnRhs<F> {
    /// Wrap `f` for a state of dimension `dim`.
    pub fn new(dim: usize, f: F) -> Self {
        FnRhs { dim, f }
    }
}

impl<F: Fn(f64, &[f64], &[f64], &mut [f64])> Rhs for FnRhs<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    #[inline]
    fn eval(&self, t: f64, y: &[f64], params: &[f64], dydt: &mut [f64]) {
        (self.f)(t, y, params, dydt)
    }
}

/// Why a solve failed. Each variant names where (time) and how large the state was
/// (Euclidean norm), so a caller can log a rejected sample meaningfully.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OdeError {
    /// The controller asked for a step too small to advance `t` in floating point.
    #[error("step size underflow at t = {t} (h = {h:e}, |y| = {state_norm:e})")]
    StepSizeUnderflow {
        /// Time reached.
        t: f64,
        /// Step size that was too small.
        h: f64,
        /// Euclidean norm of the state.
        state_norm: f64,
    },
    /// More than `max_steps` steps (accepted + rejected) were needed.
    #[error("maximum number of steps ({max_steps}) exceeded at t = {t} (|y| = {state_norm:e})")]
    MaxStepsExceeded {
        /// The limit.
        max_steps: usize,
        /// Time reached.
        t: f64,
        /// Euclidean norm of the state.
        state_norm: f64,
    },
    /// The state became NaN or infinite.
    #[error("state became non-finite at t = {t} (|y| = {state_norm})")]
    NonFinite {
        /// Time of the offending step.
        t: f64,
        /// Euclidean norm of the state (NaN or inf).
        state_norm: f64,
    },
    /// A component exceeded the blow-up bound.
    #[error("state blew up at t = {t}: max |y_i| = {max_abs:e} exceeds the bound {bound:e} (|y| = {state_norm:e})")]
    BlowUp {
        /// Time of the offending step.
        t: f64,
        /// Largest absolute component.
        max_abs: f64,
        /// The configured bound.
        bound: f64,
        /// Euclidean norm of the state.
        state_norm: f64,
    },
    /// An argument is out of its allowed range.
    #[error(transparent)]
    InvalidParameter(#[from] crate::InvalidParameter),
}

/// Settings of one solve. `Default` gives rtol = 1e-6, atol = 1e-9, no step limits beyond
/// 1,000,000 steps, no blow-up bound.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveOptions {
    /// Relative tolerance (> 0).
    pub rtol: f64,
    /// Absolute tolerance (≥ 0).
    pub atol: f64,
    /// Initial step; `None` chooses it automatically (Hairer's `hinit`).
    pub first_step: Option<f64>,
    /// Largest step allowed.
    pub max_step: f64,
    /// Largest number of step attempts.
    pub max_steps: usize,
    /// Fail with [`OdeError::BlowUp`] when any `|y_i|` exceeds this.
    pub blowup_bound: f64,
    /// Take steps of exactly this size (no error control; the last step is shortened to land
    /// on the final time). Required by [`Rk4`].
    pub fixed_step: Option<f64>,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions { rtol: 1e-6, atol: 1e-9, first_step: None, max_step: f64::INFINITY, max_steps: 1_000_000, blowup_bound: f64::INFINITY, fixed_step: None }
    }
}

impl SolveOptions {
    /// Options with the given tolerances and defaults otherwise.
    pub fn with_tolerances(rtol: f64, atol: f64) -> Self {
        SolveOptions { rtol, atol, ..Default::default() }
    }
}

/// Work counters of one solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected step attempts.
    pub rejected: usize,
    /// Right-hand-side evaluations.
    pub rhs_evals: usize,
    /// Jacobian evaluations (implicit methods).
    pub jacobian_evals: usize,
}

/// Choice of integrator, for ensembles and generators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Dormand–Prince 5(4), PI control, 4th-order dense output.
    Dopri5,
    /// Dormand–Prince 8(5,3), 7th-order dense output.
    Dop853,
    /// Classic RK4 with `SolveOptions::fixed_step`.
    Rk4,
    /// Rosenbrock 2(3) (Shampine–Reichelt `ode23s`), L-stable, for stiff problems.
    Rosenbrock23,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 4] = [Method::Dopri5, Method::Dop853, Method::Rk4, Method::Rosenbrock23];

    /// Lower-case name (`dopri5`, `dop853`, `rk4`, `rosenbrock23`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Dopri5 => "dopri5",
            Method::Dop853 => "dop853",
            Method::Rk4 => "rk4",
            Method::Rosenbrock23 => "rosenbrock23",
        }
    }

    /// Parse a name as printed by [`Method::name`].
    pub fn from_name(name: &str) -> Result<Method, OdeError> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| crate::InvalidParameter::new("method", name, "must be one of dopri5, dop853, rk4, rosenbrock23").into())
    }
}

/// An integrator of any [`Method`], reusable across solves of one dimension.
#[derive(Debug, Clone)]
pub enum Integrator {
    /// See [`Dopri5`].
    Dopri5(Dopri5),
    /// See [`Dop853`].
    Dop853(Dop853),
    /// See [`Rk4`].
    Rk4(Rk4),
    /// See [`Rosenbrock23`].
    Rosenbrock23(Rosenbrock23),
}

impl Integrator {
    /// Allocate an integrator of `method` for states of dimension `dim`.
    pub fn new(method: Method, dim: usize) -> Self {
        match method {
            Method::Dopri5 => Integrator::Dopri5(Dopri5::new(dim)),
            Method::Dop853 => Integrator::Dop853(Dop853::new(dim)),
            Method::Rk4 => Integrator::Rk4(Rk4::new(dim)),
            Method::Rosenbrock23 => Integrator::Rosenbrock23(Rosenbrock23::new(dim)),
        }
    }

    /// Solve from `(t0, y0)` and write the state at each of `t_eval` (non-decreasing, all
    /// `≥ t0`) into `out` (row-major `t_eval.len() × dim`).
    #[allow(clippy::too_many_arguments)]
    pub fn solve<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        t0: f64,
        y0: &[f64],
        t_eval: &[f64],
        opts: &SolveOptions,
        out: &mut [f64],
    ) -> Result<Stats, OdeError> {
        match self {
            Integrator::Dopri5(s) => s.solve(rhs, params, t0, y0, t_eval, opts, out),
            Integrator::Dop853(s) => s.solve(rhs, params, t0, y0, t_eval, opts, out),
            Integrator::Rk4(s) => s.solve(rhs, params, t0, y0, t_eval, opts, out),
            Integrator::Rosenbrock23(s) => s.solve(rhs, params, t0, y0, t_eval, opts, out),
        }
    }
}

/// One-shot convenience: allocate an integrator, solve, return the `t_eval.len() × dim` states.
pub fn solve<R: Rhs + ?Sized>(
    method: Method,
    rhs: &R,
    params: &[f64],
    t0: f64,
    y0: &[f64],
    t_eval: &[f64],
    opts: &SolveOptions,
) -> Result<(Vec<f64>, Stats), OdeError> {
    let mut out = vec![0.0; t_eval.len() * rhs.dim()];
    let stats = Integrator::new(method, rhs.dim()).solve(rhs, params, t0, y0, t_eval, opts, &mut out)?;
    Ok((out, stats))
}

/// Euclidean norm, used in error messages.
pub(crate) fn norm(y: &[f64]) -> f64 {
    y.iter().map(|v| v * v).sum::<f64>().sqrt()
}
