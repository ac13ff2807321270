//! The convolution capability: 2-D convolutions with a hand-written backward pass.
//!
//! burn 0.21's stock convolution backward on CUDA (`conv_data_backward` / `conv_weight_backward`
//! in burn-cubecl) is 25–40× slower than cuDNN, while its forward convolution, forward transposed
//! convolution and GEMM are within 2× (see `shared/reference/burn_gpu_notes.md`). This module
//! re-expresses both gradients through those fast kernels ([`grads`]) and wires them into burn's
//! autodiff as a custom operation (`autodiff.rs`), so that layers keep burn's tensor API:
//!
//! - **forward** and **input gradients**: a backend's direct-convolution kernel where it has one
//!   ([`ConvBackend::direct_conv2d`]; CUDA: `backend::cuda::conv`), else burn's kernels as below;
//! - **input gradient** of a stride-1 convolution: a forward convolution of dY with the flipped,
//!   in/out-swapped kernel and padding `k − 1 − p`; of a strided convolution: a forward
//!   `conv_transpose2d` of dY (the stride-1 trick would need a zero-dilated dY, 4× the work);
//! - **input gradient** of a transposed convolution: a forward strided convolution of dY;
//! - **weight gradient**: one batched GEMM over an im2col matrix built from the k² shifted (and
//!   strided) views of the zero-padded input, with a *manual split-K*: the spatial axis is cut
//!   into chunks of about [`ConvBackend::wgrad_chunk`] points, the GEMM batch is
//!   `batch × chunks` with K = chunk, and the partial products are summed afterwards. burn's GEMM
//!   has no split-K, and the natural shape (M, N = channels, K = H·W) leaves the GPU idle.
//!   A backend's dedicated kernel replaces the GEMM where it has one and prefers it
//!   ([`ConvBackend::conv2d_weight_grad_kernel`], [`ConvBackend::preferred_wgrad_kind`]; CUDA:
//!   `backend::cuda::conv`, a cubecl reduction kernel);
//! - **bias gradient**: a sum of dY.
//!
//! The weight gradient of a transposed convolution is the same GEMM with the roles of input and
//! output gradient exchanged (see [`grads::conv_transpose2d_weight_grad`]).
//!
//! Backends opt in through [`ConvBackend`]. Plain backends (Flex, and the GPU backends of
//! `backend::cuda`) run the forward and have no backward; `Autodiff<B>` records the custom
//! operation. Which backward runs, and how its weight gradient is formed, is a [`ConvPlan`] that
//! the caller passes with each convolution (`backend::select::conv_plan` makes it from the run's
//! options and the backend's preferences); it is stored in the graph when the forward runs, so
//! the backward pass never consults global state.
//!
//! Only `dilation = 1, groups = 1` take the fast path (all oplab uses); anything else falls back
//! to burn's own autodiff convolution. Zero padding is handled inside the operation; circular and
//! reflect halos are explicit pads before it (`layers::padding`), whose gradients burn already
//! computes with cheap slicing ops.

mod autodiff;
pub mod grads;

use burn::tensor::backend::Backend;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, FloatTensor};
use burn::tensor::{Tensor, TensorMetadata};

use super::options::{ConvGradPath, WgradKind};
use super::tensor::{prim, wrap};

/// How one convolution's backward pass is computed: the path, and for the fast path the
/// weight-gradient formulation and its split-K chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvPlan {
    /// Fast, stock or tuned.
    pub path: ConvGradPath,
    /// Formulation of the fast weight gradient.
    pub wgrad: WgradKind,
    /// Split-K chunk of the GEMM formulations.
    pub chunk: usize,
}

impl ConvPlan {
    /// The backend's own choices on `path`: its preferred weight-gradient formulation and chunk.
    pub fn preferred<B: ConvBackend>(path: ConvGradPath) -> Self {
        ConvPlan { path, wgrad: B::preferred_wgrad_kind(), chunk: B::wgrad_chunk() }
    }
}

