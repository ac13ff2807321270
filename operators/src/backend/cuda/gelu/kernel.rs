//! The cubecl kernels of the fused `gelu(a + b)` and its input gradient (runtime-generic: the CUDA
//! backend launches them through `super`, and `bench/operators/conv_kernel_check` runs this same
//! file on wgpu against an f64 reference).
//!
//! GELU here is the exact (erf) form that burn's `gelu` and PyTorch's default compute,
//! `gelu(s) = s·Φ(s)` with `Φ(s) = (1 + erf(s/√2))/2`, and its gradient is the exact derivative
//! `Φ(s) + s·φ(s)`, `φ(s) = exp(−s²/2)/√(2π)`. (burn 0.21's own `gelu_backward` differentiates
//! the tanh approximation instead, see `backend::activation`.)
use cubecl::prelude::*;

/// Units per cube (8 warps of 32).
pub const GELU_UNITS: usize = 256;

/// 1/√2.
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// 1/√(2π).
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// `y = gelu(a + b)` element by element over contiguous tensors of one length (one pass over
/// memory: burn's composition takes six kernels, the add and five for the GELU).
#[cube(launch_unchecked)]
pub fn add_gelu_kernel(a: &Tensor<f32>, b: &Tensor<f32>, y: &mut Tensor<f32>) {
    let i = ABSOLUTE_POS;
    if i < y.len() {
        let s = a[i] + b[i];
        y[i] = 0.5 * s * (1.0 + Erf::erf(s * FRAC_1_SQRT_2));
    }
}

/// The gradient of `gelu(a + b)` with respect to either summand, `dz = g · (Φ(s) + s·φ(s))` with
/// `s = a + b`, element by element over contiguous tensors of one length (one pass: burn's
/// `gelu_backward` takes about fifteen kernels).
#[cube(launch_unchecked)]
pub fn add_gelu_backward_kernel(a: &Tensor<f32>, b: &Tensor<f32>, g: &Tensor<f32>, dz: &mut Tensor<f32>) {
    let i = ABSOLUTE_POS;
    if i < dz.len() {
        let s = a[i] + b[i];
        let cdf = 0.5 * (1.0 + Erf::erf(s * FRAC_1_SQRT_2));
        let pdf = FRAC_1_SQRT_2PI * Exp::exp(-0.5 * s * s);
        dz[i] = g[i] * (cdf + s * pdf);
    }
}
