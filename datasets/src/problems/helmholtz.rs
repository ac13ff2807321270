//! `helmholtz`: `−Δu − k²(x) u = f` on the unit square, `u = 0` on the boundary, wave number
//! `k = ω / c` with a random wave speed `c = mean + amplitude · tanh(g)` (MgNO-style data).

use oplab_solvers::elliptic::{HelmholtzConfig, HelmholtzSampler, WaveSpeedMap};
use oplab_solvers::grf::GrfParams;
use serde::{Deserialize, Serialize};

use super::elliptic::{self, check_grid, Description};
use super::pde_common::sample_error;
use crate::error::Result;
use crate::export::{ExportLayout, Exporter};
use crate::problem::{Problem, ProblemModule, Sample, SampleError, SampleRng, Schema};

/// Configuration of the `helmholtz` problem (the `[helmholtz]` table of a config file): the
/// solver's configuration plus the stored subsampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HelmholtzProblemConfig {
    /// Solver grid side s, boundary nodes included (MgNO's set: 101).
    pub resolution: usize,
    /// Store every k-th node.
    pub subsample: usize,
    /// Angular frequency ω.
    pub omega: f64,
    /// Constant right-hand side f.
    pub forcing: f64,
    /// Random field behind the wave speed.
    pub grf: GrfParams,
    /// Field → wave speed map.
    pub wave_speed: WaveSpeedMap,
}

impl Default for HelmholtzProblemConfig {
    fn default() -> Self {
        let h = HelmholtzConfig::default();
        Self { resolution: h.resolution, subsample: 1, omega: h.omega, forcing: h.forcing, grf: h.grf, wave_speed: h.wave_speed }
    }
}

/// Options of `oplab generate helmholtz`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct HelmholtzArgs {
    /// Solver grid side s [default: 101].
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Store every k-th node [default: 1].
    #[arg(long)]
    pub subsample: Option<usize>,
    /// Angular frequency ω; k = ω / c [default: 1000].
    #[arg(long)]
    pub omega: Option<f64>,
}

/// The `helmholtz` problem (LU analysis done once).
#[derive(Debug, Clone)]
pub struct HelmholtzProblem {
    config: HelmholtzProblemConfig,
    sampler: HelmholtzSampler,
}

impl ProblemModule for HelmholtzProblem {
    const NAME: &'static str = "helmholtz";
    const ABOUT: &'static str = "Helmholtz −Δu − k²(x)u = f with a random wave speed (MgNO-style)";
    const EXAMPLES: &'static str = "Examples:\n  oplab generate helmholtz --n 100 --resolution 101 --omega 1000 --out helmholtz.h5";
    type Config = HelmholtzProblemConfig;
    #[cfg(feature = "cli")]
    type Args = HelmholtzArgs;

    fn new(mut config: HelmholtzProblemConfig) -> Result<Self> {
        check_grid(config.resolution, config.subsample)?;
        let sampler = HelmholtzSampler::new(HelmholtzConfig {
            resolution: config.resolution,
            grf: config.grf,
            wave_speed: config.wave_speed,
            omega: config.omega,
            forcing: config.forcing,
        })?;
        config.grf.scale = Some(config.grf.resolved_scale());
        Ok(Self { config, sampler })
    }

    /// PDEBench has no Helmholtz data (its only elliptic set is Darcy): FNO's layout only.
    fn exporter(layout: ExportLayout) -> Option<Exporter> {
        (layout == ExportLayout::Fno).then_some(elliptic::fno_export as Exporter)
    }
}

impl Problem for HelmholtzProblem {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        let c = &self.config;
        elliptic::schema(
            c.resolution,
            c.subsample,
            Description {
                input: "wave_speed",
                input_text: "wave speed c = mean + amplitude tanh(g); k = omega / c".into(),
                solution_text: format!("u solving -lap u - k^2 u = {}, u = 0 on the boundary (5-point FD, sparse LU)", c.forcing),
                residual_text: "||A u - f|| / ||f||",
                equation: "-lap u - k(x)^2 u = f on (0,1)^2",
            },
        )
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let d = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        elliptic::sample(index, self.config.resolution, self.config.subsample, &d.wave_speed, &d.solution, d.relative_residual)
    }
}
