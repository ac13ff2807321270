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

use super::control::Controller;
use super::driver::{Problem, Solver, StepState, Stepper};
use super::linalg::{lu_factor, lu_solve};
use super::Rhs;

const D: f64 = 0.292_893_218_813_452_4; // 1 / (2 + √2)
const E32: f64 = 7.414_213_562_373_095; // 6 + √2

/// Rosenbrock 2(3) integrator for states of a fixed dimension; reusable across solves.
pub type Rosenbrock23 = Solver<Rosenbrock23Stages>;

/// The Rosenbrock method's own buffers: stages, slopes, the Jacobian and the factored `W`.
#[derive(Debug, Clone)]
pub struct Rosenbrock23Stages {
    dim: usize,
    f0: Vec<f64>,
    f1: Vec<f64>,
    f2: Vec<f64>,
    k1: Vec<f64>,
    k2: Vec<f64>,
    k3: Vec<f64>,
    dfdt: Vec<f64>,
    jac: Vec<f64>,
    w: Vec<f64>,
    piv: Vec<usize>,
    /// Whether `jac`/`dfdt` belong to the current `(t, y)`.
    jac_fresh: bool,
}

impl Rosenbrock23Stages {
    fn update_jacobian<R: Rhs + ?Sized>(&mut self, st: &mut StepState, p: &mut Problem<'_, R>) {
        let n = self.dim;
        if !p.jacobian(st.t, &st.y, &mut self.jac) {
            // Forward differences, column by column; increments as in Hairer's codes.
            st.tmp.copy_from_slice(&st.y);
            for j in 0..n {
                let yj = st.y[j];
                let delta = (f64::EPSILON * yj.abs().max(1e-5)).sqrt();
                st.tmp[j] = yj + delta;
                p.eval(st.t, &st.tmp, &mut self.f2);
                for i in 0..n {
                    self.jac[i * n + j] = (self.f2[i] - self.f0[i]) / delta;
                }
                st.tmp[j] = yj;
            }
        }
        if p.is_autonomous() {
            self.dfdt.iter_mut().for_each(|v| *v = 0.0);
        } else {
            let dt = (f64::EPSILON.sqrt() * st.t.abs().max(st.h.abs())).max(f64::MIN_POSITIVE.sqrt());
            p.eval(st.t + dt, &st.y, &mut self.f2);
            for i in 0..n {
                self.dfdt[i] = (self.f2[i] - self.f0[i]) / dt;
            }
        }
        self.jac_fresh = true;
    }
}

impl Stepper for Rosenbrock23Stages {
    const ORDER: usize = 2;

    fn new(dim: usize) -> Self {
        let v = || vec![0.0; dim];
        Rosenbrock23Stages {
            dim,
            f0: v(),
            f1: v(),
            f2: v(),
            k1: v(),
            k2: v(),
            k3: v(),
            dfdt: v(),
            jac: vec![0.0; dim * dim],
            w: vec![0.0; dim * dim],
            piv: vec![0; dim],
            jac_fresh: false,
        }
    }

    fn controller() -> Controller {
        Controller::new(2, 0.0, 0.2, 5.0)
    }

    fn start<R: Rhs + ?Sized>(&mut self, st: &StepState, p: &mut Problem<'_, R>) {
        p.eval(st.t, &st.y, &mut self.f0);
        self.jac_fresh = false;
    }

    fn try_step<R: Rhs + ?Sized>(&mut self, st: &mut StepState, p: &mut Problem<'_, R>) -> f64 {
        let n = self.dim;
        if !self.jac_fresh {
            self.update_jacobian(st, p);
        }
        let h = st.h;
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
            st.tmp[i] = st.y[i] + 0.5 * h * self.k1[i];
        }
        p.eval(st.t + 0.5 * h, &st.tmp, &mut self.f1);
        for i in 0..n {
            self.k2[i] = self.f1[i] - self.k1[i];
        }
        lu_solve(&self.w, n, &self.piv, &mut self.k2);
        for i in 0..n {
            self.k2[i] += self.k1[i];
            st.y_new[i] = st.y[i] + h * self.k2[i];
        }
        p.eval(st.t + h, &st.y_new, &mut self.f2);
        for i in 0..n {
            self.k3[i] = self.f2[i] - E32 * (self.k2[i] - self.f1[i]) - 2.0 * (self.k1[i] - self.f0[i]) + h * D * self.dfdt[i];
        }
        lu_solve(&self.w, n, &self.piv, &mut self.k3);
        for i in 0..n {
            st.tmp[i] = h / 6.0 * (self.k1[i] - 2.0 * self.k2[i] + self.k3[i]);
        }
        p.error_norm(&st.tmp, &st.y, &st.y_new)
    }

    fn accept(&mut self) {
        std::mem::swap(&mut self.f0, &mut self.f2);
        self.jac_fresh = false;
    }

    fn dydt(&self) -> &[f64] {
        &self.f0
    }

    fn dense(&self, st: &StepState, t: f64, out: &mut [f64]) {
        let s = st.fraction(t);
        let c1 = s * (1.0 - s) / (1.0 - 2.0 * D);
        let c2 = s * (s - 2.0 * D) / (1.0 - 2.0 * D);
        for i in 0..self.dim {
            out[i] = st.y_old[i] + st.h * (c1 * self.k1[i] + c2 * self.k2[i]);
        }
    }
}
