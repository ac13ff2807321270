//! Gaussian random fields.
//!
//! [`CosineGrf2d`] is the field FNO's Darcy data are drawn from: a Karhunen–Loève expansion over the
//! eigenfunctions of the Neumann Laplacian on the unit square (products of cosines), with covariance
//! operator `C = scale² (−Δ + τ²I)^(−α)`. FNO's `GRF.m` uses `scale = τ^(α−1)`, i.e.
//! `C = τ^(2α−2)(−Δ+τ²)^(−α)`, and drops the constant mode; both are the defaults here.
//!
//! Sampling is deterministic given the caller's random stream (datasets seed one per sample):
//!
//! ```
//! use oplab_solvers::grf::{node_grid, CosineGrf2d, GrfParams};
//! use rand_chacha::rand_core::SeedableRng;
//! use rand_chacha::ChaCha8Rng;
//!
//! // FNO's Darcy field (α = 2, τ = 3) on the 17 × 17 nodes i/16 of the unit square.
//! let grf = CosineGrf2d::on_node_grid(GrfParams::default(), 17).unwrap();
//! let field = grf.sample(&mut ChaCha8Rng::seed_from_u64(0));
//! assert_eq!((field.len(), node_grid(17)[16]), (17 * 17, 1.0));
//! assert_eq!(field, grf.sample(&mut ChaCha8Rng::seed_from_u64(0)));
//! // Without the constant mode the field integrates to zero: the trapezoidal rule on the
//! // nodes is exact for every cosine the expansion keeps.
//! let w = |i: usize| if i == 0 || i == 16 { 0.5 } else { 1.0 };
//! let mean: f64 = (0..17 * 17).map(|k| w(k / 17) * w(k % 17) * field[k]).sum::<f64>() / 256.0;
//! assert!(mean.abs() < 1e-12, "{mean}");
//! ```

mod cosine;
pub mod periodic;

pub use cosine::{cosine_eigenfunction, node_grid, CosineGrf2d};
pub use periodic::{PeriodicGrf1d, PeriodicGrf2d, PeriodicGrfParams};

use serde::{Deserialize, Serialize};

use crate::InvalidParameter;

/// Parameters of a Matérn-like Gaussian random field `N(0, scale² (−Δ + τ²)^(−α))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrfParams {
    /// Smoothness exponent α (> d/2 for a field with finite pointwise variance). FNO Darcy: 2.
    pub alpha: f64,
    /// Inverse length scale τ (> 0). FNO Darcy: 3.
    pub tau: f64,
    /// Amplitude factor; `None` means FNO's choice `τ^(α−1)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Keep the constant (k = 0) mode. FNO's Darcy GRF drops it.
    #[serde(default)]
    pub keep_mean_mode: bool,
}

impl Default for GrfParams {
    fn default() -> Self {
        Self { alpha: 2.0, tau: 3.0, scale: None, keep_mean_mode: false }
    }
}

impl GrfParams {
    /// Check every parameter, naming the first invalid one.
    pub fn validate(&self) -> Result<(), InvalidParameter> {
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(InvalidParameter::new("alpha", self.alpha, "must be a finite number > 0"));
        }
        if !(self.tau.is_finite() && self.tau > 0.0) {
            return Err(InvalidParameter::new("tau", self.tau, "must be a finite number > 0"));
        }
        if let Some(s) = self.scale {
            if !(s.is_finite() && s > 0.0) {
                return Err(InvalidParameter::new("scale", s, "must be a finite number > 0"));
            }
        }
        // The default scale τ^(α−1) overflows (or underflows to 0) for extreme α: the field
        // would be NaN or zero, and the stored config would hold a scale no reader accepts.
        let scale = self.resolved_scale();
        if !(scale.is_finite() && scale > 0.0) {
            return Err(InvalidParameter::new(
                "alpha",
                self.alpha,
                format!(
                    "makes the default scale tau^(alpha-1) = {}^({} - 1) = {scale}; it must be a finite number > 0 (choose a smaller alpha or set scale)",
                    self.tau, self.alpha
                ),
            ));
        }
        Ok(())
    }

    /// The amplitude factor actually used: `scale`, or `τ^(α−1)` when unset.
    pub fn resolved_scale(&self) -> f64 {
        self.scale.unwrap_or_else(|| self.tau.powf(self.alpha - 1.0))
    }

    /// Eigenvalue of the covariance operator for a Laplacian eigenvalue `lap` (= |k|²π² for cosines).
    pub fn covariance_eigenvalue(&self, lap: f64) -> f64 {
        let s = self.resolved_scale();
        s * s * (lap + self.tau * self.tau).powf(-self.alpha)
    }
}
