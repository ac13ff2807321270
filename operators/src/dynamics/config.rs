//! The AL-RNN training configuration (TOML; every field optional), stored fully resolved in the
//! run directory. Defaults are the reference's Lorenz-63 setting (`settings/lorenz63.json`).

use serde::{Deserialize, Serialize};

use super::metrics::Binning;
use crate::error::OperatorError;
use crate::training::config::parse_error;

/// Model sizes (the observed dimension `N` comes from the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlrnnSection {
    /// Latent units `M`.
    pub latent_dim: usize,
    /// ReLU units `P` (the last `P` latent units; at most `2^P` linear subregions).
    pub relu_units: usize,
    /// Float type of training and of every free run (f64 or f32).
    pub precision: Precision,
}

impl Default for AlrnnSection {
    fn default() -> Self {
        AlrnnSection { latent_dim: 20, relu_units: 2, precision: Precision::F64 }
    }
}

/// The float type an AL-RNN trains and runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Double precision throughout.
    #[default]
    F64,
    /// Single precision, as the reference's PyTorch code trains: parameters, forward pass,
    /// teacher forcing, gradient, optimiser moments and free runs in f32, data batches rounded
    /// to f32 as they enter. Metrics are still computed in f64 (on the f32 free runs), and
    /// files store the f32 values widened to f64, which is exact.
    F32,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F64 => "f64",
            Precision::F32 => "f32",
        })
    }
}

/// Which model `best_model.json` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// The lowest `D_stsp` of a free run against the training series as trained on (with its
    /// `data.obs_noise`).
    #[default]
    Train,
    /// The lowest `D_stsp` against the training series before the observation noise was added
    /// (same standardisation); the logged metrics use that series too.
    Clean,
    /// No selection: the model of the last epoch trained (metrics are still logged every
    /// `eval.every` epochs, against the training series as trained on).
    Last,
}

/// Teacher-forcing variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForcingKind {
    /// Sparse identity teacher forcing: every τ steps the observed units are replaced by the data
    /// and the gradient through them is cut.
    #[default]
    Sparse,
    /// Generalised teacher forcing: every τ steps (τ = 1: every step) the observed units become
    /// `(1 − α)·z + α·x`, the gradient through them scaled by `1 − α` (constant α).
    Generalized,
}

/// Teacher forcing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForcingSection {
    /// sparse or generalized.
    pub kind: ForcingKind,
    /// Forcing interval τ in steps.
    pub tau: usize,
    /// GTF strength α in (0, 1] (only for `generalized`).
    pub alpha: f64,
}

impl Default for ForcingSection {
    fn default() -> Self {
        ForcingSection { kind: ForcingKind::Sparse, tau: 16, alpha: 0.1 }
    }
}

/// Optimiser family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlrnnOptimizerKind {
    /// Rectified Adam (Flux's `RAdam`, the reference's choice).
    #[default]
    Radam,
    /// Adam.
    Adam,
}

/// Optimiser with exponential learning-rate decay per epoch, `γ = (end/start)^(1/epochs)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlrnnOptimizerSection {
    /// radam or adam.
    pub kind: AlrnnOptimizerKind,
    /// Learning rate of the first epoch.
    pub lr_start: f64,
    /// Learning rate after the last epoch.
    pub lr_end: f64,
    /// Adam β₁, β₂.
    pub betas: [f64; 2],
    /// Adam ε.
    pub eps: f64,
}

impl Default for AlrnnOptimizerSection {
    fn default() -> Self {
        AlrnnOptimizerSection { kind: AlrnnOptimizerKind::Radam, lr_start: 1e-3, lr_end: 1e-5, betas: [0.9, 0.999], eps: 1e-8 }
    }
}

