//! Resampling of `[batch, channels, H, W]` fields to another grid: bilinear with PyTorch's
//! half-pixel mapping (`F.interpolate(mode='bilinear', align_corners=False)`, the interpolation
//! of the converted networks' kernels and of their wrapped layers) or Fourier (periodic
//! trigonometric interpolation, for periodic data).
//!
//! Both maps are separable and linear, so each axis is one small dense matrix, built on the host
//! in f64 and applied by matrix products. That makes them differentiable with burn's own matmul
//! backward, on every backend and dtype, with the mapping spelt out here rather than left to a
//! backend's interpolation kernel (burn's `InterpolateOptions` default to `align_corners = true`,
//! a different mapping).

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// How a field is carried to another grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResampleMode {
    /// Bilinear with the half-pixel mapping (PyTorch `align_corners=False`, no antialiasing).
    #[default]
    Bilinear,
    /// Periodic: the trigonometric interpolant on x_i = i/n (coarsening truncates the spectrum).
    Fourier,
}

impl ResampleMode {
    /// Names accepted in configuration files and flags.
    pub const NAMES: &'static str = "bilinear, fourier";

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bilinear" => Some(Self::Bilinear),
            "fourier" => Some(Self::Fourier),
            _ => None,
        }
    }
}

/// `x` (`[b, c, h, w]`) resampled to `[b, c, size[0], size[1]]`. A field already of that size is
/// returned as it is (no operation at all, so the identity is exact).
pub fn resample<B: Backend>(x: Tensor<B, 4>, size: [usize; 2], mode: ResampleMode) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    let x = if size[1] == w {
        x
    } else {
        let m = axis_matrix::<B>(w, size[1], mode, &x);
        x.reshape([b * c * h, w]).matmul(m).reshape([b, c, h, size[1]])
    };
    if size[0] == h {
        return x;
    }
    let w2 = size[1];
    let m = axis_matrix::<B>(h, size[0], mode, &x);
    let t = x.swap_dims(2, 3).reshape([b * c * w2, h]).matmul(m);
    t.reshape([b, c, w2, size[0]]).swap_dims(2, 3)
}

/// The `[n, m]` matrix that takes a row of n values to m values (applied as `row · M`), in the
/// dtype and on the device of `like`.
fn axis_matrix<B: Backend>(n: usize, m: usize, mode: ResampleMode, like: &Tensor<B, 4>) -> Tensor<B, 2> {
    let v = match mode {
        ResampleMode::Bilinear => bilinear_weights(n, m),
        ResampleMode::Fourier => fourier_weights(n, m),
    };
    let data = TensorData::new(v, [n, m]).convert_dtype(like.dtype());
    Tensor::from_data(data, (&like.device(), like.dtype()))
}

/// Row-major `[n, m]`: entry (i, j) is the weight of input i in output j. Output j sits at
/// source coordinate (j + ½)·n/m − ½, clamped below at 0 (PyTorch's linear modes), between
/// inputs ⌊·⌋ and ⌊·⌋ + 1 (the last input repeated past the end).
pub fn bilinear_weights(n: usize, m: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * m];
    let ratio = n as f64 / m as f64;
    for j in 0..m {
        let src = ((j as f64 + 0.5) * ratio - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(n - 1);
        let i1 = (i0 + 1).min(n - 1);
        let lambda = src - i0 as f64;
        out[i0 * m + j] += 1.0 - lambda;
        out[i1 * m + j] += lambda;
    }
    out
}

