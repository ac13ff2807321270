//! `advection`: PDEBench's 1-D linear advection `u_t + β u_x = 0`, periodic, on cell centres.

use oplab_solvers::advection::{cell_centres, pdebench_initial_condition, AdvectionConfig, AdvectionSolver};
use serde::{Deserialize, Serialize};

use super::pde_common::{config_error, dimension, record_times, sample_error};
use crate::error::{DatasetError, Result};
use crate::problem::{FieldSpec, Problem, Role, Sample, SampleError, SampleRng, Schema};

/// Largest grid.
pub const MAX_RESOLUTION: usize = 1 << 20;

/// Configuration of the `advection` problem (the `[advection]` table; the solver's options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct AdvectionProblemConfig(pub AdvectionConfig);

/// The `advection` problem.
#[derive(Debug, Clone)]
pub struct AdvectionProblem {
    config: AdvectionConfig,
    solver: AdvectionSolver,
    x: Vec<f64>,
}

impl AdvectionProblem {
    /// Validate `config` and plan.
    pub fn new(config: AdvectionProblemConfig) -> Result<Self> {
        let config = config.0;
        if config.resolution > MAX_RESOLUTION {
            return Err(DatasetError::invalid("resolution", config.resolution, format!("must be <= {MAX_RESOLUTION}")));
        }
        let solver = AdvectionSolver::new(config).map_err(config_error)?;
        Ok(Self { config, solver, x: cell_centres(config.resolution) })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &AdvectionConfig {
        &self.config
    }
}

impl Problem for AdvectionProblem {
    fn name(&self) -> &str {
        "advection"
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