/// Which series of the file to use and how to prepare them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeriesSection {
    /// Field holding `(samples, T, N)` trajectories.
    pub field: String,
    /// Sample index of the training series.
    pub train_sample: usize,
    /// Sample index of the test series (`eval`; never seen in training).
    pub test_sample: usize,
    /// Leading time steps dropped from every series (transient).
    pub skip: usize,
    /// Time steps kept after `skip` (0: all).
    pub length: usize,
    /// z-score every dimension with the training series' mean and standard deviation.
    pub zscore: bool,
    /// Standard deviation of Gaussian observation noise added once to the training series
    /// (after z-scoring; the test series stays clean), seeded by `seed`.
    pub obs_noise: f64,
}

impl Default for SeriesSection {
    fn default() -> Self {
        SeriesSection { field: "trajectory".into(), train_sample: 0, test_sample: 1, skip: 0, length: 0, zscore: true, obs_noise: 0.0 }
    }
}

/// Model selection during training and the evaluation protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalSection {
    /// Free run and metrics every this many epochs.
    pub every: usize,
    /// Model selection: train, clean or last (see [`Selection`]).
    pub select: Selection,
    /// Length of the model-selection free run (0: the training series' length).
    pub select_len: usize,
    /// Bins per dimension of the binned `D_stsp`.
    pub bins: usize,
    /// Binning range convention (python or margin).
    pub binning: Binning,
    /// Above this many observed dimensions `D_stsp` uses the Gaussian mixture.
    pub max_binned_dim: usize,
    /// Variance of each mixture component (GMM `D_stsp`).
    pub gmm_scaling: f64,
    /// Time steps used by the GMM `D_stsp`.
    pub gmm_len: usize,
    /// Monte-Carlo samples of the GMM `D_stsp`.
    pub gmm_samples: usize,
    /// Gaussian smoothing σ (in frequency bins) of the power spectra for `D_H`.
    pub psd_sigma: f64,
    /// Prediction horizon of the prediction error.
    pub pe_steps: usize,
    /// Start points of the prediction error during training: every this many steps.
    pub pe_stride: usize,
    /// `eval`: free-run steps discarded before comparing (transient).
    pub transient: usize,
    /// `eval`: free-run steps compared with the test series (0: the test series' length).
    pub test_len: usize,
    /// `eval`: free-run steps (after the transient) used for the symbolic coding.
    pub coding_len: usize,
}

impl Default for EvalSection {
    fn default() -> Self {
        EvalSection {
            every: 25,
            select: Selection::Train,
            select_len: 0,
            bins: 30,
            binning: Binning::Python,
            max_binned_dim: 10,
            gmm_scaling: 1.0,
            gmm_len: 10_000,
            gmm_samples: 1000,
            psd_sigma: 20.0,
            pe_steps: 20,
            pe_stride: 10,
            transient: 1000,
            test_len: 10_000,
            coding_len: 100_000,
        }
    }
}

/// Everything an AL-RNN run needs besides the data file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlrnnTrainConfig {
    /// Always `alrnn` (lets `oplab eval` tell run kinds apart).
    pub model: String,
    /// Seed of initialisation, noise and batch sampling.
    pub seed: u64,
    /// Epochs.
    pub epochs: usize,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
    /// Subsequences per batch (sampled with replacement at random start points).
    pub batch_size: usize,
    /// Subsequence length T̃ (predicted steps) [default: the reference's 200, or half the
    /// training series where that is shorter than 401 steps].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_len: Option<usize>,
    /// Gaussian noise σ added to every sampled batch.
    pub noise: f64,
    /// Worker threads for the batch gradient (0: all cores). Results do not depend on it.
    pub threads: usize,
    /// Model sizes.
    pub alrnn: AlrnnSection,
    /// Teacher forcing.
    pub forcing: ForcingSection,
    /// Optimiser.
    pub optimizer: AlrnnOptimizerSection,
    /// Data.
    pub data: SeriesSection,
    /// Model selection and evaluation.
    pub eval: EvalSection,
}

/// The subsequence length of the reference's Lorenz-63 and Rössler settings.
pub const REFERENCE_SEQ_LEN: usize = 200;

