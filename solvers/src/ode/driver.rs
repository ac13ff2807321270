//! The time loop shared by every method: input validation, initial step, step acceptance,
//! output at requested times through the method's dense output, and failure detection.

use super::control::Controller;
use super::{norm, OdeError, Rhs, SolveOptions, Stats};

/// One method's single-step machinery. The driver owns the time loop; the stepper owns the
/// state, its stage buffers and its continuous extension over the last accepted step.
pub(crate) trait Stepper {
    /// State dimension the buffers were allocated for.
    fn dim(&self) -> usize;
    /// Classical order (used for the initial step guess).
    fn order(&self) -> usize;
    /// Step-size controller suited to the method's error estimator.
    fn controller(&self) -> Controller;
    /// Load `(t0, y0)` and evaluate `f(t0, y0)`.
    fn start<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        t0: f64,
        y0: &[f64],
        stats: &mut Stats,
    );
    /// Attempt a step of size `h` from the current state; return the scaled error norm
    /// (≤ 1 acceptable; 0 for methods without an estimator).
    fn try_step<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        h: f64,
        opts: &SolveOptions,
        stats: &mut Stats,
    ) -> f64;
    /// Commit the attempted step. `dense` asks for the continuous extension to be prepared
    /// (skipped when no output time falls inside the step).
    fn accept<R: Rhs + ?Sized>(&mut self, rhs: &R, params: &[f64], dense: bool, stats: &mut Stats);
    /// Current time.
    fn t(&self) -> f64;
    /// Current state.
    fn y(&self) -> &[f64];
    /// `f(t, y)` at the current state.
    fn dydt(&self) -> &[f64];
    /// State at `t` inside the last accepted step (after `accept(.., dense = true, ..)`).
    fn dense(&self, t: f64, out: &mut [f64]);
    /// The current state, `f` there, and two scratch vectors of length `dim` that are free
    /// between steps.
    fn state_and_scratch(&mut self) -> (&[f64], &[f64], &mut [f64], &mut [f64]);
}

/// `allowed` completes "must be ...".
fn invalid(field: &'static str, value: impl ToString, allowed: &str) -> OdeError {
    crate::InvalidParameter::new(field, value, format!("must be {allowed}")).into()
}

/// Check every argument of a solve; typed errors name the field, value and allowed range.
/// (Negated comparisons are deliberate: they also reject NaN.)
#[allow(clippy::too_many_arguments, clippy::neg_cmp_op_on_partial_ord)]
pub(crate) fn validate<R: Rhs + ?Sized>(
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
        return Err(invalid(
            "rhs.dim",
            rhs.dim(),
            &format!("the integrator's dimension {dim}"),
        ));
    }
    if dim == 0 {
        return Err(invalid("dim", 0, "at least 1 state component"));
    }
    if y0.len() != dim {
        return Err(invalid("y0.len", y0.len(), &format!("exactly {dim}")));
    }
    if let Some(i) = y0.iter().position(|v| !v.is_finite()) {
        return Err(invalid(
            "y0",
            y0[i],
            &format!("finite values (component {i})"),
        ));
    }
    if params.len() < rhs.n_params() {
        return Err(invalid(
            "params.len",
            params.len(),
            &format!("at least {}", rhs.n_params()),
        ));
    }
    if !t0.is_finite() {
        return Err(invalid("t0", t0, "a finite number"));
    }
    for (i, &t) in t_eval.iter().enumerate() {
        let prev = if i == 0 { t0 } else { t_eval[i - 1] };
        if !t.is_finite() || t < prev {
            return Err(invalid(
                "t_eval",
                format!("t_eval[{i}] = {t}"),
                &format!("finite, non-decreasing, and ≥ t0 = {t0} (previous value {prev})"),
            ));
        }
    }
    if out_len != t_eval.len() * dim {
        return Err(invalid(
            "out.len",
            out_len,
            &format!("t_eval.len() × dim = {}", t_eval.len() * dim),
        ));
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
        return Err(invalid(
            "max_step",
            opts.max_step,
            "a number > 0 (may be infinite)",
        ));
    }
    if opts.max_steps == 0 {
        return Err(invalid("max_steps", 0, "at least 1"));
    }
    if !(opts.blowup_bound > 0.0) {
        return Err(invalid(
            "blowup_bound",
            opts.blowup_bound,
            "a number > 0 (may be infinite)",
        ));
    }
    Ok(())
}

