//! Position-wise steps on rows: a `[batch, len, d]` tensor viewed as `[batch·len, d]`.

use burn::nn::{LayerNorm, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// `f` applied to `x` (`[batch, len, d]`) as rows (`[batch·len, d]`), back to `[batch, len, d']`.
///
/// Every position-wise step (projections, LayerNorms, the FFN, masks by row) runs on rows: burn's
/// CPU backend broadcasts a bias, a mean or a scale over a 2-D tensor with a loop over rows, but
/// over a higher-rank one with a per-element index walk that made half of the training time. The
/// reshapes of a contiguous tensor are free on every backend.
pub fn rows<B: Backend>(x: Tensor<B, 3>, f: impl FnOnce(Tensor<B, 2>) -> Tensor<B, 2>) -> Tensor<B, 3> {
    let [batch, len, d] = x.dims();
    let y = f(x.reshape([batch * len, d]));
    let width = y.dims()[1];
    y.reshape([batch, len, width])
}

/// `linear` on the rows of `x` (see [`rows`]).
pub fn linear_rows<B: Backend>(linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    rows(x, |x| linear.forward(x))
}

/// `norm` on the rows of `x` (see [`rows`]).
pub fn norm_rows<B: Backend>(norm: &LayerNorm<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    rows(x, |x| norm.forward(x))
}
