//! The classic 4th-order Runge–Kutta method with a fixed step (`SolveOptions::fixed_step`).
//! Output between steps uses the cubic Hermite interpolant through both end states and
//! slopes (3rd-order accurate; request outputs on step points for full accuracy).

use super::control::Controller;
use super::driver::{Problem, Solver, StepState, Stepper};
use super::{OdeError, Rhs, SolveOptions};

/// Classic RK4 for states of a fixed dimension; reusable across solves. Solves need
/// `SolveOptions::fixed_step`.
pub type Rk4 = Solver<Rk4Stages>;

/// RK4's own buffers: its stages and the slope at the start of the last accepted step.
#[derive(Debug, Clone)]
pub struct Rk4Stages {
    /// k[0] = f(t, y) (carried over from the previous step), k[4] = f(t + h, y_new).
    k: [Vec<f64>; 5],
    f_old: Vec<f64>,
}

impl Stepper for Rk4Stages {
    const ORDER: usize = 4;

    fn new(dim: usize) -> Self {
        Rk4Stages { k: std::array::from_fn(|_| vec![0.0; dim]), f_old: vec![0.0; dim] }
    }

    fn controller() -> Controller {
        Controller::new(3, 0.0, 0.2, 5.0)
    }

    fn check(opts: &SolveOptions) -> Result<(), OdeError> {
        if opts.fixed_step.is_none() {
            return Err(crate::InvalidParameter::new("fixed_step", "None", "must be a step size > 0 (RK4 has no error estimator)").into());
        }
        Ok(())
    }

    fn start<R: Rhs + ?Sized>(&mut self, st: &StepState, p: &mut Problem<'_, R>) {
        p.eval(st.t, &st.y, &mut self.k[0]);
    }

    fn try_step<R: Rhs + ?Sized>(&mut self, st: &mut StepState, p: &mut Problem<'_, R>) -> f64 {
        let (n, t, h) = (st.dim, st.t, st.h);
        let [k1, k2, k3, k4, k5] = &mut self.k;
        for i in 0..n {
            st.tmp[i] = st.y[i] + 0.5 * h * k1[i];
        }
        p.eval(t + 0.5 * h, &st.tmp, k2);
        for i in 0..n {
            st.tmp[i] = st.y[i] + 0.5 * h * k2[i];
        }
        p.eval(t + 0.5 * h, &st.tmp, k3);
        for i in 0..n {
            st.tmp[i] = st.y[i] + h * k3[i];
        }
        p.eval(t + h, &st.tmp, k4);
        for i in 0..n {
            st.y_new[i] = st.y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        p.eval(t + h, &st.y_new, k5);
        0.0
    }

    fn accept(&mut self) {
        std::mem::swap(&mut self.f_old, &mut self.k[0]);
        self.k.swap(0, 4);
    }

    fn dydt(&self) -> &[f64] {
        &self.k[0]
    }

    fn dense(&self, st: &StepState, t: f64, out: &mut [f64]) {
        let h = st.h;
        let s = st.fraction(t);
        // Cubic Hermite basis.
        let h00 = (1.0 + 2.0 * s) * (1.0 - s) * (1.0 - s);
        let h10 = s * (1.0 - s) * (1.0 - s);
        let h01 = s * s * (3.0 - 2.0 * s);
        let h11 = s * s * (s - 1.0);
        for i in 0..st.dim {
            out[i] = h00 * st.y_old[i] + h * h10 * self.f_old[i] + h01 * st.y[i] + h * h11 * self.k[0][i];
        }
    }
}