impl Default for AlrnnTrainConfig {
    fn default() -> Self {
        AlrnnTrainConfig {
            model: "alrnn".into(),
            seed: 0,
            epochs: 2000,
            batches_per_epoch: 50,
            batch_size: 16,
            seq_len: None,
            noise: 0.05,
            threads: 0,
            alrnn: AlrnnSection::default(),
            forcing: ForcingSection::default(),
            optimizer: AlrnnOptimizerSection::default(),
            data: SeriesSection::default(),
            eval: EvalSection::default(),
        }
    }
}

fn check(ok: bool, field: &str, value: impl std::fmt::Display, allowed: &str) -> crate::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(OperatorError::invalid(field, value, allowed))
    }
}

impl AlrnnTrainConfig {
    /// Parses TOML; unknown fields are errors.
    pub fn from_toml(text: &str) -> crate::Result<Self> {
        let cfg: AlrnnTrainConfig = toml::from_str(text).map_err(|e| parse_error(text, &e, "AL-RNN"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// This configuration with `seq_len` set for a training series of `series_len` steps: a
    /// given length stays (the training checks it fits); an unset one is the reference's
    /// [`REFERENCE_SEQ_LEN`] where the series holds at least twice that, else half the series, so
    /// the default works with `oplab generate ode`'s 192-point trajectories too.
    pub fn with_seq_len_for(&self, series_len: usize) -> AlrnnTrainConfig {
        let seq_len = self.seq_len.unwrap_or_else(|| REFERENCE_SEQ_LEN.min(series_len.saturating_sub(1) / 2).max(1));
        AlrnnTrainConfig { seq_len: Some(seq_len), ..self.clone() }
    }

    /// The resolved TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks every field's range.
    pub fn validate(&self) -> crate::Result<()> {
        check(self.model == "alrnn", "model", &self.model, "must be alrnn in an AL-RNN configuration")?;
        check(self.epochs >= 1 && self.epochs <= 10_000_000, "epochs", self.epochs, "must be in [1, 10000000]")?;
        check(self.batches_per_epoch >= 1, "batches_per_epoch", self.batches_per_epoch, "must be >= 1")?;
        check((1..=1_000_000).contains(&self.batch_size), "batch_size", self.batch_size, "must be in [1, 1000000]")?;
        if let Some(len) = self.seq_len {
            check(len >= 1, "seq_len", len, "must be >= 1")?;
        }
        check(self.noise.is_finite() && self.noise >= 0.0, "noise", self.noise, "must be finite and >= 0")?;
        check(self.threads <= 1024, "threads", self.threads, "must be in [0, 1024] (0: all cores)")?;
        check(self.alrnn.latent_dim >= 1 && self.alrnn.latent_dim <= 4096, "alrnn.latent_dim", self.alrnn.latent_dim, "must be in [1, 4096]")?;
        check(
            self.alrnn.relu_units <= 30 && self.alrnn.relu_units < self.alrnn.latent_dim,
            "alrnn.relu_units",
            self.alrnn.relu_units,
            "must be in [0, min(30, latent_dim − 1)]",
        )?;
        check(self.forcing.tau >= 1, "forcing.tau", self.forcing.tau, "must be >= 1")?;
        if self.forcing.kind == ForcingKind::Generalized {
            check(self.forcing.alpha > 0.0 && self.forcing.alpha <= 1.0, "forcing.alpha", self.forcing.alpha, "must be in (0, 1]")?;
        }
        let o = &self.optimizer;
        check(o.lr_start.is_finite() && o.lr_start > 0.0, "optimizer.lr_start", o.lr_start, "must be finite and > 0")?;
        check(o.lr_end.is_finite() && o.lr_end > 0.0, "optimizer.lr_end", o.lr_end, "must be finite and > 0")?;
        for (k, b) in o.betas.iter().enumerate() {
            check((0.0..1.0).contains(b), &format!("optimizer.betas[{k}]"), b, "must be in [0, 1)")?;
        }
        check(o.eps.is_finite() && o.eps > 0.0, "optimizer.eps", o.eps, "must be finite and > 0")?;
        check(!self.data.field.is_empty(), "data.field", "\"\"", "must name a field")?;
        check(
            self.data.train_sample != self.data.test_sample,
            "data.test_sample",
            self.data.test_sample,
            "must differ from data.train_sample (the test series is never trained on)",
        )?;
        check(self.data.obs_noise.is_finite() && self.data.obs_noise >= 0.0, "data.obs_noise", self.data.obs_noise, "must be finite and >= 0")?;
        let e = &self.eval;
        check(e.every >= 1, "eval.every", e.every, "must be >= 1")?;
        check((2..=1000).contains(&e.bins), "eval.bins", e.bins, "must be in [2, 1000]")?;
        check(e.gmm_scaling.is_finite() && e.gmm_scaling > 0.0, "eval.gmm_scaling", e.gmm_scaling, "must be finite and > 0")?;
        check(e.gmm_len >= 1, "eval.gmm_len", e.gmm_len, "must be >= 1")?;
        check(e.gmm_samples >= 1, "eval.gmm_samples", e.gmm_samples, "must be >= 1")?;
        check(e.psd_sigma.is_finite() && e.psd_sigma >= 0.0, "eval.psd_sigma", e.psd_sigma, "must be finite and >= 0")?;
        check(e.pe_steps >= 1, "eval.pe_steps", e.pe_steps, "must be >= 1")?;
        check(e.pe_stride >= 1, "eval.pe_stride", e.pe_stride, "must be >= 1")?;
        check(e.coding_len >= 1, "eval.coding_len", e.coding_len, "must be >= 1")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_rejects_bad_values() {
        let c = AlrnnTrainConfig::default();
        assert_eq!(AlrnnTrainConfig::from_toml(&c.to_toml()).unwrap(), c);
        let e = AlrnnTrainConfig::from_toml("[forcing]\ntau = 0\n").unwrap_err().to_string();
        assert!(e.starts_with("forcing.tau = 0 is invalid"), "{e}");
        assert!(AlrnnTrainConfig::from_toml("bogus = 1\n").is_err());
        assert!(AlrnnTrainConfig::from_toml("[alrnn]\nrelu_units = 20\n").is_err());
    }

    #[test]
    fn precision_and_selection_default_to_f64_and_train_and_are_stored() {
        let c = AlrnnTrainConfig::from_toml("epochs = 3\n[alrnn]\nlatent_dim = 8\n[eval]\nevery = 5\n").unwrap();
        assert_eq!((c.alrnn.precision, c.eval.select), (Precision::F64, Selection::Train));
        for (precision, select) in [("f32", "clean"), ("f64", "last"), ("f32", "train")] {
            let c = AlrnnTrainConfig::from_toml(&format!("[alrnn]\nprecision = \"{precision}\"\n[eval]\nselect = \"{select}\"\n")).unwrap();
            let stored = c.to_toml();
            assert!(stored.contains(&format!("precision = \"{precision}\"")) && stored.contains(&format!("select = \"{select}\"")), "{stored}");
            assert_eq!(AlrnnTrainConfig::from_toml(&stored).unwrap(), c);
        }
    }

    #[test]
    fn a_bad_precision_or_selection_is_one_line_naming_field_value_and_choices() {
        for (text, want) in [
            ("[alrnn]\nprecision = \"f16\"\n", "alrnn.precision = \"f16\" is invalid: unknown variant `f16`, expected `f64` or `f32`"),
            (
                "seed = 2\n[eval]\nevery = 5\nselect = \"best\"\n",
                "eval.select = \"best\" is invalid: unknown variant `best`, expected one of `train`, `clean`, `last`",
            ),
            ("[eval]\nselect = 1\n", "eval.select = 1 is invalid: "),
        ] {
            let e = AlrnnTrainConfig::from_toml(text).unwrap_err().to_string();
            assert!(e.starts_with(want) && !e.contains('\n'), "{e}");
        }
    }
}
