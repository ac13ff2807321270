//! Helmholtz's equation `−Δu − k²(x) u = f` with a random wave-speed field.
//!
//! Data setup after de Hoop, Huang, Qian & Stuart's Helmholtz set, the one MgNO trains on,
//! checked against its generator (`Helmholtz/src/NN-Data-Par.jl` and
//! `Box_Neumann_To_Dirichlet.jl` in Zhengyu-Huang/Operator-Learning, read at commit 5065f8e):
//! - the same: `−Δu − (ω/c)² u` with `ω = 1000` on the unit square, 101 × 101 nodes; wave speed
//!   `c = 20 + 1² · tanh(a)` (their `mean + std² tanh(a)` with mean 20, std 1); `a` a
//!   Karhunen–Loève sum over the Neumann cosine modes `√2 cos(π l₁ x)`, `2 cos(π l₁ x) cos(π l₂ y)`
//!   with standard normal weights and eigenvalues `(π²|l|² + τ²)^(−d)`, d = 2, τ = 3, the
//!   constant mode dropped, **no amplitude factor** (hence `scale = 1` below, not FNO's τ^(α−1));
//! - different: they keep the 100 modes of smallest |l| (the rest carry 0.76 % of the field's
//!   variance on the 101² grid), this sampler every mode of the grid; and their field is driven
//!   by a Neumann source on the top edge (`∂u/∂n = 1` on `|x − 0.5| ≤ 0.15`, zero elsewhere, no body
//!   force) and solved with linear finite elements, while here, as the rest of this module,
//!   `u = 0` on the boundary and a body force `f` (1 by default) drives it, with finite
//!   differences. So oplab's solutions are not theirs; its wave speeds follow their distribution
//!   up to the mode truncation.
//!
//! The operator is indefinite, so the solve uses a sparse LU; near a resonance the residual
//! reported with each solution exposes ill-conditioning.

use super::darcy::finish;
use super::factor::LuFactorizer;
use super::stencil::FivePointPattern;
use super::{check_finite, check_len, check_resolution, check_scalar, EllipticError, EllipticSolution};
use crate::grf::{CosineGrf2d, GrfParams};
use crate::InvalidParameter;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Helmholtz solver on one grid size (LU analysis done once).
#[derive(Debug, Clone)]
pub struct HelmholtzSolver {
    factorizer: LuFactorizer,
    unit_coeff: Vec<f64>,
}

impl HelmholtzSolver {
    /// Analyse the `s × s` node grid.
    pub fn new(resolution: usize) -> Result<Self, EllipticError> {
        check_resolution(resolution)?;
        let pattern = Arc::new(FivePointPattern::new(resolution));
        let factorizer = LuFactorizer::new(pattern).map_err(|message| EllipticError::SolveFailed { problem: "helmholtz", resolution, message })?;
        Ok(Self { factorizer, unit_coeff: vec![1.0; resolution * resolution] })
    }

    /// Nodes per side.
    pub fn resolution(&self) -> usize {
        self.factorizer.pattern().nodes_per_side()
    }

    /// Solve `−Δu − k² u = f`, `u = 0` on the boundary; `wavenumber` (k) and `forcing` are
    /// full-grid node arrays.
    pub fn solve(&self, wavenumber: &[f64], forcing: &[f64]) -> Result<EllipticSolution, EllipticError> {
        let s = self.resolution();
        check_len("wavenumber", wavenumber, s)?;
        check_len("forcing", forcing, s)?;
        check_finite("wavenumber", wavenumber)?;
        check_finite("forcing", forcing)?;
        let reaction: Vec<f64> = wavenumber.iter().map(|k| -k * k).collect();
        let pattern = self.factorizer.pattern();
        let values = pattern.assemble(&self.unit_coeff, Some(&reaction));
        let rhs = pattern.restrict_to_interior(forcing);
        let mut u = rhs.clone();
        self.factorizer.factor_and_solve(&values, &mut u).map_err(|message| EllipticError::SolveFailed { problem: "helmholtz", resolution: s, message })?;
        finish("helmholtz", pattern, &values, u, &rhs)
    }
}

