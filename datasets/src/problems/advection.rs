//! `advection`: PDEBench's 1-D linear advection `u_t + β u_x = 0`, periodic, on cell centres.

use oplab_solvers::advection::{cell_centres, pdebench_initial_condition, AdvectionConfig, AdvectionSolver};
use serde::{Deserialize, Serialize};

#[cfg(feature = "cli")]
use super::pde_common::EvolutionArgs;
use super::pde_common::{check_resolution_at_most, dimension, fno_export_1d, pdebench_export_1d, record_times, sample_error};
use crate::error::Result;
use crate::export::{ExportFile, ExportLayout, Exporter, NativeFile};
use crate::problem::{FieldSpec, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, Schema};

/// Largest grid.
pub const MAX_RESOLUTION: usize = 1 << 20;

/// Configuration of the `advection` problem (the `[advection]` table; the solver's options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct AdvectionProblemConfig(pub AdvectionConfig);

/// Options of `oplab generate advection`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct AdvectionArgs {
    /// Grid and stored times.
    #[command(flatten)]
    #[serde(flatten)]
    pub evolution: EvolutionArgs,
    /// Advection speed β [default: 1].
    #[arg(long)]
    pub beta: Option<f64>,
}

/// The `advection` problem.
#[derive(Debug, Clone)]
pub struct AdvectionProblem {
    config: AdvectionConfig,
    solver: AdvectionSolver,
    x: Vec<f64>,
}

impl ProblemModule for AdvectionProblem {
    const NAME: &'static str = "advection";
    const ABOUT: &'static str = "1-D linear advection (PDEBench), exact spectral shift";
    const EXAMPLES: &'static str = "Examples:\n  oplab generate advection --n 100 --beta 0.4 --out advection.h5   # PDEBench: 1024 cells, 201 times on [0,2]";
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[(ExportLayout::Fno, fno_export_1d), (ExportLayout::Pdebench, pdebench_export)];
    type Config = AdvectionProblemConfig;
    #[cfg(feature = "cli")]
    type Args = AdvectionArgs;

    /// Validate `config` and plan.
    fn new(config: AdvectionProblemConfig) -> Result<Self> {
        let config = config.0;
        check_resolution_at_most(config.resolution, MAX_RESOLUTION)?;
        let solver = AdvectionSolver::new(config)?;
        Ok(Self { config, solver, x: cell_centres(config.resolution) })
    }
}

/// PDEBench's advection files carry the speed as `beta`.
fn pdebench_export(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let config: AdvectionProblemConfig = native.config()?;
    pdebench_export_1d(native, out, &[("beta", config.0.beta)])
}

impl AdvectionProblem {
    /// The resolved configuration.
    pub fn config(&self) -> &AdvectionConfig {
        &self.config
    }
}

impl Problem for AdvectionProblem {
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
                description: format!("u(t, x) of u_t + {} u_x = 0, periodic (exact spectral shift); PDEBench-style initial data", c.beta),
            }],
            dimensions: vec![dimension("time", times), dimension("x", self.x.clone())],
            attributes: vec![("boundary_conditions".into(), "periodic".into()), ("beta".into(), c.beta.to_string())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let u0 = pdebench_initial_condition(&self.x, rng);
        let u = self.solver.solve(&u0).map_err(|e| sample_error(index, e))?;
        Ok(Sample { fields: vec![u], ..Sample::default() })
    }
}
