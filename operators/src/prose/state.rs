//! What a PROSE run directory stores: its file names, the record of each epoch and the run
//! state of every checkpoint. Training writes them; evaluation, the figures and the run family
//! read them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::config::ProseModelConfig;
use super::data::Vocabulary;
use crate::run::RunDir;

/// File names inside a PROSE run directory (besides the shared [`crate::run::files`]).
pub mod files {
    pub use crate::run::files::*;
    /// The model with the lowest validation loss.
    pub const BEST: &str = "best_model.mpk";
    /// Loss curves.
    pub const CURVE: &str = "loss_curve.png";
    /// Decoded against true equations (`eval`).
    pub const EQUATIONS: &str = "equations.md";
}

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProseEpoch {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Optimiser steps taken so far.
    pub steps: u64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Mean training data loss (squared relative L2).
    pub train_data: f64,
    /// Mean training cross-entropy (none without text).
    pub train_ce: Option<f64>,
    /// Validation loss (what chooses the kept model).
    pub val_loss: f64,
    /// Validation data relative L2 (the evaluation metric, mean over samples).
    pub val_data_rel_l2: f64,
    /// Validation cross-entropy (none without text).
    pub val_ce: Option<f64>,
    /// Largest global gradient norm before clipping.
    pub max_grad_norm: f64,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

/// The run state every checkpoint stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProseRunState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimiser steps taken.
    pub steps: u64,
    /// Lowest validation loss so far (stored exactly: it decides which model is kept).
    #[serde(with = "exact_f64")]
    pub best_val_loss: f64,
    /// Its epoch.
    pub best_epoch: usize,
    /// Every epoch so far.
    pub history: Vec<ProseEpoch>,
    /// The training file's vocabulary (evaluation files must have the same).
    pub vocabulary: Vocabulary,
    /// The model's full configuration.
    pub network: ProseModelConfig,
    /// Trainable parameters.
    pub params: usize,
    /// The data file trained on.
    pub data: PathBuf,
    /// Training time so far (summed over resumed calls), seconds.
    pub train_seconds: f64,
}

/// An f64 as its shortest round-trip string, parsed back exactly (serde_json's own float
/// parser may be an ulp off, which would make a resumed run keep another model on a tie).
mod exact_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<f64>().map_err(|_| serde::de::Error::custom(format!("`{text}` is not a number")))
    }
}

/// The state of the run's last checkpoint.
pub fn read_state(run: &RunDir) -> crate::Result<ProseRunState> {
    let parts = run.read_checkpoint(3)?;
    run.parse_state(&parts[2])
}
