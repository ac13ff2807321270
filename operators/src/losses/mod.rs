//! Training and evaluation losses, computed per sample and averaged by the caller.
//!
//! - [`relative_l2`]: ‖pred − y‖ / ‖y‖ with an optional quadrature weight per grid point (the
//!   discrete L2 norm ∫|u|² ≈ Σ wᵢ uᵢ²; uniform weights cancel in the ratio).
//! - [`H1Spectral`]: the relative H¹ norm MgNO trains with (`HsLoss(d=2, p=2, k=1)` of the
//!   reference, weight √(1 + k_x² + k_y²) on each Fourier mode with |k| < 20 per axis,
//!   frequencies counted as integers). By Parseval the derivative terms need only 1-D DFTs along
//!   each axis, done as matmuls against the same cos/sin tables FNO uses.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::layers::dft::{forward_tables, signed_frequency};

/// Which loss to train with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Relative L2.
    L2,
    /// Relative spectral H¹ (the MgNO Darcy default).
    #[default]
    H1,
}

/// Quadrature rule for the L2 norms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quadrature {
    /// Equal weights (the reference code's choice).
    #[default]
    Uniform,
    /// Trapezoid weights on a vertex grid (half weight on edges, quarter at corners).
    Trapezoid,
}

/// Per-point weights `[H, W]` of a quadrature rule, or `None` when uniform.
pub fn quadrature_weights<B: Backend>(rule: Quadrature, h: usize, w: usize, device: &B::Device) -> Option<Tensor<B, 2>> {
    match rule {
        Quadrature::Uniform => None,
        Quadrature::Trapezoid => {
            let edge = |i: usize, n: usize| if n > 1 && (i == 0 || i == n - 1) { 0.5 } else { 1.0 };
            let v: Vec<f32> = (0..h * w).map(|k| (edge(k / w, h) * edge(k % w, w)) as f32).collect();
            Some(Tensor::from_data(TensorData::new(v, [h, w]), device))
        }
    }
}

/// Σ over each sample of `weights · x²`: `[b, c, h, w]` → `[b]`.
fn weighted_sq_norm<B: Backend>(x: Tensor<B, 4>, weights: Option<&Tensor<B, 2>>) -> Tensor<B, 1> {
    let [b, c, h, w] = x.dims();
    let sq = x.square();
    let sq = match weights {
        Some(q) => sq * q.clone().reshape([1, 1, h, w]),
        None => sq,
    };
    sum_per_sample(sq.reshape([b, c * h * w]))
}

/// Σ over each row of `x` `[b, l]` → `[b]`, in two stages where `l` factors as `r · q` with both
/// factors near √l: first over `r` (b·q sums of r strided terms), then over `q`.
///
/// Why: without burn's autotuner, its CUDA reduction gives each output one unit that adds the
/// whole axis in turn, so one sum over a 256² sample was most of the reduction time of an MgNO
/// training step (cubecl's kernel profile); two stages of
/// ~256 terms keep every unit's serial work short. The order of the additions is fixed by the
/// shape, so results stay deterministic.
pub fn sum_per_sample<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 1> {
    let [b, l] = x.dims();
    match two_stage_split(l) {
        Some((r, q)) => x.reshape([b, r, q]).sum_dim(1).sum_dim(2).reshape([b]),
        None => x.sum_dim(1).reshape([b]),
    }
}

/// `(r, q)` with `r · q = l`, `q` the largest divisor of `l` not above √l, when both are at least
/// 16 (shorter axes gain nothing from a second stage); `None` otherwise (e.g. prime `l`).
fn two_stage_split(l: usize) -> Option<(usize, usize)> {
    let root = (l as f64).sqrt() as usize;
    let q = (16..=root).rev().find(|q| l.is_multiple_of(*q))?;
    Some((l / q, q))
}

/// Relative L2 error of each sample, `[b]`.
pub fn relative_l2<B: Backend>(pred: Tensor<B, 4>, target: Tensor<B, 4>, weights: Option<&Tensor<B, 2>>) -> Tensor<B, 1> {
    let num = weighted_sq_norm(pred - target.clone(), weights);
    let den = weighted_sq_norm(target, weights);
    (num / den.clamp_min(1e-30)).sqrt()
}

/// The spectral relative H¹ loss on one H×W grid (tables built once, reused every batch).
#[derive(Debug, Clone)]
pub struct H1Spectral<B: Backend> {
    /// `[H, Jx]` cos/sin tables of the kept non-zero frequencies along H, and k² per column.
    along_h: Option<(Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>)>,
    /// The same along W.
    along_w: Option<(Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>)>,
    h: usize,
    w: usize,
}

impl<B: Backend> H1Spectral<B> {
    /// The loss for an `h × w` grid keeping frequencies with |k| < `k_max` (20 in the
    /// reference).
    pub fn new(h: usize, w: usize, k_max: usize, device: &B::Device) -> Self {
        let axis = |n: usize| {
            let idx: Vec<usize> = (0..n)
                .filter(|&j| {
                    let k = signed_frequency(j, n).unsigned_abs() as usize;
                    k > 0 && k < k_max
                })
                .collect();
            if idx.is_empty() {
                return None;
            }
            let ksq: Vec<f32> = idx.iter().map(|&j| (signed_frequency(j, n) as f32).powi(2)).collect();
            let len = ksq.len();
            let (c, s) = forward_tables::<B>(n, &idx, device, burn::tensor::DType::F32);
            Some((c, s, Tensor::from_data(TensorData::new(ksq, [1, len]), device)))
        };
        H1Spectral { along_h: axis(h), along_w: axis(w), h, w }
    }

