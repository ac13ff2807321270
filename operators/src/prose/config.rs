//! The PROSE model's configuration: sizes, presets and their validation. It is data only;
//! the model builds from it (`ProseModelConfig::init`, beside the model in `model.rs`).

use serde::{Deserialize, Serialize};

use crate::{OperatorError, Result};

/// Layer counts of the five transformer stacks (the reference's `n_data_enc_layers`,
/// `n_text_enc_layers`, `n_fusion_layers`, `n_data_dec_layers`, `n_text_dec_layers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProseLayers {
    /// Self-attention layers over the embedded data samples (L₁).
    pub data_encoder: usize,
    /// Self-attention layers over the skeleton tokens (L₂).
    pub symbol_encoder: usize,
    /// Full self-attention layers over `[data; symbols]` (L₃).
    pub fusion: usize,
    /// Cross-attention layers from the query times to the data part of the fused sequence (L₄).
    pub data_decoder: usize,
    /// Causal layers with cross-attention to the symbol part of the fused sequence (L₅).
    pub symbol_decoder: usize,
}

/// What the symbol encoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextInput {
    /// The (noisy) equation skeleton: the multimodal model.
    #[default]
    Skeleton,
    /// No symbolic input at all, the reference's `--no_text`: no symbol encoder, no fusion and no
    /// symbol decoder; the data decoder attends to the data encoder's output (see the module docs).
    None,
}

/// Sizes of a PROSE model (the reference's `parsers.py` names in the field docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProseModelConfig {
    /// `tiny`, `small`, `medium`, `paper` or `custom`; informational only.
    pub preset: String,
    /// Width of every stack (`*_emb_dim`, 512 in the paper).
    pub d_model: usize,
    /// Attention heads of every stack.
    pub n_heads: usize,
    /// Layers per stack.
    pub layers: ProseLayers,
    /// FFN hidden width as a multiple of `d_model` (4 in the reference).
    pub ffn_mult: usize,
    /// Pre-LN layers (`x + f(LN(x))`) instead of the reference's post-LN (`LN(x + f(x))`).
    pub norm_first: bool,
    /// ε of every LayerNorm (1e-12 in the reference, burn's default is 1e-5).
    pub layer_norm_eps: f64,
    /// Largest number of state components; a data token is `(t, u_0 .. u_{max_dim-1})`.
    pub max_dim: usize,
    /// Words in the vocabulary (1072 for `chaotic_ode_3d`).
    pub vocab_size: usize,
    /// Index of `<PAD>` (its embedding rows start at zero).
    pub pad_id: usize,
    /// Rows of the sinusoidal position table (the reference's `N_MAX_POSITIONS`).
    pub max_positions: usize,
    /// Skeleton input, or none (ablation).
    #[serde(default)]
    pub text_input: TextInput,
}

/// Names of the presets, for messages.
pub const PRESETS: &str = "tiny, small, medium, paper";

impl ProseModelConfig {
    /// A preset (`tiny` 32-wide for tests, `small` for two CPU cores, `medium` for a GPU run,
    /// `paper` the reference's defaults) for a vocabulary of `vocab_size` words with `<PAD>` at
    /// `pad_id`, three state components.
    pub fn preset(name: &str, vocab_size: usize, pad_id: usize) -> Result<Self> {
        let (d_model, n_heads, [l1, l2, l3, l4, l5]) = match name {
            "tiny" => (32, 4, [1, 1, 1, 1, 1]),
            "small" => (128, 4, [1, 1, 2, 2, 2]),
            "medium" => (256, 8, [2, 2, 4, 4, 4]),
            "paper" => (512, 8, [2, 4, 8, 8, 8]),
            _ => return Err(OperatorError::invalid("model.preset", name, format!("must be one of: {PRESETS}"))),
        };
        let config = ProseModelConfig {
            preset: name.to_string(),
            d_model,
            n_heads,
            layers: ProseLayers { data_encoder: l1, symbol_encoder: l2, fusion: l3, data_decoder: l4, symbol_decoder: l5 },
            ffn_mult: 4,
            norm_first: false,
            layer_norm_eps: 1e-12,
            max_dim: 3,
            vocab_size,
            pad_id,
            max_positions: 512,
            text_input: TextInput::Skeleton,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks every size; the error names the field, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        let at_least = |field: &str, value: usize, min: usize| {
            if value >= min {
                Ok(())
            } else {
                Err(OperatorError::invalid(format!("model.{field}"), value, format!("must be >= {min}")))
            }
        };
        at_least("d_model", self.d_model, 1)?;
        at_least("n_heads", self.n_heads, 1)?;
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(OperatorError::invalid("model.n_heads", self.n_heads, format!("must divide d_model = {}", self.d_model)));
        }
        at_least("ffn_mult", self.ffn_mult, 1)?;
        // The encoders may be empty (ablations); each decoder needs one layer to see its source.
        at_least("layers.data_decoder", self.layers.data_decoder, 1)?;
        at_least("layers.symbol_decoder", self.layers.symbol_decoder, 1)?;
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(OperatorError::invalid("model.layer_norm_eps", self.layer_norm_eps, "must be a positive finite number"));
        }
        at_least("max_dim", self.max_dim, 1)?;
        at_least("vocab_size", self.vocab_size, 2)?;
        if self.pad_id >= self.vocab_size {
            return Err(OperatorError::invalid("model.pad_id", self.pad_id, format!("must be < vocab_size = {}", self.vocab_size)));
        }
        at_least("max_positions", self.max_positions, 1)
    }

    /// FFN hidden width.
    pub fn d_ffn(&self) -> usize {
        self.ffn_mult * self.d_model
    }

    /// Whether the model has the symbolic path (symbol encoder, fusion, symbol decoder).
    pub fn has_text(&self) -> bool {
        self.text_input == TextInput::Skeleton
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_issue_sizes() {
        let p = ProseModelConfig::preset("paper", 1072, 2).unwrap();
        assert_eq!((p.d_model, p.n_heads, p.d_ffn()), (512, 8, 2048));
        assert_eq!(p.layers, ProseLayers { data_encoder: 2, symbol_encoder: 4, fusion: 8, data_decoder: 8, symbol_decoder: 8 });
        let t = ProseModelConfig::preset("tiny", 1072, 2).unwrap();
        assert_eq!((t.d_model, t.n_heads, t.layer_norm_eps, t.norm_first), (32, 4, 1e-12, false));
    }

    #[test]
    fn bad_sizes_name_field_value_and_range() {
        let err = ProseModelConfig::preset("huge", 1072, 2).unwrap_err().to_string();
        assert_eq!(err, "model.preset = huge is invalid: must be one of: tiny, small, medium, paper");
        let mut c = ProseModelConfig::preset("small", 1072, 2).unwrap();
        c.n_heads = 3;
        assert_eq!(c.validate().unwrap_err().to_string(), "model.n_heads = 3 is invalid: must divide d_model = 128");
        c.n_heads = 4;
        c.pad_id = 1072;
        assert_eq!(c.validate().unwrap_err().to_string(), "model.pad_id = 1072 is invalid: must be < vocab_size = 1072");
        c.pad_id = 2;
        c.layer_norm_eps = 0.0;
        assert!(c.validate().unwrap_err().to_string().starts_with("model.layer_norm_eps = 0 is invalid"));
    }

    #[test]
    fn config_round_trips_through_toml() {
        let mut c = ProseModelConfig::preset("medium", 1072, 2).unwrap();
        c.text_input = TextInput::None;
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("text_input = \"none\""), "{text}");
        assert_eq!(toml::from_str::<ProseModelConfig>(&text).unwrap(), c);
    }
}
