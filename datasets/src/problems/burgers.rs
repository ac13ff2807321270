//! `burgers`: FNO's Burgers data, `u_t + (u²/2)_x = ν u_xx` on the periodic unit interval from a
//! periodic Gaussian random field, stored at equally spaced times (t = 0 included).

use oplab_solvers::burgers::{BurgersConfig, BurgersSampler};
use serde::{Deserialize, Serialize};

#[cfg(feature = "cli")]
use super::pde_common::EvolutionArgs;
use super::pde_common::{check_resolution_at_most, dimension, fno_export_1d, pdebench_export_1d, periodic_coordinates, record_times, sample_error};
use crate::error::Result;
use crate::export::{ExportFile, ExportLayout, Exporter, NativeFile};
use crate::problem::{FieldSpec, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, Schema};

/// Largest grid.
pub const MAX_RESOLUTION: usize = 1 << 20;

/// Configuration of the `burgers` problem (the `[burgers]` table; the solver's options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct BurgersProblemConfig(pub BurgersConfig);

/// Options of `oplab generate burgers`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct BurgersArgs {
    /// Grid and stored times.
    #[command(flatten)]
    #[serde(flatten)]
    pub evolution: EvolutionArgs,
    /// Viscosity ν [default: 0.1].
    #[arg(long)]
    pub viscosity: Option<f64>,
    /// Store every k-th point (8192 -> 1024 with k = 8) [default: 1].
    #[arg(long)]
    pub subsample: Option<usize>,
}

/// The `burgers` problem.
#[derive(Debug, Clone)]
pub struct BurgersProblem {
    config: BurgersConfig,
    sampler: BurgersSampler,
}

impl ProblemModule for BurgersProblem {
    const NAME: &'static str = "burgers";
    const ABOUT: &'static str = "Viscous Burgers on the periodic interval from a GRF initial condition (FNO's data)";
    const EXAMPLES: &'static str = "Examples:
  oplab generate burgers --n 2048 --resolution 8192 --viscosity 0.1 --out burgers_r10.h5   # FNO's setup
  oplab generate burgers --n 100 --resolution 1024 --record-times 200 --final-time 2 --out b.h5";
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[(ExportLayout::Fno, fno_export_1d), (ExportLayout::Pdebench, pdebench_export)];
    type Config = BurgersProblemConfig;
    #[cfg(feature = "cli")]
    type Args = BurgersArgs;

    /// Validate `config` and plan the FFTs.
    fn new(config: BurgersProblemConfig) -> Result<Self> {
        let mut config = config.0;
        check_resolution_at_most(config.resolution, MAX_RESOLUTION)?;
        let sampler = BurgersSampler::new(config)?;
        config.initial.sigma = Some(config.initial.resolved_sigma(1));
        Ok(Self { config, sampler })
    }
}

/// PDEBench's Burgers equation is `u_t + (u²/2)_x = (Nu/π) u_xx`, so `Nu = π ν`.
fn pdebench_export(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let config: BurgersProblemConfig = native.config()?;
    pdebench_export_1d(native, out, &[("Nu", std::f64::consts::PI * config.0.viscosity)])
}

impl BurgersProblem {
    /// The resolved configuration.
    pub fn config(&self) -> &BurgersConfig {
        &self.config
    }
}

impl Problem for BurgersProblem {
    fn name(&self) -> &str {
        Self::NAME
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
