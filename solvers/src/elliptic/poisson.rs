//! Poisson's equation `−Δu = f` with a Gaussian-random-field forcing.
//!
//! The matrix does not depend on the sample, so it is factored once when the solver is built;
//! each sample costs two triangular solves.

use super::darcy::finish;
use super::factor::{Ordering, SpdFactor, SpdFactorizer};
use super::stencil::FivePointPattern;
use super::{check_finite, check_len, check_resolution, check_scalar, EllipticError, EllipticSolution};
use crate::grf::{CosineGrf2d, GrfParams};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Poisson solver on one grid size, matrix factored once.
#[derive(Debug, Clone)]
pub struct PoissonSolver {
    pattern: Arc<FivePointPattern>,
    values: Vec<f64>,
    factor: SpdFactor,
}

impl PoissonSolver {
    /// Build and factor the discrete Laplacian on the `s × s` node grid.
    pub fn new(resolution: usize) -> Result<Self, EllipticError> {
        check_resolution(resolution)?;
        let pattern = Arc::new(FivePointPattern::new(resolution));
        let fail = |message| EllipticError::SolveFailed { problem: "poisson", resolution, message };
        let factorizer = SpdFactorizer::new(Arc::clone(&pattern), Ordering::default()).map_err(fail)?;
        let values = pattern.assemble(&vec![1.0; resolution * resolution], None);
        let factor = factorizer.factor(&values).map_err(fail)?;
        Ok(Self { pattern, values, factor })
    }

    /// Nodes per side.
    pub fn resolution(&self) -> usize {
        self.pattern.nodes_per_side()
    }

    /// Solve `−Δu = f`, `u = 0` on the boundary; `forcing` is a full-grid node array.
    pub fn solve(&self, forcing: &[f64]) -> Result<EllipticSolution, EllipticError> {
        let s = self.resolution();
        check_len("forcing", forcing, s)?;
        check_finite("forcing", forcing)?;
        let rhs = self.pattern.restrict_to_interior(forcing);
        let mut u = rhs.clone();
        self.factor.solve(&mut u);
        finish("poisson", &self.pattern, &self.values, u, &rhs)
    }
}

/// Configuration of a Poisson data set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoissonConfig {
    /// Nodes per side, boundary included.
    pub resolution: usize,
    /// Random field the forcing is drawn from.
    pub grf: GrfParams,
    /// Multiplier of the field: `f = forcing_scale · g`.
    pub forcing_scale: f64,
}

impl Default for PoissonConfig {
    fn default() -> Self {
        Self { resolution: 129, grf: GrfParams::default(), forcing_scale: 1.0 }
    }
}

/// One Poisson sample on the full grid.
#[derive(Debug, Clone, PartialEq)]
pub struct PoissonSample {
    /// Forcing `f` at the nodes.
    pub forcing: Vec<f64>,
    /// Solution `u` at the nodes.
    pub solution: Vec<f64>,
    /// `‖A u − f‖ / ‖f‖`.
    pub relative_residual: f64,
}

/// Draws Poisson samples: GRF forcing → solve.
#[derive(Debug, Clone)]
pub struct PoissonSampler {
    config: PoissonConfig,
    field: CosineGrf2d,
    solver: PoissonSolver,
}

impl PoissonSampler {
    /// Validate the configuration, build the GRF basis and factor the Laplacian.
    pub fn new(config: PoissonConfig) -> Result<Self, EllipticError> {
        check_resolution(config.resolution)?;
        check_scalar("forcing_scale", config.forcing_scale, false)?;
        config.grf.validate().map_err(|e| e.within("grf"))?;
        let field = CosineGrf2d::on_node_grid(config.grf, config.resolution)?;
        let solver = PoissonSolver::new(config.resolution)?;
        Ok(Self { config, field, solver })
    }

    /// The configuration.
    pub fn config(&self) -> &PoissonConfig {
        &self.config
    }

    /// Draw one sample from `rng`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<PoissonSample, EllipticError> {
        let scale = self.config.forcing_scale;
        let forcing: Vec<f64> = self.field.sample(rng).into_iter().map(|g| scale * g).collect();
        let solved = self.solver.solve(&forcing)?;
        Ok(PoissonSample { forcing, solution: solved.solution, relative_residual: solved.relative_residual })
    }
}
