//! `burgers`: FNO's Burgers data, `u_t + (u²/2)_x = ν u_xx` on the periodic unit interval from a
//! periodic Gaussian random field, stored at equally spaced times (t = 0 included).

use oplab_solvers::burgers::{BurgersConfig, BurgersSampler};
use serde::{Deserialize, Serialize};

use super::pde_common::{config_error, dimension, periodic_coordinates, record_times, sample_error};
use crate::error::{DatasetError, Result};
use crate::problem::{FieldSpec, Problem, Role, Sample, SampleError, SampleRng, Schema};

/// Largest grid.
pub const MAX_RESOLUTION: usize = 1 << 20;

/// Configuration of the `burgers` problem (the `[burgers]` table; the solver's options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct BurgersProblemConfig(pub BurgersConfig);

/// The `burgers` problem.
#[derive(Debug, Clone)]
pub struct BurgersProblem {
    config: BurgersConfig,
    sampler: BurgersSampler,
}

impl BurgersProblem {
    /// Validate `config` and plan the FFTs.
    pub fn new(config: BurgersProblemConfig) -> Result<Self> {
        let mut config = config.0;
        if config.resolution > MAX_RESOLUTION {
            return Err(DatasetError::invalid("resolution", config.resolution, format!("must be <= {MAX_RESOLUTION}")));
        }
        let sampler = BurgersSampler::new(config).map_err(config_error)?;
        config.initial.sigma = Some(config.initial.resolved_sigma(1));
        Ok(Self { config, sampler })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &BurgersConfig {
        &self.config
    }
}

impl Problem for BurgersProblem {
    fn name(&self) -> &str {
        "burgers"
    }

    fn schema(&self) -> Schema {
        let c = &self.config;
        let times = record_times(c.final_time, c.record_times);
        Schema {
            fields: vec![FieldSpec {
                name: "u".into(),
                shape: vec![times.len(), c.stored_resolution()],
                role: Role::Target,
                axes: vec!["time".into(), "x".into()],
                description: format!(
                    "u(t, x) of u_t + (u^2/2)_x = {} u_xx, periodic; u(0, .) is the input (pseudo-spectral ETDRK4, {} points)",
                    c.viscosity, c.resolution
                ),
            }],
            dimensions: vec![dimension("time", times), dimension("x", periodic_coordinates(c.resolution, c.subsample))],
            attributes: vec![("boundary_conditions".into(), "periodic".into()), ("viscosity".into(), c.viscosity.to_string())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let s = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        Ok(Sample { fields: vec![s.u], ..Sample::default() })
    }
}
