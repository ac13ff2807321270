//! What the elliptic problems (`darcy`, `poisson`, `helmholtz`) share: one problem type,
//! [`EllipticProblem`], over the solver each of them names through [`Elliptic`]. Their files have
//! the same layout (an input field, the solution and the solver's residual on the node grid) and
//! the same FNO export; their modules hold only what differs.

use std::fmt::Debug;

use oplab_solvers::elliptic::{subsample_nodes, EllipticError};
use oplab_solvers::grf::GrfParams;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::pde_common::{check_subsample, dimension, inline_toml, node_coordinates, sample_error};
use crate::error::{DatasetError, Result};
use crate::export::{ExportFile, ExportLayout, Exporter, NativeFile};
use crate::problem::{FieldSpec, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, ScalarSpec, Schema};

/// Largest solver grid side.
pub const MAX_RESOLUTION: usize = 4097;

/// One elliptic problem: its name and help, its solver and how a solve becomes a sample.
pub trait Elliptic: Send + Sync + 'static {
    /// [`ProblemModule::NAME`].
    const NAME: &'static str;
    /// [`ProblemModule::ABOUT`].
    const ABOUT: &'static str;
    /// [`ProblemModule::EXAMPLES`].
    const EXAMPLES: &'static str;
    /// The solver's configuration; its keys are the problem table's, beside `subsample`.
    type Solver: Copy + Debug + PartialEq + Default + Serialize + DeserializeOwned + Send + Sync;
    /// The solver, set up once.
    type Sampler: Debug + Send + Sync;
    /// [`ProblemModule::Args`].
    #[cfg(feature = "cli")]
    type Args: clap::Args + Serialize;

    /// Set up the solver.
    fn sampler(config: Self::Solver) -> std::result::Result<Self::Sampler, EllipticError>;
    /// Nodes per side of the solver grid.
    fn resolution(config: &Self::Solver) -> usize;
    /// The random field behind the input.
    fn grf(config: &mut Self::Solver) -> &mut GrfParams;
    /// The texts of the file's fields and attributes.
    fn describe(config: &Self::Solver) -> Description;
    /// One solve on the full grid: the input field, the solution and the relative residual.
    fn solve(sampler: &Self::Sampler, rng: &mut SampleRng) -> std::result::Result<(Vec<f64>, Vec<f64>, f64), EllipticError>;
    /// [`ProblemModule::EXPORTS`].
    const EXPORTS: &'static [(ExportLayout, Exporter)];
}

/// The texts that tell one elliptic problem's files from another's.
pub struct Description {
    /// Name of the input field (`coeff`, `forcing`, `wave_speed`).
    pub input: &'static str,
    /// What the input field is.
    pub input_text: String,
    /// What the solution is.
    pub solution_text: String,
    /// What the relative residual measures.
    pub residual_text: &'static str,
    /// The equation, for the root attribute `equation`.
    pub equation: &'static str,
}

/// Configuration of an elliptic problem (its `[<name>]` table): the solver's keys and the stored
/// subsampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EllipticConfig<S> {
    /// The solver's configuration.
    #[serde(flatten)]
    pub solver: S,
    /// Store every k-th node (numpy `[::k, ::k]`; FNO's Darcy: 421 → 85/141/211 with k = 5/3/2).
    pub subsample: usize,
}

impl<S: Default> Default for EllipticConfig<S> {
    fn default() -> Self {
        EllipticConfig { solver: S::default(), subsample: 1 }
    }
}

/// An elliptic problem, ready to sample (the solver's factorisation or analysis done once).
#[derive(Debug)]
pub struct EllipticProblem<E: Elliptic> {
    config: EllipticConfig<E::Solver>,
    sampler: E::Sampler,
}

impl<E: Elliptic> EllipticProblem<E> {
    /// The resolved configuration.
    pub fn config(&self) -> &EllipticConfig<E::Solver> {
        &self.config
    }
}

impl<E: Elliptic> ProblemModule for EllipticProblem<E> {
    const NAME: &'static str = E::NAME;
    const ABOUT: &'static str = E::ABOUT;
    const EXAMPLES: &'static str = E::EXAMPLES;
    const EXPORTS: &'static [(ExportLayout, Exporter)] = E::EXPORTS;
    type Config = EllipticConfig<E::Solver>;
    #[cfg(feature = "cli")]
    type Args = E::Args;

    fn new(mut config: EllipticConfig<E::Solver>) -> Result<Self> {
        let resolution = E::resolution(&config.solver);
        if !(3..=MAX_RESOLUTION).contains(&resolution) {
            return Err(DatasetError::invalid("resolution", resolution, format!("must be between 3 and {MAX_RESOLUTION}")));
        }
        check_subsample(config.subsample)?;
        let sampler = E::sampler(config.solver)?;
        let grf = E::grf(&mut config.solver);
        grf.scale = Some(grf.resolved_scale());
        Ok(Self { config, sampler })
    }
}

impl<E: Elliptic> Problem for EllipticProblem<E> {
    fn name(&self) -> &str {
        E::NAME
    }

    fn schema(&self) -> Schema {
        let (s, k) = (E::resolution(&self.config.solver), self.config.subsample);
        let text = E::describe(&self.config.solver);
        let m = s.div_ceil(k);
        let axes = vec!["x".to_string(), "y".to_string()];
        let coords = node_coordinates(s, k);
        Schema {
            fields: vec![
                FieldSpec { name: text.input.into(), shape: vec![m, m], role: Role::Input, axes: axes.clone(), description: text.input_text },
                FieldSpec { name: "solution".into(), shape: vec![m, m], role: Role::Target, axes, description: text.solution_text },
            ],
            scalars: vec![ScalarSpec { name: "relative_residual".into(), shape: vec![], description: text.residual_text.into() }],
            dimensions: vec![dimension("x", coords.clone()), dimension("y", coords)],
            attributes: vec![("boundary_conditions".into(), "dirichlet (u = 0)".into()), ("equation".into(), text.equation.into())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let (s, k) = (E::resolution(&self.config.solver), self.config.subsample);
        let (input, solution, residual) = E::solve(&self.sampler, rng).map_err(|e| sample_error(index, e))?;
        let input = subsample_nodes(&input, s, k).map_err(|e| sample_error(index, e))?.0;
        let solution = subsample_nodes(&solution, s, k).map_err(|e| sample_error(index, e))?.0;
        Ok(Sample { fields: vec![input, solution], scalars: vec![vec![residual]], ..Sample::default() })
    }
}

/// FNO's Darcy file: `coeff` = the input field and `sol` = the solution, each (N, s, s).
pub(crate) fn fno_export(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let file = out.matlab(native.single())?;
    file.write("coeff", native.field_with_role(Role::Input)?)?;
    file.write("sol", native.read("fields/solution")?)?;
    file.finish()
}
