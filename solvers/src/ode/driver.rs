//! What every method shares: the time loop ([`Solver::solve`]: input validation, initial step,
//! step acceptance, output at requested times through the method's dense output, failure
//! detection), the bookkeeping of where the solve stands ([`StepState`]) and the counted access
//! to the right-hand side ([`Problem`]). A method supplies only its stages, error estimate and
//! continuous extension, as a [`Stepper`].

use super::control::{error_norm, Controller};
use super::{norm, OdeError, Rhs, SolveOptions, Stats};

/// Where a solve stands, kept the same way by every method: the current point, the step being
/// attempted, and the last accepted step that dense output interpolates over. The driver loads,
/// sizes and advances it; a method reads it and fills `y_new` (and may use `tmp` freely).
#[derive(Debug, Clone)]
pub struct StepState {
    /// State dimension the buffers were allocated for.
    pub(crate) dim: usize,
    /// Current time.
    pub(crate) t: f64,
    /// Size of the step being attempted; after it is accepted, of the last accepted step.
    pub(crate) h: f64,
    /// Start of the last accepted step.
    pub(crate) t_old: f64,
    /// Current state.
    pub(crate) y: Vec<f64>,
    /// State at the start of the last accepted step (every method's dense output starts there).
    pub(crate) y_old: Vec<f64>,
    /// State at the end of the step being attempted.
    pub(crate) y_new: Vec<f64>,
    /// Scratch: stage arguments, error vectors.
    pub(crate) tmp: Vec<f64>,
}

impl StepState {
    fn new(dim: usize) -> Self {
        let v = || vec![0.0; dim];
        StepState { dim, t: 0.0, h: 0.0, t_old: 0.0, y: v(), y_old: v(), y_new: v(), tmp: v() }
    }

    /// Commit the attempted step: `y_new` becomes the state, the old state `y_old`, and
    /// `[t_old, t]` the step that dense output covers. Buffers are rotated, not copied.
    fn advance(&mut self) {
        self.t_old = self.t;
        self.t += self.h;
        std::mem::swap(&mut self.y_old, &mut self.y);
        std::mem::swap(&mut self.y, &mut self.y_new);
    }

    /// Where `t` lies in the last accepted step, as a fraction of it.
    #[inline]
    pub(crate) fn fraction(&self, t: f64) -> f64 {
        (t - self.t_old) / self.h
    }
}

/// The problem one solve works on, as a method sees it: the right-hand side with its
/// parameters, the options, and the work counters. Every evaluation goes through here, so the
/// counts are made where the work is done.
pub struct Problem<'a, R: ?Sized> {
    rhs: &'a R,
    params: &'a [f64],
    pub(crate) opts: &'a SolveOptions,
    pub(crate) stats: Stats,
}

impl<R: Rhs + ?Sized> Problem<'_, R> {
    /// Write `f(t, y)` into `dydt`.
    #[inline]
    pub(crate) fn eval(&mut self, t: f64, y: &[f64], dydt: &mut [f64]) {
        self.rhs.eval(t, y, self.params, dydt);
        self.stats.rhs_evals += 1;
    }

    /// Counts one Jacobian evaluation and writes the analytic Jacobian if the right-hand side
    /// has one (see [`Rhs::jacobian`]); `false` leaves it to the method to approximate.
    pub(crate) fn jacobian(&mut self, t: f64, y: &[f64], jac: &mut [f64]) -> bool {
        self.stats.jacobian_evals += 1;
        self.rhs.jacobian(t, y, self.params, jac)
    }

    /// See [`Rhs::is_autonomous`].
    pub(crate) fn is_autonomous(&self) -> bool {
        self.rhs.is_autonomous()
    }

    /// The scaled norm of the error vector `err` of a step from `y` to `y_new`, with this
    /// solve's tolerances.
    #[inline]
    pub(crate) fn error_norm(&self, err: &[f64], y: &[f64], y_new: &[f64]) -> f64 {
        error_norm(err, y, y_new, self.opts.rtol, self.opts.atol)
    }
}

