//! Small tensor helpers shared by the backend's operations and the layers: moving between burn's
//! tensor API and its backend primitives, and zero padding in any dtype.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

/// The backend primitive of a float tensor.
pub fn prim<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

/// A float tensor around a backend primitive.
pub fn wrap<B: Backend, const D: usize>(p: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

/// Appends `before` and `after` zeros along axis `dim`, in the dtype of `x`.
///
/// burn 0.21's `Tensor::pad` with a constant builds its fill in the backend's default float
/// type, which breaks f64 tensors on Flex (used by the gradient checks); concatenating zeros of
/// the input's own dtype works for every dtype.
pub fn zero_pad<B: Backend>(x: Tensor<B, 4>, dim: usize, before: usize, after: usize) -> Tensor<B, 4> {
    if before == 0 && after == 0 {
        return x;
    }
    let dims = x.dims();
    let (device, dtype) = (x.device(), x.dtype());
    let block = |n: usize| {
        let mut d = dims;
        d[dim] = n;
        Tensor::<B, 4>::zeros(d, (&device, dtype))
    };
    let mut parts = Vec::with_capacity(3);
    if before > 0 {
        parts.push(block(before));
    }
    parts.push(x);
    if after > 0 {
        parts.push(block(after));
    }
    Tensor::cat(parts, dim)
}

/// Helpers of the gradient checks in this crate's unit tests (f64 on Flex).
#[cfg(test)]
pub(crate) mod testing {
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::backend::Backend;
    use burn::tensor::{DType, Distribution, Tensor};

    /// Flex under autodiff.
    pub type Ad = Autodiff<Flex>;

    /// All values as f64.
    pub fn vec64<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
    }

    /// max |a − b| / max |b|: relative to the tensor's scale, so that entries that cancel to
    /// nearly zero do not dominate.
    pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
        a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
    }

    /// Standard normal values in f64.
    pub fn randn<const D: usize>(shape: [usize; D]) -> Tensor<Ad, D> {
        Tensor::<Ad, D>::random(shape, Distribution::Normal(0.0, 1.0), &Default::default()).cast(DType::F64)
    }
}
