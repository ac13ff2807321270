//! What the elliptic problems (`darcy`, `poisson`, `helmholtz`) share: the node grid, the layout
//! of a sample (an input field, the solution, the solver's residual) and FNO's export of it.

use oplab_solvers::elliptic::subsample_nodes;

use super::pde_common::{check_subsample, dimension, node_coordinates, sample_error};
use crate::error::{DatasetError, Result};
use crate::export::{ExportFile, NativeFile};
use crate::problem::{FieldSpec, Role, Sample, SampleError, ScalarSpec, Schema};

/// Largest solver grid side.
pub const MAX_RESOLUTION: usize = 4097;

/// Check the solver grid side and the subsampling factor.
pub(crate) fn check_grid(resolution: usize, subsample: usize) -> Result<()> {
    if !(3..=MAX_RESOLUTION).contains(&resolution) {
        return Err(DatasetError::invalid("resolution", resolution, format!("must be between 3 and {MAX_RESOLUTION}")));
    }
    check_subsample(subsample)
}

/// The texts that tell one elliptic problem's files from another's.
pub(crate) struct Description {
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

/// The schema of an elliptic problem solved on `resolution²` nodes and stored at every
/// `subsample`-th node: the input field, the solution and the relative residual.
pub(crate) fn schema(resolution: usize, subsample: usize, text: Description) -> Schema {
    let m = resolution.div_ceil(subsample);
    let axes = vec!["x".to_string(), "y".to_string()];
    let coords = node_coordinates(resolution, subsample);
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

/// Sample `index` from a solve on `s²` nodes, every `k`-th node kept.
pub(crate) fn sample(index: u64, s: usize, k: usize, input: &[f64], solution: &[f64], residual: f64) -> Result<Sample, SampleError> {
    let input = subsample_nodes(input, s, k).map_err(|e| sample_error(index, e))?.0;
    let solution = subsample_nodes(solution, s, k).map_err(|e| sample_error(index, e))?.0;
    Ok(Sample { fields: vec![input, solution], scalars: vec![vec![residual]], ..Sample::default() })
}

/// FNO's Darcy file: `coeff` = the input field and `sol` = the solution, each (N, s, s).
pub(crate) fn fno_export(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let file = out.matlab(native.single())?;
    file.write("coeff", native.field_with_role(Role::Input)?)?;
    file.write("sol", native.read("fields/solution")?)?;
    file.finish()
}
