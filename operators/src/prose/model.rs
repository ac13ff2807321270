//! The PROSE network: data encoder, symbol encoder, fusion, data decoder and symbol decoder, with
//! the reference's shapes, LayerNorm placement, masks and initialisations (see the module docs of
//! `prose` for the walk-through and the ablation).

use burn::module::{Initializer, Module, Param};
use burn::nn::{LayerNorm, Linear, LinearConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

use super::attention::AttentionMask;
use super::config::ProseModelConfig;
use super::layers::{embed, layer_norm, linear_gelu, sinusoidal_table, token_embedding, LayerKind, TransformerLayer};
use super::rows::{linear_rows, norm_rows, rows};
use crate::backend::ActivationBackend;

/// One batch of model inputs.
#[derive(Debug, Clone)]
pub struct ProseInput<B: Backend> {
    /// `[batch, input_len, 1 + max_dim]`: `(t_i, u_i)`, the state zero-padded to `max_dim`.
    pub data: Tensor<B, 3>,
    /// `[batch, l_sym]` skeleton token ids (no `<BOS>`/`<EOS>`), right-padded with `pad_id`
    /// (unused with `text_input = none`).
    pub symbols: Tensor<B, 2, Int>,
    /// `[batch, l_sym]`, true at padding.
    pub symbol_pad: Tensor<B, 2, Bool>,
    /// `[batch, n_query]` times at which the data decoder predicts the state.
    pub query_times: Tensor<B, 2>,
}

/// The encoder side's output: the fused sequence split into its data part (what the data
/// decoder attends to) and its symbol part (what the symbol decoder attends to).
#[derive(Debug, Clone)]
pub struct Fused<B: Backend> {
    /// `[batch, input_len, d]`: the data part of the fusion output, or the data encoder's output
    /// with `text_input = none`.
    pub data: Tensor<B, 3>,
    /// `[batch, l_sym, d]`: the symbol part of the fusion output (none without text input).
    pub symbols: Option<Tensor<B, 3>>,
    /// `[batch, l_sym]`, true at padding (none without text input).
    pub symbol_pad: Option<Tensor<B, 2, Bool>>,
}

/// Embedder and data encoder: `Linear(1+max_dim → d), GELU, Linear(d → d)` per sample, the
/// embedding LayerNorm, then self-attention layers without positions (time enters through t).
#[derive(Module, Debug)]
pub struct DataEncoder<B: Backend> {
    /// First embedder layer (1 + max_dim → d).
    pub embed_in: Linear<B>,
    /// Second embedder layer (d → d).
    pub embed_out: Linear<B>,
    /// LayerNorm of the embedded samples (`layer_norm_emb`).
    pub norm_emb: LayerNorm<B>,
    /// L₁ self-attention layers.
    pub layers: Vec<TransformerLayer<B>>,
}

/// Symbol encoder: token embedding + sinusoidal positions, LayerNorm, L₂ self-attention layers
/// with the key-padding mask.
#[derive(Module, Debug)]
pub struct SymbolEncoder<B: Backend> {
    /// `[vocab, d]`, N(0, 1/d), zero `<PAD>` row.
    pub embedding: Param<Tensor<B, 2>>,
    /// LayerNorm of token + position embeddings.
    pub norm_emb: LayerNorm<B>,
    /// L₂ layers.
    pub layers: Vec<TransformerLayer<B>>,
}

/// Fusion: `[data; symbols]` plus a learned modality embedding, LayerNorm, L₃ layers of full
/// self-attention under the symbols' padding mask.
#[derive(Module, Debug)]
pub struct Fusion<B: Backend> {
    /// `[2, d]`: row 0 added to the data part, row 1 to the symbol part (N(0, 1/d)).
    pub type_embedding: Param<Tensor<B, 2>>,
    /// LayerNorm of the concatenation.
    pub norm_emb: LayerNorm<B>,
    /// L₃ layers.
    pub layers: Vec<TransformerLayer<B>>,
}

/// Data decoder: query embedding `Linear(1 → d)(t)`, LayerNorm, L₄ layers of cross-attention to
/// the data part + FFN (no self-attention among queries, no positions), `Linear(d → max_dim)`.
#[derive(Module, Debug)]
pub struct DataDecoder<B: Backend> {
    /// Query-time embedding (1 → d).
    pub query: Linear<B>,
    /// LayerNorm of the query embeddings.
    pub norm_emb: LayerNorm<B>,
    /// L₄ cross-attention layers.
    pub layers: Vec<TransformerLayer<B>>,
    /// Output projection (d → max_dim).
    pub proj: Linear<B>,
}

/// Symbol decoder: its own token embedding + positions, LayerNorm, L₅ causal layers with
/// cross-attention to the symbol part; logits through the transposed embedding (tied, as the
/// reference's `text_share_inout_emb`) plus an own bias.
#[derive(Module, Debug)]
pub struct SymbolDecoder<B: Backend> {
    /// `[vocab, d]`, input embedding and output weight.
    pub embedding: Param<Tensor<B, 2>>,
    /// LayerNorm of token + position embeddings.
    pub norm_emb: LayerNorm<B>,
    /// L₅ decoder layers.
    pub layers: Vec<TransformerLayer<B>>,
    /// `[vocab]` output bias (`nn.Linear(d, vocab)`'s, U(±1/√d)).
    pub out_bias: Param<Tensor<B, 1>>,
}

impl ProseModelConfig {
    /// The model with PyTorch's initialisations, on `device`. Call
    /// [`validate`](Self::validate) first: sizes it rejects make the layers panic.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Prose<B> {
        Prose::new(self, device)
    }
}

