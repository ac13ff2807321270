//! `poisson`: `−Δu = f` on the unit square, `u = 0` on the boundary, `f` a Gaussian random field.

use oplab_solvers::elliptic::{subsample_nodes, PoissonConfig, PoissonSampler};
use oplab_solvers::grf::GrfParams;
use serde::{Deserialize, Serialize};

use super::darcy::MAX_RESOLUTION;
use super::pde_common::{check_subsample, config_error, dimension, node_coordinates, sample_error};
use crate::error::{DatasetError, Result};
use crate::problem::{FieldSpec, Problem, Role, Sample, SampleError, SampleRng, ScalarSpec, Schema};

/// Configuration of the `poisson` problem (the `[poisson]` table of a config file).
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

/// The `poisson` problem (Laplacian factored once).
#[derive(Debug, Clone)]
pub struct PoissonProblem {
    config: PoissonProblemConfig,
    sampler: PoissonSampler,
}

impl PoissonProblem {
    /// Validate `config` and factor the Laplacian.
    pub fn new(mut config: PoissonProblemConfig) -> Result<Self> {
        if !(3..=MAX_RESOLUTION).contains(&config.resolution) {
            return Err(DatasetError::invalid("resolution", config.resolution, format!("must be between 3 and {MAX_RESOLUTION}")));
        }
        check_subsample(config.subsample)?;
        let sampler = PoissonSampler::new(PoissonConfig {
            resolution: config.resolution,
            grf: config.grf,
            forcing_scale: config.forcing_scale,
        })
        .map_err(config_error)?;
        config.grf.scale = Some(config.grf.resolved_scale());
        Ok(Self { config, sampler })
    }
}

impl Problem for PoissonProblem {
    fn name(&self) -> &str {
        "poisson"
    }

    fn schema(&self) -> Schema {
        let m = self.config.resolution.div_ceil(self.config.subsample);
        let axes = vec!["x".to_string(), "y".to_string()];
        let coords = node_coordinates(self.config.resolution, self.config.subsample);
        Schema {
            fields: vec![
                FieldSpec { name: "forcing".into(), shape: vec![m, m], role: Role::Input, axes: axes.clone(), description: "right-hand side f (Gaussian random field)".into() },
                FieldSpec { name: "solution".into(), shape: vec![m, m], role: Role::Target, axes, description: format!("u solving -lap u = f, u = 0 on the boundary (5-point FD, {}^2 nodes)", self.config.resolution) },
            ],
            scalars: vec![ScalarSpec { name: "relative_residual".into(), shape: vec![], description: "||A u - f|| / ||f||".into() }],
            dimensions: vec![dimension("x", coords.clone()), dimension("y", coords)],
            attributes: vec![("boundary_conditions".into(), "dirichlet (u = 0)".into()), ("equation".into(), "-lap u = f on (0,1)^2".into())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let (s, k) = (self.config.resolution, self.config.subsample);
        let d = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        let forcing = subsample_nodes(&d.forcing, s, k).map_err(|e| sample_error(index, e))?.0;
        let solution = subsample_nodes(&d.solution, s, k).map_err(|e| sample_error(index, e))?.0;
        Ok(Sample { fields: vec![forcing, solution], scalars: vec![vec![d.relative_residual]], ..Sample::default() })
    }
}
