//! PROSE (Liu, Zhang, Schaeffer): one transformer from (the first samples of a trajectory, a
//! guess of its equation) to (the trajectory at later query times, the equation with constants).
//! The shapes, LayerNorm placement, masks and initialisations follow the reference ODE code
//! (`felix-lyx/prose` `prose_ode/`, `symbolicregression/model/transformer.py`).
//!
//! ```text
//! data (t_i, u_i) ─ Linear, GELU, Linear ─ LN ─ L₁ self-attn ─┐              ┌─ data part ── L₄ cross-attn + FFN ← Linear(1→d)(t_q) ─ Linear(d→max_dim)
//!                                                              ├ + type ─ LN ─ L₃ self-attn ┤
//! skeleton ─ embedding + sin positions ─ LN ─ L₂ self-attn ────┘              └─ symbol part ─ L₅ causal self-attn + cross-attn + FFN ← <BOS> tokens ─ tied logits
//! ```
//!
//! - Every stack is the reference's XLM-style layer: `x = LN(x + attn(x))`, (decoders)
//!   `x = LN(x + cross(x))`, `x = LN(x + FFN(x))`, with one LayerNorm on each stack's embedded
//!   input and ε = 1e-12; embeddings are not scaled by √d. `norm_first` switches every sublayer
//!   to `x + f(LN(x))` (PROSE-PDE's order) with the same parameters and no extra final LN.
//! - Masks: key padding on the symbol side (encoder, fusion, the symbol decoder's
//!   cross-attention) and a causal mask in the symbol decoder, whose own padding needs none;
//!   after every layer padded rows are zeroed, as the reference multiplies by its length mask.
//!   The data side has no padding (every sample has all `input_len` points).
//! - Initialisation: PyTorch's `nn.Linear` (U(±1/√fan_in), weight and bias),
//!   `nn.MultiheadAttention` (Xavier-uniform packed input projection, zero biases), the
//!   reference's `Embedding` (N(0, 1/d), zero `<PAD>` row) for tokens and the modality
//!   embedding, LayerNorm 1/0; the sinusoidal table is fixed and not a parameter.
//! - GELU is the exact erf form with its exact gradient on every backend
//!   (`layers::add_gelu`, bias add fused in).
//!
//! **`text_input = none`** mirrors the reference's `--no_text`: `build_modules` then creates no
//! text encoder, no fusion and no text decoder, and `enc_dec_step` feeds the data encoder's
//! output straight to the data decoder (`fused_features_data = data_input_encoded`) and trains
//! on `loss = data_loss` alone (weight 1, not 6). Here: [`Fused::symbols`] is none,
//! [`Prose::symbol_logits`] and [`Prose::greedy_decode`] return none, and [`prose_loss`] takes
//! `logits = None` (pass `data_weight = 1.0` to match the reference).
//!
//! Parameter counts (vocabulary 1072, three components), as the reference counts them
//! (trained parameters; the tied output weight once): tiny 139,251, small 2,013,619,
//! medium 14,312,243, paper 104,357,427.

pub mod attention;
pub mod config;
pub mod data;
pub mod decode;
pub mod eval;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod rows;
pub mod run;
pub mod run_config;
pub mod state;
pub mod train;

pub use config::{ProseLayers, ProseModelConfig, TextInput};
pub use loss::{prose_loss, ProseLoss};
pub use model::{Fused, Prose, ProseInput};
pub use run::ProseRuns;
pub use run_config::ProseConfig;

#[cfg(test)]
mod tests;
