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
    /// `e^{−2πik/n}`, k = 0..n/2.
    twiddles: Vec<Complex64>,
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

impl RealFft1d {
    /// Plan transforms of length `n` (even, ≥ 4; callers validate).
    pub fn new(n: usize) -> Self {
        assert!(n >= 4 && n % 2 == 0, "checked by callers: even n >= 4");
        let mut planner = FftPlanner::new();
        let half = n / 2;
        let twiddles = (0..=half).map(|k| Complex64::from_polar(1.0, -2.0 * PI * k as f64 / n as f64)).collect();
        Self { n, forward: planner.plan_fft_forward(half), inverse: planner.plan_fft_inverse(half), twiddles }
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
        for (j, z) in buf.half.iter_mut().enumerate() {
            *z = Complex64::new(x[2 * j], x[2 * j + 1]);
        }
        self.forward.process_with_scratch(&mut buf.half, &mut buf.scratch);
        let z = &buf.half;
        for k in 0..=half {
            let zk = z[k % half];
            let zc = z[(half - k) % half].conj();
            let even = 0.5 * (zk + zc);
            let odd = Complex64::new(0.0, -0.5) * (zk - zc);
            spectrum[k] = even + self.twiddles[k] * odd;
        }
    }

    /// Unnormalised inverse transform (`n ×` the true inverse) from the non-negative frequencies
    /// of a real signal; `spectrum` is left unchanged.
    pub fn inverse(&self, spectrum: &[Complex64], x: &mut [f64], buf: &mut RealFftBuffers) {
        let half = self.n / 2;
        for k in 0..half {
            let xk = spectrum[k];
            let xc = spectrum[half - k].conj();
            let even = xk + xc;
            let odd = (xk - xc) * self.twiddles[k].conj();
            // Z_k = E_k + i O_k recombines the even and odd samples' spectra.
            buf.half[k] = even + Complex64::new(0.0, 1.0) * odd;
        }
        self.inverse.process_with_scratch(&mut buf.half, &mut buf.scratch);
        for (j, z) in buf.half.iter().enumerate() {
            x[2 * j] = z.re;
            x[2 * j + 1] = z.im;
        }
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
