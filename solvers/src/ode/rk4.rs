//! The classic 4th-order Runge–Kutta method with a fixed step (`SolveOptions::fixed_step`).
//! Output between steps uses the cubic Hermite interpolant through both end states and
//! slopes (3rd-order accurate; request outputs on step points for full accuracy).

use super::control::Controller;
use super::driver::{drive, Stepper};
use super::{OdeError, Rhs, SolveOptions, Stats};

/// Classic RK4 for states of a fixed dimension; reusable across solves.
#[derive(Debug, Clone)]
pub struct Rk4 {
    dim: usize,
    t: f64,
    h: f64,
    t_old: f64,
    y: Vec<f64>,
    y_old: Vec<f64>,
    y_new: Vec<f64>,
    tmp: Vec<f64>,
    /// k[0] = f(t, y) (carried over from the previous step), k[4] = f(t + h, y_new).
    k: [Vec<f64>; 5],
    f_old: Vec<f64>,
}

impl Rk4 {
    /// Allocate buffers for states of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        let v = || vec![0.0; dim];
        Rk4 {
            dim,
            t: 0.0,
            h: 0.0,
            t_old: 0.0,
            y: v(),
            y_old: v(),
            y_new: v(),
            tmp: v(),
            k: std::array::from_fn(|_| v()),
            f_old: v(),
        }
    }

    /// Solve with steps of `opts.fixed_step` (required) from `(t0, y0)`, writing the state at
    /// each `t_eval` time into `out` (row-major `t_eval.len() × dim`).
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
        if opts.fixed_step.is_none() {
            return Err(crate::InvalidParameter::new("fixed_step", "None", "must be a step size > 0 (RK4 has no error estimator)").into());
        }
        drive(self, rhs, params, t0, y0, t_eval, opts, out)
    }
}

impl Stepper for Rk4 {
    fn dim(&self) -> usize {
        self.dim
    }
    fn order(&self) -> usize {
        4
    }
    fn controller(&self) -> Controller {
        Controller::new(3, 0.0, 0.2, 5.0)
    }
    fn start<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        t0: f64,
        y0: &[f64],
        stats: &mut Stats,
    ) {
        self.t = t0;
        self.y.copy_from_slice(y0);
        rhs.eval(t0, &self.y, params, &mut self.k[0]);
        stats.rhs_evals += 1;
    }

    fn try_step<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        h: f64,
        _opts: &SolveOptions,
        stats: &mut Stats,
    ) -> f64 {
        let n = self.dim;
        let t = self.t;
        let [k1, k2, k3, k4, k5] = &mut self.k;
        for i in 0..n {
            self.tmp[i] = self.y[i] + 0.5 * h * k1[i];
        }
        rhs.eval(t + 0.5 * h, &self.tmp, params, k2);
        for i in 0..n {
            self.tmp[i] = self.y[i] + 0.5 * h * k2[i];
        }
        rhs.eval(t + 0.5 * h, &self.tmp, params, k3);
        for i in 0..n {
            self.tmp[i] = self.y[i] + h * k3[i];
        }
        rhs.eval(t + h, &self.tmp, params, k4);
        for i in 0..n {
            self.y_new[i] = self.y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        rhs.eval(t + h, &self.y_new, params, k5);
        stats.rhs_evals += 4;
        self.h = h;
        0.0
    }

    fn accept<R: Rhs + ?Sized>(
        &mut self,
        _rhs: &R,
        _params: &[f64],
        _dense: bool,
        _stats: &mut Stats,
    ) {
        self.t_old = self.t;
        self.t += self.h;
        std::mem::swap(&mut self.y_old, &mut self.y);
        std::mem::swap(&mut self.y, &mut self.y_new);
        std::mem::swap(&mut self.f_old, &mut self.k[0]);
        self.k.swap(0, 4);
    }

    fn t(&self) -> f64 {
        self.t
    }
    fn y(&self) -> &[f64] {
        &self.y
    }
    fn dydt(&self) -> &[f64] {
        &self.k[0]
    }

    fn dense(&self, t: f64, out: &mut [f64]) {
        let h = self.h;
        let s = (t - self.t_old) / h;
        // Cubic Hermite basis.
        let h00 = (1.0 + 2.0 * s) * (1.0 - s) * (1.0 - s);
        let h10 = s * (1.0 - s) * (1.0 - s);
        let h01 = s * s * (3.0 - 2.0 * s);
        let h11 = s * s * (s - 1.0);
        for i in 0..self.dim {
            out[i] = h00 * self.y_old[i]
                + h * h10 * self.f_old[i]
                + h01 * self.y[i]
                + h * h11 * self.k[0][i];
        }
    }

    fn state_and_scratch(&mut self) -> (&[f64], &[f64], &mut [f64], &mut [f64]) {
        let [k1, _, _, _, k5] = &mut self.k;
        (&self.y, k1, &mut self.tmp, k5)
    }
}