/// A backend whose 2-D convolutions can carry the backward pass of this module.
///
/// The default methods are the plain (non-autodiff) behaviour: the stock forward kernels, with
/// the gradient path ignored because there is nothing to differentiate. `Autodiff<B, C>`
/// overrides them to record the custom operation. A blanket implementation over every backend is
/// impossible next to the `Autodiff` one (Rust has no specialisation), so each plain backend
/// opts in with its own `impl` (Flex below, the GPU backends in `backend::cuda`).
pub trait ConvBackend: Backend {
    /// The backward path under `conv_grad = "auto"`. The fast path everywhere unless a backend
    /// measures otherwise.
    fn preferred_grad_path() -> ConvGradPath {
        ConvGradPath::Fast
    }

    /// Under [`ConvGradPath::Tuned`]: whether the forward-kernel input gradient of this module
    /// beats the backend's own `conv*_x_backward` for a layer of this geometry.
    fn fast_dgrad_wins(geometry: &ConvGeometry) -> bool {
        let _ = geometry;
        true
    }

    /// Under [`ConvGradPath::Tuned`]: whether the split-K GEMM weight gradient of this module
    /// beats the backend's own `conv*_weight_backward` for a layer of this geometry.
    fn fast_wgrad_wins(geometry: &ConvGeometry) -> bool {
        let _ = geometry;
        true
    }

    /// Target chunk length (the GEMM's K) of the split-K weight gradient. 1024 keeps K long
    /// enough for a GEMM tile loop and the batch large enough to fill a GPU.
    fn wgrad_chunk() -> usize {
        1024
    }

    /// The weight-gradient formulation under `conv_wgrad = "auto"`: the split-K GEMM
    /// ([`WgradKind::Im2col`]) unless the backend has a faster dedicated kernel.
    fn preferred_wgrad_kind() -> WgradKind {
        WgradKind::Im2col
    }

    /// A dedicated direct-convolution kernel of this backend (dilation 1, one group, zero padding):
    /// a convolution (`transposed = false`, `weight` `[c_out, c_in, kh, kw]`) or a transposed
    /// convolution (`weight` `[c_in, c_out, kh, kw]`) of `x` `[batch, c_in, H, W]` into a
    /// `[batch, c_out, out_hw[0], out_hw[1]]` output, which for the transposed one may be cropped
    /// or extended to any size. `None` (the default) where the backend has none; burn's own
    /// kernels are used then.
    fn direct_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        out_hw: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        transposed: bool,
    ) -> Option<FloatTensor<Self>> {
        let _ = (x, weight, out_hw, stride, padding, transposed);
        None
    }

    /// A dedicated weight-gradient kernel of this backend for `conv2d` (dilation 1, one group):
    /// `[c_out, c_in, kh, kw]` from `x` `[batch, c_in, H, W]` and `dy` `[batch, c_out, Ho, Wo]`.
    /// `None` (the default) where the backend has none for these tensors; the split-K GEMM
    /// formulation is used then. Asked only under [`WgradKind::Kernel`].
    fn conv2d_weight_grad_kernel(
        x: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Option<FloatTensor<Self>> {
        let _ = (x, dy, kernel, stride, padding);
        None
    }

    /// `conv2d(x, weight, bias, options)` whose gradients, under autodiff, follow `plan`.
    ///
    /// Shapes as burn's `conv2d`: `x` `[batch, c_in, H, W]`, `weight` `[c_out, c_in, kh, kw]`,
    /// `bias` `[c_out]`.
    fn fast_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<2>,
        plan: ConvPlan,
    ) -> FloatTensor<Self> {
        let _ = plan;
        forward_conv2d::<Self>(x, weight, bias, options)
    }

    /// `conv_transpose2d(x, weight, bias, options)` whose gradients, under autodiff, follow `plan`.
    ///
    /// Shapes as burn's `conv_transpose2d`: `x` `[batch, c_in, H, W]`, `weight`
    /// `[c_in, c_out, kh, kw]`, `bias` `[c_out]`.
    fn fast_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvTransposeOptions<2>,
        plan: ConvPlan,
    ) -> FloatTensor<Self> {
        let _ = plan;
        forward_conv_transpose2d::<Self>(x, weight, bias, options)
    }
}

