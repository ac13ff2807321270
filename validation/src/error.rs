//! Typed errors of the validation harness.

use std::path::PathBuf;

/// Everything that can go wrong while running checks or writing a report.
///
/// A failing *check* is not an error: it is a result with `passed = false`. Errors are
/// reserved for bad options and I/O or numerical breakdowns that stop the harness.
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// An option or parameter is outside its allowed range.
    #[error("invalid value for `{field}`: {value} (allowed: {allowed})")]
    InvalidInput {
        /// Name of the option or parameter.
        field: &'static str,
        /// The offending value, rendered as text.
        value: String,
        /// Description of the allowed range or set.
        allowed: String,
    },
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path being written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A plot could not be drawn.
    #[error("plotting {figure}: {message}")]
    Plot {
        /// Stem of the figure file.
        figure: String,
        /// Backend message.
        message: String,
    },
    /// A linear-algebra routine failed (e.g. an eigendecomposition did not converge).
    #[error("numerical failure in {context}: {message}")]
    Numerical {
        /// Where it happened.
        context: &'static str,
        /// What happened.
        message: String,
    },
}

/// Result alias for the harness.
pub type Result<T> = std::result::Result<T, ValidationError>;

impl ValidationError {
    /// Shorthand for an [`ValidationError::InvalidInput`].
    pub fn invalid(field: &'static str, value: impl ToString, allowed: impl ToString) -> Self {
        Self::InvalidInput { field, value: value.to_string(), allowed: allowed.to_string() }
    }
}
