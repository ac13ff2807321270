//! `darcy`: FNO's Darcy flow data, `−∇·(a∇u) = f` on the unit square, `u = 0` on the boundary,
//! `a` a thresholded (or log-normal) Gaussian random field.

use ndarray::Axis;
use oplab_solvers::elliptic::{DarcyConfig, DarcySampler, EllipticError};
use oplab_solvers::grf::GrfParams;
#[cfg(feature = "cli")]
use serde::Serialize;

pub use super::elliptic::MAX_RESOLUTION;
use super::elliptic::{fno_export, Description, Elliptic, EllipticConfig, EllipticProblem};
use crate::error::Result;
use crate::export::{ExportFile, ExportLayout, Exporter, NativeFile};
use crate::problem::SampleRng;

/// Configuration of the `darcy` problem (the `[darcy]` table of a config file): the solver's keys
/// (`resolution`, `forcing`, `method`, `grf`, `coefficient`; FNO: 421 nodes per side, α = 2,
/// τ = 3, a = 12 or 3, f = 1) and `subsample`.
pub type DarcyProblemConfig = EllipticConfig<DarcyConfig>;

/// The `darcy` problem, ready to sample (Cholesky analysis done once).
pub type DarcyProblem = EllipticProblem<Darcy>;

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

/// The Darcy flow problem over [`DarcySampler`].
#[derive(Debug)]
pub struct Darcy;

impl Elliptic for Darcy {
    const NAME: &'static str = "darcy";
    const ABOUT: &'static str = "Darcy flow −∇·(a∇u) = 1 with a thresholded GRF coefficient (FNO's piececonst data)";
    const EXAMPLES: &'static str = "Examples:
  oplab generate darcy --n 1024 --resolution 421 --out piececonst_r421.h5      # FNO's setup
  oplab generate darcy --n 1000 --resolution 421 --subsample 5 --out darcy85.h5 # stored at 85x85
  oplab generate darcy --config run.toml   # [darcy] table: coefficient = { kind = \"log-normal\", scale = 1.0 }, grf = {...}";
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[(ExportLayout::Fno, fno_export), (ExportLayout::Pdebench, pdebench_export)];
    type Solver = DarcyConfig;
    type Sampler = DarcySampler;
    #[cfg(feature = "cli")]
    type Args = DarcyArgs;

    fn sampler(config: DarcyConfig) -> std::result::Result<DarcySampler, EllipticError> {
        DarcySampler::new(config)
    }

    fn resolution(config: &DarcyConfig) -> usize {
        config.resolution
    }

    fn grf(config: &mut DarcyConfig) -> &mut GrfParams {
        &mut config.grf
    }

    fn describe(c: &DarcyConfig) -> Description {
        Description {
            input: "coeff",
            input_text: format!("permeability a at the nodes ({:?})", c.coefficient),
            solution_text: format!("pressure u solving -div(a grad u) = {} with u = 0 on the boundary (5-point FD, {}^2 nodes)", c.forcing, c.resolution),
            residual_text: "||A u - f|| / ||f|| of the solver's linear system",
            equation: "-div(a grad u) = f on (0,1)^2",
        }
    }

    fn solve(sampler: &DarcySampler, rng: &mut SampleRng) -> std::result::Result<(Vec<f64>, Vec<f64>, f64), EllipticError> {
        sampler.sample(rng).map(|d| (d.coeff, d.solution, d.relative_residual))
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
    file.attribute("beta", config.solver.forcing)?;
    file.finish()
}
