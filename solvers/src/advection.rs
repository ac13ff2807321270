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

/// PDEBench's random initial condition: `init_multi` in PDEBench's
/// `pdebench/data_gen/data_gen_NLE/utils.py` (read at commit 535717d), as its 1-D advection and
/// reaction–diffusion scripts call it (`k_tot = 4`; reaction–diffusion then rescales to [0, 1],
/// which its problem does). Per sample:
/// - two wave indices are drawn from {1, …, 4} with replacement, and mode `m` gets the
///   wavenumber `2π · m · c_m / (x_last − x_first)`, where `c_m` counts how often `m` was drawn
///   (the script sums one-hot vectors): a mode drawn twice oscillates twice as fast;
/// - each of the four modes gets `A_m ~ U(0, 1)` and `φ_m ~ U(0, 2π)`, and
///   `u = Σ_m A_m sin(k_m x + φ_m)`; a mode never drawn has `k_m = 0` and adds the constant
///   `A_m sin φ_m`, as in the script;
/// - the wavenumber is taken over `x_last − x_first` (`1 − 1/n` on cell centres), not over the
///   period 1, as in the script, so the profile is periodic only up to that small mismatch;
/// - with probability 0.1 the absolute value is taken; then the sign is flipped with
///   probability ½; with probability 0.1 the profile is multiplied by the window
///   `½(tanh((x − x_L)/0.01) − tanh((x − x_R)/0.01))`, `x_L ~ U(0.1, 0.45)`, `x_R ~ U(0.55, 0.9)`.
///
/// The script draws several of these variables from one reused JAX key, which ties them
/// together; here each is drawn independently, so the distribution of every variable is the
/// script's but not their joint draws.
pub fn pdebench_initial_condition<R: Rng + ?Sized>(x: &[f64], rng: &mut R) -> Vec<f64> {
    const MODES: usize = 4;
    let mut u = vec![0.0; x.len()];
    let mut drawn = [0u32; MODES];
    for _ in 0..2 {
        drawn[rng.random_range(0..MODES)] += 1;
    }
    let span = match (x.first(), x.last()) {
        (Some(first), Some(last)) if last > first => last - first,
        _ => 1.0,
    };
    for (m, &count) in drawn.iter().enumerate() {
        let wavenumber = 2.0 * PI * (m + 1) as f64 * count as f64 / span;
        let amplitude: f64 = rng.random_range(0.0..1.0);
        let phase: f64 = rng.random_range(0.0..2.0 * PI);
        for (v, &xi) in u.iter_mut().zip(x) {
            *v += amplitude * (wavenumber * xi + phase).sin();
        }
    }
    if rng.random_bool(0.1) {
        u.iter_mut().for_each(|v| *v = v.abs());
    }
    if rng.random_bool(0.5) {
        u.iter_mut().for_each(|v| *v = -*v);
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
