//! Real-to-complex FFT of even length `n` through one complex FFT of length `n/2`.
//!
//! A real signal packed as `z_j = x_{2j} + i x_{2j+1}` is transformed at half length and the
//! spectrum of `x` recovered with one twiddle pass (the classic "two for one" split), so each
//! real transform costs about half a complex one. (The `realfft` crate does the same; it is not
//! available offline here.) Plans are made once; every call works on caller-owned buffers.

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

/// Plans and twiddles for real transforms of one even length.
#[derive(Clone)]
pub struct RealFft1d {
    n: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
    /// `−½i · e^{−2πik/n}`, k = 0..=n/2: the forward split's twiddle with its constant folded in
    /// (both factors are exact rotations/scalings, so the products round as before).
    forward_twiddles: Vec<Complex64>,
    /// `i · e^{+2πik/n}`, k = 0..n/2: the inverse recombination's twiddle, likewise.
    inverse_twiddles: Vec<Complex64>,
}

impl std::fmt::Debug for RealFft1d {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealFft1d").field("n", &self.n).finish()
    }
}

/// Caller-owned work buffers for [`RealFft1d`].
#[derive(Debug, Clone)]
pub struct RealFftBuffers {
    half: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl RealFftBuffers {
    /// The packed half-length signal `z_j = x_{2j} + i x_{2j+1}` (for fused pipelines).
    pub(crate) fn packed(&mut self) -> &mut [Complex64] {
        &mut self.half
    }
}

impl RealFft1d {
    /// Plan transforms of length `n` (even, ≥ 4; callers validate).
    pub fn new(n: usize) -> Self {
        assert!(n >= 4 && n.is_multiple_of(2), "checked by callers: even n >= 4");
        let mut planner = FftPlanner::new();
        let half = n / 2;
        let twiddle = |k: usize| Complex64::from_polar(1.0, -2.0 * PI * k as f64 / n as f64);
        let forward_twiddles = (0..=half).map(|k| Complex64::new(0.0, -0.5) * twiddle(k)).collect();
        let inverse_twiddles = (0..half).map(|k| Complex64::new(0.0, 1.0) * twiddle(k).conj()).collect();
        Self { n, forward: planner.plan_fft_forward(half), inverse: planner.plan_fft_inverse(half), forward_twiddles, inverse_twiddles }
    }

    /// Signal length `n`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of non-negative frequencies, `n/2 + 1`.
    pub fn spectrum_len(&self) -> usize {
        self.n / 2 + 1
    }

    /// Work buffers sized for this plan.
    pub fn buffers(&self) -> RealFftBuffers {
        let half = self.n / 2;
        let scratch_len = self.forward.get_inplace_scratch_len().max(self.inverse.get_inplace_scratch_len());
        RealFftBuffers { half: vec![Complex64::new(0.0, 0.0); half], scratch: vec![Complex64::new(0.0, 0.0); scratch_len] }
    }

    /// Unnormalised forward transform: `spectrum[k] = Σ_j x_j e^{−2πijk/n}`, k = 0..=n/2.
    pub fn forward(&self, x: &[f64], spectrum: &mut [Complex64], buf: &mut RealFftBuffers) {
        let half = self.n / 2;
        for (z, pair) in buf.half.iter_mut().zip(x[..self.n].chunks_exact(2)) {
            *z = Complex64::new(pair[0], pair[1]);
        }
        self.forward_packed(buf);
        self.split(&buf.half, &mut spectrum[..=half]);
    }

    /// Unnormalised inverse transform (`n ×` the true inverse) from the non-negative frequencies
    /// of a real signal; `spectrum` is left unchanged.
    pub fn inverse(&self, spectrum: &[Complex64], x: &mut [f64], buf: &mut RealFftBuffers) {
        self.inverse_packed(spectrum, buf);
        for (pair, z) in x[..self.n].chunks_exact_mut(2).zip(&buf.half) {
            pair[0] = z.re;
            pair[1] = z.im;
        }
    }

    /// Forward FFT of the packed signal already in `buf` (in place; [`RealFft1d::split`] then
    /// recovers the real signal's spectrum).
    #[inline(always)]
    pub(crate) fn forward_packed(&self, buf: &mut RealFftBuffers) {
        self.forward.process_with_scratch(&mut buf.half, &mut buf.scratch);
    }

