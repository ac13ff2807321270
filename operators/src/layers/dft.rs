//! Truncated discrete Fourier transforms as dense matrix products.
//!
//! burn 0.21 has no FFT, and FNO only ever needs the lowest few modes: a transform restricted to
//! K modes on an n-point axis is an (n × K) matrix product against cos/sin tables, exact for any
//! n (no power-of-two restriction), differentiable with burn's ordinary matmul backward, and
//! cheap while K ≪ n. The tables are built in f64 on the host and cast to the tensors' dtype.
//!
//! Conventions match `torch.fft` with the default ("backward") normalisation: forward
//! transforms are unnormalised, inverse transforms carry 1/n.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};
use std::f64::consts::PI;

/// Signed frequency of DFT index `j` on an `n`-point axis (`j ≥ n/2` wraps to `j − n`, as
/// `torch.fft.fftfreq(n) * n` does).
pub fn signed_frequency(j: usize, n: usize) -> i64 {
    if 2 * j < n {
        j as i64
    } else {
        j as i64 - n as i64
    }
}

/// DFT indices kept on a full (complex) axis of length `n` for `modes` modes per sign: the
/// lowest `modes` non-negative frequencies and the `modes` negative ones nearest zero, as FNO's
/// `weights1`/`weights2` blocks. Clamped to `n/2` per sign so the blocks never overlap.
/// Returns (indices, kept from the non-negative block, kept from the negative block).
pub fn full_axis_indices(n: usize, modes: usize) -> (Vec<usize>, usize, usize) {
    if n <= 1 {
        // A one-point axis holds only its mean.
        return (vec![0], 1, 0);
    }
    let m = modes.min(n / 2);
    let mut idx: Vec<usize> = (0..m).collect();
    idx.extend(n - m..n);
    (idx, m, m)
}

/// Number of half-spectrum (rfft) modes kept on a real axis of length `n`: at most n/2 + 1.
pub fn half_axis_modes(n: usize, modes: usize) -> usize {
    modes.min(n / 2 + 1).max(1)
}

/// A host table → tensor of the given dtype.
fn table<B: Backend>(values: Vec<f64>, shape: [usize; 2], device: &B::Device, dtype: DType) -> Tensor<B, 2> {
    let data = TensorData::new(values, shape).convert_dtype(dtype);
    Tensor::from_data(data, (device, dtype))
}

/// Forward tables `[n, K]`: `cos(2π j_k t / n)` and `sin(2π j_k t / n)` for the kept indices.
pub fn forward_tables<B: Backend>(n: usize, idx: &[usize], device: &B::Device, dtype: DType) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let k = idx.len();
    let mut c = vec![0.0; n * k];
    let mut s = vec![0.0; n * k];
    for t in 0..n {
        for (col, &j) in idx.iter().enumerate() {
            // Reduce j·t mod n before scaling so large grids keep full accuracy.
            let ang = 2.0 * PI * ((j * t) % n) as f64 / n as f64;
            c[t * k + col] = ang.cos();
            s[t * k + col] = ang.sin();
        }
    }
    (table(c, [n, k], device, dtype), table(s, [n, k], device, dtype))
}

/// Inverse tables `[K, n]` for a full complex axis: `cos/n` and `sin/n`.
pub fn inverse_full_tables<B: Backend>(n: usize, idx: &[usize], device: &B::Device, dtype: DType) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let k = idx.len();
    let mut c = vec![0.0; n * k];
    let mut s = vec![0.0; n * k];
    for (row, &j) in idx.iter().enumerate() {
        for t in 0..n {
            let ang = 2.0 * PI * ((j * t) % n) as f64 / n as f64;
            c[row * n + t] = ang.cos() / n as f64;
            s[row * n + t] = ang.sin() / n as f64;
        }
    }
    (table(c, [k, n], device, dtype), table(s, [k, n], device, dtype))
}

/// Inverse tables `[m, n]` of a real (half-spectrum) axis, as `irfft` with the modes ≥ m zeroed:
/// each mode other than 0 and n/2 stands for itself and its conjugate twin, hence weight 2; the
/// imaginary parts of the self-conjugate modes drop out (their sine rows vanish).
pub fn inverse_half_tables<B: Backend>(n: usize, m: usize, device: &B::Device, dtype: DType) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let mut c = vec![0.0; n * m];
    let mut s = vec![0.0; n * m];
    for j in 0..m {
        let weight = if j == 0 || 2 * j == n { 1.0 } else { 2.0 };
        for t in 0..n {
            let ang = 2.0 * PI * ((j * t) % n) as f64 / n as f64;
            c[j * n + t] = weight * ang.cos() / n as f64;
            s[j * n + t] = weight * ang.sin() / n as f64;
        }
    }
    (table(c, [m, n], device, dtype), table(s, [m, n], device, dtype))
}

/// Every table a 2-D spectral layer needs on one H×W grid; built once per forward pass and
/// shared by all layers of a model.
#[derive(Debug, Clone)]
pub struct SpectralBasis2d<B: Backend> {
    /// Grid height.
    pub h: usize,
    /// Grid width.
    pub w: usize,
    /// Non-negative H-modes kept (after clamping to the grid).
    pub m1_pos: usize,
    /// Negative H-modes kept (after clamping to the grid).
    pub m1_neg: usize,
    /// Half-spectrum modes kept along W (after clamping).
    pub m2: usize,
    /// `[W, m2]` forward cos / sin along W.
    pub fw: (Tensor<B, 2>, Tensor<B, 2>),
    /// `[H, K1]` forward cos / sin along H, K1 = m1_pos + m1_neg.
    pub fh: (Tensor<B, 2>, Tensor<B, 2>),
    /// `[K1, H]` inverse cos / sin along H.
    pub ih: (Tensor<B, 2>, Tensor<B, 2>),
    /// `[m2, W]` inverse cos / sin along W.
    pub iw: (Tensor<B, 2>, Tensor<B, 2>),
}