/// Row-major `[n, m]` of the periodic trigonometric interpolant: with K = min(n, m), the
/// frequencies |k| < K/2 and, for even K, the Nyquist mode K/2 as a cosine (the part a real
/// field on the coarser grid can hold), evaluated at y_j = j/m from samples at x_i = i/n:
/// w(i, j) = (1/n) · Σ_k a_k cos(2πk(y_j − x_i)), summed in closed form (a Dirichlet kernel).
pub fn fourier_weights(n: usize, m: usize) -> Vec<f64> {
    let k_min = n.min(m);
    // |k| ≤ half are summed as a Dirichlet kernel; an even K adds the Nyquist cosine.
    let half = (k_min - 1) / 2;
    let nyquist = k_min.is_multiple_of(2);
    let mut out = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            // The phase difference in turns, reduced to [0, 1) exactly in integers.
            let num = (j * n + n * m - i * m) % (n * m);
            let t = num as f64 / (n * m) as f64;
            let dirichlet = if num == 0 {
                (2 * half + 1) as f64
            } else {
                let a = std::f64::consts::PI * t;
                ((2 * half + 1) as f64 * a).sin() / a.sin()
            };
            let ny = if nyquist { (std::f64::consts::PI * k_min as f64 * t).cos() } else { 0.0 };
            out[i * m + j] = (dirichlet + ny) / n as f64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::Distribution;

    fn values(t: Tensor<Cpu, 4>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    /// Values of `torch.nn.functional.interpolate(x, size, mode='bilinear', align_corners=False)`
    /// worked by hand from its definition (source (j + ½)·n/m − ½, clamped at 0 and at the end).
    #[test]
    fn bilinear_is_pytorchs_half_pixel_mapping() {
        // 1-D first: 4 → 8 (upsampling by 2): sources −¼ (clamped 0), ¼, ¾, 5/4, 7/4, 9/4, 11/4, 13/4 (clamped to the last).
        let w = bilinear_weights(4, 8);
        let row = [0.0, 1.0, 2.0, 3.0];
        let y: Vec<f64> = (0..8).map(|j| (0..4).map(|i| row[i] * w[i * 8 + j]).sum()).collect();
        assert_eq!(y, vec![0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]);
        // 4 → 2 (downsampling by 2, no antialias): sources ½ and 5/2.
        let w = bilinear_weights(4, 2);
        let y: Vec<f64> = (0..2).map(|j| (0..4).map(|i| row[i] * w[i * 2 + j]).sum()).collect();
        assert_eq!(y, vec![0.5, 2.5]);
        // 2-D: separable, each axis as above.
        let device = Default::default();
        let x = Tensor::<Cpu, 4>::from_data(TensorData::new((0..20).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 4, 5]), &device);
        let y = values(resample(x, [8, 2], ResampleMode::Bilinear));
        // columns 5 → 2: sources 0.75 and 3.25; rows as the 4 → 8 case (row value = 5·r).
        let col = [0.75f64, 3.25];
        let rows = [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0];
        let want: Vec<f32> = rows.iter().flat_map(|r| col.iter().map(move |c| (5.0 * r + c) as f32)).collect();
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{y:?} vs {want:?}");
        }
    }

    #[test]
    fn same_size_is_the_identity_and_shapes_follow_the_request() {
        let device = Default::default();
        let x = Tensor::<Cpu, 4>::random([2, 3, 6, 9], Distribution::Normal(0.0, 1.0), &device);
        for mode in [ResampleMode::Bilinear, ResampleMode::Fourier] {
            assert_eq!(values(resample(x.clone(), [6, 9], mode)), values(x.clone()));
            assert_eq!(resample(x.clone(), [13, 4], mode).dims(), [2, 3, 13, 4]);
        }
    }

    /// Fourier resampling reproduces a band-limited periodic field exactly on a finer grid, and
    /// going back recovers the samples.
    #[test]
    fn fourier_is_exact_on_band_limited_periodic_fields() {
        let device = Default::default();
        let f = |x: f64, y: f64| (2.0 * std::f64::consts::PI * x).sin() + (2.0 * std::f64::consts::PI * (2.0 * y + x)).cos() + 0.5;
        let sample = |n: usize, m: usize| {
            let v: Vec<f32> = (0..n).flat_map(|i| (0..m).map(move |j| f(i as f64 / n as f64, j as f64 / m as f64) as f32)).collect();
            Tensor::<Cpu, 4>::from_data(TensorData::new(v, [1, 1, n, m]), &device)
        };
        let coarse = sample(8, 10);
        let fine = resample(coarse.clone(), [24, 15], ResampleMode::Fourier);
        let (a, b) = (values(fine), values(sample(24, 15)));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5));
        let back = values(resample(sample(24, 15), [8, 10], ResampleMode::Fourier));
        assert!(back.iter().zip(values(coarse)).all(|(x, y)| (x - y).abs() < 1e-5));
    }
}
