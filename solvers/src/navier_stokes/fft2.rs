//! Square 2-D FFTs with the spectrum kept transposed, and the real-field transforms the
//! Navier–Stokes stepper is built from.
//!
//! A 2-D transform is a batch of row FFTs, a transpose and another batch of row FFTs. Leaving
//! the spectrum in transposed order (`[k_y][k_x]`) saves the second transpose on the way in and
//! the first on the way out; spectral operators are simply tabulated in that order.
//!
//! Real fields have Hermitian spectra, so only the rows `k_y ∈ [0, s/2]` (the "half spectrum",
//! `(s/2 + 1) × s` values, still `[k_y][k_x]`) are stored; the rows `k_y < 0` follow from
//! `F(−k) = conj F(k)`. A real field's forward transform packs two physical rows `x, x + 1` into
//! one complex row FFT and separates them afterwards, which halves the first pass; the second
//! pass only runs over the `k_y` rows that are wanted.

use crate::grf::periodic::transpose;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Plans for `s × s` transforms (shared, immutable).
#[derive(Clone)]
pub struct Fft2Plan {
    s: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
}

impl Fft2Plan {
    /// Plan both directions once.
    pub fn new(s: usize) -> Self {
        let mut planner = FftPlanner::new();
        Self { s, forward: planner.plan_fft_forward(s), inverse: planner.plan_fft_inverse(s) }
    }

    /// Grid points per side.
    pub fn size(&self) -> usize {
        self.s
    }

    /// Scratch length needed by every transform of this plan.
    pub fn scratch_len(&self) -> usize {
        self.forward.get_inplace_scratch_len().max(self.inverse.get_inplace_scratch_len())
    }

    /// The planned length-`s` forward row FFT (for fused pipelines that batch their own rows).
    pub(crate) fn row_forward(&self) -> &dyn Fft<f64> {
        &*self.forward
    }

    /// The planned length-`s` inverse row FFT.
    pub(crate) fn row_inverse(&self) -> &dyn Fft<f64> {
        &*self.inverse
    }

    /// Unnormalised forward transform of physical `[x][y]` values in `input` (clobbered) into
    /// the spectrum `[k_y][k_x]` in `output`.
    pub fn forward(&self, input: &mut [Complex64], output: &mut [Complex64], scratch: &mut [Complex64]) {
        self.forward.process_with_scratch(input, scratch); // over y: [x][k_y]
        transpose(input, output, self.s); // [k_y][x]
        self.forward.process_with_scratch(output, scratch); // over x: [k_y][k_x]
    }

    /// Unnormalised inverse transform of the spectrum `[k_y][k_x]` in `input` (clobbered) into
    /// physical `[x][y]` values in `output`.
    pub fn inverse(&self, input: &mut [Complex64], output: &mut [Complex64], scratch: &mut [Complex64]) {
        self.inverse.process_with_scratch(input, scratch); // over k_x: [k_y][x]
        transpose(input, output, self.s); // [x][k_y]
        self.inverse.process_with_scratch(output, scratch); // over k_y: [x][y]
    }

    /// Unnormalised forward transform of the real field `field` (`[x][y]`, `s × s`) into the
    /// half-spectrum rows `k_y = 0..rows` (`rows ≤ s/2 + 1`), `[k_y][k_x]`, in `out[..rows·s]`.
    /// `pairs` holds at least `s²/2` values; both it and `scratch` are clobbered.
    pub fn forward_real(&self, field: &[f64], rows: usize, out: &mut [Complex64], pairs: &mut [Complex64], scratch: &mut [Complex64]) {
        let s = self.s;
        assert!(field.len() == s * s && rows <= s / 2 + 1 && out.len() >= rows * s && pairs.len() >= s * s / 2);
        for (p, row) in pairs[..s * s / 2].chunks_exact_mut(s).enumerate() {
            let (even, odd) = (&field[2 * p * s..(2 * p + 1) * s], &field[(2 * p + 1) * s..(2 * p + 2) * s]);
            for ((z, &a), &b) in row.iter_mut().zip(even).zip(odd) {
                *z = Complex64::new(a, b);
            }
        }
        self.forward.process_with_scratch(&mut pairs[..s * s / 2], scratch);
        split_pairs_transposed(&pairs[..s * s / 2], s, s, 0, rows, 1.0, out);
        self.forward.process_with_scratch(&mut out[..rows * s], scratch);
    }

    /// Unnormalised inverse transform (`s² ×` the true inverse) of a real field's half spectrum
    /// (`(s/2 + 1) × s`, `[k_y][k_x]`) into physical `[x][y]` values (real parts of `full`,
    /// which must hold `s²` values; `work` too; `scratch` as for the other transforms).
    pub fn inverse_real(&self, half: &[Complex64], full: &mut [Complex64], work: &mut [Complex64], scratch: &mut [Complex64]) {
        let s = self.s;
        for r in 0..s {
            let row = &mut work[r * s..(r + 1) * s];
            if r <= s / 2 {
                row.copy_from_slice(&half[r * s..(r + 1) * s]);
            } else {
                conjugate_reversed(&half[(s - r) * s..(s - r + 1) * s], row);
            }
        }
        self.inverse(work, full, scratch);
    }
}

/// `out[c] = conj(row[(s − c) mod s])`: row `−k_y` of a Hermitian spectrum from row `k_y`.
pub(crate) fn conjugate_reversed(row: &[Complex64], out: &mut [Complex64]) {
    out[0] = row[0].conj();
    for (o, v) in out[1..].iter_mut().zip(row[1..].iter().rev()) {
        *o = v.conj();
    }
}

/// Separate packed row spectra and write them transposed.
///
/// Row `p` of `pairs` is the FFT over y of `f(x₀+2p, ·) + i f(x₀+2p+1, ·)` for two real rows of
/// a field; this writes `scale · F(x, k_y)` for those two `x` into `out[k_y·ld + x]`, `k_y < rows`
/// (`ld ≥ s` is the row stride of `out`).
/// (`F(k) = ½(Z(k) + conj Z(−k))` and `G(k) = −½i(Z(k) − conj Z(−k))` recover the two rows'
/// spectra from their packed transform `Z`.)
#[inline(always)]
pub(crate) fn split_pairs_transposed(pairs: &[Complex64], s: usize, ld: usize, x0: usize, rows: usize, scale: f64, out: &mut [Complex64]) {
    let half_scale = 0.5 * scale;
    let npairs = pairs.len() / s;
    for ky in 0..rows {
        let mirror = if ky == 0 { 0 } else { s - ky };
        let dst = &mut out[ky * ld + x0..ky * ld + x0 + 2 * npairs];
        for (pair, d) in pairs.chunks_exact(s).zip(dst.chunks_exact_mut(2)) {
            let (z, zc) = (pair[ky], pair[mirror].conj());
            let (sum, diff) = (z + zc, z - zc);
            d[0] = Complex64::new(sum.re * half_scale, sum.im * half_scale);
            d[1] = Complex64::new(diff.im * half_scale, -diff.re * half_scale);
        }
    }
}