/// burn's pure-Rust CPU backend. Its own convolution gradients are good CPU code, so neither
/// path wins everywhere; measured with the ignored `fastconv_cpu_timing` test (batch 8, 24
/// channels, 64²), the fast formulations win for 1×1 and strided layers (1.2–5×) and for the
/// weight gradient of 1-channel inputs (3×), and lose for 3×3 stride-1 layers (2.5× on the
/// weight gradient), for the input gradient of 1-channel inputs (10×) and for transposed
/// convolutions (1.2–1.4×). The default is therefore [`ConvGradPath::Tuned`] with those
/// rules, and one GEMM per image (no split-K: a CPU GEMM needs no help to fill the cores).
impl ConvBackend for burn::backend::Flex {
    fn preferred_grad_path() -> ConvGradPath {
        ConvGradPath::Tuned
    }

    fn fast_dgrad_wins(g: &ConvGeometry) -> bool {
        !g.transposed && (g.kernel == [1, 1] || g.stride != [1, 1])
    }

    fn fast_wgrad_wins(g: &ConvGeometry) -> bool {
        !g.transposed && (g.kernel == [1, 1] || g.stride != [1, 1] || g.c_in <= 4)
    }

    fn wgrad_chunk() -> usize {
        usize::MAX
    }
}

/// What [`ConvBackend::fast_dgrad_wins`] and [`ConvBackend::fast_wgrad_wins`] decide on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels of the operation (for a transposed convolution: of its input).
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel size.
    pub kernel: [usize; 2],
    /// Stride.
    pub stride: [usize; 2],
    /// Whether it is a transposed convolution.
    pub transposed: bool,
}

/// `conv2d` whose backward follows `plan`.
///
/// # Shapes
/// - `x`: `[batch, c_in, H, W]`, `weight`: `[c_out, c_in, kh, kw]`, `bias`: `[c_out]`
/// - output: `[batch, c_out, (H + 2p − kh)/s + 1, (W + 2p − kw)/s + 1]`
pub fn conv2d_with<B: ConvBackend>(x: Tensor<B, 4>, weight: Tensor<B, 4>, bias: Option<Tensor<B, 1>>, options: ConvOptions<2>, plan: ConvPlan) -> Tensor<B, 4> {
    wrap(B::fast_conv2d(prim(x), prim(weight), bias.map(prim), options, plan))
}

/// `conv_transpose2d` whose backward follows `plan`.
///
/// # Shapes
/// - `x`: `[batch, c_in, H, W]`, `weight`: `[c_in, c_out, kh, kw]`, `bias`: `[c_out]`
/// - output: `[batch, c_out, s(H − 1) − 2p + kh + padding_out, ...]`
pub fn conv_transpose2d_with<B: ConvBackend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    options: ConvTransposeOptions<2>,
    plan: ConvPlan,
) -> Tensor<B, 4> {
    wrap(B::fast_conv_transpose2d(prim(x), prim(weight), bias.map(prim), options, plan))
}

/// `conv2d` on the backend's direct kernel where it has one for these options (dilation 1, one
/// group), else burn's own forward; the bias is added as a broadcast (fused on a fusion backend).
pub fn forward_conv2d<B: ConvBackend>(x: FloatTensor<B>, weight: FloatTensor<B>, bias: Option<FloatTensor<B>>, options: ConvOptions<2>) -> FloatTensor<B> {
    if plain_conv(options.dilation, options.groups) {
        let [_, _, h, w] = x.shape().dims();
        let [_, _, kh, kw] = weight.shape().dims();
        let out = |n: usize, k: usize, i: usize| (n + 2 * options.padding[i]).checked_sub(k).map(|r| r / options.stride[i] + 1);
        if let (Some(ho), Some(wo)) = (out(h, kh, 0), out(w, kw, 1)) {
            if let Some(y) = B::direct_conv2d(x.clone(), weight.clone(), [ho, wo], options.stride, options.padding, false) {
                return add_bias::<B>(y, bias);
            }
        }
    }
    B::conv2d(x, weight, bias, options)
}

