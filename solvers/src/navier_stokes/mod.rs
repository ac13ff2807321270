//! 2-D incompressible Navier–Stokes in vorticity form on the periodic unit torus:
//!
//! `∂_t w + u·∇w = ν Δw + f`, `u = (∂_y ψ, −∂_x ψ)`, `−Δψ = w`,
//!
//! solved pseudo-spectrally as FNO's `ns_2d.py` does: the nonlinear term is evaluated in physical
//! space and 2/3-dealiased, viscosity is treated by Crank–Nicolson and the nonlinearity and forcing
//! explicitly (forward Euler), `Δt = 10⁻⁴` by default ([`TimeScheme::CrankNicolson`], first order
//! in time once the nonlinearity matters). [`TimeScheme::Etdrk4`] is the fourth-order alternative:
//! viscosity integrated exactly, nonlinearity and forcing by Cox & Matthews' exponential
//! Runge–Kutta scheme (four nonlinear evaluations per step). FNO's data use the forcing
//! `f = 0.1 (sin 2π(x+y) + cos 2π(x+y))` and initial vorticity from
//! `N(0, 7^{3/2} (−Δ + 49 I)^{−2.5})` ([`crate::grf::PeriodicGrf2d`]).
//!
//! Fields are row-major `s × s` arrays on `(i/s, j/s)`, x (first index) slow.
//! The FFT plans and all buffers are created once per solve; the time loop allocates nothing.

mod fft2;
mod primitive;
mod solver;

pub use fft2::Fft2Plan;
pub use primitive::{PrimitiveFields, PrimitiveSolver};
pub use solver::{vorticity_diagnostics, NavierStokesSolver, Trajectory, VorticityDiagnostics};

use crate::grf::{PeriodicGrf2d, PeriodicGrfParams};
use crate::InvalidParameter;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Errors from the Navier–Stokes solver.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum NavierStokesError {
    /// A parameter is outside its allowed range.
    #[error(transparent)]
    InvalidParameter(#[from] InvalidParameter),
    /// The solution blew up (non-finite values or a CFL number above the limit).
    #[error(
        "navier-stokes blew up at t = {time} ({reason}); viscosity = {viscosity}, time_step = {time_step}, \
         resolution = {resolution}, CFL = {cfl:.3} (limit {max_cfl})"
    )]
    BlowUp {
        /// Time at which the problem was detected.
        time: f64,
        /// What was detected.
        reason: &'static str,
        /// ν.
        viscosity: f64,
        /// Δt actually used.
        time_step: f64,
        /// Solver grid points per side.
        resolution: usize,
        /// `Δt · max(|u| + |v|) / h` when detected (NaN if the field is not finite).
        cfl: f64,
        /// The configured limit.
        max_cfl: f64,
    },
}

/// Body force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Forcing {
    /// No forcing (decaying turbulence).
    None,
    /// FNO's `f = amplitude · (sin 2π(x+y) + cos 2π(x+y))`, amplitude 0.1.
    Diagonal {
        /// Amplitude (FNO: 0.1).
        amplitude: f64,
    },
}

impl Forcing {
    /// Node values on the `s × s` grid.
    pub fn nodes(&self, s: usize) -> Vec<f64> {
        let h = 1.0 / s as f64;
        let mut out = Vec::with_capacity(s * s);
        for i in 0..s {
            for j in 0..s {
                let phase = 2.0 * std::f64::consts::PI * (i as f64 * h + j as f64 * h);
                out.push(match *self {
                    Forcing::None => 0.0,
                    Forcing::Diagonal { amplitude } => amplitude * (phase.sin() + phase.cos()),
                });
            }
        }
        out
    }
}

/// Time integrator of the Navier–Stokes solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeScheme {
    /// FNO's `ns_2d.py` scheme: Crank–Nicolson on the viscous term, forward Euler on the
    /// nonlinearity and the forcing (one nonlinear evaluation per step; first order in time, second
    /// order for purely viscous decay).
    #[default]
    CrankNicolson,
    /// ETDRK4 (Cox & Matthews 2002; φ-functions by Kassam & Trefethen's contour integrals): the
    /// viscous term is integrated exactly, the dealiased nonlinearity and the forcing to fourth order
    /// in time. Four nonlinear evaluations per step, so it pays off when it allows steps more than
    /// about four times larger at the wanted accuracy.
    Etdrk4,
}

impl TimeScheme {
    /// The name used in configs and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            TimeScheme::CrankNicolson => "crank-nicolson",
            TimeScheme::Etdrk4 => "etdrk4",
        }
    }
}

