//! Dormand–Prince 5(4) (Dormand & Prince 1980) with Shampine's 4th-order continuous
//! extension, as in Hairer's `dopri5`: FSAL, 6 new evaluations per step.

use super::control::Controller;
use super::driver::{Problem, Solver, StepState, Stepper};
use super::Rhs;

const C2: f64 = 1.0 / 5.0;
const C3: f64 = 3.0 / 10.0;
const C4: f64 = 4.0 / 5.0;
const C5: f64 = 8.0 / 9.0;
const A21: f64 = 1.0 / 5.0;
const A31: f64 = 3.0 / 40.0;
const A32: f64 = 9.0 / 40.0;
const A41: f64 = 44.0 / 45.0;
const A42: f64 = -56.0 / 15.0;
const A43: f64 = 32.0 / 9.0;
const A51: f64 = 19372.0 / 6561.0;
const A52: f64 = -25360.0 / 2187.0;
const A53: f64 = 64448.0 / 6561.0;
const A54: f64 = -212.0 / 729.0;
const A61: f64 = 9017.0 / 3168.0;
const A62: f64 = -355.0 / 33.0;
const A63: f64 = 46732.0 / 5247.0;
const A64: f64 = 49.0 / 176.0;
const A65: f64 = -5103.0 / 18656.0;
// 5th-order weights (also row 7 of the tableau: FSAL).
const B1: f64 = 35.0 / 384.0;
const B3: f64 = 500.0 / 1113.0;
const B4: f64 = 125.0 / 192.0;
const B5: f64 = -2187.0 / 6784.0;
const B6: f64 = 11.0 / 84.0;
// Difference between the 5th- and embedded 4th-order weights.
const E1: f64 = 71.0 / 57600.0;
const E3: f64 = -71.0 / 16695.0;
const E4: f64 = 71.0 / 1920.0;
const E5: f64 = -17253.0 / 339200.0;
const E6: f64 = 22.0 / 525.0;
const E7: f64 = -1.0 / 40.0;
// Shampine's dense-output coefficients.
const D1: f64 = -12715105075.0 / 11282082432.0;
const D3: f64 = 87487479700.0 / 32700410799.0;
const D4: f64 = -10690763975.0 / 1880347072.0;
const D5: f64 = 701980252875.0 / 199316789632.0;
const D6: f64 = -1453857185.0 / 822651844.0;
const D7: f64 = 69997945.0 / 29380423.0;

/// Dormand–Prince 5(4) integrator for states of a fixed dimension; reusable across solves.
pub type Dopri5 = Solver<Dopri5Stages>;

/// Dopri5's own buffers: its seven stages and the continuous extension of the last accepted
/// step.
#[derive(Debug, Clone)]
pub struct Dopri5Stages {
    k: [Vec<f64>; 7],
    /// Shampine's coefficients `r2..r5` of the last accepted step; `r1` is the state at its
    /// start, [`StepState::y_old`].
    r: [Vec<f64>; 4],
}

impl Stepper for Dopri5Stages {
    const ORDER: usize = 5;

    fn new(dim: usize) -> Self {
        Dopri5Stages { k: std::array::from_fn(|_| vec![0.0; dim]), r: std::array::from_fn(|_| vec![0.0; dim]) }
    }

    fn controller() -> Controller {
        // dopri5's defaults: β = 0.04, factor limits [0.2, 10].
        Controller::new(4, 0.04, 0.2, 10.0)
    }

    fn start<R: Rhs + ?Sized>(&mut self, st: &StepState, p: &mut Problem<'_, R>) {
        p.eval(st.t, &st.y, &mut self.k[0]);
    }

    #[inline]
    fn try_step<R: Rhs + ?Sized>(&mut self, st: &mut StepState, p: &mut Problem<'_, R>) -> f64 {
        let (n, t, h) = (st.dim, st.t, st.h);
        let y = &st.y;
        let tmp = &mut st.tmp;
        let [k1, k2, k3, k4, k5, k6, k7] = &mut self.k;
        for i in 0..n {
            tmp[i] = y[i] + h * A21 * k1[i];
        }
        p.eval(t + C2 * h, tmp, k2);
        for i in 0..n {
            tmp[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i]);
        }
        p.eval(t + C3 * h, tmp, k3);
        for i in 0..n {
            tmp[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
        }
        p.eval(t + C4 * h, tmp, k4);
        for i in 0..n {
            tmp[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
        }
        p.eval(t + C5 * h, tmp, k5);
        for i in 0..n {
            tmp[i] = y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
        }
        p.eval(t + h, tmp, k6);
        let y_new = &mut st.y_new;
        for i in 0..n {
            y_new[i] = y[i] + h * (B1 * k1[i] + B3 * k3[i] + B4 * k4[i] + B5 * k5[i] + B6 * k6[i]);
        }
        p.eval(t + h, y_new, k7);
        for i in 0..n {
            tmp[i] = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i]);
        }
        p.error_norm(tmp, y, y_new)
    }

    fn prepare_dense<R: Rhs + ?Sized>(&mut self, st: &mut StepState, _p: &mut Problem<'_, R>) {
        let h = st.h;
        let [k1, _k2, k3, k4, k5, k6, k7] = &self.k;
        let [r2, r3, r4, r5] = &mut self.r;
        for i in 0..st.dim {
            let ydiff = st.y_new[i] - st.y[i];
            let bspl = h * k1[i] - ydiff;
            r2[i] = ydiff;
            r3[i] = bspl;
            r4[i] = ydiff - h * k7[i] - bspl;
            r5[i] = h * (D1 * k1[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i] + D6 * k6[i] + D7 * k7[i]);
        }
    }

    fn accept(&mut self) {
        // FSAL: the last stage is f at the new state.
        self.k.swap(0, 6);
    }

    fn dydt(&self) -> &[f64] {
        &self.k[0]
    }

    fn dense(&self, st: &StepState, t: f64, out: &mut [f64]) {
        let s = st.fraction(t);
        let s1 = 1.0 - s;
        let r1 = &st.y_old;
        let [r2, r3, r4, r5] = &self.r;
        for i in 0..st.dim {
            out[i] = r1[i] + s * (r2[i] + s1 * (r3[i] + s * (r4[i] + s1 * r5[i])));
        }
    }
}
