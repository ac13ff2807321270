//! A stiff integrator: the L-stable Rosenbrock 2(3) pair of Shampine & Reichelt ("The MATLAB
//! ODE Suite", SIAM J. Sci. Comput. 18, 1997; MATLAB's `ode23s`), with its free 2nd-order
//! continuous extension.
//!
//! With `d = 1/(2+√2)` and `W = I − h d J`:
//! `k1 = W⁻¹(f0 + h d f_t)`, `f1 = f(t + h/2, y + h/2 k1)`, `k2 = W⁻¹(f1 − k1) + k1`,
//! `y_new = y + h k2`, `f2 = f(t + h, y_new)`,
//! `k3 = W⁻¹(f2 − e32 (k2 − f1) − 2 (k1 − f0) + h d f_t)` with `e32 = 6 + √2`, and the error
//! estimate `h/6 (k1 − 2 k2 + k3)`. The Jacobian comes from [`Rhs::jacobian`] when provided,
//! else from forward differences; it is computed once per step (reused on rejection).

use super::control::{error_norm, Controller};
use super::driver::{drive, Stepper};
use super::linalg::{lu_factor, lu_solve};
use super::{OdeError, Rhs, SolveOptions, Stats};

const D: f64 = 0.292_893_218_813_452_4; // 1 / (2 + √2)
const E32: f64 = 7.414_213_562_373_095; // 6 + √2

/// Rosenbrock 2(3) integrator for states of a fixed dimension; reusable across solves.
#[derive(Debug, Clone)]
pub struct Rosenbrock23 {
    dim: usize,
    t: f64,
    h: f64,
    t_old: f64,
    y: Vec<f64>,
    y_new: Vec<f64>,
    y_old: Vec<f64>,
    f0: Vec<f64>,
    f1: Vec<f64>,
    f2: Vec<f64>,
    k1: Vec<f64>,
    k2: Vec<f64>,
    k3: Vec<f64>,
    tmp: Vec<f64>,
    dfdt: Vec<f64>,
    jac: Vec<f64>,
    w: Vec<f64>,
    piv: Vec<usize>,
    /// Whether `jac`/`dfdt` belong to the current `(t, y)`.
    jac_fresh: bool,
}

impl Rosenbrock23 {
    /// Allocate buffers for states of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        let v = || vec![0.0; dim];
        Rosenbrock23 {
            dim,
            t: 0.0,
            h: 0.0,
            t_old: 0.0,
            y: v(),
            y_new: v(),
            y_old: v(),
            f0: v(),
            f1: v(),
            f2: v(),
            k1: v(),
            k2: v(),
            k3: v(),
            tmp: v(),
            dfdt: v(),
            jac: vec![0.0; dim * dim],
            w: vec![0.0; dim * dim],
            piv: vec![0; dim],
            jac_fresh: false,
        }
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
        drive(self, rhs, params, t0, y0, t_eval, opts, out)
    }

    fn update_jacobian<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        h: f64,
        stats: &mut Stats,
    ) {
        let n = self.dim;
        stats.jacobian_evals += 1;
        if !rhs.jacobian(self.t, &self.y, params, &mut self.jac) {
            // Forward differences, column by column; increments as in Hairer's codes.
            self.tmp.copy_from_slice(&self.y);
            for j in 0..n {
                let yj = self.y[j];
                let delta = (f64::EPSILON * yj.abs().max(1e-5)).sqrt();
                self.tmp[j] = yj + delta;
                rhs.eval(self.t, &self.tmp, params, &mut self.f2);
                for i in 0..n {
                    self.jac[i * n + j] = (self.f2[i] - self.f0[i]) / delta;
                }
                self.tmp[j] = yj;
            }
            stats.rhs_evals += n;
        }
        if rhs.is_autonomous() {
            self.dfdt.iter_mut().for_each(|v| *v = 0.0);
        } else {
            let dt =
                (f64::EPSILON.sqrt() * self.t.abs().max(h.abs())).max(f64::MIN_POSITIVE.sqrt());
            rhs.eval(self.t + dt, &self.y, params, &mut self.f2);
            for i in 0..n {
                self.dfdt[i] = (self.f2[i] - self.f0[i]) / dt;
            }
            stats.rhs_evals += 1;
        }
        self.jac_fresh = true;
    }
}

impl Stepper for Rosenbrock23 {
    fn dim(&self) -> usize {
        self.dim
    }
    fn order(&self) -> usize {
        2
    }
    fn controller(&self) -> Controller {
        Controller::new(2, 0.0, 0.2, 5.0)
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
        rhs.eval(t0, &self.y, params, &mut self.f0);
        stats.rhs_evals += 1;
        self.jac_fresh = false;
    }

    fn try_step<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        h: f64,
        opts: &SolveOptions,
        stats: &mut Stats,
    ) -> f64 {
        let n = self.dim;
        if !self.jac_fresh {
            self.update_jacobian(rhs, params, h, stats);
        }
        self.h = h;
        for i in 0..n {
            for j in 0..n {
                self.w[i * n + j] = if i == j { 1.0 } else { 0.0 } - h * D * self.jac[i * n + j];
            }
        }
        if !lu_factor(&mut self.w, n, &mut self.piv) {
            // W singular for this h: reject and let the controller shrink the step.
            return f64::INFINITY;
        }
        for i in 0..n {
            self.k1[i] = self.f0[i] + h * D * self.dfdt[i];
        }
        lu_solve(&self.w, n, &self.piv, &mut self.k1);
        for i in 0..n {
            self.tmp[i] = self.y[i] + 0.5 * h * self.k1[i];
        }
        rhs.eval(self.t + 0.5 * h, &self.tmp, params, &mut self.f1);
        for i in 0..n {
            self.k2[i] = self.f1[i] - self.k1[i];
        }
        lu_solve(&self.w, n, &self.piv, &mut self.k2);
        for i in 0..n {
            self.k2[i] += self.k1[i];
            self.y_new[i] = self.y[i] + h * self.k2[i];
        }
        rhs.eval(self.t + h, &self.y_new, params, &mut self.f2);
        for i in 0..n {
            self.k3[i] =
                self.f2[i] - E32 * (self.k2[i] - self.f1[i]) - 2.0 * (self.k1[i] - self.f0[i])
                    + h * D * self.dfdt[i];
        }
        lu_solve(&self.w, n, &self.piv, &mut self.k3);
        stats.rhs_evals += 2;
        for i in 0..n {
            self.tmp[i] = h / 6.0 * (self.k1[i] - 2.0 * self.k2[i] + self.k3[i]);
        }
        error_norm(&self.tmp, &self.y, &self.y_new, opts.rtol, opts.atol)
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
        std::mem::swap(&mut self.f0, &mut self.f2);
        self.jac_fresh = false;
    }

    fn t(&self) -> f64 {
        self.t
    }
    fn y(&self) -> &[f64] {
        &self.y
    }
    fn dydt(&self) -> &[f64] {
        &self.f0
    }

    fn dense(&self, t: f64, out: &mut [f64]) {
        let s = (t - self.t_old) / self.h;
        let c1 = s * (1.0 - s) / (1.0 - 2.0 * D);
        let c2 = s * (s - 2.0 * D) / (1.0 - 2.0 * D);
        for i in 0..self.dim {
            out[i] = self.y_old[i] + self.h * (c1 * self.k1[i] + c2 * self.k2[i]);
        }
    }

    fn state_and_scratch(&mut self) -> (&[f64], &[f64], &mut [f64], &mut [f64]) {
        (&self.y, &self.f0, &mut self.tmp, &mut self.f1)
    }
}