/// `conv_transpose2d` on the backend's direct kernel where it has one (dilation 1, one group),
/// else burn's own forward.
pub fn forward_conv_transpose2d<B: ConvBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
    options: ConvTransposeOptions<2>,
) -> FloatTensor<B> {
    if plain_conv(options.dilation, options.groups) {
        let [_, _, h, w] = x.shape().dims();
        let [_, _, kh, kw] = weight.shape().dims();
        let out = |n: usize, k: usize, i: usize| (options.stride[i] * (n.max(1) - 1) + k + options.padding_out[i]).checked_sub(2 * options.padding[i]);
        if let (Some(ho), Some(wo)) = (out(h, kh, 0), out(w, kw, 1)) {
            if let Some(y) = B::direct_conv2d(x.clone(), weight.clone(), [ho, wo], options.stride, options.padding, true) {
                return add_bias::<B>(y, bias);
            }
        }
    }
    B::conv_transpose2d(x, weight, bias, options)
}

fn add_bias<B: Backend>(y: FloatTensor<B>, bias: Option<FloatTensor<B>>) -> FloatTensor<B> {
    match bias {
        Some(b) => {
            let c = b.shape().dims::<1>()[0];
            prim(wrap::<B, 4>(y) + wrap::<B, 1>(b).reshape([1, c, 1, 1]))
        }
        None => y,
    }
}

/// Options the fast path covers.
fn plain_conv(dilation: [usize; 2], groups: usize) -> bool {
    dilation == [1, 1] && groups == 1
}

#[cfg(test)]
mod tests {
    use super::grads::{conv2d_input_grad, conv2d_weight_grad, conv_transpose2d_input_grad, conv_transpose2d_weight_grad};
    use super::*;
    use crate::backend::tensor::testing::{randn, rel_err, vec64, Ad};
    use burn::backend::Flex as Cpu;
    use burn::tensor::module::{conv2d, conv_transpose2d};
    use burn::tensor::ops::ModuleOps;
    use burn::tensor::Distribution;

    fn conv_transpose2d_on_path<B: ConvBackend>(
        x: Tensor<B, 4>,
        weight: Tensor<B, 4>,
        bias: Option<Tensor<B, 1>>,
        options: ConvTransposeOptions<2>,
        path: ConvGradPath,
    ) -> Tensor<B, 4> {
        conv_transpose2d_with(x, weight, bias, options, ConvPlan::preferred::<B>(path))
    }

    fn conv2d_on_path<B: ConvBackend>(
        x: Tensor<B, 4>,
        weight: Tensor<B, 4>,
        bias: Option<Tensor<B, 1>>,
        options: ConvOptions<2>,
        path: ConvGradPath,
    ) -> Tensor<B, 4> {
        conv2d_with(x, weight, bias, options, ConvPlan::preferred::<B>(path))
    }

    /// Output, dX, dW, db of `L = Σ r · conv_transpose2d(x)` on one path.
    fn convt_grads_on(
        x: &Tensor<Ad, 4>,
        w: &Tensor<Ad, 4>,
        b: &Option<Tensor<Ad, 1>>,
        r: &Tensor<Ad, 4>,
        opts: &ConvTransposeOptions<2>,
        path: Option<ConvGradPath>,
    ) -> Vec<Vec<f64>> {
        let (x, w) = (x.clone().detach().require_grad(), w.clone().detach().require_grad());
        let b = b.clone().map(|b| b.detach().require_grad());
        let y = match path {
            Some(p) => conv_transpose2d_on_path(x.clone(), w.clone(), b.clone(), opts.clone(), p),
            None => conv_transpose2d(x.clone(), w.clone(), b.clone(), opts.clone()),
        };
        let grads = (y.clone() * r.clone()).sum().backward();
        let mut out = vec![vec64(y.inner()), vec64(x.grad(&grads).unwrap()), vec64(w.grad(&grads).unwrap())];
        if let Some(b) = b {
            out.push(vec64(b.grad(&grads).unwrap()));
        }
        out
    }

