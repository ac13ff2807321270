//! Viscous Burgers' equation `u_t + (u²/2)_x = ν u_xx` on the periodic unit interval.
//!
//! Fourier pseudo-spectral in space (2/3-rule dealiasing of the quadratic term) and ETDRK4 in
//! time (Cox & Matthews' scheme with Kassam & Trefethen's contour-integral evaluation of its
//! φ-function coefficients, which avoids the cancellation of the textbook formulas for small
//! `hL`). Viscosity is integrated exactly; the step is limited by advection only. Because viscous
//! Burgers obeys a maximum principle, `max|u|` never grows, so the step chosen from the initial
//! condition's CFL number stays safe for the whole run.
//!
//! FNO's data (`burgers_data_R10`): ν = 0.1, 8192 points, `u0 ~ N(0, 625(−Δ+25I)^{−2})`
//! ([`crate::grf::PeriodicGrf1d`]), map `u0 ↦ u(·, 1)`.

mod real_fft;
mod solver;

pub use crate::etdrk4::Etdrk4Coefficients;
pub use real_fft::{RealFft1d, RealFftBuffers};
pub use solver::BurgersSolver;

use crate::grf::{PeriodicGrf1d, PeriodicGrfParams};
use crate::InvalidParameter;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Errors from the Burgers solver.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum BurgersError {
    /// A parameter is outside its allowed range.
    #[error(transparent)]
    InvalidParameter(#[from] InvalidParameter),
    /// Non-finite values or a CFL number above the limit.
    #[error(
        "burgers blew up at t = {time} ({reason}); viscosity = {viscosity}, time_step = {time_step}, \
         resolution = {resolution}, CFL = {cfl:.3} (limit {max_cfl})"
    )]
    BlowUp {
        /// Time at which the problem was detected.
        time: f64,
        /// What was detected.
        reason: &'static str,
        /// ν.
        viscosity: f64,
        /// Δt used.
        time_step: f64,
        /// Grid points.
        resolution: usize,
        /// `Δt · max|u| / h` when detected.
        cfl: f64,
        /// The configured limit.
        max_cfl: f64,
    },
}

/// Burgers configuration (FNO defaults: 8192 points, ν = 0.1, T = 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BurgersConfig {
    /// Grid points `x_j = j/n` (even, ≥ 8).
    pub resolution: usize,
    /// Viscosity ν (> 0).
    pub viscosity: f64,
    /// Final time T (> 0).
    pub final_time: f64,
    /// Number of stored times after t = 0, equally spaced up to T (t = 0 is stored too).
    pub record_times: usize,
    /// Largest time step.
    pub max_time_step: f64,
    /// Target CFL number `Δt max|u0| / h` that picks the step when it is below `max_time_step`.
    pub cfl: f64,
    /// Abort when the CFL number exceeds this during the run.
    pub max_cfl: f64,
    /// Store every k-th grid point (FNO: 8192 → 1024 with k = 8). Must divide `resolution`.
    pub subsample: usize,
    /// Initial-condition random field (sampler only).
    pub initial: PeriodicGrfParams,
}

impl Default for BurgersConfig {
    fn default() -> Self {
        Self {
            resolution: 8192,
            viscosity: 0.1,
            final_time: 1.0,
            record_times: 1,
            max_time_step: 1e-3,
            cfl: 0.5,
            max_cfl: 1.2,
            subsample: 1,
            initial: PeriodicGrfParams::fno_burgers(),
        }
    }
}

fn invalid(field: &'static str, value: impl ToString, allowed: &'static str) -> BurgersError {
    InvalidParameter::new(field, value, allowed).into()
}

impl BurgersConfig {
    /// Check every parameter, naming the first invalid one.
    pub fn validate(&self) -> Result<(), BurgersError> {
        if self.resolution < 8 || !self.resolution.is_multiple_of(2) {
            return Err(invalid("resolution", self.resolution, "must be even and >= 8"));
        }
        for (field, v) in [
            ("viscosity", self.viscosity),
            ("final_time", self.final_time),
            ("max_time_step", self.max_time_step),
            ("cfl", self.cfl),
            ("max_cfl", self.max_cfl),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid(field, v, "must be a finite number > 0"));
            }
        }
        if self.record_times == 0 {
            return Err(invalid("record_times", 0, "must be >= 1"));
        }
        if self.subsample == 0 || !self.resolution.is_multiple_of(self.subsample) {
            return Err(invalid("subsample", self.subsample, "must be >= 1 and divide resolution"));
        }
        self.initial.validate().map_err(|e| e.within("initial"))?;
        Ok(())
    }

    /// Stored times `0, T/n, …, T`.
    pub fn times(&self) -> Vec<f64> {
        (0..=self.record_times).map(|k| self.final_time * k as f64 / self.record_times as f64).collect()
    }

    /// Points of the stored grid.
    pub fn stored_resolution(&self) -> usize {
        self.resolution / self.subsample
    }
}

/// One Burgers sample: `u` at the stored times, shape `(record_times + 1, n/k)`.
#[derive(Debug, Clone, PartialEq)]
pub struct BurgersSample {
    /// Solution, row-major (time slow).
    pub u: Vec<f64>,
}

/// Draws Burgers trajectories from GRF initial conditions.
#[derive(Debug, Clone)]
pub struct BurgersSampler {
    field: PeriodicGrf1d,
    solver: BurgersSolver,
}

impl BurgersSampler {
    /// Validate and set up.
    pub fn new(config: BurgersConfig) -> Result<Self, BurgersError> {
        let solver = BurgersSolver::new(config)?;
        let field = PeriodicGrf1d::new(config.initial, config.resolution)?;
        Ok(Self { field, solver })
    }

    /// The solver.
    pub fn solver(&self) -> &BurgersSolver {
        &self.solver
    }

    /// Draw one trajectory.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<BurgersSample, BurgersError> {
        let u0 = self.field.sample(rng);
        Ok(BurgersSample { u: self.solver.solve(&u0)? })
    }
}