    /// The real signal's spectrum `k = 0..spectrum.len()` (at most `n/2 + 1`) from the FFT `z`
    /// of its packed form: `X_k = ½(Z_k + conj Z_{h−k}) − ½i e^{−2πik/n} (Z_k − conj Z_{h−k})`.
    #[inline(always)]
    pub(crate) fn split(&self, z: &[Complex64], spectrum: &mut [Complex64]) {
        let half = self.n / 2;
        let count = spectrum.len();
        // k = 0 and k = n/2 pair Z_0 with itself; the rest pair Z_k with Z_{h−k}.
        let edge = |k: usize| {
            let (zk, zc) = (z[0], z[0].conj());
            (zk + zc) * 0.5 + (zk - zc) * self.forward_twiddles[k]
        };
        if count > 0 {
            spectrum[0] = edge(0);
        }
        let inner = count.min(half).saturating_sub(1);
        let mirrored = z[half - inner..half].iter().rev();
        for (((out, &zk), zc), &tw) in spectrum[1..=inner].iter_mut().zip(&z[1..=inner]).zip(mirrored).zip(&self.forward_twiddles[1..=inner]) {
            let zc = zc.conj();
            *out = (zk + zc) * 0.5 + (zk - zc) * tw;
        }
        if count > half {
            spectrum[half] = edge(half);
        }
    }

    /// As [`RealFft1d::split`] for the modes `k = 0..out.len()` (`out.len() ≤ n/2`), but each
    /// recovered `X_k` is multiplied by the purely imaginary factor `i·g[k]` before it is stored
    /// (fusing the derivative of a pseudo-spectral product into the split).
    #[inline(always)]
    pub(crate) fn split_times_imaginary(&self, z: &[Complex64], g: &[f64], out: &mut [Complex64]) {
        let half = self.n / 2;
        let count = out.len();
        assert!(count <= half && g.len() >= count && z.len() == half);
        let times_ig = |x: Complex64, g: f64| Complex64::new(0.0 - x.im * g, x.re * g);
        if count == 0 {
            return;
        }
        let (z0, zc0) = (z[0], z[0].conj());
        out[0] = times_ig((z0 + zc0) * 0.5 + (z0 - zc0) * self.forward_twiddles[0], g[0]);
        let inner = count - 1;
        let mirrored = z[half - inner..half].iter().rev();
        let modes = out[1..].iter_mut().zip(&z[1..=inner]).zip(mirrored).zip(&self.forward_twiddles[1..=inner]).zip(&g[1..=inner]);
        for ((((out, &zk), zc), &tw), &g) in modes {
            let zc = zc.conj();
            *out = times_ig((zk + zc) * 0.5 + (zk - zc) * tw, g);
        }
    }

    /// Recombine the spectrum into the packed half-length spectrum and inverse-transform it:
    /// afterwards `buf` holds `n·(x_{2j} + i x_{2j+1})`.
    #[inline(always)]
    pub(crate) fn inverse_packed(&self, spectrum: &[Complex64], buf: &mut RealFftBuffers) {
        let half = self.n / 2;
        let mirrored = spectrum[1..=half].iter().rev();
        for (((z, &xk), xc), &tw) in buf.half.iter_mut().zip(&spectrum[..half]).zip(mirrored).zip(&self.inverse_twiddles) {
            let xc = xc.conj();
            // Z_k = E_k + i O_k recombines the even and odd samples' spectra.
            *z = (xk + xc) + (xk - xc) * tw;
        }
        self.inverse.process_with_scratch(&mut buf.half, &mut buf.scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_complex_fft_and_round_trips() {
        for n in [4usize, 6, 16, 30, 64] {
            let x: Vec<f64> = (0..n).map(|j| ((j * j) as f64 * 0.37).sin() + 0.1 * j as f64).collect();
            let plan = RealFft1d::new(n);
            let mut buf = plan.buffers();
            let mut spec = vec![Complex64::new(0.0, 0.0); plan.spectrum_len()];
            plan.forward(&x, &mut spec, &mut buf);
            let mut full: Vec<Complex64> = x.iter().map(|&v| Complex64::new(v, 0.0)).collect();
            FftPlanner::new().plan_fft_forward(n).process(&mut full);
            for k in 0..=n / 2 {
                assert!((spec[k] - full[k]).norm() < 1e-10, "n={n} k={k}");
            }
            let mut back = vec![0.0; n];
            plan.inverse(&spec, &mut back, &mut buf);
            for (a, b) in back.iter().zip(&x) {
                assert!((a / n as f64 - b).abs() < 1e-12);
            }
        }
    }
}
