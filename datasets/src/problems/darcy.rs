//! `darcy`: FNO's Darcy flow data, `−∇·(a∇u) = f` on the unit square, `u = 0` on the boundary,
//! `a` a thresholded (or log-normal) Gaussian random field.

use oplab_solvers::elliptic::{subsample_nodes, CoefficientMap, DarcyConfig, DarcyMethod, DarcySampler};
use oplab_solvers::grf::GrfParams;
use serde::{Deserialize, Serialize};

use super::pde_common::{check_subsample, config_error, dimension, node_coordinates, sample_error};
use crate::error::{DatasetError, Result};
use crate::problem::{FieldSpec, Problem, Role, Sample, SampleError, SampleRng, ScalarSpec, Schema};

/// Largest solver grid side.
pub const MAX_RESOLUTION: usize = 4097;

/// Configuration of the `darcy` problem (the `[darcy]` table of a config file).
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

/// The `darcy` problem, ready to sample (Cholesky analysis done once).
#[derive(Debug, Clone)]
pub struct DarcyProblem {
    config: DarcyProblemConfig,
    sampler: DarcySampler,
}

impl DarcyProblem {
    /// Validate `config` and do the per-grid set-up.
    pub fn new(config: DarcyProblemConfig) -> Result<Self> {
        if !(3..=MAX_RESOLUTION).contains(&config.resolution) {
            return Err(DatasetError::invalid("resolution", config.resolution, format!("must be between 3 and {MAX_RESOLUTION}")));
        }
        check_subsample(config.subsample)?;
        let solver_config = DarcyConfig {
            resolution: config.resolution,
            grf: config.grf,
            coefficient: config.coefficient,
            forcing: config.forcing,
            method: config.method,
        };
        let mut config = config;
        config.grf.scale = Some(config.grf.resolved_scale());
        let sampler = DarcySampler::new(solver_config).map_err(config_error)?;
        Ok(Self { config, sampler })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &DarcyProblemConfig {
        &self.config
    }

    fn stored_side(&self) -> usize {
        self.config.resolution.div_ceil(self.config.subsample)
    }
}

impl Problem for DarcyProblem {
    fn name(&self) -> &str {
        "darcy"
    }

    fn schema(&self) -> Schema {
        let m = self.stored_side();
        let axes = vec!["x".to_string(), "y".to_string()];
        let coords = node_coordinates(self.config.resolution, self.config.subsample);
        Schema {
            fields: vec![
                FieldSpec {
                    name: "coeff".into(),
                    shape: vec![m, m],
                    role: Role::Input,
                    axes: axes.clone(),
                    description: format!("permeability a at the nodes ({:?})", self.config.coefficient),
                },
                FieldSpec {
                    name: "solution".into(),
                    shape: vec![m, m],
                    role: Role::Target,
                    axes,
                    description: format!(
                        "pressure u solving -div(a grad u) = {} with u = 0 on the boundary (5-point FD, {}^2 nodes)",
                        self.config.forcing, self.config.resolution
                    ),
                },
            ],
            scalars: vec![ScalarSpec {
                name: "relative_residual".into(),
                shape: vec![],
                description: "||A u - f|| / ||f|| of the solver's linear system".into(),
            }],
            dimensions: vec![dimension("x", coords.clone()), dimension("y", coords)],
            attributes: vec![
                ("boundary_conditions".into(), "dirichlet (u = 0)".into()),
                ("equation".into(), "-div(a grad u) = f on (0,1)^2".into()),
            ],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let s = self.config.resolution;
        let k = self.config.subsample;
        let d = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        let coeff = subsample_nodes(&d.coeff, s, k).map_err(|e| sample_error(index, e))?.0;
        let solution = subsample_nodes(&d.solution, s, k).map_err(|e| sample_error(index, e))?.0;
        Ok(Sample { fields: vec![coeff, solution], scalars: vec![vec![d.relative_residual]], ..Sample::default() })
    }
}
