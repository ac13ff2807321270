//! The configuration of a PROSE run: everything it needs besides the data file, as the run
//! stores it in `config.toml`.
//!
//! TOML; every key optional, unknown keys are errors:
//! - top level: `seed`, `epochs`, `steps_per_epoch` (0: one pass over the training split),
//!   `batch_size` (256, the reference's; on two CPU cores the small preset takes seconds per
//!   step at 256, so a CPU run may set 64), `eval_batch_size`, `text_input` (`skeleton` |
//!   `none`: the reference's `--no_text` ablation), `data_weight` (6 with text, 1 without, as
//!   the reference), `max_decode_len` (150);
//! - `[network]` (the `model` key names the family): `preset` (tiny | small | medium | paper) and any of its sizes to override:
//!   `d_model`, `n_heads`, `ffn_mult`, `norm_first`, `layer_norm_eps`, `max_positions`,
//!   `[network.layers]` `data_encoder`, `symbol_encoder`, `fusion`, `data_decoder`,
//!   `symbol_decoder`;
//! - `[data]`: `input_len` (64 data tokens in, the rest predicted), `n_train`, `n_val` (a split
//!   of the training file; default: at most 512 or 10 % for validation, the rest for training);
//!   the test set is its own file (`oplab eval --data`; given the training file, `eval` uses the
//!   samples after the two splits);
//! - `[noise]`: `data` (relative L2, 0.02), `add_term_prob`, `miss_term_prob` (0.15 each);
//! - `[optimizer]`: AdamW `lr` (1e-4), `weight_decay` (1e-4, decoupled), `betas`, `eps`,
//!   `grad_clip_norm` (1.0, global norm), `warmup_steps` (default 10 % of the run's steps;
//!   the paper's 20000); the rate rises linearly from 1e-7 over the warm-up, then decays as
//!   `lr·√(W/step)`;
//! - `[backend]`: the shared backend options (see `oplab train --help`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::{ProseLayers, ProseModelConfig, TextInput};
use super::data::NoiseConfig;
use crate::backend::BackendOptions;
use crate::error::OperatorError;

/// The family's one member.
pub const MODEL: &str = "prose";

/// The model's sizes: a preset and the sizes it overrides (all set once resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSection {
    /// tiny, small, medium or paper.
    pub preset: String,
    /// Width of every stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_model: Option<usize>,
    /// Attention heads (must divide `d_model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_heads: Option<usize>,
    /// FFN width as a multiple of `d_model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ffn_mult: Option<usize>,
    /// Pre-LN instead of the reference's post-LN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm_first: Option<bool>,
    /// LayerNorm ε.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_norm_eps: Option<f64>,
    /// Rows of the sinusoidal position table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_positions: Option<usize>,
    /// Layers per stack.
    pub layers: LayerCounts,
}

/// Layers of each stack (unset: the preset's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerCounts {
    /// Data encoder (L₁).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_encoder: Option<usize>,
    /// Symbol encoder (L₂).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol_encoder: Option<usize>,
    /// Fusion (L₃).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fusion: Option<usize>,
    /// Data decoder (L₄).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_decoder: Option<usize>,
    /// Symbol decoder (L₅).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol_decoder: Option<usize>,
}

impl LayerCounts {
    fn over(&self, p: ProseLayers) -> ProseLayers {
        ProseLayers {
            data_encoder: self.data_encoder.unwrap_or(p.data_encoder),
            symbol_encoder: self.symbol_encoder.unwrap_or(p.symbol_encoder),
            fusion: self.fusion.unwrap_or(p.fusion),
            data_decoder: self.data_decoder.unwrap_or(p.data_decoder),
            symbol_decoder: self.symbol_decoder.unwrap_or(p.symbol_decoder),
        }
    }
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            preset: "small".into(),
            d_model: None,
            n_heads: None,
            ffn_mult: None,
            norm_first: None,
            layer_norm_eps: None,
            max_positions: None,
            layers: LayerCounts::default(),
        }
    }
}

