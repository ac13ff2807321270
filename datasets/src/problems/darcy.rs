//! `darcy`: FNO's Darcy flow data, `−∇·(a∇u) = f` on the unit square, `u = 0` on the boundary,
//! `a` a thresholded (or log-normal) Gaussian random field.

use ndarray::Axis;
use oplab_solvers::elliptic::{CoefficientMap, DarcyConfig, DarcyMethod, DarcySampler};
use oplab_solvers::grf::GrfParams;
use serde::{Deserialize, Serialize};

use super::elliptic::{self, check_grid, Description};
pub use super::elliptic::MAX_RESOLUTION;
use super::pde_common::sample_error;
use crate::error::Result;
use crate::export::{ExportFile, ExportLayout, Exporter, NativeFile};
use crate::problem::{Problem, ProblemModule, Sample, SampleError, SampleRng, Schema};

/// Configuration of the `darcy` problem (the `[darcy]` table of a config file): the solver's
/// configuration plus the stored subsampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DarcyProblemConfig {
    /// Solver grid side s, boundary nodes included (FNO: 421).
    pub resolution: usize,
    /// Store every k-th node (numpy `[::k, ::k]`; FNO: 421 → 85/141/211 with k = 5/3/2).
    pub subsample: usize,
    /// Constant right-hand side f.
    pub forcing: f64,
    /// Linear solver: `multigrid` (PCG to 1e-12) or `cholesky`.
    pub method: DarcyMethod,
    /// Random field behind the coefficient (FNO: α = 2, τ = 3).
    pub grf: GrfParams,
    /// Field → coefficient map (FNO paper: 12 where g ≥ 0, 3 elsewhere).
    pub coefficient: CoefficientMap,
}

impl Default for DarcyProblemConfig {
    fn default() -> Self {
        let d = DarcyConfig::default();
        Self { resolution: d.resolution, subsample: 1, forcing: d.forcing, method: d.method, grf: d.grf, coefficient: d.coefficient }
    }
}

/// Options of `oplab generate darcy`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct DarcyArgs {
    /// Solver grid side s (nodes i/(s-1), boundary included) [default: 421].
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Store every k-th node (421 -> 85/141/211 with k = 5/3/2) [default: 1].
    #[arg(long)]
    pub subsample: Option<usize>,
    /// Constant right-hand side f [default: 1].
    #[arg(long)]
    pub forcing: Option<f64>,
}

/// The `darcy` problem, ready to sample (Cholesky analysis done once).
#[derive(Debug, Clone)]
pub struct DarcyProblem {
    config: DarcyProblemConfig,
    sampler: DarcySampler,
}

impl DarcyProblem {
    /// The resolved configuration.
    pub fn config(&self) -> &DarcyProblemConfig {
        &self.config
    }
}

impl ProblemModule for DarcyProblem {
    const NAME: &'static str = "darcy";
    const ABOUT: &'static str = "Darcy flow −∇·(a∇u) = 1 with a thresholded GRF coefficient (FNO's piececonst data)";
    const EXAMPLES: &'static str = "Examples:
  oplab generate darcy --n 1024 --resolution 421 --out piececonst_r421.h5      # FNO's setup
  oplab generate darcy --n 1000 --resolution 421 --subsample 5 --out darcy85.h5 # stored at 85x85
  oplab generate darcy --config run.toml   # [darcy] table: coefficient = { kind = \"log-normal\", scale = 1.0 }, grf = {...}";
    type Config = DarcyProblemConfig;
    #[cfg(feature = "cli")]
    type Args = DarcyArgs;

    fn new(mut config: DarcyProblemConfig) -> Result<Self> {
        check_grid(config.resolution, config.subsample)?;
        let sampler = DarcySampler::new(DarcyConfig {
            resolution: config.resolution,
            grf: config.grf,
            coefficient: config.coefficient,
            forcing: config.forcing,
            method: config.method,
        })?;
        config.grf.scale = Some(config.grf.resolved_scale());
        Ok(Self { config, sampler })
    }

    fn exporter(layout: ExportLayout) -> Option<Exporter> {
        match layout {
            ExportLayout::Fno => Some(elliptic::fno_export),
            ExportLayout::Pdebench => Some(pdebench_export),
        }
    }
}

/// PDEBench's Darcy file: `tensor` (N, 1, s, s) = u, `nu` (N, s, s) = a, `x-coordinate`,
/// `y-coordinate` and the attribute `beta` (the forcing).
fn pdebench_export(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let config: DarcyProblemConfig = native.config()?;
    let file = out.pdebench()?;
    file.write("tensor", &native.read("fields/solution")?.insert_axis(Axis(1)))?;
    file.write("nu", &native.read("fields/coeff")?)?;
    file.write("x-coordinate", &native.read("dimensions/x")?)?;
    file.write("y-coordinate", &native.read("dimensions/y")?)?;
    file.attribute("beta", config.forcing)?;
    file.finish()
}

impl Problem for DarcyProblem {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        let c = &self.config;
        elliptic::schema(
            c.resolution,
            c.subsample,
            Description {
                input: "coeff",
                input_text: format!("permeability a at the nodes ({:?})", c.coefficient),
                solution_text: format!(
                    "pressure u solving -div(a grad u) = {} with u = 0 on the boundary (5-point FD, {}^2 nodes)",
                    c.forcing, c.resolution
                ),
                residual_text: "||A u - f|| / ||f|| of the solver's linear system",
                equation: "-div(a grad u) = f on (0,1)^2",
            },
        )
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let d = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        elliptic::sample(index, self.config.resolution, self.config.subsample, &d.coeff, &d.solution, d.relative_residual)
    }
}
