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

/// The layouts of a 2-D spectral layer (chosen per backend by `backend::select::spectral_layout`).
pub use crate::backend::SpectralLayout;

/// `[[a, b], [c, d]]` of four `[r, k]` blocks as one `[2r, 2k]` table.
fn block2<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>, c: Tensor<B, 2>, d: Tensor<B, 2>) -> Tensor<B, 2> {
    Tensor::cat(vec![Tensor::cat(vec![a, b], 1), Tensor::cat(vec![c, d], 1)], 0)
}

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
    /// The same tables as blocks, for [`SpectralLayout::Stacked`] (`None` under `Split`).
    pub stacked: Option<StackedTables<B>>,
}

/// The tables of [`SpectralLayout::Stacked`]: real and imaginary parts side by side.
#[derive(Debug, Clone)]
pub struct StackedTables<B: Backend> {
    /// `[W, 2·m2]`: `[cos | −sin]`, the forward transform along W (real input).
    pub fw: Tensor<B, 2>,
    /// `[2H, 2·K1]`: `[[cos, −sin], [sin, cos]]`, the forward transform along H.
    pub fh: Tensor<B, 2>,
    /// `[2·K1, 2H]`: `[[cos, sin], [−sin, cos]] / H`, the inverse transform along H.
    pub ih: Tensor<B, 2>,
    /// `[2·m2, W]`: `[[w·cos], [−w·sin]] / W`, the inverse half-spectrum transform along W.
    pub iw: Tensor<B, 2>,
}

impl<B: Backend> SpectralBasis2d<B> {
    /// Tables for an `h × w` grid keeping `modes = [m1, m2]`, for the given layout.
    pub fn with_layout(h: usize, w: usize, modes: [usize; 2], layout: SpectralLayout, device: &B::Device, dtype: DType) -> Self {
        let (idx_h, m1_pos, m1_neg) = full_axis_indices(h, modes[0]);
        let m2 = half_axis_modes(w, modes[1]);
        let idx_w: Vec<usize> = (0..m2).collect();
        let fw = forward_tables::<B>(w, &idx_w, device, dtype);
        let fh = forward_tables::<B>(h, &idx_h, device, dtype);
        let ih = inverse_full_tables::<B>(h, &idx_h, device, dtype);
        let iw = inverse_half_tables::<B>(w, m2, device, dtype);
        let stacked = (layout == SpectralLayout::Stacked).then(|| StackedTables {
            fw: Tensor::cat(vec![fw.0.clone(), fw.1.clone().neg()], 1),
            fh: block2(fh.0.clone(), fh.1.clone().neg(), fh.1.clone(), fh.0.clone()),
            ih: block2(ih.0.clone(), ih.1.clone(), ih.1.clone().neg(), ih.0.clone()),
            iw: Tensor::cat(vec![iw.0.clone(), iw.1.clone().neg()], 0),
        });
        SpectralBasis2d { h, w, m1_pos, m1_neg, m2, fw, fh, ih, iw, stacked }
    }

    /// Kept modes along H, K1.
    pub fn k1(&self) -> usize {
        self.m1_pos + self.m1_neg
    }

    /// Truncated 2-D DFT of a real field with real and imaginary parts stacked
    /// ([`SpectralLayout::Stacked`]; `None` when the basis was built without those tables).
    ///
    /// # Shapes
    /// - `x`: `[batch, c, H, W]`
    /// - output: `[batch, c, m2, 2·K1]`: per kept W-mode, the K1 real parts, then the K1
    ///   imaginary parts of the kept H-modes
    pub fn forward_stacked(&self, x: Tensor<B, 4>) -> Option<Tensor<B, 4>> {
        let t = self.stacked.as_ref()?;
        let [b, c, h, w] = x.dims();
        let m2 = self.m2;
        // Along W: [yr | yi] = x · [cos | −sin], rows (b, c, h).
        let y = x.reshape([b * c * h, w]).matmul(t.fw.clone());
        // Contract H next, with re/im beside it: [b, c, h, 2, m2] → [b, c, m2, 2, h].
        let y = y.reshape([b, c, h, 2, m2]).permute([0, 1, 4, 3, 2]).reshape([b * c * m2, 2 * h]);
        Some(y.matmul(t.fh.clone()).reshape([b, c, m2, 2 * self.k1()]))
    }

    /// Inverse of [`Self::forward_stacked`] with every dropped mode set to zero (a real field).
    ///
    /// # Shapes
    /// - `z`: `[batch, c, m2, 2·K1]`
    /// - output: `[batch, c, H, W]`
    pub fn inverse_stacked(&self, z: Tensor<B, 4>) -> Option<Tensor<B, 4>> {
        let t = self.stacked.as_ref()?;
        let [b, c, m2, k2] = z.dims();
        let h = self.h;
        // Along H: [yr | yi] = [or | oi] · [[cos, sin], [−sin, cos]] / H, rows (b, c, m2).
        let y = z.reshape([b * c * m2, k2]).matmul(t.ih.clone());
        // Contract W next, with re/im beside it: [b, c, m2, 2, h] → [b, c, h, 2, m2].
        let y = y.reshape([b, c, m2, 2, h]).permute([0, 1, 4, 3, 2]).reshape([b * c * h, 2 * m2]);
        Some(y.matmul(t.iw.clone()).reshape([b, c, h, self.w]))
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
