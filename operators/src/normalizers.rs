//! Gaussian normalisers fitted on the training split: scalar (one mean and standard deviation,
//! the reference `GaussianNormalizer`) or per pixel (`UnitGaussianNormalizer`). Both use the
//! unbiased standard deviation plus ε = 1e-5, as the reference does, and serialise to the run
//! directory so evaluation decodes exactly as training did.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Which normaliser to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormalizerKind {
    /// Leave values as they are.
    None,
    /// One mean and standard deviation over all training values.
    #[default]
    Scalar,
    /// A mean and standard deviation per grid point (and channel).
    Pixel,
}

/// A fitted Gaussian normaliser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianNormalizer {
    /// Means: one value (scalar) or one per point of a sample.
    pub mean: Vec<f32>,
    /// Standard deviations, same length as `mean`.
    pub std: Vec<f32>,
    /// Added to the standard deviation.
    pub eps: f32,
}

impl GaussianNormalizer {
    /// The identity normaliser (mean 0, std 1, ε 0).
    pub fn identity() -> Self {
        GaussianNormalizer { mean: vec![0.0], std: vec![1.0], eps: 0.0 }
    }

    /// Fits on `n` samples of `len` values each, stored contiguously in `data`.
    pub fn fit(kind: NormalizerKind, data: &[f32], n: usize, len: usize) -> Self {
        let eps = 1e-5;
        match kind {
            NormalizerKind::None => Self::identity(),
            NormalizerKind::Scalar => {
                let (m, s) = mean_std(data.iter().map(|&v| v as f64), data.len());
                GaussianNormalizer { mean: vec![m as f32], std: vec![s as f32], eps }
            }
            NormalizerKind::Pixel => {
                let mut mean = Vec::with_capacity(len);
                let mut std = Vec::with_capacity(len);
                for p in 0..len {
                    let (m, s) = mean_std((0..n).map(|i| data[i * len + p] as f64), n);
                    mean.push(m as f32);
                    std.push(s as f32);
                }
                GaussianNormalizer { mean, std, eps }
            }
        }
    }

    /// Tensors of mean and std+ε, broadcastable against `[batch, c, h, w]`.
    fn tensors<B: Backend>(&self, shape: [usize; 4], like: &Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let [_, c, h, w] = shape;
        let dims = if self.mean.len() == 1 { [1, 1, 1, 1] } else { [1, c, h, w] };
        let dtype = like.dtype();
        let device = like.device();
        let mean = Tensor::from_data(TensorData::new(self.mean.clone(), dims).convert_dtype(dtype), (&device, dtype));
        let sd: Vec<f32> = self.std.iter().map(|s| s + self.eps).collect();
        let std = Tensor::from_data(TensorData::new(sd, dims).convert_dtype(dtype), (&device, dtype));
        (mean, std)
    }

    /// Whether this normaliser applies to samples of `len` values.
    pub fn fits(&self, len: usize) -> bool {
        self.mean.len() == 1 || self.mean.len() == len
    }

    /// (x − mean) / (std + ε).
    pub fn encode<B: Backend>(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let (m, s) = self.tensors(x.dims(), &x);
        (x - m) / s
    }

    /// x · (std + ε) + mean.
    pub fn decode<B: Backend>(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let (m, s) = self.tensors(x.dims(), &x);
        x * s + m
    }

    /// Encodes host values in place (`len` values per sample).
    pub fn encode_slice(&self, data: &mut [f32], len: usize) {
        for (i, v) in data.iter_mut().enumerate() {
            let p = if self.mean.len() == 1 { 0 } else { i % len };
            *v = (*v - self.mean[p]) / (self.std[p] + self.eps);
        }
    }
}

/// Mean and unbiased standard deviation (two-pass, f64).
fn mean_std(values: impl Iterator<Item = f64> + Clone, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    let var = if n > 1 { values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    #[test]
    fn encode_then_decode_is_the_identity() {
        let data: Vec<f32> = (0..24).map(|i| (i as f32 * 0.7).sin() * 3.0 + 2.0).collect();
        for kind in [NormalizerKind::Scalar, NormalizerKind::Pixel, NormalizerKind::None] {
            let n = GaussianNormalizer::fit(kind, &data, 6, 4);
            let x = Tensor::<Cpu, 4>::from_data(TensorData::new(data.clone(), [6, 1, 2, 2]), &Default::default());
            let back: Vec<f32> = n.decode(n.encode(x)).into_data().to_vec().unwrap();
            for (a, b) in back.iter().zip(&data) {
                assert!((a - b).abs() < 1e-5);
            }
        }
        let n = GaussianNormalizer::fit(NormalizerKind::Scalar, &[1.0, 3.0], 2, 1);
        assert_eq!(n.mean, vec![2.0]);
        assert!((n.std[0] - 2f32.sqrt()).abs() < 1e-6);
    }
}