    /// Σ_k k² |ẑ_k|² over the kept frequencies of one axis, per sample (`[b]`), with the
    /// orthonormal scaling of `torch.fft.fftn(norm='ortho')`.
    fn derivative_energy(&self, z: Tensor<B, 4>) -> Option<Tensor<B, 1>> {
        let [b, c, h, w] = z.dims();
        let mut total: Option<Tensor<B, 1>> = None;
        let mut add = |t: Tensor<B, 1>| {
            total = Some(match total.take() {
                Some(a) => a + t,
                None => t,
            })
        };
        if let Some((cos, sin, ksq)) = &self.along_h {
            // Put H last: [b, c, w, h] → [b·c·w, h].
            let x = z.clone().swap_dims(2, 3).reshape([b * c * w, h]);
            let re = x.clone().matmul(cos.clone());
            let im = x.matmul(sin.clone());
            let e = (re.square() + im.square()) * ksq.clone();
            let j = e.dims()[1];
            add(sum_per_sample(e.reshape([b, c * w * j])) / h as f64);
        }
        if let Some((cos, sin, ksq)) = &self.along_w {
            let x = z.reshape([b * c * h, w]);
            let re = x.clone().matmul(cos.clone());
            let im = x.matmul(sin.clone());
            let e = (re.square() + im.square()) * ksq.clone();
            let j = e.dims()[1];
            add(sum_per_sample(e.reshape([b, c * h * j])) / w as f64);
        }
        total
    }

    /// ‖z‖²_{H¹} per sample: Σ|z|² + Σ (k_x² + k_y²)|ẑ|².
    fn sq_norm(&self, z: Tensor<B, 4>) -> Tensor<B, 1> {
        let l2 = weighted_sq_norm(z.clone(), None);
        match self.derivative_energy(z) {
            Some(d) => l2 + d,
            None => l2,
        }
    }

    /// Relative H¹ error of each sample, `[b]`. Inputs must be on this loss's grid.
    pub fn relative(&self, pred: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
        debug_assert_eq!(pred.dims()[2..], [self.h, self.w]);
        let num = self.sq_norm(pred - target.clone());
        let den = self.sq_norm(target);
        (num / den.clamp_min(1e-30)).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    fn field(h: usize, w: usize, f: impl Fn(f64, f64) -> f64) -> Tensor<Cpu, 4> {
        let v: Vec<f32> = (0..h * w).map(|k| f((k / w) as f64, (k % w) as f64) as f32).collect();
        Tensor::from_data(TensorData::new(v, [1, 1, h, w]), &Default::default())
    }

    /// The two-stage per-sample sum adds the same terms as a plain sum, for split and unsplit
    /// lengths (65536 = 256·256, 4096 = 64·64, 1000 = 40·25, a prime, a length too short to split).
    #[test]
    fn per_sample_sums_match_a_plain_sum() {
        assert_eq!(two_stage_split(65536), Some((256, 256)));
        assert_eq!(two_stage_split(1000), Some((40, 25)));
        assert_eq!(two_stage_split(4099), None);
        assert_eq!(two_stage_split(100), None);
        let device = Default::default();
        for l in [65536usize, 4096, 1000, 4099, 100] {
            let v: Vec<f32> = (0..3 * l).map(|k| ((k * 7919) % 1000) as f32 / 1000.0 - 0.3).collect();
            let want: Vec<f64> = v.chunks(l).map(|row| row.iter().map(|&x| x as f64).sum()).collect();
            let x = Tensor::<Cpu, 2>::from_data(TensorData::new(v, [3, l]), &device);
            let got: Vec<f32> = sum_per_sample(x).into_data().to_vec().unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert!((*g as f64 - w).abs() <= 1e-5 * w.abs().max(1.0), "l = {l}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn relative_l2_of_a_scaled_field() {
        let y = field(8, 8, |i, j| (i + 2.0 * j).sin() + 1.5);
        let e: f32 = relative_l2(y.clone() * 1.1, y, None).into_scalar();
        assert!((e - 0.1).abs() < 1e-5, "{e}");
    }

    /// On a pure Fourier mode the H¹ weight is known: ‖∇‖ factor √(1 + k_x² + k_y²).
    #[test]
    fn h1_matches_the_analytic_value_on_a_fourier_mode() {
        let (h, w) = (32, 24);
        let (kx, ky) = (3.0, 2.0);
        let pi2 = 2.0 * std::f64::consts::PI;
        let y = field(h, w, |i, j| 1.0 + (pi2 * (kx * i / h as f64 + ky * j / w as f64)).cos());
        let e = field(h, w, |i, j| 0.01 * (pi2 * (kx * i / h as f64 + ky * j / w as f64)).cos());
        let loss = H1Spectral::<Cpu>::new(h, w, 20, &Default::default());
        let got: f32 = loss.relative(y.clone() + e, y).into_scalar();
        // ‖e‖² = 0.01²·(1 + 13)·HW/2 ; ‖y‖² = HW + (1 + 13)·HW/2
        let expect = ((0.01f64.powi(2) * 14.0 / 2.0) / (1.0 + 14.0 / 2.0)).sqrt();
        assert!((got as f64 - expect).abs() < 1e-5 * expect.max(1.0), "{got} vs {expect}");
        // Frequencies at or above k_max carry no derivative weight.
        let loss = H1Spectral::<Cpu>::new(h, w, 3, &Default::default());
        let y = field(h, w, |i, _| 1.0 + (pi2 * 3.0 * i / h as f64).cos());
        let e = field(h, w, |i, _| 0.01 * (pi2 * 3.0 * i / h as f64).cos());
        let got: f32 = loss.relative(y.clone() + e, y).into_scalar();
        let expect = ((0.01f64.powi(2) / 2.0) / (1.0 + 1.0 / 2.0)).sqrt();
        assert!((got as f64 - expect).abs() < 1e-5, "{got} vs {expect}");
    }
}
