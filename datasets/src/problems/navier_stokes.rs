//! `navier-stokes`: FNO's 2-D vorticity data on the periodic unit torus, stored at equally
//! spaced times (t = 0 included) on a subsampled grid.

use oplab_solvers::navier_stokes::{NavierStokesConfig, NavierStokesSampler};
use serde::{Deserialize, Serialize};

use super::pde_common::{config_error, dimension, periodic_coordinates, record_times, sample_error};
use crate::error::{DatasetError, Result};
use crate::problem::{FieldSpec, Problem, Role, Sample, SampleError, SampleRng, Schema};

/// Largest solver grid side.
pub const MAX_RESOLUTION: usize = 4096;

/// Configuration of the `navier-stokes` problem (the `[navier-stokes]` table; the solver's options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct NavierStokesProblemConfig(pub NavierStokesConfig);

/// The `navier-stokes` problem.
#[derive(Debug, Clone)]
pub struct NavierStokesProblem {
    config: NavierStokesConfig,
    sampler: NavierStokesSampler,
}

impl NavierStokesProblem {
    /// Validate `config`, plan the FFTs and tabulate the spectral operators.
    pub fn new(config: NavierStokesProblemConfig) -> Result<Self> {
        let mut config = config.0;
        if config.resolution > MAX_RESOLUTION {
            return Err(DatasetError::invalid("resolution", config.resolution, format!("must be <= {MAX_RESOLUTION}")));
        }
        let sampler = NavierStokesSampler::new(config).map_err(config_error)?;
        config.initial.sigma = Some(config.initial.resolved_sigma(2));
        Ok(Self { config, sampler })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &NavierStokesConfig {
        &self.config
    }
}

impl Problem for NavierStokesProblem {
    fn name(&self) -> &str {
        "navier-stokes"
    }

    fn schema(&self) -> Schema {
        let c = &self.config;
        let times = record_times(c.final_time, c.record_times);
        let m = c.stored_resolution();
        let coords = periodic_coordinates(c.resolution, c.subsample);
        Schema {
            fields: vec![FieldSpec {
                name: "vorticity".into(),
                shape: vec![times.len(), m, m],
                role: Role::Target,
                axes: vec!["time".into(), "x".into(), "y".into()],
                description: format!(
                    "vorticity w(t, x, y), w_t + u.grad w = {} lap w + f ({:?}); pseudo-spectral, {} in time, {}^2 grid, dt {}",
                    c.viscosity,
                    c.forcing,
                    c.scheme.name(),
                    c.resolution,
                    c.effective_time_step()
                ),
            }],
            dimensions: vec![dimension("time", times), dimension("x", coords.clone()), dimension("y", coords)],
            attributes: vec![("boundary_conditions".into(), "periodic".into()), ("viscosity".into(), c.viscosity.to_string())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let s = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        Ok(Sample { fields: vec![s.vorticity], ..Sample::default() })
    }
}