impl<B: Backend> SpectralBasis2d<B> {
    /// Tables for an `h × w` grid keeping `modes = [m1, m2]`.
    pub fn new(h: usize, w: usize, modes: [usize; 2], device: &B::Device, dtype: DType) -> Self {
        let (idx_h, m1_pos, m1_neg) = full_axis_indices(h, modes[0]);
        let m2 = half_axis_modes(w, modes[1]);
        let idx_w: Vec<usize> = (0..m2).collect();
        SpectralBasis2d {
            h,
            w,
            m1_pos,
            m1_neg,
            m2,
            fw: forward_tables(w, &idx_w, device, dtype),
            fh: forward_tables(h, &idx_h, device, dtype),
            ih: inverse_full_tables(h, &idx_h, device, dtype),
            iw: inverse_half_tables(w, m2, device, dtype),
        }
    }

    /// Truncated 2-D DFT of a real field.
    ///
    /// # Shapes
    /// - `x`: `[batch, c, H, W]`
    /// - output (re, im): `[batch, c, m2, K1]` (W-modes before H-modes, the layout the channel
    ///   mixing wants)
    pub fn forward(&self, x: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let [b, c, h, w] = x.dims();
        let k1 = self.fh.0.dims()[1];
        let flat = x.reshape([b * c * h, w]);
        // Along W: Y = x e^{-iθ} = x cos θ − i x sin θ.
        let yr = flat.clone().matmul(self.fw.0.clone());
        let yi = flat.matmul(self.fw.1.clone()).neg();
        // Put H last: [b, c, h, m2] → [b·c·m2, h].
        let t = |y: Tensor<B, 2>| y.reshape([b, c, h, self.m2]).swap_dims(2, 3).reshape([b * c * self.m2, h]);
        let (yr, yi) = (t(yr), t(yi));
        // Along H: Z = Σ (Yr + iYi)(cos φ − i sin φ).
        let zr = yr.clone().matmul(self.fh.0.clone()) + yi.clone().matmul(self.fh.1.clone());
        let zi = yi.matmul(self.fh.0.clone()) - yr.matmul(self.fh.1.clone());
        (zr.reshape([b, c, self.m2, k1]), zi.reshape([b, c, self.m2, k1]))
    }

    /// Inverse of [`Self::forward`] with every dropped mode set to zero (a real field).
    ///
    /// # Shapes
    /// - `re`, `im`: `[batch, c, m2, K1]`
    /// - output: `[batch, c, H, W]`
    pub fn inverse(&self, re: Tensor<B, 4>, im: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, m2, k1] = re.dims();
        let (re, im) = (re.reshape([b * c * m2, k1]), im.reshape([b * c * m2, k1]));
        // Along H: Y = (1/H) Σ O e^{iφ}.
        let yr = re.clone().matmul(self.ih.0.clone()) - im.clone().matmul(self.ih.1.clone());
        let yi = im.matmul(self.ih.0.clone()) + re.matmul(self.ih.1.clone());
        let t = |y: Tensor<B, 2>| y.reshape([b, c, m2, self.h]).swap_dims(2, 3).reshape([b * c * self.h, m2]);
        let (yr, yi) = (t(yr), t(yi));
        // Along W (half spectrum): x = Re Σ c_k Y e^{iθ} / W.
        let x = yr.matmul(self.iw.0.clone()) - yi.matmul(self.iw.1.clone());
        x.reshape([b, c, self.h, self.w])
    }
}

/// The tables of a 1-D spectral layer on one n-point grid.
#[derive(Debug, Clone)]
pub struct SpectralBasis1d<B: Backend> {
    /// Grid length.
    pub n: usize,
    /// Half-spectrum modes kept (after clamping).
    pub m: usize,
    /// `[n, m]` forward cos / sin.
    pub fwd: (Tensor<B, 2>, Tensor<B, 2>),
    /// `[m, n]` inverse cos / sin.
    pub inv: (Tensor<B, 2>, Tensor<B, 2>),
}

impl<B: Backend> SpectralBasis1d<B> {
    /// Tables for an `n`-point grid keeping `modes` half-spectrum modes.
    pub fn new(n: usize, modes: usize, device: &B::Device, dtype: DType) -> Self {
        let m = half_axis_modes(n, modes);
        let idx: Vec<usize> = (0..m).collect();
        SpectralBasis1d { n, m, fwd: forward_tables(n, &idx, device, dtype), inv: inverse_half_tables(n, m, device, dtype) }
    }

    /// Truncated rfft: `[batch, c, n]` → (re, im) `[batch, c, m]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let [b, c, n] = x.dims();
        let flat = x.reshape([b * c, n]);
        let re = flat.clone().matmul(self.fwd.0.clone()).reshape([b, c, self.m]);
        let im = flat.matmul(self.fwd.1.clone()).neg().reshape([b, c, self.m]);
        (re, im)
    }

    /// Truncated irfft: (re, im) `[batch, c, m]` → `[batch, c, n]`.
    pub fn inverse(&self, re: Tensor<B, 3>, im: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, c, m] = re.dims();
        let x = re.reshape([b * c, m]).matmul(self.inv.0.clone()) - im.reshape([b * c, m]).matmul(self.inv.1.clone());
        x.reshape([b, c, self.n])
    }
}
