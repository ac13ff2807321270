//! `poisson`: `−Δu = f` on the unit square, `u = 0` on the boundary, `f` a Gaussian random field.

use oplab_solvers::elliptic::{EllipticError, PoissonConfig, PoissonSampler};
use oplab_solvers::grf::GrfParams;
#[cfg(feature = "cli")]
use serde::Serialize;

use super::elliptic::{fno_export, Description, Elliptic, EllipticConfig, EllipticProblem};
use crate::export::{ExportLayout, Exporter};
use crate::problem::SampleRng;

/// Configuration of the `poisson` problem (the `[poisson]` table of a config file): the solver's
/// keys (`resolution`, `forcing_scale`, `grf`) and `subsample`.
pub type PoissonProblemConfig = EllipticConfig<PoissonConfig>;

/// The `poisson` problem (Laplacian factored once).
pub type PoissonProblem = EllipticProblem<Poisson>;

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

/// The Poisson problem over [`PoissonSampler`].
#[derive(Debug)]
pub struct Poisson;

impl Elliptic for Poisson {
    const NAME: &'static str = "poisson";
    const ABOUT: &'static str = "Poisson −Δu = f with GRF forcing, u = 0 on the boundary";
    const EXAMPLES: &'static str = "Examples:\n  oplab generate poisson --n 100 --resolution 129 --out poisson.h5";
    /// PDEBench has no Poisson data (its only elliptic set is Darcy): FNO's layout only.
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[(ExportLayout::Fno, fno_export)];
    type Solver = PoissonConfig;
    type Sampler = PoissonSampler;
    #[cfg(feature = "cli")]
    type Args = PoissonArgs;

    fn sampler(config: PoissonConfig) -> std::result::Result<PoissonSampler, EllipticError> {
        PoissonSampler::new(config)
    }

    fn resolution(config: &PoissonConfig) -> usize {
        config.resolution
    }

    fn grf(config: &mut PoissonConfig) -> &mut GrfParams {
        &mut config.grf
    }

    fn describe(c: &PoissonConfig) -> Description {
        Description {
            input: "forcing",
            input_text: "right-hand side f (Gaussian random field)".into(),
            solution_text: format!("u solving -lap u = f, u = 0 on the boundary (5-point FD, {}^2 nodes)", c.resolution),
            residual_text: "||A u - f|| / ||f||",
            equation: "-lap u = f on (0,1)^2",
        }
    }

    fn solve(sampler: &PoissonSampler, rng: &mut SampleRng) -> std::result::Result<(Vec<f64>, Vec<f64>, f64), EllipticError> {
        sampler.sample(rng).map(|d| (d.forcing, d.solution, d.relative_residual))
    }
}