    #[test]
    fn fastconv_transposed_gradients_equal_stock_in_f64() {
        // (batch, c_in, c_out, [h, w], kernel, stride, padding, padding_out, bias): the MgNO
        // prolongations (4×4 and 3×3, stride 2, padding 1, with and without padding_out) on odd,
        // non-square and one-pixel grids.
        let cases = [
            (2, 3, 3, [4, 4], 4, 2, 1, [0, 0], false),
            (2, 2, 3, [5, 3], 4, 2, 1, [1, 0], false),
            (1, 1, 2, [3, 6], 3, 2, 1, [0, 1], false),
            (2, 3, 1, [7, 7], 3, 2, 1, [1, 1], true),
            (1, 2, 2, [1, 1], 4, 2, 1, [0, 0], false),
            (2, 2, 2, [4, 5], 3, 1, 1, [0, 0], true),
            (1, 2, 3, [3, 4], 2, 2, 0, [1, 0], false),
        ];
        let mut worst: f64 = 0.0;
        for (batch, ci, co, [h, w], k, s, p, po, bias) in cases {
            let opts = ConvTransposeOptions::new([s; 2], [p; 2], po, [1, 1], 1);
            let x = randn([batch, ci, h, w]);
            let wt = randn([ci, co, k, k]);
            let b = bias.then(|| randn([co]));
            let out_dims = conv_transpose2d(x.clone(), wt.clone(), b.clone(), opts.clone()).dims();
            let r = randn(out_dims);
            let stock = convt_grads_on(&x, &wt, &b, &r, &opts, None);
            let fast = convt_grads_on(&x, &wt, &b, &r, &opts, Some(ConvGradPath::Fast));
            let tuned = convt_grads_on(&x, &wt, &b, &r, &opts, Some(ConvGradPath::Tuned));
            for (i, ((f, st), t)) in fast.iter().zip(&stock).zip(&tuned).enumerate() {
                let e = rel_err(f, st);
                assert!(e < 1e-10, "{h}x{w} k{k} s{s} p{p} po{po:?}: tensor {i} differs from stock by {e:e}");
                assert!(rel_err(t, st) < 1e-10, "{h}x{w} k{k} s{s} p{p} po{po:?}: tensor {i} (tuned) differs from stock");
                worst = worst.max(e);
            }
        }
        eprintln!("conv_transpose2d: worst relative difference fast vs stock {worst:.2e}");
    }

    fn time_ms(reps: usize, mut f: impl FnMut()) -> f64 {
        f();
        let t = std::time::Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    }

