//! `reaction-diffusion`: PDEBench's 1-D Fisher–KPP `u_t = ν u_xx + ρ u(1 − u)`, periodic.
//!
//! The initial condition is PDEBench's random sine mixture rescaled to [0, 1] (min–max), which
//! keeps the logistic reaction bounded (values below 0 would blow up in finite time). The
//! rescaling is our choice [not verified against PDEBench's generator].

use oplab_solvers::advection::{cell_centres, pdebench_initial_condition};
use oplab_solvers::reaction_diffusion::{ReactionDiffusionConfig, ReactionDiffusionSolver};
use serde::{Deserialize, Serialize};

#[cfg(feature = "cli")]
use super::pde_common::EvolutionArgs;
use super::pde_common::{check_resolution_at_most, dimension, fno_export_1d, pdebench_export_1d, record_times, sample_error};
use crate::error::Result;
use crate::export::{ExportFile, ExportLayout, Exporter, NativeFile};
use crate::problem::{FieldSpec, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, Schema};

/// Largest grid.
pub const MAX_RESOLUTION: usize = 1 << 20;

/// Configuration of the `reaction-diffusion` problem (the solver's options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct ReactionDiffusionProblemConfig(pub ReactionDiffusionConfig);

/// Options of `oplab generate reaction-diffusion`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct ReactionDiffusionArgs {
    /// Grid and stored times.
    #[command(flatten)]
    #[serde(flatten)]
    pub evolution: EvolutionArgs,
    /// Diffusivity ν [default: 0.5].
    #[arg(long)]
    pub nu: Option<f64>,
    /// Reaction rate ρ [default: 1].
    #[arg(long)]
    pub rho: Option<f64>,
}

/// The `reaction-diffusion` problem.
#[derive(Debug, Clone)]
pub struct ReactionDiffusionProblem {
    config: ReactionDiffusionConfig,
    solver: ReactionDiffusionSolver,
    x: Vec<f64>,
}

impl ProblemModule for ReactionDiffusionProblem {
    const NAME: &'static str = "reaction-diffusion";
    const ABOUT: &'static str = "1-D Fisher–KPP reaction–diffusion (PDEBench), Strang splitting";
    const EXAMPLES: &'static str = "Examples:\n  oplab generate reaction-diffusion --n 100 --nu 0.5 --rho 1 --out reacdiff.h5";
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[(ExportLayout::Fno, fno_export_1d), (ExportLayout::Pdebench, pdebench_export)];
    type Config = ReactionDiffusionProblemConfig;
    #[cfg(feature = "cli")]
    type Args = ReactionDiffusionArgs;

    /// Validate `config` and plan.
    fn new(config: ReactionDiffusionProblemConfig) -> Result<Self> {
        let config = config.0;
        check_resolution_at_most(config.resolution, MAX_RESOLUTION)?;
        let solver = ReactionDiffusionSolver::new(config)?;
        Ok(Self { config, solver, x: cell_centres(config.resolution) })
    }
}

/// PDEBench's reaction–diffusion files carry the diffusivity as `Nu` and the rate as `rho`.
fn pdebench_export(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let config: ReactionDiffusionProblemConfig = native.config()?;
    pdebench_export_1d(native, out, &[("Nu", config.0.nu), ("rho", config.0.rho)])
}

impl ReactionDiffusionProblem {
    /// The resolved configuration.
    pub fn config(&self) -> &ReactionDiffusionConfig {
        &self.config
    }
}

impl Problem for ReactionDiffusionProblem {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        let c = &self.config;
        let times = record_times(c.final_time, c.record_times);
        Schema {
            fields: vec![FieldSpec {
                name: "u".into(),
                shape: vec![times.len(), c.resolution],
                role: Role::Target,
                axes: vec!["time".into(), "x".into()],
                description: format!("u(t, x) of u_t = {} u_xx + {} u(1-u), periodic (Strang splitting)", c.nu, c.rho),
            }],
            dimensions: vec![dimension("time", times), dimension("x", self.x.clone())],
            attributes: vec![("boundary_conditions".into(), "periodic".into()), ("nu".into(), c.nu.to_string()), ("rho".into(), c.rho.to_string())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let mut u0 = pdebench_initial_condition(&self.x, rng);
        let (lo, hi) = u0.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        u0.iter_mut().for_each(|v| *v = (*v - lo) / span);
        let u = self.solver.solve(&u0).map_err(|e| sample_error(index, e))?;
        Ok(Sample { fields: vec![u], ..Sample::default() })
    }
}
