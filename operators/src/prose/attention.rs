//! Multi-head attention as PyTorch's `nn.MultiheadAttention` computes it (the reference runs with
//! `use_library_attention=True`): packed input projection, scaled dot products, a key-padding or
//! causal mask, softmax, output projection; no dropout (the reference trains with 0).
//!
//! burn's `nn::attention::MultiHeadAttention` does not fit: it initialises its projections with
//! burn's defaults rather than PyTorch's (Xavier-uniform packed input projection, zero biases),
//! its masked scores are filled with a large finite value it chooses, and it has dropout to
//! switch off. Cross-attention to a *part* of a sequence (the data or symbol half of the fused
//! features) only needs the caller to slice the memory, which works with either.

use burn::module::{Initializer, Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};

use super::rows::{linear_rows, rows};

/// The score of a masked key. Finite rather than −∞: a row whose keys are all masked (never the
/// case for real inputs) then gives a uniform average instead of NaN, and exp(−1e9 − max) is
/// exactly 0 in f32, so a masked key contributes exactly nothing.
const MASKED: f32 = -1.0e9;

/// Which keys a query may see, built once per forward pass and shared by the layers of a stack.
///
/// The masked scores are *replaced* by −1e9 (`mask_fill`) rather than offset by an added
/// bias: both give masked keys a weight of exactly 0 and leave the visible scores untouched, but
/// the fill needs no broadcast addition over `[batch, heads, len_q, len_k]`, which burn's CPU
/// backend runs through its slow per-element index walk.
#[derive(Debug, Clone)]
pub enum AttentionMask<B: Backend> {
    /// Every key.
    None,
    /// `[batch or 1, 1, len_q or 1, len_k]`, true at hidden keys, broadcast over heads (and
    /// queries).
    Hide(Tensor<B, 4, Bool>),
}

impl<B: Backend> AttentionMask<B> {
    /// Keys marked `true` in `pad` (`[batch, len_k]`) are padding.
    pub fn key_padding(pad: &Tensor<B, 2, Bool>) -> Self {
        let [batch, len_k] = pad.dims();
        AttentionMask::Hide(pad.clone().reshape([batch, 1, 1, len_k]))
    }

    /// Query `i` sees keys `0..=i` (the decoder's padding needs no mask of its own: it comes
    /// after every real token, so causality already hides it from them).
    pub fn causal(len: usize, device: &B::Device) -> Self {
        AttentionMask::Hide(causal_hidden::<B>(len, len, device).unsqueeze())
    }
}

/// Multi-head attention of `d_model` wide queries over `d_model` wide keys and values.
#[derive(Module, Debug)]
pub struct MultiHeadAttention<B: Backend> {
    /// `[d_model, 3·d_model]`: the query, key and value projections side by side, as PyTorch
    /// packs them (`in_proj_weight`, transposed to burn's row layout).
    pub in_proj: Param<Tensor<B, 2>>,
    /// `[3·d_model]`, zero at initialisation as PyTorch's `in_proj_bias`.
    pub in_bias: Param<Tensor<B, 1>>,
    /// Output projection (`out_proj`).
    pub out: Linear<B>,
    n_heads: usize,
}

impl<B: Backend> MultiHeadAttention<B> {
    /// PyTorch's initialisation: `xavier_uniform_` over the packed `[3d, d]` input projection
    /// (bound √(6 / 4d)), zero input bias, `nn.Linear`'s default weight for the output
    /// projection (U(±1/√d), which burn's default reproduces) and a zero output bias.
    pub fn new(d_model: usize, n_heads: usize, device: &B::Device) -> Self {
        let in_proj = Initializer::XavierUniform { gain: 1.0 }.init_with([d_model, 3 * d_model], Some(d_model), Some(3 * d_model), device);
        let in_bias = Initializer::Zeros.init_with([3 * d_model], None, None, device);
        let mut out = LinearConfig::new(d_model, d_model).init(device);
        out.bias = Some(Initializer::Zeros.init_with([d_model], None, None, device));
        MultiHeadAttention { in_proj, in_bias, out, n_heads }
    }

    /// Self-attention of `x` (`[batch, len, d]`).
    pub fn self_attention(&self, x: Tensor<B, 3>, mask: &AttentionMask<B>) -> Tensor<B, 3> {
        let d = self.in_bias.dims()[0] / 3;
        // One matmul for all three projections.
        let qkv = rows(x, |x| x.matmul(self.in_proj.val()) + self.in_bias.val().unsqueeze());
        let [q, k, v] = [0, 1, 2].map(|i| qkv.clone().narrow(2, i * d, d));
        self.attend(q, k, v, mask)
    }

