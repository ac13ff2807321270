//! The building blocks of PROSE's five stacks: the FFN with the exact GELU, one transformer layer
//! (self-attention, cross-attention or both, then the FFN, each with its LayerNorm), the token
//! embedding and the fixed sinusoidal position table.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};

use super::attention::{AttentionMask, MultiHeadAttention};
use super::rows::rows;
use crate::backend::ActivationBackend;
use crate::layers::add_gelu;

/// `gelu(x W + b)` on the rows of `x` (see [`rows`]).
pub fn linear_gelu<B: ActivationBackend>(linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    rows(x, |x| linear_gelu_rows(linear, x))
}

/// `gelu(x W + b)` of rows `x` (`[n, d_in]`): the bias add and the erf GELU in one operation with
/// the exact gradient (`layers::add_gelu`; burn's own `gelu` differentiates the tanh
/// approximation on its GPU backends). The bias is broadcast to the product's shape because
/// `add_gelu` takes two tensors of one shape.
fn linear_gelu_rows<B: ActivationBackend>(linear: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    let product = x.matmul(linear.weight.val());
    match &linear.bias {
        Some(bias) => {
            let shape = product.dims();
            add_gelu(product, bias.val().unsqueeze::<2>().expand(shape))
        }
        None => add_gelu(product.clone(), product.zeros_like()),
    }
}

/// A LayerNorm with the configured ε (burn's default is 1e-5, the reference's 1e-12).
pub fn layer_norm<B: Backend>(d_model: usize, eps: f64, device: &B::Device) -> LayerNorm<B> {
    LayerNormConfig::new(d_model).with_epsilon(eps).init(device)
}

/// The position-wise FFN: Linear(d→h), GELU, Linear(h→d), PyTorch's `nn.Linear` initialisation
/// (burn's default `LinearConfig` draws the same U(±1/√fan_in) for weight and bias).
#[derive(Module, Debug)]
pub struct FeedForward<B: Backend> {
    /// d → h.
    pub lin1: Linear<B>,
    /// h → d.
    pub lin2: Linear<B>,
}

impl<B: Backend> FeedForward<B> {
    /// A `d_model → d_hidden → d_model` FFN.
    pub fn new(d_model: usize, d_hidden: usize, device: &B::Device) -> Self {
        FeedForward { lin1: LinearConfig::new(d_model, d_hidden).init(device), lin2: LinearConfig::new(d_hidden, d_model).init(device) }
    }
}

impl<B: ActivationBackend> FeedForward<B> {
    /// `lin2(gelu(lin1(x)))` on rows `x` (`[n, d]`).
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.lin2.forward(linear_gelu_rows(&self.lin1, x))
    }
}

/// Which attention sublayers a layer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// Self-attention + FFN (encoders, fusion).
    Encoder,
    /// Cross-attention + FFN, no self-attention among the queries (the data decoder, the
    /// reference's `data_decoder_attn=False`).
    CrossOnly,
    /// Causal self-attention + cross-attention + FFN (the symbol decoder).
    Decoder,
}

/// One transformer layer as the reference's XLM-style stacks: post-LN by default
/// (`x = LN(x + sublayer(x))` after each sublayer), pre-LN (`x = x + sublayer(LN(x))`) with
/// `norm_first`; dropout 0 throughout.
#[derive(Module, Debug)]
pub struct TransformerLayer<B: Backend> {
    /// Self-attention (none in the data decoder).
    pub self_attn: Option<MultiHeadAttention<B>>,
    /// Its LayerNorm (`layer_norm1`).
    pub norm_self: Option<LayerNorm<B>>,
    /// Cross-attention to the encoder's memory (decoders only).
    pub cross_attn: Option<MultiHeadAttention<B>>,
    /// Its LayerNorm (`layer_norm15`; the data decoder's only attention uses `layer_norm1` in
    /// the reference, which is the same parameter count).
    pub norm_cross: Option<LayerNorm<B>>,
    /// The FFN.
    pub ffn: FeedForward<B>,
    /// Its LayerNorm (`layer_norm2`).
    pub norm_ffn: LayerNorm<B>,
    norm_first: bool,
}

impl<B: Backend> TransformerLayer<B> {
    /// A layer of `kind`.
    pub fn new(kind: LayerKind, d_model: usize, n_heads: usize, d_ffn: usize, eps: f64, norm_first: bool, device: &B::Device) -> Self {
        let has_self = kind != LayerKind::CrossOnly;
        let has_cross = kind != LayerKind::Encoder;
        let attention = |on: bool| on.then(|| MultiHeadAttention::new(d_model, n_heads, device));
        let norm = |on: bool| on.then(|| layer_norm(d_model, eps, device));
        TransformerLayer {
            self_attn: attention(has_self),
            norm_self: norm(has_self),
            cross_attn: attention(has_cross),
            norm_cross: norm(has_cross),
            ffn: FeedForward::new(d_model, d_ffn, device),
            norm_ffn: layer_norm(d_model, eps, device),
            norm_first,
        }
    }
}

