//! `helmholtz`: `−Δu − k²(x) u = f` on the unit square, `u = 0` on the boundary, wave number
//! `k = ω / c` with a random wave speed `c = mean + amplitude · tanh(g)` (MgNO-style data).

use oplab_solvers::elliptic::{EllipticError, HelmholtzConfig, HelmholtzSampler};
use oplab_solvers::grf::GrfParams;
#[cfg(feature = "cli")]
use serde::Serialize;

use super::elliptic::{fno_export, Description, Elliptic, EllipticConfig, EllipticProblem};
use crate::export::{ExportLayout, Exporter};
use crate::problem::SampleRng;

/// Configuration of the `helmholtz` problem (the `[helmholtz]` table of a config file): the
/// solver's keys (`resolution`, `omega`, `forcing`, `grf`, `wave_speed`; MgNO's set: 101 nodes
/// per side) and `subsample`.
pub type HelmholtzProblemConfig = EllipticConfig<HelmholtzConfig>;

/// The `helmholtz` problem (LU analysis done once).
pub type HelmholtzProblem = EllipticProblem<Helmholtz>;

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

/// The Helmholtz problem over [`HelmholtzSampler`].
#[derive(Debug)]
pub struct Helmholtz;

impl Elliptic for Helmholtz {
    const NAME: &'static str = "helmholtz";
    const ABOUT: &'static str = "Helmholtz −Δu − k²(x)u = f with a random wave speed (MgNO-style)";
    const EXAMPLES: &'static str = "Examples:\n  oplab generate helmholtz --n 100 --resolution 101 --omega 1000 --out helmholtz.h5";
    /// PDEBench has no Helmholtz data (its only elliptic set is Darcy): FNO's layout only.
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[(ExportLayout::Fno, fno_export)];
    type Solver = HelmholtzConfig;
    type Sampler = HelmholtzSampler;
    #[cfg(feature = "cli")]
    type Args = HelmholtzArgs;

    fn sampler(config: HelmholtzConfig) -> std::result::Result<HelmholtzSampler, EllipticError> {
        HelmholtzSampler::new(config)
    }

    fn resolution(config: &HelmholtzConfig) -> usize {
        config.resolution
    }

    fn grf(config: &mut HelmholtzConfig) -> &mut GrfParams {
        &mut config.grf
    }

    fn describe(c: &HelmholtzConfig) -> Description {
        Description {
            input: "wave_speed",
            input_text: "wave speed c = mean + amplitude tanh(g); k = omega / c".into(),
            solution_text: format!("u solving -lap u - k^2 u = {}, u = 0 on the boundary (5-point FD, sparse LU)", c.forcing),
            residual_text: "||A u - f|| / ||f||",
            equation: "-lap u - k(x)^2 u = f on (0,1)^2",
        }
    }

    fn solve(sampler: &HelmholtzSampler, rng: &mut SampleRng) -> std::result::Result<(Vec<f64>, Vec<f64>, f64), EllipticError> {
        sampler.sample(rng).map(|d| (d.wave_speed, d.solution, d.relative_residual))
    }
}