impl ModelSection {
    /// The model configuration for a vocabulary of `vocab_size` words with `<PAD>` at `pad_id`,
    /// `max_dim` components, reading `text_input`.
    pub fn model(&self, vocab_size: usize, pad_id: usize, max_dim: usize, text_input: TextInput) -> crate::Result<ProseModelConfig> {
        let mut c = ProseModelConfig::preset(&self.preset, vocab_size.max(2), pad_id.min(vocab_size.max(2) - 1)).map_err(in_network)?;
        c.d_model = self.d_model.unwrap_or(c.d_model);
        c.n_heads = self.n_heads.unwrap_or(c.n_heads);
        c.ffn_mult = self.ffn_mult.unwrap_or(c.ffn_mult);
        c.norm_first = self.norm_first.unwrap_or(c.norm_first);
        c.layer_norm_eps = self.layer_norm_eps.unwrap_or(c.layer_norm_eps);
        c.max_positions = self.max_positions.unwrap_or(c.max_positions);
        c.layers = self.layers.over(c.layers);
        c.max_dim = max_dim;
        c.vocab_size = vocab_size;
        c.pad_id = pad_id;
        c.text_input = text_input;
        c.validate().map_err(in_network)?;
        Ok(c)
    }

    /// This section with every size written out (from the preset where not given).
    fn resolved(&self) -> crate::Result<ModelSection> {
        let c = self.model(1072, 2, 3, TextInput::Skeleton)?;
        Ok(ModelSection {
            preset: self.preset.clone(),
            d_model: Some(c.d_model),
            n_heads: Some(c.n_heads),
            ffn_mult: Some(c.ffn_mult),
            norm_first: Some(c.norm_first),
            layer_norm_eps: Some(c.layer_norm_eps),
            max_positions: Some(c.max_positions),
            layers: LayerCounts {
                data_encoder: Some(c.layers.data_encoder),
                symbol_encoder: Some(c.layers.symbol_encoder),
                fusion: Some(c.layers.fusion),
                data_decoder: Some(c.layers.data_decoder),
                symbol_decoder: Some(c.layers.symbol_decoder),
            },
        })
    }
}

/// The model's errors name its fields `model.*`; here they live in `[network]`.
fn in_network(e: OperatorError) -> OperatorError {
    match e {
        OperatorError::Invalid { field, value, allowed } => OperatorError::Invalid { field: field.replacen("model.", "network.", 1), value, allowed },
        other => other,
    }
}

/// Which samples of the training file train and validate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSection {
    /// Leading times read as input (the reference's 64 of 192).
    pub input_len: usize,
    /// Training samples (the file's first); default: what validation leaves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_train: Option<usize>,
    /// Validation samples (after the training ones); default: 10 % of the file, at most 512.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_val: Option<usize>,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection { input_len: 64, n_train: None, n_val: None }
    }
}

/// AdamW with the reference's inverse-square-root schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProseOptimizer {
    /// Peak learning rate.
    pub lr: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Adam β₁, β₂.
    pub betas: [f64; 2],
    /// Adam ε.
    pub eps: f64,
    /// Clip the global gradient norm to this (0: no clipping).
    pub grad_clip_norm: f64,
    /// Linear warm-up steps W (default: 10 % of the run's steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_steps: Option<usize>,
}

impl Default for ProseOptimizer {
    fn default() -> Self {
        ProseOptimizer { lr: 1e-4, weight_decay: 1e-4, betas: [0.9, 0.999], eps: 1e-8, grad_clip_norm: 1.0, warmup_steps: None }
    }
}

/// The rate warm-up starts from (the reference's `warmup_init_lr`).
pub const WARMUP_INIT_LR: f64 = 1e-7;

impl ProseOptimizer {
    /// The learning rate of optimiser step `step` (1 for the first): linear from 1e-7 to `lr`
    /// over `W` steps, then `lr·√(W/step)` (the reference's `adam_inverse_sqrt`).
    pub fn lr_at(&self, step: u64) -> f64 {
        let w = self.warmup_steps.unwrap_or(1).max(1) as f64;
        let s = step as f64;
        if s < w {
            WARMUP_INIT_LR + (self.lr - WARMUP_INIT_LR) * s / w
        } else {
            self.lr * (w / s).sqrt()
        }
    }
}

/// Everything a PROSE run needs besides the data file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProseConfig {
    /// Always `prose`.
    pub model: String,
    /// Seed of initialisation, sample order and noise.
    pub seed: u64,
    /// Epochs.
    pub epochs: usize,
    /// Optimiser steps per epoch (0: one pass over the training split; resolved).
    pub steps_per_epoch: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Samples per validation and evaluation batch.
    pub eval_batch_size: usize,
    /// `skeleton` (the multimodal model) or `none` (data only, the reference's `--no_text`).
    pub text_input: TextInput,
    /// Weight of the data loss (default: 6 with text input, 1 without, as the reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_weight: Option<f64>,
    /// Longest decoded equation, in tokens.
    pub max_decode_len: usize,
    /// The network's sizes (the `model` key names the family, as in every run's config, so
    /// the table is `[network]`).
    pub network: ModelSection,
    /// Data split.
    pub data: DataSection,
    /// Training noise.
    pub noise: NoiseConfig,
    /// Optimiser and schedule.
    pub optimizer: ProseOptimizer,
    /// Backend paths (stored with the run).
    pub backend: BackendOptions,
}