impl<B: ActivationBackend> TransformerLayer<B> {
    /// The layer on `x` (`[batch, len, d]`): self-attention under `self_mask`, cross-attention to
    /// `memory` under its mask, the FFN; then rows where `keep` (`[batch, len, 1]`, 1/0) is 0 are
    /// zeroed, as the reference does after every layer so padding carries no values.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        self_mask: &AttentionMask<B>,
        memory: Option<(&Tensor<B, 3>, &AttentionMask<B>)>,
        keep: Option<&Tensor<B, 3>>,
    ) -> Tensor<B, 3> {
        // The residual stream as rows (see `rows`); attention sees the batch shape.
        let [batch, len, d] = x.dims();
        let seq = |h: Tensor<B, 2>| h.reshape([batch, len, d]);
        let flat = |h: Tensor<B, 3>| h.reshape([batch * len, d]);
        let mut x = flat(x);
        if let (Some(attn), Some(norm)) = (&self.self_attn, &self.norm_self) {
            x = self.residual(x, norm, |h| flat(attn.self_attention(seq(h), self_mask)));
        }
        if let (Some(attn), Some(norm), Some((memory, mask))) = (&self.cross_attn, &self.norm_cross, memory) {
            x = self.residual(x, norm, |h| flat(attn.cross_attention(seq(h), memory.clone(), mask)));
        }
        x = self.residual(x, &self.norm_ffn, |h| self.ffn.forward(h));
        seq(match keep {
            Some(keep) => x * keep.clone().reshape([batch * len, 1]),
            None => x,
        })
    }

    /// `LN(x + f(x))` (post-LN) or `x + f(LN(x))` (pre-LN), on rows.
    fn residual(&self, x: Tensor<B, 2>, norm: &LayerNorm<B>, f: impl FnOnce(Tensor<B, 2>) -> Tensor<B, 2>) -> Tensor<B, 2> {
        if self.norm_first {
            x.clone() + f(norm.forward(x))
        } else {
            norm.forward(x.clone() + f(x))
        }
    }
}

/// A token embedding as the reference's `Embedding`: N(0, 1/d) entries (not PyTorch's N(0, 1))
/// and a zero `<PAD>` row.
pub fn token_embedding<B: Backend>(vocab: usize, d_model: usize, pad_id: usize, device: &B::Device) -> Param<Tensor<B, 2>> {
    let std = (d_model as f64).powf(-0.5);
    let weight = Tensor::<B, 2>::random([vocab, d_model], Distribution::Normal(0.0, std), device);
    // `detach`: the parameter must be a leaf of the autodiff graph, not the result of an edit.
    Param::from_tensor(weight.slice_assign([pad_id..pad_id + 1, 0..d_model], Tensor::zeros([1, d_model], device)).detach())
}

/// Rows of `weight` (`[vocab, d]`) for `ids` (`[batch, len]`): `[batch, len, d]`.
pub fn embed<B: Backend>(weight: &Param<Tensor<B, 2>>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
    burn::tensor::module::embedding(weight.val(), ids)
}

/// The fixed sinusoidal table `[n_pos, d]` of the reference (XLM): entry (p, j) is
/// sin(p / 10000^(2⌊j/2⌋/d)) for even j, cos of the same angle for odd j. Not trained.
pub fn sinusoidal_table<B: Backend>(n_pos: usize, d_model: usize, device: &B::Device) -> Tensor<B, 2> {
    let values: Vec<f32> = (0..n_pos)
        .flat_map(|p| {
            (0..d_model).map(move |j| {
                let angle = p as f64 / 10000f64.powf((2 * (j / 2)) as f64 / d_model as f64);
                (if j % 2 == 0 { angle.sin() } else { angle.cos() }) as f32
            })
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [n_pos, d_model]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::activation::gelu;

    #[test]
    fn linear_gelu_is_gelu_of_the_linear() {
        let device = Default::default();
        let lin = LinearConfig::new(5, 7).init::<Cpu>(&device);
        let x = Tensor::<Cpu, 3>::random([2, 3, 5], Distribution::Normal(0.0, 1.0), &device);
        let want = gelu(lin.forward(x.clone()));
        linear_gelu(&lin, x).into_data().assert_approx_eq::<f32>(&want.into_data(), burn::tensor::Tolerance::absolute(1e-6));
    }

    #[test]
    fn sinusoidal_table_matches_the_formula() {
        let t: Vec<f32> = sinusoidal_table::<Cpu>(3, 4, &Default::default()).into_data().to_vec().unwrap();
        // Position 2: angles 2, 2, 2/100, 2/100.
        let want = [2f64.sin(), 2f64.cos(), 0.02f64.sin(), 0.02f64.cos()];
        for (g, w) in t[8..12].iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6);
        }
        assert_eq!(&t[0..4], &[0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn token_embedding_has_a_zero_pad_row_and_scaled_entries() {
        let w: Vec<f32> = token_embedding::<Cpu>(200, 64, 7, &Default::default()).val().into_data().to_vec().unwrap();
        assert!(w[7 * 64..8 * 64].iter().all(|v| *v == 0.0));
        let var = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / (199.0 * 64.0);
        assert!((var - 1.0 / 64.0).abs() < 0.15 / 64.0, "variance {var}");
    }
}
