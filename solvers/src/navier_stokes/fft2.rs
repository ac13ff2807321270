//! Square 2-D FFTs with the spectrum kept transposed.
//!
//! A 2-D transform is a batch of row FFTs, a transpose and another batch of row FFTs. Leaving
//! the spectrum in transposed order (`[k_y][k_x]`) saves the second transpose on the way in and
//! the first on the way out; spectral operators are simply tabulated in that order.

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

    /// Scratch length needed by [`Fft2Plan::forward`] and [`Fft2Plan::inverse`].
    pub fn scratch_len(&self) -> usize {
        self.forward.get_inplace_scratch_len().max(self.inverse.get_inplace_scratch_len())
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
}
