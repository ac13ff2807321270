//! The cubecl kernel of the fused Adam step (runtime-generic: the CUDA backend launches it through
//! `super`, and `bench/operators/conv_kernel_check` runs this same file on wgpu against an f64
//! reference).

// Kernel code is expanded by cubecl's #[cube] macro, which takes a subset of Rust: `(a + b - 1) / b`
// rather than `div_ceil`, explicit casts of the built-in positions, and nested `if`s stay as written.
#![allow(clippy::manual_div_ceil, clippy::unnecessary_cast, clippy::collapsible_if)]
use cubecl::prelude::*;

/// Units per cube (8 warps of 32).
pub const ADAM_UNITS: usize = 256;

/// One Adam step of burn's formulation for every element of a contiguous parameter tensor, in one
/// pass over memory (burn records about ten tensor operations per parameter for it):
///
/// - `g = grad + weight_decay · param` (burn's L2 `WeightDecay`; 0 without one);
/// - `m1' = β1·m1 + (1 − β1)·g`, `m2' = β2·m2 + (1 − β2)·g²`;
/// - `param' = param − step_size · m1' / (√m2' + eps_scaled)`, with the host-side scalars
///   `step_size = lr · √(1 − β2ᵗ) / (1 − β1ᵗ)` and `eps_scaled = ε · √(1 − β2ᵗ)` that burn's
///   `AdaptiveMomentum` uses for step `t`.
///
/// The first step passes zero moments, which gives burn's first-step moments exactly.
#[cube(launch_unchecked)]
pub fn adam_kernel(
    param: &Tensor<f32>,
    grad: &Tensor<f32>,
    m1: &Tensor<f32>,
    m2: &Tensor<f32>,
    param_out: &mut Tensor<f32>,
    m1_out: &mut Tensor<f32>,
    m2_out: &mut Tensor<f32>,
    beta_1: f32,
    beta_2: f32,
    weight_decay: f32,
    step_size: f32,
    eps_scaled: f32,
) {
    let i = ABSOLUTE_POS as usize;
    if i < param.len() {
        let p = param[i];
        let g = grad[i] + weight_decay * p;
        let a = beta_1 * m1[i] + (1.0 - beta_1) * g;
        let v = beta_2 * m2[i] + (1.0 - beta_2) * (g * g);
        m1_out[i] = a;
        m2_out[i] = v;
        param_out[i] = p - step_size * a / (f32::sqrt(v) + eps_scaled);
    }
}

/// The host-side scalars `(step_size, eps_scaled)` of [`adam_kernel`] for step `t ≥ 1`, computed
/// in f32 as burn's `AdaptiveMomentum` does.
pub fn adam_scalars(lr: f64, beta_1: f32, beta_2: f32, epsilon: f32, t: usize) -> (f32, f32) {
    let t = t.min(i32::MAX as usize) as i32;
    let bias_correction2_sqrt = (1.0 - beta_2.powi(t)).sqrt();
    let combined_factor = bias_correction2_sqrt / (1.0 - beta_1.powi(t));
    (lr as f32 * combined_factor, epsilon * bias_correction2_sqrt)
}
