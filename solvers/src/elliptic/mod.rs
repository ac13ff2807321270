//! Second-order elliptic problems on the unit square with homogeneous Dirichlet data:
//! Darcy flow `−∇·(a∇u) = f`, Poisson `−Δu = f` and Helmholtz `−Δu − k²(x) u = f`.
//!
//! All three share one discretisation: the `s × s` node grid `x_i = i/(s−1)` (boundary nodes
//! included, `u = 0` there) and the 5-point flux-form stencil whose face coefficients are the
//! arithmetic means of the two adjacent node values ([`FivePointPattern`]). The symmetric
//! positive definite problems (Darcy, Poisson) use a sparse Cholesky factorisation whose
//! symbolic analysis is done once per grid ([`SpdFactorizer`]); the indefinite Helmholtz problem
//! uses a sparse LU ([`LuFactorizer`]).
//!
//! Fields are node arrays on the full grid, row-major with x as the slow axis:
//! `field[i * s + j] = v(x_i, y_j)`.

mod darcy;
mod factor;
mod helmholtz;
mod multigrid;
mod ordering;
mod poisson;
mod stencil;

pub use darcy::{CoefficientMap, DarcyConfig, DarcyMethod, DarcySample, DarcySampler, DarcySolver};
pub use factor::{LuFactorizer, Ordering, SpdFactor, SpdFactorizer};
pub use helmholtz::{HelmholtzConfig, HelmholtzSample, HelmholtzSampler, HelmholtzSolver, WaveSpeedMap};
pub use multigrid::{MultigridPcg, PcgReport};
pub use ordering::nested_dissection;
pub use poisson::{PoissonConfig, PoissonSample, PoissonSampler, PoissonSolver};
pub use stencil::FivePointPattern;

use crate::InvalidParameter;

/// Errors from the elliptic solvers.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum EllipticError {
    /// A parameter is outside its allowed range.
    #[error(transparent)]
    InvalidParameter(#[from] InvalidParameter),
    /// The factorisation failed or the solution is not finite.
    #[error("{problem} solve failed on the {resolution}×{resolution} grid: {message}")]
    SolveFailed {
        /// `darcy`, `poisson` or `helmholtz`.
        problem: &'static str,
        /// Nodes per side.
        resolution: usize,
        /// What went wrong.
        message: String,
    },
}

/// Solution of one elliptic solve.
#[derive(Debug, Clone, PartialEq)]
pub struct EllipticSolution {
    /// Node values on the full `s × s` grid (zero on the boundary).
    pub solution: Vec<f64>,
    /// Relative residual `‖A u − f‖₂ / ‖f‖₂` of the linear system at the interior nodes.
    pub relative_residual: f64,
}

/// Check a node-grid resolution (`s ≥ 3`, so that an interior node exists).
pub(crate) fn check_resolution(s: usize) -> Result<(), EllipticError> {
    if s < 3 {
        return Err(InvalidParameter::new("resolution", s, "must be >= 3 (the node grid includes the boundary)").into());
    }
    Ok(())
}

/// Check that a node array has `s²` values.
pub(crate) fn check_len(field: &'static str, values: &[f64], s: usize) -> Result<(), EllipticError> {
    if values.len() != s * s {
        return Err(InvalidParameter::new(field, format!("{} values", values.len()), "must hold resolution² node values").into());
    }
    Ok(())
}

/// Check that every value is finite.
pub(crate) fn check_finite(field: &'static str, values: &[f64]) -> Result<(), EllipticError> {
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(InvalidParameter::new(field, v, "every value must be finite").into());
    }
    Ok(())
}

/// Keep every `k`-th node in both directions, starting at node 0, exactly as numpy's
/// `field[::k, ::k]` does (FNO: 421 nodes with `k = 5, 3, 2` give 85, 141, 211).
/// Returns the subsampled field and its side length `⌈s/k⌉`.
pub fn subsample_nodes(field: &[f64], s: usize, k: usize) -> Result<(Vec<f64>, usize), EllipticError> {
    if k == 0 {
        return Err(InvalidParameter::new("subsample", "0", "must be >= 1").into());
    }
    check_len("field", field, s)?;
    let kept = s.div_ceil(k);
    let mut out = Vec::with_capacity(kept * kept);
    for i in (0..s).step_by(k) {
        for j in (0..s).step_by(k) {
            out.push(field[i * s + j]);
        }
    }
    Ok((out, kept))
}

/// Check that a configuration scalar is finite (and optionally positive).
pub(crate) fn check_scalar(field: &'static str, v: f64, positive: bool) -> Result<(), EllipticError> {
    let ok = v.is_finite() && (!positive || v > 0.0);
    if !ok {
        let allowed = if positive { "must be a finite number > 0" } else { "must be finite" };
        return Err(InvalidParameter::new(field, v, allowed).into());
    }
    Ok(())
}