/// Navier–Stokes configuration (FNO defaults: 256², ν = 10⁻³, Δt = 10⁻⁴, T = 50, 50 records,
/// stored at 64²).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NavierStokesConfig {
    /// Solver grid points per side (even, ≥ 8).
    pub resolution: usize,
    /// Viscosity ν (> 0).
    pub viscosity: f64,
    /// Final time T (> 0).
    pub final_time: f64,
    /// Largest time step Δt; the step used is `T / steps` with `steps` the smallest multiple of
    /// `record_times` that makes it ≤ this value.
    pub time_step: f64,
    /// Number of stored times after t = 0, equally spaced up to T (t = 0 is also stored).
    pub record_times: usize,
    /// Store every k-th grid point per direction (256 → 64 with k = 4). Must divide `resolution`.
    pub subsample: usize,
    /// Body force.
    pub forcing: Forcing,
    /// Initial vorticity field (sampler only).
    pub initial: PeriodicGrfParams,
    /// Abort when `Δt · max(|u|+|v|) / h` exceeds this (explicit advection is unstable beyond ~1).
    pub max_cfl: f64,
    /// Time integrator (FNO's Crank–Nicolson/Euler scheme by default).
    pub scheme: TimeScheme,
}

impl Default for NavierStokesConfig {
    fn default() -> Self {
        Self {
            resolution: 256,
            viscosity: 1e-3,
            final_time: 50.0,
            time_step: 1e-4,
            record_times: 50,
            subsample: 4,
            forcing: Forcing::Diagonal { amplitude: 0.1 },
            initial: PeriodicGrfParams::fno_navier_stokes(),
            max_cfl: 1.0,
            scheme: TimeScheme::CrankNicolson,
        }
    }
}

fn invalid(field: &'static str, value: impl ToString, allowed: &'static str) -> NavierStokesError {
    InvalidParameter::new(field, value, allowed).into()
}

impl NavierStokesConfig {
    /// Check every parameter, naming the first invalid one.
    pub fn validate(&self) -> Result<(), NavierStokesError> {
        if self.resolution < 8 || !self.resolution.is_multiple_of(2) {
            return Err(invalid("resolution", self.resolution, "must be even and >= 8"));
        }
        let positive = |field, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(invalid(field, v, "must be a finite number > 0"))
            }
        };
        positive("viscosity", self.viscosity)?;
        positive("final_time", self.final_time)?;
        positive("time_step", self.time_step)?;
        positive("max_cfl", self.max_cfl)?;
        if self.record_times == 0 {
            return Err(invalid("record_times", 0, "must be >= 1"));
        }
        if self.subsample == 0 || !self.resolution.is_multiple_of(self.subsample) {
            return Err(invalid("subsample", self.subsample, "must be >= 1 and divide resolution"));
        }
        if let Forcing::Diagonal { amplitude } = self.forcing {
            if !amplitude.is_finite() {
                return Err(invalid("forcing.amplitude", amplitude, "must be finite"));
            }
        }
        if (self.final_time / self.time_step) > 1e9 {
            return Err(invalid("time_step", self.time_step, "final_time / time_step must be <= 1e9"));
        }
        self.initial.validate().map_err(|e| e.within("initial"))?;
        Ok(())
    }

    /// Steps between two stored times.
    pub fn steps_per_record(&self) -> usize {
        // Round the ratio first so that e.g. 1 / (5 · 0.02) = 10.000000000000002 gives 10 steps.
        let ratio = self.final_time / (self.record_times as f64 * self.time_step);
        (ratio * (1.0 - 1e-12)).ceil().max(1.0) as usize
    }

    /// The time step actually used.
    pub fn effective_time_step(&self) -> f64 {
        self.final_time / (self.record_times * self.steps_per_record()) as f64
    }

    /// Stored times, `0, T/n, …, T`.
    pub fn times(&self) -> Vec<f64> {
        (0..=self.record_times).map(|k| self.final_time * k as f64 / self.record_times as f64).collect()
    }

    /// Points per side of the stored grid.
    pub fn stored_resolution(&self) -> usize {
        self.resolution / self.subsample
    }
}

/// One Navier–Stokes sample.
#[derive(Debug, Clone, PartialEq)]
pub struct NavierStokesSample {
    /// Vorticity at the stored times, shape `(record_times + 1, s/k, s/k)`, row-major.
    pub vorticity: Vec<f64>,
}

/// Draws trajectories: GRF initial vorticity → solve. Built once, shared across threads.
#[derive(Debug, Clone)]
pub struct NavierStokesSampler {
    field: PeriodicGrf2d,
    solver: NavierStokesSolver,
}

impl NavierStokesSampler {
    /// Validate and set up (FFT plans, spectral operators, GRF).
    pub fn new(config: NavierStokesConfig) -> Result<Self, NavierStokesError> {
        let solver = NavierStokesSolver::new(config)?;
        let field = PeriodicGrf2d::new(config.initial, config.resolution)?;
        Ok(Self { field, solver })
    }

    /// The solver.
    pub fn solver(&self) -> &NavierStokesSolver {
        &self.solver
    }

    /// Draw one trajectory.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<NavierStokesSample, NavierStokesError> {
        let w0 = self.field.sample(rng);
        let trajectory = self.solver.solve(&w0)?;
        Ok(NavierStokesSample { vorticity: trajectory.vorticity })
    }
}
