//! Dormand–Prince 8(5,3) (Hairer's `dop853`): 12 stages, 8th-order solution, the combined
//! 5th/3rd-order error estimator, and the 7th-order continuous extension (3 extra stages,
//! computed only for steps that contain an output time).

use super::control::Controller;
use super::dop853_tableau::{A_DENSE, A_MAIN, B, BHH, C, D, ER};
use super::driver::{drive, Stepper};
use super::{OdeError, Rhs, SolveOptions, Stats};

/// DOP853 integrator for states of a fixed dimension; reusable across solves.
#[derive(Debug, Clone)]
pub struct Dop853 {
    dim: usize,
    t: f64,
    h: f64,
    y: Vec<f64>,
    y_new: Vec<f64>,
    tmp: Vec<f64>,
    /// `k[s]` holds stage `s` (1-based; `k[0]` unused scratch, `k[13] = f(t+h, y_new)`).
    k: Vec<Vec<f64>>,
    /// Continuous-extension coefficients of the last accepted step.
    r: [Vec<f64>; 8],
    t_old: f64,
}

impl Dop853 {
    /// Allocate buffers for states of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        let v = || vec![0.0; dim];
        Dop853 {
            dim,
            t: 0.0,
            h: 0.0,
            y: v(),
            y_new: v(),
            tmp: v(),
            k: (0..17).map(|_| v()).collect(),
            r: std::array::from_fn(|_| v()),
            t_old: 0.0,
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

    /// tmp = y + h Σ a_j k_j, then k[stage] = f(t + c h, tmp).
    #[inline(always)]
    fn stage<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        h: f64,
        stage: usize,
        row: &[(usize, f64)],
    ) {
        let n = self.dim;
        for i in 0..n {
            let mut acc = 0.0;
            for &(j, a) in row {
                acc += a * self.k[j][i];
            }
            self.tmp[i] = self.y[i] + h * acc;
        }
        rhs.eval(self.t + C[stage] * h, &self.tmp, params, &mut self.k[stage]);
    }
}

impl Stepper for Dop853 {
    fn dim(&self) -> usize {
        self.dim
    }
    fn order(&self) -> usize {
        8
    }
    fn controller(&self) -> Controller {
        // dop853's defaults: β = 0 (it documents 0.04 as an option), factor limits [1/3, 6].
        Controller::new(7, 0.0, 1.0 / 3.0, 6.0)
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
        rhs.eval(t0, &self.y, params, &mut self.k[1]);
        stats.rhs_evals += 1;
    }

    fn try_step<R: Rhs + ?Sized>(
        &mut self,
        rhs: &R,
        params: &[f64],
        h: f64,
        opts: &SolveOptions,
        stats: &mut Stats,
    ) -> f64 {
        for (s, row) in A_MAIN.iter().enumerate() {
            self.stage(rhs, params, h, s + 2, row);
        }
        let n = self.dim;
        let mut err5 = 0.0;
        let mut err3 = 0.0;
        for i in 0..n {
            let mut inc = 0.0;
            for &(j, b) in &B {
                inc += b * self.k[j][i];
            }
            self.y_new[i] = self.y[i] + h * inc;
            let mut e3 = inc;
            for &(j, b) in &BHH {
                e3 -= b * self.k[j][i];
            }
            let mut e5 = 0.0;
            for &(j, e) in &ER {
                e5 += e * self.k[j][i];
            }
            let sk = opts.atol + opts.rtol * self.y[i].abs().max(self.y_new[i].abs());
            err3 += (e3 / sk).powi(2);
            err5 += (e5 / sk).powi(2);
        }
        rhs.eval(self.t + h, &self.y_new, params, &mut self.k[13]);
        stats.rhs_evals += 12;
        self.h = h;
        // Hairer's blend of the 5th- and 3rd-order estimates.
        let mut deno = err5 + 0.01 * err3;
        if deno <= 0.0 {
            deno = 1.0;
        }
        h.abs() * err5 * (1.0 / (n as f64 * deno)).sqrt()
    }

    fn accept<R: Rhs + ?Sized>(&mut self, rhs: &R, params: &[f64], dense: bool, stats: &mut Stats) {
        let h = self.h;
        if dense {
            for (s, row) in A_DENSE.iter().enumerate() {
                self.stage(rhs, params, h, s + 14, row);
            }
            stats.rhs_evals += 3;
            let n = self.dim;
            for i in 0..n {
                let ydiff = self.y_new[i] - self.y[i];
                let bspl = h * self.k[1][i] - ydiff;
                self.r[0][i] = self.y[i];
                self.r[1][i] = ydiff;
                self.r[2][i] = bspl;
                self.r[3][i] = ydiff - h * self.k[13][i] - bspl;
                for (row, d) in D.iter().enumerate() {
                    let mut acc = 0.0;
                    for &(j, c) in d {
                        acc += c * self.k[j][i];
                    }
                    self.r[4 + row][i] = h * acc;
                }
            }
        }
        self.t_old = self.t;
        self.t += h;
        std::mem::swap(&mut self.y, &mut self.y_new);
        self.k.swap(1, 13);
    }

    fn t(&self) -> f64 {
        self.t
    }
    fn y(&self) -> &[f64] {
        &self.y
    }
    fn dydt(&self) -> &[f64] {
        &self.k[1]
    }

    fn dense(&self, t: f64, out: &mut [f64]) {
        let s = (t - self.t_old) / self.h;
        let s1 = 1.0 - s;
        let r = &self.r;
        for i in 0..self.dim {
            out[i] = r[0][i]
                + s * (r[1][i]
                    + s1 * (r[2][i]
                        + s * (r[3][i]
                            + s1 * (r[4][i] + s * (r[5][i] + s1 * (r[6][i] + s * r[7][i]))))));
        }
    }

    fn state_and_scratch(&mut self) -> (&[f64], &[f64], &mut [f64], &mut [f64]) {
        let (a, b) = self.k.split_at_mut(2);
        (&self.y, &a[1], &mut self.tmp, &mut b[0])
    }
}
