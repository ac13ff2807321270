//! Linear advection `u_t + β u_x = 0` on the periodic unit interval, solved exactly in Fourier
//! space (every mode is shifted by its phase `e^{−2πikβt}`), plus the PDEBench-style random
//! initial condition shared by the 1-D PDEBench problems.
//!
//! PDEBench's 1-D data live on the cell centres `x_j = (j + ½)/n` of [0, 1] with 1024 cells and
//! 201 stored times on [0, 2] (advection), which are the defaults here.

use crate::burgers::RealFft1d;
use crate::InvalidParameter;
use rand::Rng;
use rustfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Errors from the 1-D linear solvers (advection, reaction–diffusion).
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Pde1dError {
    /// A parameter is outside its allowed range.
    #[error(transparent)]
    InvalidParameter(#[from] InvalidParameter),
    /// The solution became non-finite.
    #[error("{problem} blew up at t = {time}: non-finite solution; {parameters}")]
    BlowUp {
        /// `advection` or `reaction-diffusion`.
        problem: &'static str,
        /// Time of detection.
        time: f64,
        /// The parameters in `name = value` form.
        parameters: String,
    },
}

pub(crate) fn invalid(field: &'static str, value: impl ToString, allowed: &'static str) -> Pde1dError {
    InvalidParameter::new(field, value, allowed).into()
}

/// Cell centres `(j + ½)/n`.
pub fn cell_centres(n: usize) -> Vec<f64> {
    (0..n).map(|j| (j as f64 + 0.5) / n as f64).collect()
}

/// PDEBench-style random initial condition [RECALLED from PDEBench's `init_multi`, not
/// re-checked against the code]: `u = Σ_{i=1,2} A_i sin(2π k_i x + φ_i)` with `k_i` uniform in
/// {1, …, 4}, `A_i ~ U(0, 1)`, `φ_i ~ U(0, 2π)`; with probability 0.1 the absolute value is
/// taken, and with probability 0.1 the profile is multiplied by the window
/// `½(tanh((x − x_L)/0.01) − tanh((x − x_R)/0.01))`, `x_L ~ U(0.1, 0.45)`, `x_R ~ U(0.55, 0.9)`.
pub fn pdebench_initial_condition<R: Rng + ?Sized>(x: &[f64], rng: &mut R) -> Vec<f64> {
    let mut u = vec![0.0; x.len()];
    for _ in 0..2 {
        let k = rng.random_range(1..=4) as f64;
        let amplitude: f64 = rng.random_range(0.0..1.0);
        let phase: f64 = rng.random_range(0.0..2.0 * PI);
        for (v, &xi) in u.iter_mut().zip(x) {
            *v += amplitude * (2.0 * PI * k * xi + phase).sin();
        }
    }
    if rng.random_bool(0.1) {
        u.iter_mut().for_each(|v| *v = v.abs());
    }
    if rng.random_bool(0.1) {
        let left: f64 = rng.random_range(0.1..0.45);
        let right: f64 = rng.random_range(0.55..0.9);
        for (v, &xi) in u.iter_mut().zip(x) {
            *v *= 0.5 * (((xi - left) / 0.01).tanh() - ((xi - right) / 0.01).tanh());
        }
    }
    u
}

/// Advection configuration (PDEBench defaults: 1024 cells, T = 2, 200 steps after t = 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdvectionConfig {
    /// Cells (even, ≥ 4).
    pub resolution: usize,
    /// Advection speed β (finite; PDEBench uses 0.1 … 7).
    pub beta: f64,
    /// Final time (> 0).
    pub final_time: f64,
    /// Stored times after t = 0.
    pub record_times: usize,
}

impl Default for AdvectionConfig {
    fn default() -> Self {
        Self { resolution: 1024, beta: 1.0, final_time: 2.0, record_times: 200 }
    }
}

pub(crate) fn check_grid(resolution: usize, final_time: f64, record_times: usize) -> Result<(), Pde1dError> {
    if resolution < 4 || !resolution.is_multiple_of(2) {
        return Err(invalid("resolution", resolution, "must be even and >= 4"));
    }
    if !(final_time.is_finite() && final_time > 0.0) {
        return Err(invalid("final_time", final_time, "must be a finite number > 0"));
    }
    if record_times == 0 {
        return Err(invalid("record_times", 0, "must be >= 1"));
    }
    Ok(())
}

impl AdvectionConfig {
    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Pde1dError> {
        check_grid(self.resolution, self.final_time, self.record_times)?;
        if !self.beta.is_finite() {
            return Err(invalid("beta", self.beta, "must be finite"));
        }
        Ok(())
    }

    /// Stored times `0, T/n, …, T`.
    pub fn times(&self) -> Vec<f64> {
        (0..=self.record_times).map(|k| self.final_time * k as f64 / self.record_times as f64).collect()
    }
}

/// Exact spectral advection.
#[derive(Debug, Clone)]
pub struct AdvectionSolver {
    config: AdvectionConfig,
    fft: RealFft1d,
}

impl AdvectionSolver {
    /// Validate and plan.
    pub fn new(config: AdvectionConfig) -> Result<Self, Pde1dError> {
        config.validate()?;
        Ok(Self { config, fft: RealFft1d::new(config.resolution) })
    }

    /// The configuration.
    pub fn config(&self) -> &AdvectionConfig {
        &self.config
    }

    /// `u` at the stored times, shape `(record_times + 1, n)`, from `u0` on the cell centres.
    /// Exact for the trigonometric interpolant of `u0` (the Nyquist mode, whose shift is not
    /// representable by a real grid function, is advected by its real part).
    pub fn solve(&self, u0: &[f64]) -> Result<Vec<f64>, Pde1dError> {
        let n = self.config.resolution;
        check_initial(u0, n)?;
        let mut buf = self.fft.buffers();
        let mut spectrum = vec![Complex64::new(0.0, 0.0); self.fft.spectrum_len()];
        self.fft.forward(u0, &mut spectrum, &mut buf);
        let mut shifted = spectrum.clone();
        let mut row = vec![0.0; n];
        let mut out = Vec::with_capacity((self.config.record_times + 1) * n);
        out.extend_from_slice(u0);
        for &t in &self.config.times()[1..] {
            for (k, (s, z)) in shifted.iter_mut().zip(&spectrum).enumerate() {
                *s = z * Complex64::from_polar(1.0 / n as f64, -2.0 * PI * k as f64 * self.config.beta * t);
            }
            shifted[n / 2].im = 0.0;
            self.fft.inverse(&shifted, &mut row, &mut buf);
            if row.iter().any(|v| !v.is_finite()) {
                return Err(Pde1dError::BlowUp { problem: "advection", time: t, parameters: format!("beta = {}, resolution = {n}", self.config.beta) });
            }
            out.extend_from_slice(&row);
        }
        Ok(out)
    }
}

pub(crate) fn check_initial(u0: &[f64], n: usize) -> Result<(), Pde1dError> {
    if u0.len() != n {
        return Err(invalid("initial condition", format!("{} values", u0.len()), "must hold resolution values"));
    }
    if let Some(v) = u0.iter().find(|v| !v.is_finite()) {
        return Err(invalid("initial condition", v, "every value must be finite"));
    }
    Ok(())
}