impl Default for ProseConfig {
    fn default() -> Self {
        ProseConfig {
            model: MODEL.into(),
            seed: 0,
            epochs: 10,
            steps_per_epoch: 0,
            batch_size: 256,
            eval_batch_size: 256,
            text_input: TextInput::Skeleton,
            data_weight: None,
            max_decode_len: 150,
            network: ModelSection::default(),
            data: DataSection::default(),
            noise: NoiseConfig::default(),
            optimizer: ProseOptimizer::default(),
            backend: BackendOptions::default(),
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

fn probability(field: &str, p: f64) -> crate::Result<()> {
    check((0.0..=1.0).contains(&p), field, p, "must be in [0, 1]")
}

impl ProseConfig {
    /// Parses and validates TOML; unknown keys are errors.
    pub fn from_toml(text: &str) -> crate::Result<Self> {
        let cfg: ProseConfig = toml::from_str(text)
            .map_err(|e| OperatorError::invalid("config", e.message().replace('\n', " "), "must be a valid prose configuration (see `oplab train --help`)"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks every field's range.
    pub fn validate(&self) -> crate::Result<()> {
        check(self.model == MODEL, "model", &self.model, "must be prose in a prose configuration")?;
        check((1..=10_000_000).contains(&self.epochs), "epochs", self.epochs, "must be in [1, 10000000]")?;
        check(self.steps_per_epoch <= 100_000_000, "steps_per_epoch", self.steps_per_epoch, "must be in [0, 100000000] (0: one pass over the training split)")?;
        check((1..=65_536).contains(&self.batch_size), "batch_size", self.batch_size, "must be in [1, 65536]")?;
        check((1..=65_536).contains(&self.eval_batch_size), "eval_batch_size", self.eval_batch_size, "must be in [1, 65536]")?;
        if let Some(w) = self.data_weight {
            check(w.is_finite() && w >= 0.0, "data_weight", w, "must be finite and >= 0")?;
        }
        let net = self.network.model(1072, 2, 3, self.text_input)?;
        check(
            (1..net.max_positions.saturating_sub(1)).contains(&self.max_decode_len),
            "max_decode_len",
            self.max_decode_len,
            &format!("must be in [1, {}] (network.max_positions − 2: <BOS> and <EOS> take a position each)", net.max_positions.saturating_sub(2)),
        )?;
        check(self.data.input_len >= 1, "data.input_len", self.data.input_len, "must be >= 1")?;
        if let Some(n) = self.data.n_train {
            check(n >= 1, "data.n_train", n, "must be >= 1")?;
        }
        if let Some(n) = self.data.n_val {
            check(n >= 1, "data.n_val", n, "must be >= 1: the kept model is chosen on the validation split")?;
        }
        check(self.noise.data.is_finite() && (0.0..=1.0).contains(&self.noise.data), "noise.data", self.noise.data, "must be in [0, 1]")?;
        probability("noise.add_term_prob", self.noise.add_term_prob)?;
        probability("noise.miss_term_prob", self.noise.miss_term_prob)?;
        let both = self.noise.add_term_prob + self.noise.miss_term_prob;
        check(both <= 1.0, "noise.add_term_prob + noise.miss_term_prob", both, "must be <= 1")?;
        let o = &self.optimizer;
        check(o.lr.is_finite() && o.lr > 0.0, "optimizer.lr", o.lr, "must be finite and > 0")?;
        check(o.weight_decay.is_finite() && o.weight_decay >= 0.0, "optimizer.weight_decay", o.weight_decay, "must be finite and >= 0")?;
        for (k, b) in o.betas.iter().enumerate() {
            check((0.0..1.0).contains(b), &format!("optimizer.betas[{k}]"), b, "must be in [0, 1)")?;
        }
        check(o.eps.is_finite() && o.eps > 0.0, "optimizer.eps", o.eps, "must be finite and > 0")?;
        check(
            o.grad_clip_norm.is_finite() && o.grad_clip_norm >= 0.0,
            "optimizer.grad_clip_norm",
            o.grad_clip_norm,
            "must be finite and >= 0 (0: no clipping)",
        )?;
        if let Some(w) = o.warmup_steps {
            check(w >= 1, "optimizer.warmup_steps", w, "must be >= 1")?;
        }
        self.backend.validate()
    }

    /// The data-loss weight: as configured, else the reference's (6 with text input, 1 without).
    pub fn data_weight(&self) -> f64 {
        self.data_weight.unwrap_or(match self.text_input {
            TextInput::Skeleton => 6.0,
            TextInput::None => 1.0,
        })
    }

    /// The split sizes of a resolved configuration.
    pub fn split(&self) -> (usize, usize) {
        (self.data.n_train.unwrap_or(0), self.data.n_val.unwrap_or(0))
    }

    /// Every data-dependent default set for a file of `n` samples, with a line saying which.
    pub fn resolved_for(&self, n: usize, path: &Path) -> crate::Result<(ProseConfig, Vec<String>)> {
        let mut r = self.clone();
        let mut set = Vec::new();
        let n_val = self.data.n_val.unwrap_or_else(|| (n / 10).clamp(1, 512));
        let n_train = self.data.n_train.unwrap_or_else(|| n.saturating_sub(n_val));
        if self.data.n_val.is_none() || self.data.n_train.is_none() {
            set.push(format!("{n_train} training and {n_val} validation samples of {}", path.display()));
        }
        check(n_train >= 1, "data.n_train", n_train, &format!("must be >= 1 ({} holds {n} samples)", path.display()))?;
        check(n_train + n_val <= n, "data.n_train + data.n_val", n_train + n_val, &format!("must be <= {n}, the samples in {}", path.display()))?;
        r.data.n_train = Some(n_train);
        r.data.n_val = Some(n_val);
        if r.steps_per_epoch == 0 {
            r.steps_per_epoch = n_train.div_ceil(r.batch_size);
            set.push(format!("steps_per_epoch = {} (one pass)", r.steps_per_epoch));
        }
        if r.optimizer.warmup_steps.is_none() {
            let w = (r.epochs * r.steps_per_epoch / 10).max(1);
            r.optimizer.warmup_steps = Some(w);
            set.push(format!("optimizer.warmup_steps = {w} (10 % of the steps)"));
        }
        r.data_weight = Some(self.data_weight());
        r.network = self.network.resolved()?;
        let notes = if set.is_empty() { Vec::new() } else { vec![format!("resolved defaults: {}", set.join(", "))] };
        Ok((r, notes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_resolves_and_names_bad_values() {
        let c = ProseConfig::default();
        assert_eq!(ProseConfig::from_toml(&c.to_toml()).unwrap(), c);
        let (r, notes) = c.resolved_for(1000, Path::new("f.h5")).unwrap();
        assert_eq!(r.split(), (900, 100));
        assert_eq!(r.steps_per_epoch, 4);
        assert_eq!(r.optimizer.warmup_steps, Some(4));
        assert_eq!(r.data_weight, Some(6.0));
        assert_eq!(r.network.d_model, Some(128));
        assert_eq!(notes.len(), 1);
        assert_eq!(ProseConfig::from_toml(&r.to_toml()).unwrap(), r, "the resolved form reads back");
        assert_eq!(r.resolved_for(1000, Path::new("f.h5")).unwrap().0, r, "resolving twice changes nothing");
        let err = |t: &str| ProseConfig::from_toml(t).unwrap_err().to_string();
        assert_eq!(err("[network]\nd_model = 30\n"), "network.n_heads = 4 is invalid: must divide d_model = 30");
        assert!(err("bogus = 1\n").contains("bogus"));
        assert!(err("[network.layers]\nfusions = 1\n").contains("fusions"));
        assert!(err("[noise]\nadd_term_prob = 1.5\n").starts_with("noise.add_term_prob = 1.5 is invalid"));
        assert!(err("[optimizer]\nwarmup_steps = 0\n").starts_with("optimizer.warmup_steps = 0 is invalid"));
        assert!(err("text_input = \"words\"\n").contains("words"));
        let none = ProseConfig::from_toml("text_input = \"none\"\n").unwrap();
        assert_eq!(none.data_weight(), 1.0);
        let e = ProseConfig::default().resolved_for(1, Path::new("f.h5")).unwrap_err().to_string();
        assert!(e.starts_with("data.n_train = 0 is invalid"), "{e}");
    }

    #[test]
    fn the_schedule_warms_up_linearly_then_decays_as_inverse_sqrt() {
        let o = ProseOptimizer { warmup_steps: Some(100), ..Default::default() };
        assert!((o.lr_at(0) - 1e-7).abs() < 1e-15);
        assert!((o.lr_at(50) - (1e-7 + (1e-4 - 1e-7) * 0.5)).abs() < 1e-15);
        assert!((o.lr_at(100) - 1e-4).abs() < 1e-15);
        assert!((o.lr_at(400) - 0.5e-4).abs() < 1e-15);
    }
}
