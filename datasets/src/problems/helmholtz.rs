//! `helmholtz`: `−Δu − k²(x) u = f` on the unit square, `u = 0` on the boundary, wave number
//! `k = ω / c` with a random wave speed `c = mean + amplitude · tanh(g)` (MgNO-style data).

use oplab_solvers::elliptic::{subsample_nodes, HelmholtzConfig, HelmholtzSampler, WaveSpeedMap};
use oplab_solvers::grf::GrfParams;
use serde::{Deserialize, Serialize};

use super::darcy::MAX_RESOLUTION;
use super::pde_common::{check_subsample, config_error, dimension, node_coordinates, sample_error};
use crate::error::{DatasetError, Result};
use crate::problem::{FieldSpec, Problem, Role, Sample, SampleError, SampleRng, ScalarSpec, Schema};

/// Configuration of the `helmholtz` problem (the `[helmholtz]` table of a config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HelmholtzProblemConfig {
    /// Solver grid side s, boundary nodes included (MgNO's set: 101).
    pub resolution: usize,
    /// Store every k-th node.
    pub subsample: usize,
    /// Angular frequency ω.
    pub omega: f64,
    /// Constant right-hand side f.
    pub forcing: f64,
    /// Random field behind the wave speed.
    pub grf: GrfParams,
    /// Field → wave speed map.
    pub wave_speed: WaveSpeedMap,
}

impl Default for HelmholtzProblemConfig {
    fn default() -> Self {
        let h = HelmholtzConfig::default();
        Self { resolution: h.resolution, subsample: 1, omega: h.omega, forcing: h.forcing, grf: h.grf, wave_speed: h.wave_speed }
    }
}

/// The `helmholtz` problem (LU analysis done once).
#[derive(Debug, Clone)]
pub struct HelmholtzProblem {
    config: HelmholtzProblemConfig,
    sampler: HelmholtzSampler,
}

impl HelmholtzProblem {
    /// Validate `config` and do the per-grid set-up.
    pub fn new(mut config: HelmholtzProblemConfig) -> Result<Self> {
        if !(3..=MAX_RESOLUTION).contains(&config.resolution) {
            return Err(DatasetError::invalid("resolution", config.resolution, format!("must be between 3 and {MAX_RESOLUTION}")));
        }
        check_subsample(config.subsample)?;
        let sampler = HelmholtzSampler::new(HelmholtzConfig {
            resolution: config.resolution,
            grf: config.grf,
            wave_speed: config.wave_speed,
            omega: config.omega,
            forcing: config.forcing,
        })
        .map_err(config_error)?;
        config.grf.scale = Some(config.grf.resolved_scale());
        Ok(Self { config, sampler })
    }
}

impl Problem for HelmholtzProblem {
    fn name(&self) -> &str {
        "helmholtz"
    }

    fn schema(&self) -> Schema {
        let m = self.config.resolution.div_ceil(self.config.subsample);
        let axes = vec!["x".to_string(), "y".to_string()];
        let coords = node_coordinates(self.config.resolution, self.config.subsample);
        Schema {
            fields: vec![
                FieldSpec { name: "wave_speed".into(), shape: vec![m, m], role: Role::Input, axes: axes.clone(), description: "wave speed c = mean + amplitude tanh(g); k = omega / c".into() },
                FieldSpec { name: "solution".into(), shape: vec![m, m], role: Role::Target, axes, description: format!("u solving -lap u - k^2 u = {}, u = 0 on the boundary (5-point FD, sparse LU)", self.config.forcing) },
            ],
            scalars: vec![ScalarSpec { name: "relative_residual".into(), shape: vec![], description: "||A u - f|| / ||f||".into() }],
            dimensions: vec![dimension("x", coords.clone()), dimension("y", coords)],
            attributes: vec![("boundary_conditions".into(), "dirichlet (u = 0)".into()), ("equation".into(), "-lap u - k(x)^2 u = f on (0,1)^2".into())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let (s, k) = (self.config.resolution, self.config.subsample);
        let d = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        let c = subsample_nodes(&d.wave_speed, s, k).map_err(|e| sample_error(index, e))?.0;
        let u = subsample_nodes(&d.solution, s, k).map_err(|e| sample_error(index, e))?.0;
        Ok(Sample { fields: vec![c, u], scalars: vec![vec![d.relative_residual]], ..Sample::default() })
    }
}
