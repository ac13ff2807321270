//! Dormand–Prince 8(5,3) (Hairer's `dop853`): 12 stages, 8th-order solution, the combined
//! 5th/3rd-order error estimator, and the 7th-order continuous extension (3 extra stages,
//! computed only for steps that contain an output time).

use super::control::Controller;
use super::dop853_tableau::{A_DENSE, A_MAIN, B, BHH, C, D, ER};
use super::driver::{Problem, Solver, StepState, Stepper};
use super::Rhs;

/// DOP853 integrator for states of a fixed dimension; reusable across solves.
pub type Dop853 = Solver<Dop853Stages>;

/// DOP853's own buffers: its stages and the continuous extension of the last accepted step.
#[derive(Debug, Clone)]
pub struct Dop853Stages {
    /// `k[s]` holds stage `s` (1-based; `k[0]` unused scratch, `k[13] = f(t+h, y_new)`).
    k: Vec<Vec<f64>>,
    /// Hairer's continuous-extension coefficients `rcont2..rcont8` of the last accepted step;
    /// `rcont1` is the state at its start, [`StepState::y_old`].
    r: [Vec<f64>; 7],
}

impl Dop853Stages {
    /// tmp = y + h Σ a_j k_j, then k[stage] = f(t + c h, tmp).
    #[inline(always)]
    fn stage<R: Rhs + ?Sized>(&mut self, st: &mut StepState, p: &mut Problem<'_, R>, stage: usize, row: &[(usize, f64)]) {
        let h = st.h;
        for i in 0..st.dim {
            let mut acc = 0.0;
            for &(j, a) in row {
                acc += a * self.k[j][i];
            }
            st.tmp[i] = st.y[i] + h * acc;
        }
        p.eval(st.t + C[stage] * h, &st.tmp, &mut self.k[stage]);
    }
}

impl Stepper for Dop853Stages {
    const ORDER: usize = 8;

    fn new(dim: usize) -> Self {
        Dop853Stages { k: (0..17).map(|_| vec![0.0; dim]).collect(), r: std::array::from_fn(|_| vec![0.0; dim]) }
    }

    fn controller() -> Controller {
        // dop853's defaults: β = 0 (it documents 0.04 as an option), factor limits [1/3, 6].
        Controller::new(7, 0.0, 1.0 / 3.0, 6.0)
    }

    fn start<R: Rhs + ?Sized>(&mut self, st: &StepState, p: &mut Problem<'_, R>) {
        p.eval(st.t, &st.y, &mut self.k[1]);
    }

    fn try_step<R: Rhs + ?Sized>(&mut self, st: &mut StepState, p: &mut Problem<'_, R>) -> f64 {
        for (s, row) in A_MAIN.iter().enumerate() {
            self.stage(st, p, s + 2, row);
        }
        let (n, h) = (st.dim, st.h);
        let (rtol, atol) = (p.opts.rtol, p.opts.atol);
        let mut err5 = 0.0;
        let mut err3 = 0.0;
        for i in 0..n {
            let mut inc = 0.0;
            for &(j, b) in &B {
                inc += b * self.k[j][i];
            }
            st.y_new[i] = st.y[i] + h * inc;
            let mut e3 = inc;
            for &(j, b) in &BHH {
                e3 -= b * self.k[j][i];
            }
            let mut e5 = 0.0;
            for &(j, e) in &ER {
                e5 += e * self.k[j][i];
            }
            let sk = atol + rtol * st.y[i].abs().max(st.y_new[i].abs());
            err3 += (e3 / sk).powi(2);
            err5 += (e5 / sk).powi(2);
        }
        p.eval(st.t + h, &st.y_new, &mut self.k[13]);
        // Hairer's blend of the 5th- and 3rd-order estimates.
        let mut deno = err5 + 0.01 * err3;
        if deno <= 0.0 {
            deno = 1.0;
        }
        h.abs() * err5 * (1.0 / (n as f64 * deno)).sqrt()
    }

    fn prepare_dense<R: Rhs + ?Sized>(&mut self, st: &mut StepState, p: &mut Problem<'_, R>) {
        for (s, row) in A_DENSE.iter().enumerate() {
            self.stage(st, p, s + 14, row);
        }
        let h = st.h;
        for i in 0..st.dim {
            let ydiff = st.y_new[i] - st.y[i];
            let bspl = h * self.k[1][i] - ydiff;
            self.r[0][i] = ydiff;
            self.r[1][i] = bspl;
            self.r[2][i] = ydiff - h * self.k[13][i] - bspl;
            for (row, d) in D.iter().enumerate() {
                let mut acc = 0.0;
                for &(j, c) in d {
                    acc += c * self.k[j][i];
                }
                self.r[3 + row][i] = h * acc;
            }
        }
    }

    fn accept(&mut self) {
        // FSAL: stage 13 is f at the new state.
        self.k.swap(1, 13);
    }

    fn dydt(&self) -> &[f64] {
        &self.k[1]
    }

    fn dense(&self, st: &StepState, t: f64, out: &mut [f64]) {
        let s = st.fraction(t);
        let s1 = 1.0 - s;
        let (y_old, r) = (&st.y_old, &self.r);
        for i in 0..st.dim {
            out[i] = y_old[i] + s * (r[0][i] + s1 * (r[1][i] + s * (r[2][i] + s1 * (r[3][i] + s * (r[4][i] + s1 * (r[5][i] + s * r[6][i]))))));
        }
    }
}
