//! The dataset problems: each turns a solver of `oplab-solvers` into a [`crate::Problem`].

pub mod grf;
pub mod ode;
pub mod prose_ode;
pub mod advection;
pub mod burgers;
pub mod darcy;
pub mod helmholtz;
pub mod navier_stokes;
pub mod poisson;
pub mod reaction_diffusion;
mod pde_common;
