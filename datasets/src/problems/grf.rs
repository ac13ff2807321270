//! `grf`: samples of FNO's 2-D Gaussian random field on the node grid of the unit square.

use oplab_solvers::grf::{CosineGrf2d, GrfParams};
use serde::{Deserialize, Serialize};

use crate::error::{DatasetError, Result};
use crate::problem::{Dimension, FieldSpec, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, Schema};

/// Largest supported grid side (a sample is resolution² values; 8193² f64 is 0.5 GiB).
pub const MAX_RESOLUTION: usize = 8193;

/// Configuration of the `grf` problem (the `[grf]` table of a config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrfConfig {
    /// Grid side s: the field is sampled at x_i = i/(s−1), i = 0..s−1 (boundary included).
    pub resolution: usize,
    /// Smoothness exponent α of the covariance (−Δ+τ²)^(−α).
    pub alpha: f64,
    /// Inverse length scale τ.
    pub tau: f64,
    /// Amplitude; when absent, FNO's τ^(α−1). Always present in a resolved config.
    pub scale: Option<f64>,
    /// Cosine modes kept per direction; when absent, `resolution`. Always present when resolved.
    pub modes: Option<usize>,
    /// Keep the constant mode (FNO drops it).
    pub keep_mean_mode: bool,
}

impl Default for GrfConfig {
    fn default() -> Self {
        let p = GrfParams::default();
        Self { resolution: 64, alpha: p.alpha, tau: p.tau, scale: None, modes: None, keep_mean_mode: p.keep_mean_mode }
    }
}

/// Options of `oplab generate grf`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct GrfArgs {
    /// Grid side s (nodes x_i = i/(s-1), boundary included) [default: 64].
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Smoothness exponent α [default: 2].
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Inverse length scale τ [default: 3].
    #[arg(long)]
    pub tau: Option<f64>,
    /// Amplitude [default: τ^(α−1), FNO's].
    #[arg(long)]
    pub scale: Option<f64>,
    /// Cosine modes per direction [default: resolution].
    #[arg(long)]
    pub modes: Option<usize>,
    /// Keep the constant mode (FNO drops it).
    #[arg(long)]
    // Absent, the flag leaves a config file's `keep_mean_mode = true` alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keep_mean_mode: bool,
}

/// The `grf` problem, ready to sample.
#[derive(Debug, Clone)]
pub struct GrfProblem {
    config: GrfConfig,
    sampler: CosineGrf2d,
    grid: Vec<f64>,
}

impl ProblemModule for GrfProblem {
    const NAME: &'static str = "grf";
    const ABOUT: &'static str = "2-D Gaussian random field N(0, τ^(2α−2)(−Δ+τ²)^(−α)) on the unit square (FNO's Darcy GRF)";
    const EXAMPLES: &'static str = "Examples:
  oplab generate grf --n 64 --resolution 128 --out grf.h5
  oplab generate grf --n 1000 --resolution 256 --alpha 2.5 --tau 7 --threads 2 --gzip 4
  oplab generate grf --config run.toml --seed 3   # [grf] table in run.toml, flags override";
    type Config = GrfConfig;
    #[cfg(feature = "cli")]
    type Args = GrfArgs;

    /// Validate `config`, resolve its defaults and precompute the sampler.
    fn new(mut config: GrfConfig) -> Result<Self> {
        let s = config.resolution;
        if !(2..=MAX_RESOLUTION).contains(&s) {
            return Err(DatasetError::invalid("resolution", s, format!("must be between 2 and {MAX_RESOLUTION}")));
        }
        let modes = config.modes.unwrap_or(s);
        if !(1..=MAX_RESOLUTION).contains(&modes) {
            return Err(DatasetError::invalid("modes", modes, format!("must be between 1 and {MAX_RESOLUTION}")));
        }
        let params = GrfParams { alpha: config.alpha, tau: config.tau, scale: config.scale, keep_mean_mode: config.keep_mean_mode };
        params.validate()?;
        config.scale = Some(params.resolved_scale());
        config.modes = Some(modes);
        let grid = oplab_solvers::grf::node_grid(s);
        let sampler = CosineGrf2d::new(params, &grid, &grid, modes)?;
        Ok(Self { config, sampler, grid })
    }
}

impl GrfProblem {
    /// The resolved configuration.
    pub fn config(&self) -> &GrfConfig {
        &self.config
    }
}

impl Problem for GrfProblem {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        let s = self.config.resolution;
        Schema {
            fields: vec![FieldSpec {
                name: "field".into(),
                shape: vec![s, s],
                role: Role::Input,
                axes: vec!["x".into(), "y".into()],
                description: format!(
                    "Gaussian random field N(0, {:.6}² (−Δ+{}²)^(−{})), Neumann cosine expansion, mean mode {}",
                    self.config.scale.unwrap_or(f64::NAN),
                    self.config.tau,
                    self.config.alpha,
                    if self.config.keep_mean_mode { "kept" } else { "dropped" }
                ),
            }],
            dimensions: vec![Dimension { name: "x".into(), values: self.grid.clone() }, Dimension { name: "y".into(), values: self.grid.clone() }],
            attributes: vec![("boundary_conditions".into(), "neumann (cosine basis)".into())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        toml::to_string(&self.config).expect("config serialises")
    }

    fn sample(&self, _index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        Ok(Sample { fields: vec![self.sampler.sample(rng)], ..Sample::default() })
    }
}