/// The PROSE model.
#[derive(Module, Debug)]
pub struct Prose<B: Backend> {
    /// Embedder and data encoder.
    pub data_encoder: DataEncoder<B>,
    /// Symbol encoder (none with `text_input = none`).
    pub symbol_encoder: Option<SymbolEncoder<B>>,
    /// Fusion (none with `text_input = none`).
    pub fusion: Option<Fusion<B>>,
    /// Data decoder.
    pub data_decoder: DataDecoder<B>,
    /// Symbol decoder (none with `text_input = none`).
    pub symbol_decoder: Option<SymbolDecoder<B>>,
    /// `[max_positions, d]` sinusoidal table shared by both symbol stacks: a constant, neither
    /// trained, counted nor saved (the reference freezes it and rebuilds it at load).
    positions: Tensor<B, 2>,
    #[module(skip)]
    config: ProseModelConfig,
}

impl<B: Backend> Prose<B> {
    /// The model of a validated `config`.
    pub fn new(config: &ProseModelConfig, device: &B::Device) -> Self {
        let c = config;
        let (d, eps) = (c.d_model, c.layer_norm_eps);
        let stack =
            |kind: LayerKind, n: usize| (0..n).map(|_| TransformerLayer::new(kind, d, c.n_heads, c.d_ffn(), eps, c.norm_first, device)).collect::<Vec<_>>();
        let data_encoder = DataEncoder {
            embed_in: LinearConfig::new(1 + c.max_dim, d).init(device),
            embed_out: LinearConfig::new(d, d).init(device),
            norm_emb: layer_norm(d, eps, device),
            layers: stack(LayerKind::Encoder, c.layers.data_encoder),
        };
        let text = c.has_text();
        let symbol_encoder = text.then(|| SymbolEncoder {
            embedding: token_embedding(c.vocab_size, d, c.pad_id, device),
            norm_emb: layer_norm(d, eps, device),
            layers: stack(LayerKind::Encoder, c.layers.symbol_encoder),
        });
        let fusion = text.then(|| Fusion {
            type_embedding: Initializer::Normal { mean: 0.0, std: (d as f64).powf(-0.5) }.init_with([2, d], None, None, device),
            norm_emb: layer_norm(d, eps, device),
            layers: stack(LayerKind::Encoder, c.layers.fusion),
        });
        let data_decoder = DataDecoder {
            query: LinearConfig::new(1, d).init(device),
            norm_emb: layer_norm(d, eps, device),
            layers: stack(LayerKind::CrossOnly, c.layers.data_decoder),
            proj: LinearConfig::new(d, c.max_dim).init(device),
        };
        let symbol_decoder = text.then(|| {
            let bound = 1.0 / (d as f64).sqrt();
            SymbolDecoder {
                embedding: token_embedding(c.vocab_size, d, c.pad_id, device),
                norm_emb: layer_norm(d, eps, device),
                layers: stack(LayerKind::Decoder, c.layers.symbol_decoder),
                out_bias: Initializer::Uniform { min: -bound, max: bound }.init_with([c.vocab_size], None, None, device),
            }
        });
        Prose { data_encoder, symbol_encoder, fusion, data_decoder, symbol_decoder, positions: sinusoidal_table(c.max_positions, d, device), config: c.clone() }
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &ProseModelConfig {
        &self.config
    }

    /// Trained parameters (the tied symbol embedding once, the position table not at all, as
    /// the reference counts `requires_grad` parameters).
    pub fn num_params(&self) -> usize {
        Module::num_params(self)
    }

    /// Whether the model has a symbol decoder (false with `text_input = none`).
    pub fn has_symbol_decoder(&self) -> bool {
        self.symbol_decoder.is_some()
    }

    /// Positions `0..len` of the sinusoidal table, `[1, len, d]`.
    fn positions(&self, len: usize) -> Tensor<B, 3> {
        self.positions.clone().narrow(0, 0, len).unsqueeze()
    }
}

/// `[batch, len, 1]`: 1 at real tokens, 0 at padding.
fn keep_rows<B: Backend>(pad: &Tensor<B, 2, Bool>) -> Tensor<B, 3> {
    pad.clone().bool_not().float().unsqueeze_dim(2)
}

/// Runs a stack of layers.
fn run_stack<B: ActivationBackend>(
    layers: &[TransformerLayer<B>],
    x: Tensor<B, 3>,
    mask: &AttentionMask<B>,
    memory: Option<(&Tensor<B, 3>, &AttentionMask<B>)>,
    keep: Option<&Tensor<B, 3>>,
) -> Tensor<B, 3> {
    layers.iter().fold(x, |x, layer| layer.forward(x, mask, memory, keep))
}

impl<B: ActivationBackend> Prose<B> {
    /// The encoder side, run once per batch (and once per greedy decoding).
    pub fn encode(&self, input: &ProseInput<B>) -> Fused<B> {
        let enc = &self.data_encoder;
        let x = linear_rows(&enc.embed_out, linear_gelu(&enc.embed_in, input.data.clone()));
        // Every trajectory has all input_len samples, so the data side needs no mask.
        let data = run_stack(&enc.layers, norm_rows(&enc.norm_emb, x), &AttentionMask::None, None, None);
        let (Some(symbol_encoder), Some(fusion)) = (&self.symbol_encoder, &self.fusion) else {
            return Fused { data, symbols: None, symbol_pad: None };
        };

        let [batch, l_sym] = input.symbols.dims();
        let keep = keep_rows(&input.symbol_pad);
        let s = embed(&symbol_encoder.embedding, input.symbols.clone()) + self.positions(l_sym);
        let s = norm_rows(&symbol_encoder.norm_emb, s) * keep.clone();
        let pad_mask = AttentionMask::key_padding(&input.symbol_pad);
        let symbols = run_stack(&symbol_encoder.layers, s, &pad_mask, None, Some(&keep));

        let n_data = data.dims()[1];
        let types = fusion.type_embedding.val();
        let data_type = types.clone().narrow(0, 0, 1).unsqueeze::<3>();
        let symbol_type = types.narrow(0, 1, 1).unsqueeze::<3>();
        let x = Tensor::cat(vec![data + data_type, symbols + symbol_type], 1);
        let device = x.device();
        // The data part is never padding.
        let data_pad = Tensor::<B, 2, Int>::zeros([batch, n_data], &device).equal_elem(1);
        let fused_pad = Tensor::cat(vec![data_pad, input.symbol_pad.clone()], 1);
        let fused_keep = keep_rows(&fused_pad);
        let x = norm_rows(&fusion.norm_emb, x) * fused_keep.clone();
        let x = run_stack(&fusion.layers, x, &AttentionMask::key_padding(&fused_pad), None, Some(&fused_keep));
        Fused { data: x.clone().narrow(1, 0, n_data), symbols: Some(x.narrow(1, n_data, l_sym)), symbol_pad: Some(input.symbol_pad.clone()) }
    }

