//! Reference numerics for oplab: random fields, PDE and ODE solvers, symbolic right-hand sides.
//!
//! Everything here computes in f64, does no I/O and knows nothing of datasets or learning.
//! Randomness always comes from a caller-supplied RNG so that datasets can seed each sample
//! independently (see `oplab-datasets`).
#![warn(missing_docs)]

pub mod advection;
pub mod burgers;
pub mod elliptic;
pub mod error;
pub mod etdrk4;
pub mod grf;
pub mod navier_stokes;
pub mod ode;
pub mod reaction_diffusion;
pub mod symbolic;
pub mod systems;

pub use error::InvalidParameter;
