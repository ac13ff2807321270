//! The pieces every oplab crate above the solvers needs the same way: the progress trait the CLI
//! implements and the per-epoch reporting of training loops ([`progress`]), crash-safe file
//! writes ([`atomic`]), the checksum of oplab's binary files ([`checksum`]), one writer per output
//! ([`lock`]), RFC 3339 timestamps ([`time`]), the HTML pages written next to figures ([`html`]) and, with the `figure`
//! feature, the embedded figure font, PNG output, axis ticks and colour bars ([`figure`]).
//!
//! It sits at the bottom of the dependency graph (`common <- datasets <- operators <- validation
//! <- CLI`); the solvers, being pure numerics without I/O, do not use it.

#![warn(missing_docs)]

pub mod atomic;
pub mod checksum;
#[cfg(feature = "figure")]
pub mod figure;
pub mod html;
pub mod lock;
pub mod progress;
pub mod time;

pub use progress::{epoch_line, Epochs, Progress, Silent};
