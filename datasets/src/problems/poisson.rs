//! `poisson`: `−Δu = f` on the unit square, `u = 0` on the boundary, `f` a Gaussian random field.

use oplab_solvers::elliptic::{PoissonConfig, PoissonSampler};
use oplab_solvers::grf::GrfParams;
use serde::{Deserialize, Serialize};

use super::elliptic::{self, check_grid, Description};
use super::pde_common::sample_error;
use crate::error::Result;
use crate::export::{ExportLayout, Exporter};
use crate::problem::{Problem, ProblemModule, Sample, SampleError, SampleRng, Schema};

/// Configuration of the `poisson` problem (the `[poisson]` table of a config file): the solver's
/// configuration plus the stored subsampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoissonProblemConfig {
    /// Solver grid side s, boundary nodes included.
    pub resolution: usize,
    /// Store every k-th node.
    pub subsample: usize,
    /// `f = forcing_scale · g`.
    pub forcing_scale: f64,
    /// Random field the forcing is drawn from.
    pub grf: GrfParams,
}

impl Default for PoissonProblemConfig {
    fn default() -> Self {
        let p = PoissonConfig::default();
        Self { resolution: p.resolution, subsample: 1, forcing_scale: p.forcing_scale, grf: p.grf }
    }
}

/// Options of `oplab generate poisson`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct PoissonArgs {
    /// Solver grid side s [default: 129].
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Store every k-th node [default: 1].
    #[arg(long)]
    pub subsample: Option<usize>,
}

/// The `poisson` problem (Laplacian factored once).
#[derive(Debug, Clone)]
pub struct PoissonProblem {
    config: PoissonProblemConfig,
    sampler: PoissonSampler,
}

impl ProblemModule for PoissonProblem {
    const NAME: &'static str = "poisson";
    const ABOUT: &'static str = "Poisson −Δu = f with GRF forcing, u = 0 on the boundary";
    const EXAMPLES: &'static str = "Examples:\n  oplab generate poisson --n 100 --resolution 129 --out poisson.h5";
    type Config = PoissonProblemConfig;
    #[cfg(feature = "cli")]
    type Args = PoissonArgs;

    fn new(mut config: PoissonProblemConfig) -> Result<Self> {
        check_grid(config.resolution, config.subsample)?;
        let sampler =
            PoissonSampler::new(PoissonConfig { resolution: config.resolution, grf: config.grf, forcing_scale: config.forcing_scale })?;
        config.grf.scale = Some(config.grf.resolved_scale());
        Ok(Self { config, sampler })
    }

    /// PDEBench has no Poisson data (its only elliptic set is Darcy): FNO's layout only.
    fn exporter(layout: ExportLayout) -> Option<Exporter> {
        (layout == ExportLayout::Fno).then_some(elliptic::fno_export as Exporter)
    }
}

impl Problem for PoissonProblem {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        let c = &self.config;
        elliptic::schema(
            c.resolution,
            c.subsample,
            Description {
                input: "forcing",
                input_text: "right-hand side f (Gaussian random field)".into(),
                solution_text: format!("u solving -lap u = f, u = 0 on the boundary (5-point FD, {}^2 nodes)", c.resolution),
                residual_text: "||A u - f|| / ||f||",
                equation: "-lap u = f on (0,1)^2",
            },
        )
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let d = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        elliptic::sample(index, self.config.resolution, self.config.subsample, &d.forcing, &d.solution, d.relative_residual)
    }
}
