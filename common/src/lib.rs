//! The pieces every oplab crate above the solvers needs the same way: the progress trait the CLI
//! implements ([`progress`]), crash-safe file writes ([`atomic`]) and, with the `figure` feature,
//! the embedded figure font and PNG output ([`figure`]).
//!
//! It sits at the bottom of the dependency graph (`common <- datasets <- operators <- validation
//! <- CLI`); the solvers, being pure numerics without I/O, do not use it.

#![warn(missing_docs)]

pub mod atomic;
#[cfg(feature = "figure")]
pub mod figure;
pub mod progress;

pub use progress::{Progress, Silent};