/// Hairer's starting-step heuristic (`hinit` in `dopri5.f`): one explicit Euler probe.
fn initial_step<S: Stepper, R: Rhs + ?Sized>(
    s: &mut S,
    rhs: &R,
    params: &[f64],
    opts: &SolveOptions,
    h_max: f64,
    stats: &mut Stats,
) -> f64 {
    let t = s.t();
    let order = s.order() as f64;
    let dim = s.dim();
    let (rtol, atol) = (opts.rtol, opts.atol);
    let mut dnf = 0.0;
    let mut dny = 0.0;
    for i in 0..dim {
        let sk = atol + rtol * s.y()[i].abs();
        dnf += (s.dydt()[i] / sk).powi(2);
        dny += (s.y()[i] / sk).powi(2);
    }
    let mut h = if dnf <= 1e-10 || dny <= 1e-10 {
        1e-6
    } else {
        0.01 * (dny / dnf).sqrt()
    };
    h = h.min(h_max);
    // Euler probe into scratch: y1 = y + h f, f1 = f(t + h, y1).
    let mut der2 = 0.0;
    {
        let (y_now, f_now, y1, f1) = s.state_and_scratch();
        for i in 0..dim {
            y1[i] = y_now[i] + h * f_now[i];
        }
        rhs.eval(t + h, y1, params, f1);
        for i in 0..dim {
            let sk = atol + rtol * y_now[i].abs();
            der2 += ((f1[i] - f_now[i]) / sk).powi(2);
        }
    }
    stats.rhs_evals += 1;
    let der2 = (der2 / dim as f64).sqrt() / h;
    let der12 = der2.max((dnf / dim as f64).sqrt());
    let h1 = if der12 <= 1e-15 {
        (h * 1e-3).max(1e-6)
    } else {
        (0.01 / der12).powf(1.0 / order)
    };
    (100.0 * h).min(h1).min(h_max)
}

/// Integrate and write outputs. See [`super::Integrator::solve`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn drive<S: Stepper, R: Rhs + ?Sized>(
    s: &mut S,
    rhs: &R,
    params: &[f64],
    t0: f64,
    y0: &[f64],
    t_eval: &[f64],
    opts: &SolveOptions,
    out: &mut [f64],
) -> Result<Stats, OdeError> {
    let dim = s.dim();
    validate(rhs, dim, params, t0, y0, t_eval, opts, out.len())?;
    let mut stats = Stats::default();
    if t_eval.is_empty() {
        return Ok(stats);
    }
    s.start(rhs, params, t0, y0, &mut stats);
    let mut next = 0;
    while next < t_eval.len() && t_eval[next] <= t0 {
        out[next * dim..(next + 1) * dim].copy_from_slice(y0);
        next += 1;
    }
    let t_end = *t_eval.last().expect("non-empty");
    let mut controller = s.controller();
    let mut h = match (opts.fixed_step, opts.first_step) {
        (Some(h), _) => h,
        (None, Some(h)) => h,
        (None, None) if next < t_eval.len() => {
            initial_step(s, rhs, params, opts, opts.max_step, &mut stats)
        }
        _ => 1.0,
    }
    .min(opts.max_step);
    let mut attempts = 0usize;
    while next < t_eval.len() {
        let t = s.t();
        if attempts >= opts.max_steps {
            return Err(OdeError::MaxStepsExceeded {
                max_steps: opts.max_steps,
                t,
                state_norm: norm(s.y()),
            });
        }
        attempts += 1;
        // Land exactly on t_end; also avoid a sliver of a last step.
        let remaining = t_end - t;
        let h_try = if h >= remaining * (1.0 - 1e-12) {
            remaining
        } else {
            h
        };
        if h_try <= 10.0 * f64::EPSILON * t.abs().max(1e-300) || t + h_try == t {
            return Err(OdeError::StepSizeUnderflow {
                t,
                h: h_try,
                state_norm: norm(s.y()),
            });
        }
        let err = s.try_step(rhs, params, h_try, opts, &mut stats);
        let accept = opts.fixed_step.is_some() || err <= 1.0;
        if !accept {
            stats.rejected += 1;
            h = controller.reject(h_try, err);
            continue;
        }
        let t_new = if h_try == remaining { t_end } else { t + h_try };
        let dense_needed = t_eval[next] < t_new;
        s.accept(rhs, params, dense_needed, &mut stats);
        stats.accepted += 1;
        // Failure checks on the accepted state.
        let y = s.y();
        let mut max_abs: f64 = 0.0;
        let mut finite = true;
        for &v in y {
            finite &= v.is_finite();
            max_abs = max_abs.max(v.abs());
        }
        if !finite {
            return Err(OdeError::NonFinite {
                t: t_new,
                state_norm: norm(y),
            });
        }
        if max_abs > opts.blowup_bound {
            return Err(OdeError::BlowUp {
                t: t_new,
                max_abs,
                bound: opts.blowup_bound,
                state_norm: norm(y),
            });
        }
        while next < t_eval.len() && t_eval[next] <= t_new {
            let row = &mut out[next * dim..(next + 1) * dim];
            if t_eval[next] == t_new {
                row.copy_from_slice(s.y());
            } else {
                s.dense(t_eval[next], row);
            }
            next += 1;
        }
        h = match opts.fixed_step {
            Some(hf) => hf,
            None => controller.accept(h_try, err).min(opts.max_step),
        };
    }
    Ok(stats)
}
