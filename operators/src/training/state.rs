//! What an operator run directory stores, and how it is read back: the file names, the run
//! state of every checkpoint, the fitted normalisers, and burn's records as bytes. Training
//! writes these, and evaluation, the resolution sweep and the safetensors export read them, so
//! they live below all of them.

use std::path::{Path, PathBuf};

use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use crate::data::FieldNames;
use crate::normalizers::GaussianNormalizer;
use crate::run::{run_err, RunDir};

/// File names inside an operator run directory (besides the shared [`crate::run::files`]).
pub mod files {
    pub use crate::run::files::*;
    /// Fitted normalisers.
    pub const NORMALIZERS: &str = "normalizers.json";
    /// Best model by validation error.
    pub const BEST: &str = "best_model.mpk";
    /// Loss curve.
    pub const CURVE: &str = "loss_curve.png";
    /// Evaluation figure.
    pub const EVAL_PNG: &str = "eval_samples.png";
}

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, starting at 1.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean relative L2 on the validation split.
    pub val_l2: f64,
    /// Mean relative H¹ on the validation split.
    pub val_h1: f64,
    /// Largest global gradient norm seen before clipping (only computed when clipping).
    pub max_grad_norm: Option<f64>,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// Run state stored in every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Best validation relative L2 so far.
    pub best_val_l2: f64,
    /// Epoch of the best model.
    pub best_epoch: usize,
    /// Every epoch so far.
    pub history: Vec<EpochMetrics>,
    /// Fields used.
    pub fields: FieldNames,
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Training grid `[h, w]`.
    pub grid: [usize; 2],
    /// Trainable parameters.
    pub params: usize,
    /// The data file trained on.
    pub data: PathBuf,
}

/// Normalisers fitted on the training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizers {
    /// Applied to the inputs before the model.
    pub input: GaussianNormalizer,
    /// Decoded after the model.
    pub target: GaussianNormalizer,
}

/// Reads the stored configuration of a run.
pub fn read_run_config(run: &RunDir) -> crate::Result<TrainConfig> {
    TrainConfig::from_toml(&run.read_config()?)
}

/// Reads the state of a run's last checkpoint.
pub fn read_run_state(run: &RunDir) -> crate::Result<RunState> {
    let parts = run.read_checkpoint(3)?;
    run.parse_state(&parts[2])
}

fn recorder() -> NamedMpkBytesRecorder<FullPrecisionSettings> {
    NamedMpkBytesRecorder::<FullPrecisionSettings>::new()
}

pub(crate) fn to_bytes<B: Backend, R: Record<B>>(rec: R, path: &Path) -> crate::Result<Vec<u8>> {
    Recorder::<B>::record(&recorder(), rec, ()).map_err(|e| run_err(path, format!("cannot serialise: {e}")))
}

pub(crate) fn from_bytes<B: Backend, R: Record<B>>(bytes: Vec<u8>, device: &B::Device, path: &Path) -> crate::Result<R> {
    Recorder::<B>::load(&recorder(), bytes, device).map_err(|e| run_err(path, format!("cannot be read: {e}")))
}