    /// Cross-attention of the queries `x` (`[batch, len_q, d]`) to `memory` (`[batch, len_k, d]`).
    pub fn cross_attention(&self, x: Tensor<B, 3>, memory: Tensor<B, 3>, mask: &AttentionMask<B>) -> Tensor<B, 3> {
        let d = self.in_bias.dims()[0] / 3;
        let (w, b) = (self.in_proj.val(), self.in_bias.val());
        let q = rows(x, |x| x.matmul(w.clone().narrow(1, 0, d)) + b.clone().narrow(0, 0, d).unsqueeze());
        let kv = rows(memory, |m| m.matmul(w.narrow(1, d, 2 * d)) + b.narrow(0, d, 2 * d).unsqueeze());
        let (k, v) = (kv.clone().narrow(2, 0, d), kv.narrow(2, d, d));
        self.attend(q, k, v, mask)
    }

    /// softmax(q kᵀ / √d_head, masked) v per head, then the output projection.
    fn attend(&self, q: Tensor<B, 3>, k: Tensor<B, 3>, v: Tensor<B, 3>, mask: &AttentionMask<B>) -> Tensor<B, 3> {
        let [batch, len_q, d] = q.dims();
        let len_k = k.dims()[1];
        let (h, dh) = (self.n_heads, d / self.n_heads);
        let heads = |t: Tensor<B, 3>, len: usize| t.reshape([batch, len, h, dh]).swap_dims(1, 2);
        let (q, k, v) = (heads(q, len_q), heads(k, len_k), heads(v, len_k));
        // PyTorch scales the queries before the product; scaling the product instead is the
        // same function and works on a contiguous tensor (the queries are a strided view of
        // the packed projection, which burn's CPU backend scales element by element).
        let mut scores = q.matmul(k.swap_dims(2, 3)) * (1.0 / (dh as f64).sqrt()); // [batch, h, len_q, len_k]
        if let AttentionMask::Hide(hidden) = mask {
            scores = scores.mask_fill(spread(hidden, [batch, h, len_q, len_k]), MASKED);
        }
        // Softmax over rows too (see `rows::rows`).
        let weights = softmax(scores.reshape([batch * h * len_q, len_k]), 1).reshape([batch, h, len_q, len_k]);
        let context = weights.matmul(v); // [batch, h, len_q, dh]
        linear_rows(&self.out, context.swap_dims(1, 2).reshape([batch, len_q, d]))
    }
}

/// `mask` repeated to `shape` along its size-1 dimensions, as a tensor of its own rather than a
/// broadcast view: burn's CPU backend copies a broadcast mask element by element before filling.
fn spread<B: Backend>(mask: &Tensor<B, 4, Bool>, shape: [usize; 4]) -> Tensor<B, 4, Bool> {
    let dims = mask.dims();
    (0..4).fold(mask.clone(), |m, i| if dims[i] == 1 && shape[i] != 1 { m.repeat_dim(i, shape[i]) } else { m })
}

/// `[len_q, len_k]`: false where key j ≤ query i (aligned at the end, so a query block that
/// continues a prefix sees the whole prefix), true (hidden) after.
fn causal_hidden<B: Backend>(len_q: usize, len_k: usize, device: &B::Device) -> Tensor<B, 2, Bool> {
    let offset = len_k - len_q;
    let values: Vec<bool> = (0..len_q).flat_map(|i| (0..len_k).map(move |j| j > i + offset)).collect();
    Tensor::from_data(TensorData::new(values, [len_q, len_k]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::Distribution;

    /// With every projection the identity and one head, attention is softmax(x xᵀ/√d) x, and
    /// a padded key gets weight exactly zero.
    #[test]
    fn matches_a_hand_computation_and_ignores_padding() {
        let device = Default::default();
        let d = 4;
        let mut mha = MultiHeadAttention::<Cpu>::new(d, 1, &device);
        let eye = Tensor::<Cpu, 2>::eye(d, &device);
        mha.in_proj = Param::from_tensor(Tensor::cat(vec![eye.clone(), eye.clone(), eye.clone()], 1));
        mha.out.weight = Param::from_tensor(eye);
        let x = Tensor::<Cpu, 3>::random([2, 3, d], Distribution::Normal(0.0, 1.0), &device);
        let got = mha.self_attention(x.clone(), &AttentionMask::None);
        let want = softmax(x.clone().matmul(x.clone().swap_dims(1, 2)) / 2.0, 2).matmul(x.clone());
        got.into_data().assert_approx_eq::<f32>(&want.into_data(), burn::tensor::Tolerance::absolute(1e-6));

        // Key 2 padded == attention over the first two keys only.
        let pad = Tensor::<Cpu, 2, Bool>::from_data(TensorData::from([[false, false, true], [false, false, true]]), &device);
        let masked = mha.cross_attention(x.clone(), x.clone(), &AttentionMask::key_padding(&pad));
        let short = mha.cross_attention(x.clone(), x.clone().narrow(1, 0, 2), &AttentionMask::None);
        masked.into_data().assert_approx_eq::<f32>(&short.into_data(), burn::tensor::Tolerance::absolute(1e-6));
    }

    #[test]
    fn causal_mask_hides_later_keys() {
        let b: Vec<bool> = causal_hidden::<Cpu>(2, 3, &Default::default()).into_data().to_vec().unwrap();
        assert_eq!(b, vec![false, false, true, false, false, false]);
    }
}