    /// The state at `query_times` (`[batch, n_query]`): `[batch, n_query, max_dim]`.
    pub fn predict_data(&self, fused: &Fused<B>, query_times: Tensor<B, 2>) -> Tensor<B, 3> {
        let dec = &self.data_decoder;
        let q = norm_rows(&dec.norm_emb, linear_rows(&dec.query, query_times.unsqueeze_dim::<3>(2)));
        let x = run_stack(&dec.layers, q, &AttentionMask::None, Some((&fused.data, &AttentionMask::None)), None);
        linear_rows(&dec.proj, x)
    }

    /// Teacher forcing: `decoder_in` = `<BOS> tokens <EOS> <PAD>…` (`[batch, l_dec]`), logits
    /// `[batch, l_dec, vocab]` where `logits[:, i]` predicts `decoder_in[:, i + 1]`. None without
    /// a symbol decoder (`text_input = none`).
    pub fn symbol_logits(&self, fused: &Fused<B>, decoder_in: Tensor<B, 2, Int>, decoder_pad: Tensor<B, 2, Bool>) -> Option<Tensor<B, 3>> {
        let h = self.symbol_hidden(fused, decoder_in, decoder_pad)?;
        self.project_symbols(h)
    }

    /// Data prediction at `input.query_times` and teacher-forced logits (none without text).
    pub fn forward(&self, input: &ProseInput<B>, decoder_in: Tensor<B, 2, Int>, decoder_pad: Tensor<B, 2, Bool>) -> (Tensor<B, 3>, Option<Tensor<B, 3>>) {
        let fused = self.encode(input);
        let data = self.predict_data(&fused, input.query_times.clone());
        (data, self.symbol_logits(&fused, decoder_in, decoder_pad))
    }

