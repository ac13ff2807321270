//! Fisher–KPP reaction–diffusion `u_t = ν u_xx + ρ u (1 − u)` on the periodic unit interval
//! (PDEBench's 1-D ReacDiff: ν ∈ {0.5, 1, 2, 5}, ρ ∈ {1, 2, 5, 10}, 1024 cells, t ∈ [0, 1]).
//!
//! Strang splitting: half a step of the logistic reaction, solved exactly pointwise, one step of
//! diffusion, solved exactly in Fourier space, another half reaction. Second order in time, and
//! each sub-step is unconditionally stable, so only accuracy limits the step.

use crate::advection::{check_grid, check_initial, invalid, Pde1dError};
use crate::burgers::RealFft1d;
use rustfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Reaction–diffusion configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReactionDiffusionConfig {
    /// Cells (even, ≥ 4).
    pub resolution: usize,
    /// Diffusivity ν (≥ 0).
    pub nu: f64,
    /// Reaction rate ρ (finite).
    pub rho: f64,
    /// Final time (> 0).
    pub final_time: f64,
    /// Stored times after t = 0.
    pub record_times: usize,
    /// Largest Strang step.
    pub max_time_step: f64,
}

impl Default for ReactionDiffusionConfig {
    fn default() -> Self {
        Self { resolution: 1024, nu: 0.5, rho: 1.0, final_time: 1.0, record_times: 100, max_time_step: 1e-3 }
    }
}

impl ReactionDiffusionConfig {
    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Pde1dError> {
        check_grid(self.resolution, self.final_time, self.record_times)?;
        if !(self.nu.is_finite() && self.nu >= 0.0) {
            return Err(invalid("nu", self.nu, "must be a finite number >= 0"));
        }
        if !self.rho.is_finite() {
            return Err(invalid("rho", self.rho, "must be finite"));
        }
        if !(self.max_time_step.is_finite() && self.max_time_step > 0.0) {
            return Err(invalid("max_time_step", self.max_time_step, "must be a finite number > 0"));
        }
        Ok(())
    }

    /// Stored times `0, T/n, …, T`.
    pub fn times(&self) -> Vec<f64> {
        (0..=self.record_times).map(|k| self.final_time * k as f64 / self.record_times as f64).collect()
    }

    /// Strang steps between stored times.
    pub fn steps_per_record(&self) -> usize {
        let interval = self.final_time / self.record_times as f64;
        ((interval / self.max_time_step) * (1.0 - 1e-12)).ceil().max(1.0) as usize
    }
}

/// Strang-split Fisher–KPP solver.
#[derive(Debug, Clone)]
pub struct ReactionDiffusionSolver {
    config: ReactionDiffusionConfig,
    fft: RealFft1d,
}

impl ReactionDiffusionSolver {
    /// Validate and plan.
    pub fn new(config: ReactionDiffusionConfig) -> Result<Self, Pde1dError> {
        config.validate()?;
        Ok(Self { config, fft: RealFft1d::new(config.resolution) })
    }

    /// The configuration.
    pub fn config(&self) -> &ReactionDiffusionConfig {
        &self.config
    }

    /// `u` at the stored times, shape `(record_times + 1, n)`.
    pub fn solve(&self, u0: &[f64]) -> Result<Vec<f64>, Pde1dError> {
        let steps = self.config.steps_per_record();
        self.solve_with_steps(u0, steps)
    }

    /// As [`ReactionDiffusionSolver::solve`] with an explicit number of steps per record.
    pub fn solve_with_steps(&self, u0: &[f64], steps_per_record: usize) -> Result<Vec<f64>, Pde1dError> {
        let c = &self.config;
        let n = c.resolution;
        check_initial(u0, n)?;
        let h = c.final_time / (c.record_times * steps_per_record.max(1)) as f64;
        // Logistic flow over h/2: u ↦ u e / (1 − u + u e), e = e^{ρh/2}.
        let growth = (0.5 * c.rho * h).exp();
        let norm = 1.0 / n as f64;
        let decay: Vec<f64> = (0..self.fft.spectrum_len()).map(|k| (-c.nu * (2.0 * PI * k as f64).powi(2) * h).exp() * norm).collect();
        let mut buf = self.fft.buffers();
        let mut spectrum = vec![Complex64::new(0.0, 0.0); self.fft.spectrum_len()];
        let mut u = u0.to_vec();
        let mut out = Vec::with_capacity((c.record_times + 1) * n);
        out.extend_from_slice(u0);
        let react = |u: &mut [f64]| u.iter_mut().for_each(|v| *v = *v * growth / (1.0 - *v + *v * growth));
        for record in 1..=c.record_times {
            for _ in 0..steps_per_record.max(1) {
                react(&mut u);
                self.fft.forward(&u, &mut spectrum, &mut buf);
                spectrum.iter_mut().zip(&decay).for_each(|(s, d)| *s *= d);
                self.fft.inverse(&spectrum, &mut u, &mut buf);
                react(&mut u);
            }
            if u.iter().any(|v| !v.is_finite()) {
                return Err(Pde1dError::BlowUp {
                    problem: "reaction-diffusion",
                    time: c.final_time * record as f64 / c.record_times as f64,
                    parameters: format!("nu = {}, rho = {}, resolution = {n}, time_step = {h}", c.nu, c.rho),
                });
            }
            out.extend_from_slice(&u);
        }
        Ok(out)
    }
}