/// One method's own part of an integrator: its buffers (stages, continuous-extension
/// coefficients), its error estimate and its dense output. [`Solver`] owns the time loop and
/// the [`StepState`]. Public only so that the integrator types can name it; not re-exported.
pub trait Stepper: Sized {
    /// Classical order (used for the initial step guess).
    const ORDER: usize;
    /// Allocate the method's buffers for states of dimension `dim`.
    fn new(dim: usize) -> Self;
    /// Step-size controller suited to the method's error estimator.
    fn controller() -> Controller;
    /// Refuse options the method cannot work with (checked before anything else).
    fn check(_opts: &SolveOptions) -> Result<(), OdeError> {
        Ok(())
    }
    /// Evaluate `f` at the start point just loaded into `st`, and forget anything that
    /// belonged to an earlier solve.
    fn start<R: Rhs + ?Sized>(&mut self, st: &StepState, p: &mut Problem<'_, R>);
    /// Attempt a step of size `st.h` from `(st.t, st.y)` into `st.y_new`; return the scaled
    /// error norm (≤ 1 acceptable; 0 for methods without an estimator).
    fn try_step<R: Rhs + ?Sized>(&mut self, st: &mut StepState, p: &mut Problem<'_, R>) -> f64;
    /// Prepare the continuous extension of the step just attempted, before it is accepted.
    /// Called only when an output time falls inside the step; methods whose dense output needs
    /// nothing beyond the end states and slopes keep the default.
    fn prepare_dense<R: Rhs + ?Sized>(&mut self, _st: &mut StepState, _p: &mut Problem<'_, R>) {}
    /// Rotate the method's own buffers for the accepted step (the driver then advances `st`).
    fn accept(&mut self);
    /// `f(t, y)` at the current state.
    fn dydt(&self) -> &[f64];
    /// State at `t` inside the last accepted step.
    fn dense(&self, st: &StepState, t: f64, out: &mut [f64]);
}

/// An integrator of one method `M` for states of a fixed dimension, reusable across solves:
/// the shared `StepState` and the method's own buffers, all allocated in `new`, so a solve
/// allocates nothing. [`super::Dopri5`], [`super::Dop853`], [`super::Rk4`] and
/// [`super::Rosenbrock23`] name its instances.
#[derive(Debug, Clone)]
pub struct Solver<M> {
    state: StepState,
    method: M,
}

impl<M: Stepper> Solver<M> {
    /// Allocate buffers for states of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        Solver { state: StepState::new(dim), method: M::new(dim) }
    }

    /// Solve from `(t0, y0)`, writing the state at each `t_eval` time into `out`
    /// (row-major `t_eval.len() × dim`). See [`super::Integrator::solve`].
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
        M::check(opts)?;
        let (st, m) = (&mut self.state, &mut self.method);
        let dim = st.dim;
        validate(rhs, dim, params, t0, y0, t_eval, opts, out.len())?;
        let mut p = Problem { rhs, params, opts, stats: Stats::default() };
        if t_eval.is_empty() {
            return Ok(p.stats);
        }
        st.t = t0;
        st.y.copy_from_slice(y0);
        m.start(st, &mut p);
        let mut next = 0;
        while next < t_eval.len() && t_eval[next] <= t0 {
            out[next * dim..(next + 1) * dim].copy_from_slice(y0);
            next += 1;
        }
        let t_end = *t_eval.last().expect("non-empty");
        let mut controller = M::controller();
        let mut h = match (opts.fixed_step, opts.first_step) {
            (Some(h), _) => h,
            (None, Some(h)) => h,
            (None, None) if next < t_eval.len() => initial_step(st, m.dydt(), M::ORDER, &mut p, opts.max_step),
            _ => 1.0,
        }
        .min(opts.max_step);
        let mut attempts = 0usize;
        while next < t_eval.len() {
            let t = st.t;
            if attempts >= opts.max_steps {
                return Err(OdeError::MaxStepsExceeded { max_steps: opts.max_steps, t, state_norm: norm(&st.y) });
            }
            attempts += 1;
            // Land exactly on t_end; also avoid a sliver of a last step.
            let remaining = t_end - t;
            let h_try = if h >= remaining * (1.0 - 1e-12) { remaining } else { h };
            if h_try <= 10.0 * f64::EPSILON * t.abs().max(1e-300) || t + h_try == t {
                return Err(OdeError::StepSizeUnderflow { t, h: h_try, state_norm: norm(&st.y) });
            }
            st.h = h_try;
            let err = m.try_step(st, &mut p);
            let accept = opts.fixed_step.is_some() || err <= 1.0;
            if !accept {
                p.stats.rejected += 1;
                h = controller.reject(h_try, err);
                continue;
            }
            let t_new = if h_try == remaining { t_end } else { t + h_try };
            if t_eval[next] < t_new {
                m.prepare_dense(st, &mut p);
            }
            m.accept();
            st.advance();
            p.stats.accepted += 1;
            // Failure checks on the accepted state.
            let mut max_abs: f64 = 0.0;
            let mut finite = true;
            for &v in &st.y {
                finite &= v.is_finite();
                max_abs = max_abs.max(v.abs());
            }
            if !finite {
                return Err(OdeError::NonFinite { t: t_new, state_norm: norm(&st.y) });
            }
            if max_abs > opts.blowup_bound {
                return Err(OdeError::BlowUp { t: t_new, max_abs, bound: opts.blowup_bound, state_norm: norm(&st.y) });
            }
            while next < t_eval.len() && t_eval[next] <= t_new {
                let row = &mut out[next * dim..(next + 1) * dim];
                if t_eval[next] == t_new {
                    row.copy_from_slice(&st.y);
                } else {
                    m.dense(st, t_eval[next], row);
                }
                next += 1;
            }
            h = match opts.fixed_step {
                Some(hf) => hf,
                None => controller.accept(h_try, err).min(opts.max_step),
            };
        }
        Ok(p.stats)
    }
}

/// `allowed` completes "must be ...".
fn invalid(field: &'static str, value: impl ToString, allowed: &str) -> OdeError {
    crate::InvalidParameter::new(field, value, format!("must be {allowed}")).into()
}

/// Check every argument of a solve; typed errors name the field, value and allowed range.
/// (Negated comparisons are deliberate: they also reject NaN.)
#[allow(clippy::too_many_arguments, clippy::neg_cmp_op_on_partial_ord)]
fn validate<R: Rhs + ?Sized>(
    rhs: &R,
    dim: usize,
    params: &[f64],
    t0: f64,
    y0: &[f64],
    t_eval: &[f64],
    opts: &SolveOptions,
    out_len: usize,
) -> Result<(), OdeError> {
    if rhs.dim() != dim {
        return Err(invalid("rhs.dim", rhs.dim(), &format!("the integrator's dimension {dim}")));
    }
    if dim == 0 {
        return Err(invalid("dim", 0, "at least 1 state component"));
    }
    if y0.len() != dim {
        return Err(invalid("y0.len", y0.len(), &format!("exactly {dim}")));
    }
    if let Some(i) = y0.iter().position(|v| !v.is_finite()) {
        return Err(invalid("y0", y0[i], &format!("finite values (component {i})")));
    }
    if params.len() < rhs.n_params() {
        return Err(invalid("params.len", params.len(), &format!("at least {}", rhs.n_params())));
    }
    if !t0.is_finite() {
        return Err(invalid("t0", t0, "a finite number"));
    }
    for (i, &t) in t_eval.iter().enumerate() {
        let prev = if i == 0 { t0 } else { t_eval[i - 1] };
        if !t.is_finite() || t < prev {
            return Err(invalid("t_eval", format!("t_eval[{i}] = {t}"), &format!("finite, non-decreasing, and ≥ t0 = {t0} (previous value {prev})")));
        }
    }
    if out_len != t_eval.len() * dim {
        return Err(invalid("out.len", out_len, &format!("t_eval.len() × dim = {}", t_eval.len() * dim)));
    }
    if !(opts.rtol > 0.0 && opts.rtol.is_finite()) {
        return Err(invalid("rtol", opts.rtol, "a finite number > 0"));
    }
    if !(opts.atol >= 0.0 && opts.atol.is_finite()) {
        return Err(invalid("atol", opts.atol, "a finite number ≥ 0"));
    }
    if let Some(h) = opts.first_step {
        if !(h > 0.0 && h.is_finite()) {
            return Err(invalid("first_step", h, "a finite number > 0"));
        }
    }
    if let Some(h) = opts.fixed_step {
        if !(h > 0.0 && h.is_finite()) {
            return Err(invalid("fixed_step", h, "a finite number > 0"));
        }
    }
    if !(opts.max_step > 0.0) {
        return Err(invalid("max_step", opts.max_step, "a number > 0 (may be infinite)"));
    }
    if opts.max_steps == 0 {
        return Err(invalid("max_steps", 0, "at least 1"));
    }
    if !(opts.blowup_bound > 0.0) {
        return Err(invalid("blowup_bound", opts.blowup_bound, "a number > 0 (may be infinite)"));
    }
    Ok(())
}

/// Hairer's starting-step heuristic (`hinit` in `dopri5.f`): one explicit Euler probe from the
/// loaded start point (`st.y`, slope `f0`), computed in `st`'s free buffers.
fn initial_step<R: Rhs + ?Sized>(st: &mut StepState, f0: &[f64], order: usize, p: &mut Problem<'_, R>, h_max: f64) -> f64 {
    let t = st.t;
    let order = order as f64;
    let dim = st.dim;
    let (rtol, atol) = (p.opts.rtol, p.opts.atol);
    let mut dnf = 0.0;
    let mut dny = 0.0;
    for i in 0..dim {
        let sk = atol + rtol * st.y[i].abs();
        dnf += (f0[i] / sk).powi(2);
        dny += (st.y[i] / sk).powi(2);
    }
    let mut h = if dnf <= 1e-10 || dny <= 1e-10 { 1e-6 } else { 0.01 * (dny / dnf).sqrt() };
    h = h.min(h_max);
    // Euler probe: y1 = y + h f, f1 = f(t + h, y1).
    let (y_now, y1, f1) = (&st.y, &mut st.y_new, &mut st.tmp);
    for i in 0..dim {
        y1[i] = y_now[i] + h * f0[i];
    }
    p.eval(t + h, y1, f1);
    let mut der2 = 0.0;
    for i in 0..dim {
        let sk = atol + rtol * y_now[i].abs();
        der2 += ((f1[i] - f0[i]) / sk).powi(2);
    }
    let der2 = (der2 / dim as f64).sqrt() / h;
    let der12 = der2.max((dnf / dim as f64).sqrt());
    let h1 = if der12 <= 1e-15 { (h * 1e-3).max(1e-6) } else { (0.01 / der12).powf(1.0 / order) };
    (100.0 * h).min(h1).min(h_max)
}