    /// The symbol decoder's last hidden states `[batch, l_dec, d]`.
    pub(super) fn symbol_hidden(&self, fused: &Fused<B>, decoder_in: Tensor<B, 2, Int>, decoder_pad: Tensor<B, 2, Bool>) -> Option<Tensor<B, 3>> {
        let dec = self.symbol_decoder.as_ref()?;
        let (memory, memory_pad) = (fused.symbols.as_ref()?, fused.symbol_pad.as_ref()?);
        let l_dec = decoder_in.dims()[1];
        let keep = keep_rows(&decoder_pad);
        let x = norm_rows(&dec.norm_emb, embed(&dec.embedding, decoder_in) + self.positions(l_dec)) * keep.clone();
        let memory_mask = AttentionMask::key_padding(memory_pad);
        let causal = AttentionMask::causal(l_dec, &x.device());
        Some(run_stack(&dec.layers, x, &causal, Some((memory, &memory_mask)), Some(&keep)))
    }

    /// Logits of hidden states `[batch, len, d]` through the tied embedding.
    pub(super) fn project_symbols(&self, h: Tensor<B, 3>) -> Option<Tensor<B, 3>> {
        let dec = self.symbol_decoder.as_ref()?;
        Some(rows(h, |h| h.matmul(dec.embedding.val().transpose()) + dec.out_bias.val().unsqueeze()))
    }
}
