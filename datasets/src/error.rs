//! Errors of the dataset layer. Every message is one line and names what is wrong.

use std::path::PathBuf;

use oplab_solvers::advection::Pde1dError;
use oplab_solvers::burgers::BurgersError;
use oplab_solvers::elliptic::EllipticError;
use oplab_solvers::navier_stokes::NavierStokesError;
use oplab_solvers::ode::OdeError;
pub use oplab_solvers::InvalidParameter;

/// A sample could not be produced (solver blow-up, rejection budget exhausted, ...).
#[derive(Debug, Clone, thiserror::Error)]
#[error("sample {index}: {message}")]
pub struct SampleError {
    /// Index of the failing sample.
    pub index: u64,
    /// What went wrong, naming the parameters involved.
    pub message: String,
}

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
        DatasetError::Hdf5 { path: path.into(), message: hdf5_message(&err.to_string()) }
    }

    pub(crate) fn invalid_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DatasetError::InvalidFile { path: path.into(), reason: reason.into() }
    }
}

/// One line of an HDF5 error stack: its first line, with the operating system's reason added
/// where the stack records one. A failed write of the POSIX driver reads `file write failed:
/// time = <ctime>` on its first line (the ctime text ends the line) and names the reason, such
/// as a full disk, only further down as `error message = '...'`.
fn hdf5_message(text: &str) -> String {
    let first = text.lines().next().unwrap_or("unknown error");
    let first = first.split_once(": time = ").or_else(|| first.split_once(", time = ")).map_or(first, |(head, _)| head);
    let os_reason = text.split_once("error message = '").and_then(|(_, rest)| rest.split_once('\'')).map(|(reason, _)| reason);
    match os_reason {
        Some(reason) if !first.contains(reason) => format!("{first}: {reason}"),
        _ => first.to_string(),
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

#[cfg(test)]
mod tests {
    #[test]
    fn an_hdf5_write_failure_names_the_reason_on_one_line() {
        let stack = "H5Fflush(): unable to flush file's cached information: file write failed: time = Mon Dec  7 02:24:35 2026\n, filename = 'x.h5.tmp-7', file descriptor = 5, errno = 28, error message = 'No space left on device', buf = 0x1, total write size = 4096";
        assert_eq!(super::hdf5_message(stack), "H5Fflush(): unable to flush file's cached information: file write failed: No space left on device");
        assert_eq!(super::hdf5_message("H5Dopen(): object 'u' doesn't exist"), "H5Dopen(): object 'u' doesn't exist");
    }
}