    /// CPU forward+backward of single layers, stock vs fast (`cargo test -p oplab-operators --lib
    /// fastconv_cpu_timing -- --ignored --nocapture`); this is what decides the CPU default.
    #[test]
    #[ignore]
    fn fastconv_cpu_timing() {
        let device = Default::default();
        eprintln!("| layer | stock fwd+bwd ms | fast fwd+bwd ms | tuned fwd+bwd ms | stock/fast | pieces (ms) |");
        eprintln!("|---|---|---|---|---|---|");
        for (name, b, ci, co, n, k, s, transposed) in [
            ("3x3 24->24 64^2", 8, 24, 24, 64, 3, 1, false),
            ("3x3 s2 24->24 64^2", 8, 24, 24, 64, 3, 2, false),
            ("4x4 s2 T 24->24 32^2", 8, 24, 24, 32, 4, 2, true),
            ("3x3 1->24 64^2", 8, 1, 24, 64, 3, 1, false),
            ("1x1 24->24 64^2", 8, 24, 24, 64, 1, 1, false),
            ("3x3 32->32 128^2", 4, 32, 32, 128, 3, 1, false),
        ] {
            let x = Tensor::<Ad, 4>::random([b, ci, n, n], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let w = Tensor::<Ad, 4>::random(if transposed { [ci, co, k, k] } else { [co, ci, k, k] }, Distribution::Normal(0.0, 0.1), &device).require_grad();
            let pad = if k == 1 { 0 } else { 1 };
            let run = |path: ConvGradPath| {
                let y = if transposed {
                    conv_transpose2d_on_path(x.clone(), w.clone(), None, ConvTransposeOptions::new([s; 2], [pad; 2], [0, 0], [1, 1], 1), path)
                } else {
                    conv2d_on_path(x.clone(), w.clone(), None, ConvOptions::new([s; 2], [pad; 2], [1, 1], 1), path)
                };
                let grads = y.sum().backward();
                let _ = vec64(w.grad(&grads).unwrap().sum());
            };
            let stock = time_ms(3, || run(ConvGradPath::Stock));
            let fast = time_ms(3, || run(ConvGradPath::Fast));
            let tuned = time_ms(3, || run(ConvGradPath::Tuned));
            // The pieces on the plain backend: stock kernels, fast dgrad, fast wgrad unsplit and
            // split at 1024.
            let (xi, wi) = (x.clone().inner(), w.clone().inner());
            let y = if transposed {
                conv_transpose2d(xi.clone(), wi.clone(), None, ConvTransposeOptions::new([s; 2], [pad; 2], [0, 0], [1, 1], 1))
            } else {
                conv2d(xi.clone(), wi.clone(), None, ConvOptions::new([s; 2], [pad; 2], [1, 1], 1))
            };
            let dy = y.ones_like();
            let copts = ConvOptions::new([s; 2], [pad; 2], [1, 1], 1);
            let topts = ConvTransposeOptions::new([s; 2], [pad; 2], [0, 0], [1, 1], 1);
            let stock_d = time_ms(3, || {
                let _ = if transposed {
                    Cpu::conv_transpose2d_x_backward(prim(wi.clone()), prim(dy.clone()), topts.clone())
                } else {
                    Cpu::conv2d_x_backward(prim(xi.clone()), prim(wi.clone()), prim(dy.clone()), copts.clone())
                };
            });
            let stock_w = time_ms(3, || {
                let _ = if transposed {
                    Cpu::conv_transpose2d_weight_backward(prim(xi.clone()), prim(wi.clone()), prim(dy.clone()), topts.clone())
                } else {
                    Cpu::conv2d_weight_backward(prim(xi.clone()), prim(wi.clone()), prim(dy.clone()), copts.clone())
                };
            });
            let fast_d = time_ms(3, || {
                let _ = if transposed {
                    conv_transpose2d_input_grad(dy.clone(), wi.clone(), [n, n], [s; 2], [pad; 2])
                } else {
                    conv2d_input_grad(dy.clone(), wi.clone(), [n, n], [s; 2], [pad; 2])
                };
            });
            let fast_w = |chunk: usize| {
                time_ms(3, || {
                    let _ = if transposed {
                        conv_transpose2d_weight_grad(xi.clone(), dy.clone(), [k, k], [s; 2], [pad; 2], chunk, WgradKind::Im2col)
                    } else {
                        conv2d_weight_grad(xi.clone(), dy.clone(), [k, k], [s; 2], [pad; 2], chunk, WgradKind::Im2col)
                    };
                })
            };
            let (w_split, w_whole) = (fast_w(1024), fast_w(usize::MAX));
            eprintln!("| {name} | {stock:.1} | {fast:.1} | {tuned:.1} | {:.2} | dgrad stock {stock_d:.1} fast {fast_d:.1}; wgrad stock {stock_w:.1} split {w_split:.1} whole {w_whole:.1} |", stock / fast);
        }
    }
}
