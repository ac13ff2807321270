//! Errors of the operator crate: invalid configuration or data, I/O, checkpoints.

use std::path::PathBuf;

/// Everything that can go wrong in `oplab-operators`. Messages are one line and name the field,
/// the value and the allowed range.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// A configuration value is out of range.
    #[error("{field} = {value} is invalid: {allowed}")]
    Invalid {
        /// The offending field, e.g. `mgno.levels`.
        field: String,
        /// Its value, as written.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// The dataset does not fit the model or the training setup.
    #[error("data {path}: {message}")]
    Data {
        /// The dataset file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A checkpoint or run directory is unusable.
    // Named by the file alone: it may be the checkpoint, the stored config or a kept model.
    #[error("{path}: {message}")]
    Checkpoint {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A training or evaluation request does not fit its files (the run directory it names, the
    /// `--config` it gives); the message says what to do instead.
    #[error("{0}")]
    Request(String),
    /// Training produced a non-finite loss.
    #[error("optimizer.lr is invalid: training diverged in epoch {epoch} (loss {loss}); lower the learning rate or set optimizer.grad_clip_norm")]
    Diverged {
        /// The epoch (from 1).
        epoch: usize,
        /// The loss value.
        loss: f64,
    },
    /// An error from the dataset layer.
    #[error(transparent)]
    Dataset(#[from] oplab_datasets::DatasetError),
}

impl OperatorError {
    /// An out-of-range value.
    pub fn invalid(field: impl Into<String>, value: impl std::fmt::Display, allowed: impl Into<String>) -> Self {
        OperatorError::Invalid { field: field.into(), value: value.to_string(), allowed: allowed.into() }
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OperatorError::Io { path: path.into(), source }
    }
}

/// Result with [`OperatorError`].
pub type Result<T> = std::result::Result<T, OperatorError>;