/// Wave speed from the random field: `c = mean + amplitude · tanh(g)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveSpeedMap {
    /// Mean wave speed (> |amplitude|, so that c > 0).
    pub mean: f64,
    /// Amplitude of the tanh perturbation.
    pub amplitude: f64,
}

impl Default for WaveSpeedMap {
    fn default() -> Self {
        Self { mean: 20.0, amplitude: 1.0 }
    }
}

/// Configuration of a Helmholtz data set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HelmholtzConfig {
    /// Nodes per side, boundary included (MgNO's set: 101).
    pub resolution: usize,
    /// Random field the wave speed is built from.
    pub grf: GrfParams,
    /// Field → wave speed map.
    pub wave_speed: WaveSpeedMap,
    /// Angular frequency ω (k = ω / c).
    pub omega: f64,
    /// Constant right-hand side f.
    pub forcing: f64,
}

impl Default for HelmholtzConfig {
    fn default() -> Self {
        // The generator's Karhunen–Loève weights carry no amplitude factor (module doc).
        let grf = GrfParams { scale: Some(1.0), ..GrfParams::default() };
        Self { resolution: 101, grf, wave_speed: WaveSpeedMap::default(), omega: 1000.0, forcing: 1.0 }
    }
}

/// One Helmholtz sample on the full grid.
#[derive(Debug, Clone, PartialEq)]
pub struct HelmholtzSample {
    /// Wave speed `c` at the nodes.
    pub wave_speed: Vec<f64>,
    /// Solution `u` at the nodes.
    pub solution: Vec<f64>,
    /// `‖A u − f‖ / ‖f‖`.
    pub relative_residual: f64,
}

/// Draws Helmholtz samples: GRF → wave speed → wave number → solve.
#[derive(Debug, Clone)]
pub struct HelmholtzSampler {
    config: HelmholtzConfig,
    field: CosineGrf2d,
    solver: HelmholtzSolver,
    forcing: Vec<f64>,
}

impl HelmholtzSampler {
    /// Validate the configuration and do the per-grid set-up.
    pub fn new(config: HelmholtzConfig) -> Result<Self, EllipticError> {
        check_resolution(config.resolution)?;
        check_scalar("omega", config.omega, false)?;
        check_scalar("forcing", config.forcing, false)?;
        check_scalar("wave_speed.mean", config.wave_speed.mean, true)?;
        check_scalar("wave_speed.amplitude", config.wave_speed.amplitude, false)?;
        if config.wave_speed.amplitude.abs() >= config.wave_speed.mean {
            return Err(InvalidParameter::new(
                "wave_speed.amplitude",
                config.wave_speed.amplitude,
                "|amplitude| must be < wave_speed.mean so that the wave speed stays > 0",
            )
            .into());
        }
        config.grf.validate().map_err(|e| e.within("grf"))?;
        let field = CosineGrf2d::on_node_grid(config.grf, config.resolution)?;
        let solver = HelmholtzSolver::new(config.resolution)?;
        let forcing = vec![config.forcing; config.resolution * config.resolution];
        Ok(Self { config, field, solver, forcing })
    }

    /// The configuration.
    pub fn config(&self) -> &HelmholtzConfig {
        &self.config
    }

    /// Draw one sample from `rng`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<HelmholtzSample, EllipticError> {
        let WaveSpeedMap { mean, amplitude } = self.config.wave_speed;
        let wave_speed: Vec<f64> = self.field.sample(rng).into_iter().map(|g| mean + amplitude * g.tanh()).collect();
        let wavenumber: Vec<f64> = wave_speed.iter().map(|c| self.config.omega / c).collect();
        let solved = self.solver.solve(&wavenumber, &self.forcing)?;
        Ok(HelmholtzSample { wave_speed, solution: solved.solution, relative_residual: solved.relative_residual })
    }
}
