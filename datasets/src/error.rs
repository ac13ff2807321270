//! Errors of the dataset layer. Every message is one line and names what is wrong.

use std::path::PathBuf;

use oplab_solvers::advection::Pde1dError;
use oplab_solvers::burgers::BurgersError;
use oplab_solvers::elliptic::EllipticError;
use oplab_solvers::navier_stokes::NavierStokesError;
use oplab_solvers::ode::OdeError;
pub use oplab_solvers::InvalidParameter;

use crate::problem::SampleError;

/// Anything that can go wrong generating, reading or merging a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A user-supplied parameter is outside its allowed range (the solvers' own error, wrapped).
    #[error(transparent)]
    InvalidParameter(#[from] InvalidParameter),
    /// A solver could not be set up for a reason other than a parameter (e.g. a failed symbolic
    /// factorisation of its matrix).
    #[error(transparent)]
    Solver(Box<dyn std::error::Error + Send + Sync>),
    /// The output exists and is not this run's finished output; overwriting needs `--force`.
    #[error("{path} already exists and is not this command's output ({why}); pass --force to overwrite it, or choose another --out")]
    OutputExists {
        /// The existing file.
        path: PathBuf,
        /// How it differs from what the command would write.
        why: String,
    },
    /// A partial run with a different configuration exists.
    #[error(
        "{path} holds an unfinished run with a different configuration ({difference}); rerun the original command to resume, or pass --force to discard it"
    )]
    ResumeMismatch {
        /// The partial-run directory.
        path: PathBuf,
        /// The first difference found.
        difference: String,
    },
    /// A file is not a valid oplab dataset.
    #[error("{path}: {reason}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Parts given to merge do not fit together.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// A distributed (MPI) run failed on another rank, which reports its own error; this rank
    /// has nothing to add (the command line prints nothing for it).
    #[error("distributed run: another rank failed (it printed the error); rerun the same command to resume")]
    OtherRankFailed,
    /// A sample could not be generated.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// An operating-system I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An HDF5 library error on a named path.
    #[error("{path}: HDF5 error: {message}")]
    Hdf5 {
        /// The path involved.
        path: PathBuf,
        /// The library's message (first line).
        message: String,
    },
}

impl DatasetError {
    /// Shorthand for [`DatasetError::InvalidParameter`].
    pub fn invalid(field: impl Into<String>, value: impl ToString, allowed: impl Into<String>) -> Self {
        InvalidParameter::new(field, value, allowed).into()
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DatasetError::Io { path: path.into(), source }
    }

    pub(crate) fn hdf5(path: impl Into<PathBuf>, err: hdf5::Error) -> Self {
        let text = err.to_string();
        let message = text.lines().next().unwrap_or("unknown error").to_string();
        DatasetError::Hdf5 { path: path.into(), message }
    }

    pub(crate) fn invalid_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DatasetError::InvalidFile { path: path.into(), reason: reason.into() }
    }
}

/// A solver's error while a problem is set up: an invalid parameter stays one (field, value and
/// allowed range as the solver named them); anything else is a solver failure.
macro_rules! from_solver_errors {
    ($($error:ident),* $(,)?) => {$(
        impl From<$error> for DatasetError {
            fn from(e: $error) -> Self {
                match e {
                    $error::InvalidParameter(p) => DatasetError::InvalidParameter(p),
                    other => DatasetError::Solver(Box::new(other)),
                }
            }
        }
    )*};
}

from_solver_errors!(EllipticError, BurgersError, NavierStokesError, Pde1dError, OdeError);

/// Result alias for this crate.
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;
