//! 2-D convolutions with a hand-written backward pass.
//!
//! burn 0.21's stock convolution backward on CUDA (`conv_data_backward` / `conv_weight_backward`
//! in burn-cubecl) is 25–40× slower than cuDNN, while its forward convolution, forward transposed
//! convolution and GEMM are within 2× (see `shared/reference/burn_gpu_notes.md`). This module
//! re-expresses both gradients through those fast kernels and wires them into burn's autodiff as
//! a custom operation, so that layers keep burn's tensor API:
//!
//! - **forward** and **input gradients**: a backend's direct-convolution kernel where it has one
//!   ([`ConvBackend::direct_conv2d`]; CUDA: `super::conv_kernels`), else burn's kernels as below;
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
//!   `super::conv_kernels`, a cubecl reduction kernel); `OPLAB_CONV_WGRAD` overrides the choice;
//! - **bias gradient**: a sum of dY.
//!
//! The weight gradient of a transposed convolution is the same GEMM with the roles of input and
//! output gradient exchanged (see [`conv_transpose2d_weight_grad`]).
//!
//! Backends opt in through [`ConvBackend`]. Plain backends (Flex, and Cuda with the `cuda`
//! feature) run the stock forward and have no backward; `Autodiff<B>` records the custom
//! operation. Which backward runs is a [`ConvGradPath`] (`Fast`, `Stock`, or `Tuned`: per
//! gradient, whichever the backend measured faster), chosen per call site: a scoped
//! per-thread override ([`with_grad_path`]), else a process default ([`set_default_grad_path`],
//! or the environment variable `OPLAB_CONV_GRAD=fast|stock|tuned`), else the backend's preference
//! ([`ConvBackend::preferred_grad_path`]). The choice is made when the forward runs and stored in
//! the graph, so the backward pass never consults global state.
//!
//! Only `dilation = 1, groups = 1` take the fast path (all oplab uses); anything else falls back
//! to burn's own autodiff convolution. Zero padding is handled inside the operation; circular and
//! reflect halos are explicit pads before it (`padding.rs`), whose gradients burn already
//! computes with cheap slicing ops.

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, FloatTensor, ModuleOps};
use burn::tensor::{Slice, Tensor, TensorMetadata, TensorPrimitive};

use super::dft::SpectralLayout;
use super::padding::zero_pad;

/// How the backward pass of a convolution is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConvGradPath {
    /// The formulations of this module (forward-speed kernels and split-K GEMMs).
    Fast,
    /// burn's own autodiff convolution (`conv2d_x_backward`, `conv2d_weight_backward`, ...).
    Stock,
    /// The custom operation, with each gradient computed by whichever of the two formulations
    /// the backend measured faster for the layer's geometry ([`ConvBackend::fast_dgrad_wins`],
    /// [`ConvBackend::fast_wgrad_wins`]). Identical to `Fast` where the fast ones always win.
    Tuned,
}

impl ConvGradPath {
    /// Parses `fast`, `stock` or `tuned` (the values of `OPLAB_CONV_GRAD`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fast" => Some(Self::Fast),
            "stock" => Some(Self::Stock),
            "tuned" => Some(Self::Tuned),
            _ => None,
        }
    }

    /// The name [`ConvGradPath::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Stock => "stock",
            Self::Tuned => "tuned",
        }
    }
}

/// A backend whose 2-D convolutions can carry the backward pass of this module.
///
/// The default methods are the plain (non-autodiff) behaviour: the stock forward kernels, with
/// the gradient path ignored because there is nothing to differentiate. `Autodiff<B, C>`
/// overrides them to record the custom operation. A blanket implementation over every backend is
/// impossible next to the `Autodiff` one (Rust has no specialisation), so each plain backend
/// opts in with an empty `impl` (see the ones below).
pub trait ConvBackend: Backend {
    /// The backward path used when neither the caller nor the process chose one. The fast path
    /// everywhere unless a backend measures otherwise.
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

    /// The weight-gradient formulation recorded when neither `OPLAB_CONV_WGRAD` nor the caller
    /// chose one: the split-K GEMM ([`WgradKind::Im2col`]) unless the backend has a faster
    /// dedicated kernel.
    fn preferred_wgrad_kind() -> WgradKind {
        WgradKind::Im2col
    }

    /// The spectral layout FNO's layers use on this backend unless `OPLAB_SPECTRAL` says otherwise
    /// (see [`crate::layers::dft::SpectralLayout`]).
    fn preferred_spectral_layout() -> SpectralLayout {
        SpectralLayout::Split
    }

    /// A dedicated direct-convolution kernel of this backend (dilation 1, one group, zero padding):
    /// a convolution (`transposed = false`, `weight` `[c_out, c_in, kh, kw]`) or a transposed
    /// convolution (`weight` `[c_in, c_out, kh, kw]`) of `x` `[batch, c_in, H, W]` into a
    /// `[batch, c_out, out_hw[0], out_hw[1]]` output, which for the transposed one may be cropped
    /// or extended to any size. `None` (the default) where the backend has none; burn's own
    /// kernels are used then.
    fn direct_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, out_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool) -> Option<FloatTensor<Self>> {
        let _ = (x, weight, out_hw, stride, padding, transposed);
        None
    }

    /// A fused Adam step of this backend (see `crate::training::fused_adam`): from a parameter, its
    /// gradient and both moments (one shape, f32), the new parameter and moments. `None` (the
    /// default) where the backend has none; burn's Adam runs then.
    fn adam_step_kernel(param: FloatTensor<Self>, grad: FloatTensor<Self>, m1: FloatTensor<Self>, m2: FloatTensor<Self>, hyper: crate::training::fused_adam::AdamHyper) -> Option<[FloatTensor<Self>; 3]> {
        let _ = (param, grad, m1, m2, hyper);
        None
    }

    /// A dedicated weight-gradient kernel of this backend for `conv2d` (dilation 1, one group):
    /// `[c_out, c_in, kh, kw]` from `x` `[batch, c_in, H, W]` and `dy` `[batch, c_out, Ho, Wo]`.
    /// `None` (the default) where the backend has none for these tensors; the split-K GEMM
    /// formulation is used then. Asked only under [`WgradKind::Kernel`].
    fn conv2d_weight_grad_kernel(x: FloatTensor<Self>, dy: FloatTensor<Self>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Option<FloatTensor<Self>> {
        let _ = (x, dy, kernel, stride, padding);
        None
    }

    /// `gelu(a + b)` (two f32 tensors of one shape) in one kernel of this backend; `None` (the
    /// default) where it has none, and burn's composition runs (see `super::activation`).
    fn add_gelu_kernel(a: FloatTensor<Self>, b: FloatTensor<Self>) -> Option<FloatTensor<Self>> {
        let _ = (a, b);
        None
    }

    /// The gradient of `gelu(a + b)` with respect to either summand, `grad · gelu'(a + b)`, in one
    /// kernel of this backend; `None` (the default) where it has none.
    fn add_gelu_backward_kernel(a: FloatTensor<Self>, b: FloatTensor<Self>, grad: FloatTensor<Self>) -> Option<FloatTensor<Self>> {
        let _ = (a, b, grad);
        None
    }

    /// `gelu(a + b)` for two tensors of one shape; under autodiff with the exact gradient
    /// (`super::activation::add_gelu` is the tensor-level entry point).
    fn add_gelu(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        super::activation::add_gelu_forward::<Self>(a, b)
    }

    /// `conv2d(x, weight, bias, options)` whose gradients, under autodiff, follow `path`.
    ///
    /// Shapes as burn's `conv2d`: `x` `[batch, c_in, H, W]`, `weight` `[c_out, c_in, kh, kw]`,
    /// `bias` `[c_out]`.
    fn fast_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: Option<FloatTensor<Self>>, options: ConvOptions<2>, path: ConvGradPath) -> FloatTensor<Self> {
        let _ = path;
        forward_conv2d::<Self>(x, weight, bias, options)
    }

    /// `conv_transpose2d(x, weight, bias, options)` whose gradients, under autodiff, follow `path`.
    ///
    /// Shapes as burn's `conv_transpose2d`: `x` `[batch, c_in, H, W]`, `weight`
    /// `[c_in, c_out, kh, kw]`, `bias` `[c_out]`.
    fn fast_conv_transpose2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: Option<FloatTensor<Self>>, options: ConvTransposeOptions<2>, path: ConvGradPath) -> FloatTensor<Self> {
        let _ = path;
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

/// `impl ConvBackend` for a fusion backend `Fusion<CubeBackend<$runtime, f32, i32, $bool>>`: oplab's
/// own kernels ([`super::conv_kernels`], the fused Adam step) through its fusion stream, the
/// weight-gradient kernel and the stacked spectral layout preferred.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
macro_rules! fused_kernel_backend {
    ($(#[$doc:meta])* $backend:ty, $runtime:ty, $bool:ty) => {
        $(#[$doc])*
        impl ConvBackend for $backend {
            fn preferred_wgrad_kind() -> WgradKind {
                WgradKind::Kernel
            }

            fn preferred_spectral_layout() -> SpectralLayout {
                SpectralLayout::Stacked
            }

            fn direct_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, out_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool) -> Option<FloatTensor<Self>> {
                super::conv_kernels::fused_direct_conv::<$runtime, f32, i32, $bool>(x, weight, out_hw, stride, padding, transposed)
            }

            fn conv2d_weight_grad_kernel(x: FloatTensor<Self>, dy: FloatTensor<Self>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Option<FloatTensor<Self>> {
                super::conv_kernels::fused_weight_grad::<$runtime, f32, i32, $bool>(x, dy, kernel, stride, padding)
            }

            fn adam_step_kernel(param: FloatTensor<Self>, grad: FloatTensor<Self>, m1: FloatTensor<Self>, m2: FloatTensor<Self>, hyper: crate::training::fused_adam::AdamHyper) -> Option<[FloatTensor<Self>; 3]> {
                crate::training::adam_kernel::fused_adam_step::<$runtime, f32, i32, $bool>(param, grad, m1, m2, hyper)
            }
        }
    };
}

#[cfg(feature = "cuda")]
fused_kernel_backend!(
    /// CUDA through cubecl (with fusion; `Fusion<CubeBackend<CudaRuntime, f32, i32, u8>>`): the
    /// backend the fast path exists for. Its dedicated kernels run every convolution, forward and
    /// backward, and FNO uses the stacked spectral layout. Measured on an H200 (`bench/RESULTS.md`,
    /// session 4): with them the MgNO training step went from 88.5 to 21.9 ms at 64² and from 164
    /// to 43 ms at 256², and the weight gradient stays within 1.6e-5 of burn's stock one where the
    /// split-K GEMM was 2e-4 off.
    burn::backend::Cuda,
    cubecl::cuda::CudaRuntime,
    u8
);

#[cfg(feature = "wgpu")]
fused_kernel_backend!(
    /// burn's wgpu backend (with fusion) running the same kernels through the same fusion-stream
    /// code. Not a training target: it exists so that `gpu_bench --device wgpu` can run the GPU
    /// checks (fast vs stock gradients, loss curves, fused Adam) on a machine without an NVIDIA
    /// GPU, e.g. on Mesa's software Vulkan driver.
    burn::backend::Wgpu,
    cubecl::wgpu::WgpuRuntime,
    u32
);

/// CUDA through cubecl without burn's fusion layer: every tensor operation launches its own kernel
/// at once. Not what oplab trains on; `gpu_bench --device cuda-raw` uses it to measure what the
/// fusion layer costs or saves.
#[cfg(feature = "cuda")]
impl ConvBackend for burn_cubecl::CubeBackend<cubecl::cuda::CudaRuntime, f32, i32, u8> {
    fn preferred_wgrad_kind() -> WgradKind {
        WgradKind::Kernel
    }

    fn preferred_spectral_layout() -> SpectralLayout {
        SpectralLayout::Stacked
    }

    fn direct_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, out_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool) -> Option<FloatTensor<Self>> {
        super::conv_kernels::direct_conv(x, weight, out_hw, stride, padding, transposed)
    }

    fn conv2d_weight_grad_kernel(x: FloatTensor<Self>, dy: FloatTensor<Self>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Option<FloatTensor<Self>> {
        super::conv_kernels::direct_weight_grad(x, dy, kernel, stride, padding)
    }

    fn adam_step_kernel(param: FloatTensor<Self>, grad: FloatTensor<Self>, m1: FloatTensor<Self>, m2: FloatTensor<Self>, hyper: crate::training::fused_adam::AdamHyper) -> Option<[FloatTensor<Self>; 3]> {
        crate::training::adam_kernel::direct_adam_step(param, grad, m1, m2, hyper)
    }

    fn add_gelu_kernel(a: FloatTensor<Self>, b: FloatTensor<Self>) -> Option<FloatTensor<Self>> {
        super::gelu_kernel::direct_add_gelu(a, b)
    }

    fn add_gelu_backward_kernel(a: FloatTensor<Self>, b: FloatTensor<Self>, grad: FloatTensor<Self>) -> Option<FloatTensor<Self>> {
        super::gelu_kernel::direct_add_gelu_backward(a, b, grad)
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

// ---------------------------------------------------------------------------------------------
// Choosing the path
// ---------------------------------------------------------------------------------------------

const UNSET: u8 = 0;
const FAST: u8 = 1;
const STOCK: u8 = 2;
const TUNED: u8 = 3;

static PROCESS_DEFAULT: AtomicU8 = AtomicU8::new(UNSET);

thread_local! {
    static THREAD_OVERRIDE: Cell<Option<ConvGradPath>> = const { Cell::new(None) };
}

fn env_default() -> Option<ConvGradPath> {
    static ENV: OnceLock<Option<ConvGradPath>> = OnceLock::new();
    *ENV.get_or_init(|| std::env::var("OPLAB_CONV_GRAD").ok().and_then(|v| ConvGradPath::parse(&v)))
}

/// Sets the process-wide gradient path (overrides `OPLAB_CONV_GRAD` and the backend's
/// preference; `None` restores them).
pub fn set_default_grad_path(path: Option<ConvGradPath>) {
    let v = match path {
        None => UNSET,
        Some(ConvGradPath::Fast) => FAST,
        Some(ConvGradPath::Stock) => STOCK,
        Some(ConvGradPath::Tuned) => TUNED,
    };
    PROCESS_DEFAULT.store(v, Ordering::Relaxed);
}

/// The gradient path a convolution on backend `B` records now, on this thread.
pub fn grad_path<B: ConvBackend>() -> ConvGradPath {
    if let Some(p) = THREAD_OVERRIDE.with(Cell::get) {
        return p;
    }
    match PROCESS_DEFAULT.load(Ordering::Relaxed) {
        FAST => ConvGradPath::Fast,
        STOCK => ConvGradPath::Stock,
        TUNED => ConvGradPath::Tuned,
        _ => env_default().unwrap_or_else(B::preferred_grad_path),
    }
}

/// Runs `f` with every convolution built on this thread recording `path` (tests and benchmarks
/// compare paths side by side this way without touching other threads).
pub fn with_grad_path<R>(path: ConvGradPath, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<ConvGradPath>);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREAD_OVERRIDE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(THREAD_OVERRIDE.with(|c| c.replace(Some(path))));
    f()
}

/// How [`conv2d_weight_grad`] lays out its split-K GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WgradKind {
    /// One batched GEMM over the im2col matrix of all k² taps (N = k²·c_in): one launch and a
    /// better-shaped GEMM, at the price of a k²-fold copy of the input.
    Im2col,
    /// One batched GEMM per tap (N = c_in): k² launches, no k²-fold copy.
    Taps,
    /// The backend's dedicated kernel ([`ConvBackend::conv2d_weight_grad_kernel`]; CUDA has
    /// one), [`WgradKind::Im2col`] where it has none.
    Kernel,
}

/// The weight-gradient layout autodiff convolutions on backend `B` record:
/// `OPLAB_CONV_WGRAD=im2col|taps|kernel` (read once), else [`ConvBackend::preferred_wgrad_kind`].
pub fn wgrad_kind<B: ConvBackend>() -> WgradKind {
    static ENV: OnceLock<Option<WgradKind>> = OnceLock::new();
    ENV.get_or_init(|| match std::env::var("OPLAB_CONV_WGRAD").ok().as_deref().map(str::trim) {
        Some("im2col") => Some(WgradKind::Im2col),
        Some("taps") => Some(WgradKind::Taps),
        Some("kernel") => Some(WgradKind::Kernel),
        _ => None,
    })
    .unwrap_or_else(B::preferred_wgrad_kind)
}

fn wgrad_chunk_for<B: ConvBackend>() -> usize {
    static ENV: OnceLock<Option<usize>> = OnceLock::new();
    ENV.get_or_init(|| std::env::var("OPLAB_CONV_WGRAD_CHUNK").ok().and_then(|v| v.trim().parse().ok()).filter(|&c: &usize| c > 0))
        .unwrap_or_else(B::wgrad_chunk)
}

// ---------------------------------------------------------------------------------------------
// Tensor-level entry points
// ---------------------------------------------------------------------------------------------

fn prim<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

fn wrap<B: Backend, const D: usize>(p: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

/// `conv2d` with the backward of this module (on the path [`grad_path`] selects).
///
/// # Shapes
/// - `x`: `[batch, c_in, H, W]`, `weight`: `[c_out, c_in, kh, kw]`, `bias`: `[c_out]`
/// - output: `[batch, c_out, (H + 2p − kh)/s + 1, (W + 2p − kw)/s + 1]`
pub fn fast_conv2d<B: ConvBackend>(x: Tensor<B, 4>, weight: Tensor<B, 4>, bias: Option<Tensor<B, 1>>, options: ConvOptions<2>) -> Tensor<B, 4> {
    conv2d_on_path(x, weight, bias, options, grad_path::<B>())
}

/// `conv2d` whose backward follows `path`.
pub fn conv2d_on_path<B: ConvBackend>(x: Tensor<B, 4>, weight: Tensor<B, 4>, bias: Option<Tensor<B, 1>>, options: ConvOptions<2>, path: ConvGradPath) -> Tensor<B, 4> {
    wrap(B::fast_conv2d(prim(x), prim(weight), bias.map(prim), options, path))
}

/// `conv_transpose2d` with the backward of this module (on the path [`grad_path`] selects).
///
/// # Shapes
/// - `x`: `[batch, c_in, H, W]`, `weight`: `[c_in, c_out, kh, kw]`, `bias`: `[c_out]`
/// - output: `[batch, c_out, s(H − 1) − 2p + kh + padding_out, ...]`
pub fn fast_conv_transpose2d<B: ConvBackend>(x: Tensor<B, 4>, weight: Tensor<B, 4>, bias: Option<Tensor<B, 1>>, options: ConvTransposeOptions<2>) -> Tensor<B, 4> {
    conv_transpose2d_on_path(x, weight, bias, options, grad_path::<B>())
}

/// `conv_transpose2d` whose backward follows `path`.
pub fn conv_transpose2d_on_path<B: ConvBackend>(x: Tensor<B, 4>, weight: Tensor<B, 4>, bias: Option<Tensor<B, 1>>, options: ConvTransposeOptions<2>, path: ConvGradPath) -> Tensor<B, 4> {
    wrap(B::fast_conv_transpose2d(prim(x), prim(weight), bias.map(prim), options, path))
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
pub fn forward_conv_transpose2d<B: ConvBackend>(x: FloatTensor<B>, weight: FloatTensor<B>, bias: Option<FloatTensor<B>>, options: ConvTransposeOptions<2>) -> FloatTensor<B> {
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

// ---------------------------------------------------------------------------------------------
// The gradient formulations (plain tensor code on any backend; public so that benchmarks can
// time them without autodiff)
// ---------------------------------------------------------------------------------------------

/// Input gradient of `conv2d` (dilation 1, groups 1) from the output gradient `dy`.
///
/// Stride 1 (with `padding < kernel`): a forward convolution of `dy` with the flipped,
/// in/out-swapped kernel and padding `k − 1 − p`, which runs at forward speed. Otherwise a
/// forward `conv_transpose2d` of `dy` whose `padding_out` restores the rows and columns the
/// strided forward dropped.
///
/// # Shapes
/// - `dy`: `[batch, c_out, Ho, Wo]`, `weight`: `[c_out, c_in, kh, kw]`
/// - output: `[batch, c_in, input_hw[0], input_hw[1]]`
pub fn conv2d_input_grad<B: ConvBackend>(dy: Tensor<B, 4>, weight: Tensor<B, 4>, input_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Tensor<B, 4> {
    // A direct kernel computes the transposed convolution of dy with this very kernel at the
    // input's size: no flipped copy, no padding_out, no crop.
    if let Some(g) = B::direct_conv2d(prim(dy.clone()), prim(weight.clone()), input_hw, stride, padding, true) {
        return wrap(g);
    }
    let [_, _, kh, kw] = weight.dims();
    let [_, _, ho, wo] = dy.dims();
    if stride == [1, 1] && padding[0] < kh && padding[1] < kw {
        let flipped = weight.flip([2, 3]).swap_dims(0, 1);
        return conv2d(dy, flipped, None, ConvOptions::new([1, 1], [kh - 1 - padding[0], kw - 1 - padding[1]], [1, 1], 1));
    }
    // The forward kept floor((n + 2p − k)/s) + 1 points; the remainder becomes padding_out.
    let rest = |n: usize, p: usize, k: usize, s: usize, o: usize| (n + 2 * p).saturating_sub(k + s * (o - 1));
    let po = [rest(input_hw[0], padding[0], kh, stride[0], ho), rest(input_hw[1], padding[1], kw, stride[1], wo)];
    let g = conv_transpose2d(dy, weight, None, ConvTransposeOptions::new(stride, padding, po, [1, 1], 1));
    fit_hw(g, input_hw)
}

/// Input gradient of `conv_transpose2d` (dilation 1, groups 1): a forward strided convolution of
/// `dy` with the same kernel.
///
/// # Shapes
/// - `dy`: `[batch, c_out, Hy, Wy]`, `weight`: `[c_in, c_out, kh, kw]`
/// - output: `[batch, c_in, input_hw[0], input_hw[1]]`
pub fn conv_transpose2d_input_grad<B: ConvBackend>(dy: Tensor<B, 4>, weight: Tensor<B, 4>, input_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Tensor<B, 4> {
    if let Some(g) = B::direct_conv2d(prim(dy.clone()), prim(weight.clone()), input_hw, stride, padding, false) {
        return wrap(g);
    }
    let g = conv2d(dy, weight, None, ConvOptions::new(stride, padding, [1, 1], 1));
    fit_hw(g, input_hw)
}

/// Weight gradient of `conv2d` (dilation 1, groups 1) as one batched split-K GEMM.
///
/// `dW[o, c, i, j] = Σ_b Σ_(y,x) dy[b, o, y, x] · x_pad[b, c, s·y + i, s·x + j]`. The k² shifted
/// views of the zero-padded input are stacked into an im2col matrix `[batch, k²·c_in, L]`
/// (L = Ho·Wo); L is cut into `n` chunks of length K ≈ `chunk` (a divisor of L when a
/// reasonable one exists, otherwise both operands are zero-extended to a multiple of `chunk`),
/// the GEMM `[batch·n] × ([c_out, K] · [K, k²·c_in])` runs once, and the partial products are
/// summed over `batch·n`. Splitting K is what a GEMM without split-K needs to fill the GPU when
/// M and N are channel counts and K is a whole image. With [`WgradKind::Taps`] the k² taps get
/// one such GEMM each (N = c_in) instead of one GEMM over the stacked matrix.
///
/// # Shapes
/// - `x`: `[batch, c_in, H, W]`, `dy`: `[batch, c_out, Ho, Wo]`
/// - output: `[c_out, c_in, kernel[0], kernel[1]]`
pub fn conv2d_weight_grad<B: Backend>(x: Tensor<B, 4>, dy: Tensor<B, 4>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2], chunk: usize, kind: WgradKind) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    let [_, o, ho, wo] = dy.dims();
    let [kh, kw] = kernel;
    let taps = kh * kw;
    // Extent each axis must reach; rows past it are never read, so the far side is padded only
    // as much as needed (often not at all).
    let need = [stride[0] * (ho - 1) + kh, stride[1] * (wo - 1) + kw];
    let xp = zero_pad(x, 2, padding[0], need[0].saturating_sub(h + padding[0]));
    let xp = zero_pad(xp, 3, padding[1], need[1].saturating_sub(w + padding[1]));
    let [_, _, hp, wp] = xp.dims();
    let view = |i: usize, j: usize| -> Tensor<B, 4> {
        if stride == [1, 1] && i == 0 && j == 0 && hp == ho && wp == wo {
            // A 1×1 stride-1 unpadded kernel reads the input as it is: no copy.
            return xp.clone();
        }
        xp.clone().slice([
            Slice::full(),
            Slice::full(),
            Slice::new(i as isize, Some((i + stride[0] * (ho - 1) + 1) as isize), stride[0] as isize),
            Slice::new(j as isize, Some((j + stride[1] * (wo - 1) + 1) as isize), stride[1] as isize),
        ])
    };
    let l = ho * wo;
    let (k, n, padded) = split_k(l, chunk);
    // [b, rows, L] → [b, n, rows, K] (zero-extended to n·K first when needed).
    let chunked = |t: Tensor<B, 3>| -> Tensor<B, 4> {
        let [_, rows, _] = t.dims();
        let t = if padded > l { zero_pad3(t, padded - l) } else { t };
        t.reshape([b, rows, n, k]).swap_dims(1, 2)
    };
    // [b, n, o, K], shared by every GEMM.
    let a = chunked(dy.reshape([b, o, l]));
    if kind == WgradKind::Taps && taps > 1 {
        // One [b·n] × ([o, K] · [K, c]) GEMM per tap: k² launches, but no k²-fold im2col copy.
        let per_tap: Vec<Tensor<B, 2>> = (0..kh)
            .flat_map(|i| (0..kw).map(move |j| (i, j)))
            .map(|(i, j)| {
                let m = chunked(view(i, j).reshape([b, c, l])).swap_dims(2, 3);
                a.clone().matmul(m).sum_dim(0).sum_dim(1).reshape([o, c])
            })
            .collect();
        // [o, c, taps] in tap order (i, j) = the kernel's row-major layout.
        return Tensor::stack::<3>(per_tap, 2).reshape([o, c, kh, kw]);
    }
    let cols: Tensor<B, 3> = if taps == 1 {
        view(0, 0).reshape([b, c, l])
    } else {
        let shifted: Vec<Tensor<B, 4>> = (0..kh).flat_map(|i| (0..kw).map(move |j| (i, j))).map(|(i, j)| view(i, j)).collect();
        // [b, taps, c, ho, wo]: row index of the im2col matrix is tap·c_in + channel.
        Tensor::stack::<5>(shifted, 1).reshape([b, taps * c, l])
    };
    // [b, n, o, K] · [b, n, K, taps·c] → [b, n, o, taps·c]
    let m = chunked(cols).swap_dims(2, 3);
    let partial = a.matmul(m);
    let total: Tensor<B, 2> = partial.sum_dim(0).sum_dim(1).reshape([o, taps * c]);
    total.reshape([o, taps, c]).swap_dims(1, 2).reshape([o, c, kh, kw])
}

/// Weight gradient of `conv_transpose2d` (dilation 1, groups 1).
///
/// With `y[b, o, s·i + p − P] += x[b, c, i] · w[c, o, p]`, `dW[c, o, p, q] = Σ x[b, c, i, j] ·
/// dy_pad[b, o, s·i + p, s·j + q]`: the weight gradient of a `conv2d` whose "input" is `dy` and
/// whose "output gradient" is `x`, which [`conv2d_weight_grad`] computes in the transposed
/// convolution's own `[c_in, c_out, kh, kw]` layout.
///
/// # Shapes
/// - `x`: `[batch, c_in, H, W]`, `dy`: `[batch, c_out, Hy, Wy]`
/// - output: `[c_in, c_out, kernel[0], kernel[1]]`
pub fn conv_transpose2d_weight_grad<B: Backend>(x: Tensor<B, 4>, dy: Tensor<B, 4>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2], chunk: usize, kind: WgradKind) -> Tensor<B, 4> {
    conv2d_weight_grad(dy, x, kernel, stride, padding, chunk, kind)
}

/// [`conv2d_weight_grad`], or the backend's dedicated kernel under [`WgradKind::Kernel`] where it
/// has one: what the fast backward runs. Same shapes as [`conv2d_weight_grad`].
pub fn conv2d_weight_grad_on<B: ConvBackend>(x: Tensor<B, 4>, dy: Tensor<B, 4>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2], chunk: usize, kind: WgradKind) -> Tensor<B, 4> {
    if kind == WgradKind::Kernel {
        if let Some(g) = B::conv2d_weight_grad_kernel(prim(x.clone()), prim(dy.clone()), kernel, stride, padding) {
            return wrap(g);
        }
    }
    conv2d_weight_grad(x, dy, kernel, stride, padding, chunk, kind)
}

/// [`conv_transpose2d_weight_grad`] with the same choice as [`conv2d_weight_grad_on`].
pub fn conv_transpose2d_weight_grad_on<B: ConvBackend>(x: Tensor<B, 4>, dy: Tensor<B, 4>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2], chunk: usize, kind: WgradKind) -> Tensor<B, 4> {
    conv2d_weight_grad_on(dy, x, kernel, stride, padding, chunk, kind)
}

/// Bias gradient of either convolution: the sum of `dy` over batch and grid, `[c_out]`.
pub fn conv_bias_grad<B: Backend>(dy: Tensor<B, 4>) -> Tensor<B, 1> {
    let o = dy.dims()[1];
    dy.sum_dim(0).sum_dim(2).sum_dim(3).reshape([o])
}

/// `(K, n, L')`: chunk length, number of chunks and the padded length `n·K ≥ l`.
///
/// An exact divisor of `l` in `[chunk/4, chunk]` avoids copying both operands to pad them; a
/// grid with no such divisor (e.g. a prime number of points) is padded to a multiple of `chunk`.
fn split_k(l: usize, chunk: usize) -> (usize, usize, usize) {
    let chunk = chunk.max(1);
    if l <= chunk {
        return (l, 1, l);
    }
    let floor = (chunk / 4).max(1);
    if let Some(d) = (floor..=chunk).rev().find(|&d| l.is_multiple_of(d)) {
        return (d, l / d, l);
    }
    let n = l.div_ceil(chunk);
    (chunk, n, n * chunk)
}

fn zero_pad3<B: Backend>(t: Tensor<B, 3>, extra: usize) -> Tensor<B, 3> {
    let [a, b, _] = t.dims();
    let z = Tensor::<B, 3>::zeros([a, b, extra], (&t.device(), t.dtype()));
    Tensor::cat(vec![t, z], 2)
}

/// Crops (or zero-extends) the last two axes to `hw`.
fn fit_hw<B: Backend>(g: Tensor<B, 4>, hw: [usize; 2]) -> Tensor<B, 4> {
    let [_, _, gh, gw] = g.dims();
    let g = if gh > hw[0] { g.narrow(2, 0, hw[0]) } else { zero_pad(g, 2, 0, hw[0] - gh) };
    if gw > hw[1] {
        g.narrow(3, 0, hw[1])
    } else {
        zero_pad(g, 3, 0, hw[1] - gw)
    }
}

// ---------------------------------------------------------------------------------------------
// The autodiff operation
// ---------------------------------------------------------------------------------------------

/// Options the fast path covers.
fn plain_conv(dilation: [usize; 2], groups: usize) -> bool {
    dilation == [1, 1] && groups == 1
}

/// What the backward needs besides the checkpointed input and kernel.
#[derive(Debug, Clone)]
struct ConvState {
    x: NodeId,
    weight: NodeId,
    stride: [usize; 2],
    padding: [usize; 2],
    /// Split-K chunk, fixed when the forward ran.
    chunk: usize,
    /// GEMM layout of the weight gradient, fixed when the forward ran.
    kind: WgradKind,
    /// Transposed convolution (the prolongation) rather than a plain one.
    transposed: bool,
    /// Input gradient by this module's formulation (else the backend's own kernel).
    fast_dgrad: bool,
    /// Weight gradient by this module's formulation (else the backend's own kernel).
    fast_wgrad: bool,
}

impl ConvState {
    fn conv_options(&self) -> ConvOptions<2> {
        ConvOptions::new(self.stride, self.padding, [1, 1], 1)
    }

    fn transpose_options(&self, x_hw: [usize; 2], dy_hw: [usize; 2], kernel: [usize; 2]) -> ConvTransposeOptions<2> {
        // The padding_out the forward used, recovered from the shapes.
        let po = |i: usize| dy_hw[i] + 2 * self.padding[i] - (self.stride[i] * (x_hw[i] - 1) + kernel[i]);
        ConvTransposeOptions::new(self.stride, self.padding, [po(0), po(1)], [1, 1], 1)
    }
}

/// Computes the requested gradients of one convolution from its output gradient.
fn conv_grads<B: ConvBackend>(st: &ConvState, x: Tensor<B, 4>, weight: Tensor<B, 4>, dy: Tensor<B, 4>, want_x: bool, want_w: bool) -> (Option<Tensor<B, 4>>, Option<Tensor<B, 4>>) {
    let [_, _, h, w] = x.dims();
    let [_, _, kh, kw] = weight.dims();
    let [_, _, hy, wy] = dy.dims();
    let dx = want_x.then(|| match (st.transposed, st.fast_dgrad) {
        (true, true) => conv_transpose2d_input_grad(dy.clone(), weight.clone(), [h, w], st.stride, st.padding),
        (false, true) => conv2d_input_grad(dy.clone(), weight.clone(), [h, w], st.stride, st.padding),
        (true, false) => wrap(B::conv_transpose2d_x_backward(prim(weight.clone()), prim(dy.clone()), st.transpose_options([h, w], [hy, wy], [kh, kw]))),
        (false, false) => wrap(B::conv2d_x_backward(prim(x.clone()), prim(weight.clone()), prim(dy.clone()), st.conv_options())),
    });
    let dw = want_w.then(|| match (st.transposed, st.fast_wgrad) {
        (true, true) => conv_transpose2d_weight_grad_on(x, dy, [kh, kw], st.stride, st.padding, st.chunk, st.kind),
        (false, true) => conv2d_weight_grad_on(x, dy, [kh, kw], st.stride, st.padding, st.chunk, st.kind),
        (true, false) => {
            let opts = st.transpose_options([h, w], [hy, wy], [kh, kw]);
            wrap(B::conv_transpose2d_weight_backward(prim(x), prim(weight), prim(dy), opts))
        }
        (false, false) => wrap(B::conv2d_weight_backward(prim(x), prim(weight), prim(dy), st.conv_options())),
    });
    (dx, dw)
}

#[derive(Debug)]
struct FastConvWithBias;

#[derive(Debug)]
struct FastConvNoBias;

impl<B: ConvBackend> Backward<B, 3> for FastConvWithBias {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy: Tensor<B, 4> = wrap(grads.consume::<B>(&ops.node));
        let st = ops.state;
        let x: Tensor<B, 4> = wrap(checkpointer.retrieve_node_output::<FloatTensor<B>>(st.x));
        let weight: Tensor<B, 4> = wrap(checkpointer.retrieve_node_output::<FloatTensor<B>>(st.weight));
        if let Some(node) = node_b {
            grads.register::<B>(node.id, prim(conv_bias_grad(dy.clone())));
        }
        let (dx, dw) = conv_grads(&st, x, weight, dy, node_x.is_some(), node_w.is_some());
        if let (Some(node), Some(g)) = (node_x, dx) {
            grads.register::<B>(node.id, prim(g));
        }
        if let (Some(node), Some(g)) = (node_w, dw) {
            grads.register::<B>(node.id, prim(g));
        }
    }
}

impl<B: ConvBackend> Backward<B, 2> for FastConvNoBias {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let dy: Tensor<B, 4> = wrap(grads.consume::<B>(&ops.node));
        let st = ops.state;
        let x: Tensor<B, 4> = wrap(checkpointer.retrieve_node_output::<FloatTensor<B>>(st.x));
        let weight: Tensor<B, 4> = wrap(checkpointer.retrieve_node_output::<FloatTensor<B>>(st.weight));
        let (dx, dw) = conv_grads(&st, x, weight, dy, node_x.is_some(), node_w.is_some());
        if let (Some(node), Some(g)) = (node_x, dx) {
            grads.register::<B>(node.id, prim(g));
        }
        if let (Some(node), Some(g)) = (node_w, dw) {
            grads.register::<B>(node.id, prim(g));
        }
    }
}

/// Records one convolution (plain or transposed) with the custom backward. `forward` runs the
/// inner backend's stock forward kernel.
fn record<B: ConvBackend, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    bias: Option<FloatTensor<Autodiff<B, C>>>,
    geometry: ([usize; 2], [usize; 2], bool),
    path: ConvGradPath,
    forward: impl FnOnce(FloatTensor<B>, FloatTensor<B>, Option<FloatTensor<B>>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    let (stride, padding, transposed) = geometry;
    let chunk = wgrad_chunk_for::<B>();
    let [c0, c1, kh, kw] = weight.primitive.shape().dims();
    // The kernel is [c_out, c_in, k, k] for a convolution and [c_in, c_out, k, k] transposed.
    let (c_in, c_out) = if transposed { (c0, c1) } else { (c1, c0) };
    let g = ConvGeometry { c_in, c_out, kernel: [kh, kw], stride, transposed };
    let tuned = path == ConvGradPath::Tuned;
    let fast_dgrad = !tuned || B::fast_dgrad_wins(&g);
    let fast_wgrad = !tuned || B::fast_wgrad_wins(&g);
    let kind = wgrad_kind::<B>();
    let state = |x: NodeId, weight: NodeId| ConvState { x, weight, stride, padding, chunk, kind, transposed, fast_dgrad, fast_wgrad };
    match bias {
        Some(bias) => match FastConvWithBias.prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let st = state(prep.checkpoint(&x), prep.checkpoint(&weight));
                prep.finish(st, forward(x.primitive, weight.primitive, Some(bias.primitive)))
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive, weight.primitive, Some(bias.primitive))),
        },
        None => match FastConvNoBias.prepare::<C>([x.node.clone(), weight.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let st = state(prep.checkpoint(&x), prep.checkpoint(&weight));
                prep.finish(st, forward(x.primitive, weight.primitive, None))
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive, weight.primitive, None)),
        },
    }
}

/// Under autodiff the fast path records the custom operation; the stock path (and options the
/// fast path does not cover) is burn's own autodiff convolution.
impl<B: ConvBackend, C: CheckpointStrategy> ConvBackend for Autodiff<B, C> {
    fn preferred_grad_path() -> ConvGradPath {
        B::preferred_grad_path()
    }

    fn wgrad_chunk() -> usize {
        B::wgrad_chunk()
    }

    fn preferred_wgrad_kind() -> WgradKind {
        B::preferred_wgrad_kind()
    }

    fn preferred_spectral_layout() -> SpectralLayout {
        B::preferred_spectral_layout()
    }

    fn add_gelu(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        super::activation::record_add_gelu::<B, C>(a, b)
    }

    fn fast_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: Option<FloatTensor<Self>>, options: ConvOptions<2>, path: ConvGradPath) -> FloatTensor<Self> {
        if path == ConvGradPath::Stock || !plain_conv(options.dilation, options.groups) {
            return <Self as ModuleOps<Self>>::conv2d(x, weight, bias, options);
        }
        let geometry = (options.stride, options.padding, false);
        record::<B, C>(x, weight, bias, geometry, path, move |x, w, b| forward_conv2d::<B>(x, w, b, options))
    }

    fn fast_conv_transpose2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: Option<FloatTensor<Self>>, options: ConvTransposeOptions<2>, path: ConvGradPath) -> FloatTensor<Self> {
        if path == ConvGradPath::Stock || !plain_conv(options.dilation, options.groups) {
            return <Self as ModuleOps<Self>>::conv_transpose2d(x, weight, bias, options);
        }
        let geometry = (options.stride, options.padding, true);
        record::<B, C>(x, weight, bias, geometry, path, move |x, w, b| forward_conv_transpose2d::<B>(x, w, b, options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use crate::layers::padding::{pad2d, PaddingMode};
    use burn::tensor::{DType, Distribution};
    use rand::{Rng, SeedableRng};

    type Ad = Autodiff<Cpu>;

    fn vec64<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
    }

    /// max |a − b| / max |b|: relative to the tensor's scale, so that entries that cancel to
    /// nearly zero do not dominate.
    fn rel_err(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
        a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
    }

    fn randn<const D: usize>(shape: [usize; D]) -> Tensor<Ad, D> {
        Tensor::<Ad, D>::random(shape, Distribution::Normal(0.0, 1.0), &Default::default()).cast(DType::F64)
    }

    /// One convolution case: geometry plus the boundary mode applied around it.
    #[derive(Debug, Clone, Copy)]
    struct Case {
        batch: usize,
        c_in: usize,
        c_out: usize,
        hw: [usize; 2],
        kernel: usize,
        stride: usize,
        padding: usize,
        mode: PaddingMode,
        bias: bool,
    }

    /// Output, dX, dW, db of `L = Σ r · conv(pad(x))` on one path.
    fn conv_grads_on(case: Case, x: &Tensor<Ad, 4>, w: &Tensor<Ad, 4>, b: &Option<Tensor<Ad, 1>>, r: &Tensor<Ad, 4>, path: Option<ConvGradPath>) -> Vec<Vec<f64>> {
        let (x, w) = (x.clone().detach().require_grad(), w.clone().detach().require_grad());
        let b = b.clone().map(|b| b.detach().require_grad());
        let (halo, inner) = match case.mode {
            PaddingMode::Zeros => (0, case.padding),
            _ => (case.padding, 0),
        };
        let opts = ConvOptions::new([case.stride; 2], [inner; 2], [1, 1], 1);
        let xin = pad2d(x.clone(), halo, case.mode);
        let y = match path {
            Some(p) => conv2d_on_path(xin, w.clone(), b.clone(), opts, p),
            None => conv2d(xin, w.clone(), b.clone(), opts),
        };
        let grads = (y.clone() * r.clone()).sum().backward();
        let mut out = vec![vec64(y.inner()), vec64(x.grad(&grads).unwrap()), vec64(w.grad(&grads).unwrap())];
        if let Some(b) = b {
            out.push(vec64(b.grad(&grads).unwrap()));
        }
        out
    }

    fn check_case(case: Case) -> f64 {
        let [h, w] = case.hw;
        let k = case.kernel;
        let x = randn([case.batch, case.c_in, h, w]);
        let wt = randn([case.c_out, case.c_in, k, k]);
        let b = case.bias.then(|| randn([case.c_out]));
        let hp = h + 2 * case.padding;
        let wp = w + 2 * case.padding;
        let out = [case.batch, case.c_out, (hp - k) / case.stride + 1, (wp - k) / case.stride + 1];
        let r = randn(out);
        let stock = conv_grads_on(case, &x, &wt, &b, &r, None);
        let fast = conv_grads_on(case, &x, &wt, &b, &r, Some(ConvGradPath::Fast));
        let stock_path = conv_grads_on(case, &x, &wt, &b, &r, Some(ConvGradPath::Stock));
        let tuned = conv_grads_on(case, &x, &wt, &b, &r, Some(ConvGradPath::Tuned));
        let names = ["output", "dX", "dW", "db"];
        let mut worst: f64 = 0.0;
        for (i, ((f, s), t)) in fast.iter().zip(&stock).zip(&tuned).enumerate() {
            let e = rel_err(f, s);
            assert!(e < 1e-10, "{case:?}: {} differs from stock by {e:e}", names[i]);
            assert_eq!(stock_path[i], *s, "{case:?}: the stock path must be burn's own op");
            let et = rel_err(t, s);
            assert!(et < 1e-10, "{case:?}: {} (tuned path) differs from stock by {et:e}", names[i]);
            worst = worst.max(e);
        }
        worst
    }

    #[test]
    fn fastconv_gradients_equal_stock_in_f64() {
        use PaddingMode::*;
        let c = |batch, c_in, c_out, hw, kernel, stride, padding, mode, bias| Case { batch, c_in, c_out, hw, kernel, stride, padding, mode, bias };
        // The MgNO shapes (3×3 smoother and stride-2 restriction, 1×1 skip and head), 1-channel
        // ends, odd and non-square grids, every boundary mode.
        let mut cases = vec![
            c(2, 3, 4, [9, 7], 3, 1, 1, Zeros, false),
            c(2, 1, 3, [8, 8], 3, 1, 1, Zeros, false),
            c(1, 3, 1, [5, 11], 3, 1, 1, Reflect, false),
            c(2, 2, 2, [7, 6], 3, 1, 1, Circular, false),
            c(2, 3, 2, [9, 9], 3, 2, 1, Zeros, false),
            c(1, 2, 3, [10, 7], 3, 2, 1, Circular, false),
            c(2, 2, 2, [6, 13], 3, 2, 1, Reflect, false),
            c(1, 1, 1, [3, 2], 3, 2, 1, Zeros, false),
            c(3, 4, 2, [6, 5], 1, 1, 0, Zeros, true),
            c(2, 1, 3, [1, 9], 1, 1, 0, Zeros, true),
            c(2, 3, 2, [8, 9], 3, 1, 1, Zeros, true),
            c(2, 2, 3, [8, 7], 4, 2, 1, Zeros, true),
            c(1, 2, 2, [7, 7], 5, 1, 2, Zeros, false),
            c(1, 2, 2, [9, 8], 3, 3, 0, Zeros, false),
        ];
        // Plus random shapes from a fixed seed.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..8 {
            let kernel = [1, 3, 3, 4][rng.random_range(0..4)];
            let stride = rng.random_range(1..=2);
            let mode = [Zeros, Circular, Reflect][rng.random_range(0..3)];
            let padding = if kernel == 1 { 0 } else { 1 };
            let hw = [rng.random_range(4..12), rng.random_range(4..12)];
            cases.push(c(rng.random_range(1..4), rng.random_range(1..5), rng.random_range(1..5), hw, kernel, stride, padding, mode, rng.random_bool(0.5)));
        }
        let mut worst: f64 = 0.0;
        for case in cases {
            worst = worst.max(check_case(case));
        }
        eprintln!("conv2d: worst relative difference fast vs stock {worst:.2e}");
    }

    /// Output, dX, dW, db of `L = Σ r · conv_transpose2d(x)` on one path.
    fn convt_grads_on(x: &Tensor<Ad, 4>, w: &Tensor<Ad, 4>, b: &Option<Tensor<Ad, 1>>, r: &Tensor<Ad, 4>, opts: &ConvTransposeOptions<2>, path: Option<ConvGradPath>) -> Vec<Vec<f64>> {
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

    /// The split-K GEMM for chunk lengths that divide the grid, that do not (zero-extended), and
    /// that leave one chunk, against burn's stock weight gradient.
    #[test]
    fn fastconv_split_k_weight_gradient_for_every_chunking() {
        let device = Default::default();
        for ([h, w], stride, chunk) in [([9, 7], 1, 1024), ([9, 7], 1, 16), ([13, 11], 1, 8), ([13, 11], 1, 5), ([12, 10], 2, 7), ([11, 13], 2, 3)] {
            let x = Tensor::<Cpu, 4>::random([2, 3, h, w], Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
            let wt = Tensor::<Cpu, 4>::random([4, 3, 3, 3], Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
            let opts = ConvOptions::new([stride; 2], [1, 1], [1, 1], 1);
            let y_dims = conv2d(x.clone(), wt.clone(), None, opts.clone()).dims();
            let dy = Tensor::<Cpu, 4>::random(y_dims, Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
            let stock = Tensor::<Cpu, 4>::from_primitive(TensorPrimitive::Float(<Cpu as ModuleOps<Cpu>>::conv2d_weight_backward(
                prim(x.clone()),
                prim(wt.clone()),
                prim(dy.clone()),
                opts,
            )));
            for kind in [WgradKind::Im2col, WgradKind::Taps, WgradKind::Kernel] {
                // The CPU backend has no dedicated kernel: `Kernel` must fall back to the GEMM.
                let fast = conv2d_weight_grad_on(x.clone(), dy.clone(), [3, 3], [stride; 2], [1, 1], chunk, kind);
                let e = rel_err(&vec64(fast), &vec64(stock.clone()));
                assert!(e < 1e-10, "{h}x{w} stride {stride} chunk {chunk} {kind:?}: {e:e}");
            }
        }
        assert_eq!(split_k(65536, 1024), (1024, 64, 65536));
        assert_eq!(split_k(211 * 211, 1024), (1024, 44, 45056));
        assert_eq!(split_k(3 * 211 * 211, 1024), (633, 211, 3 * 211 * 211));
        assert_eq!(split_k(2053, 1024), (1024, 3, 3072));
        assert_eq!(split_k(49, 1024), (49, 1, 49));
    }

    /// A thread's override wins over the process default and is restored afterwards.
    #[test]
    fn fastconv_path_override_is_scoped_to_the_thread() {
        let before = grad_path::<Cpu>();
        let inside = with_grad_path(ConvGradPath::Stock, || (grad_path::<Cpu>(), with_grad_path(ConvGradPath::Fast, grad_path::<Ad>)));
        assert_eq!(inside, (ConvGradPath::Stock, ConvGradPath::Fast));
        assert_eq!(grad_path::<Cpu>(), before);
        assert_eq!(ConvGradPath::parse("Stock"), Some(ConvGradPath::Stock));
        assert_eq!(ConvGradPath::parse(ConvGradPath::Fast.name()), Some(ConvGradPath::Fast));
    }

    /// A few Adam steps of a small MgNO (every kind of convolution, all three boundary modes)
    /// give the same loss curve on the fast and the stock path.
    #[test]
    fn fastconv_mgno_training_matches_the_stock_path() {
        use crate::losses::relative_l2;
        use crate::models::MgNoConfig;
        use burn::optim::{AdamConfig, GradientsParams, Optimizer};
        let device = Default::default();
        for padding in [PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Circular] {
            let cfg = MgNoConfig::new().with_channels(4).with_layers(2).with_levels(vec![[1, 1], [1, 1], [2, 0]]).with_padding(padding);
            let model0 = cfg.init::<Ad>(&device).unwrap();
            let x = Tensor::<Ad, 4>::random([4, 1, 13, 10], Distribution::Normal(0.0, 1.0), &device);
            let y = Tensor::<Ad, 4>::random([4, 1, 13, 10], Distribution::Normal(0.0, 1.0), &device);
            // Parameters initialise lazily, and each clone of an uninitialised one draws its own
            // values: touch them all once so that both runs start from the same model.
            let _ = model0.forward(x.clone());
            let curve = |path: ConvGradPath| -> Vec<f64> {
                with_grad_path(path, || {
                    let mut model = model0.clone();
                    let mut optim = AdamConfig::new().init::<Ad, crate::models::MgNo<Ad>>();
                    let mut values = Vec::new();
                    for _ in 0..6 {
                        let loss = relative_l2(model.forward(x.clone()), y.clone(), None).mean();
                        values.push(vec64(loss.clone().inner())[0]);
                        let grads = GradientsParams::from_grads(loss.backward(), &model);
                        model = optim.step(1e-2, model, grads);
                    }
                    values
                })
            };
            let (fast, stock) = (curve(ConvGradPath::Fast), curve(ConvGradPath::Stock));
            let tuned = curve(ConvGradPath::Tuned);
            for (t, s) in tuned.iter().zip(&stock) {
                assert!((t - s).abs() <= 1e-5 * s.abs(), "{padding:?}: tuned {t} vs stock {s}");
            }
            for (i, (f, s)) in fast.iter().zip(&stock).enumerate() {
                assert!((f - s).abs() <= 1e-5 * s.abs(), "{padding:?} step {i}: fast {f} vs stock {s}");
            }
            assert!(fast[5] < fast[0], "{padding:?}: the loss should fall ({fast:?})");
            eprintln!("MgNO {padding:?}: loss {:.6} -> {:.6} on both paths", fast[0], fast[5]);
        }
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
                let _ = if transposed { Cpu::conv_transpose2d_x_backward(prim(wi.clone()), prim(dy.clone()), topts.clone()) } else { Cpu::conv2d_x_backward(prim(xi.clone()), prim(wi.clone()), prim(dy.clone()), copts.clone()) };
            });
            let stock_w = time_ms(3, || {
                let _ = if transposed { Cpu::conv_transpose2d_weight_backward(prim(xi.clone()), prim(wi.clone()), prim(dy.clone()), topts.clone()) } else { Cpu::conv2d_weight_backward(prim(xi.clone()), prim(wi.clone()), prim(dy.clone()), copts.clone()) };
            });
            let fast_d = time_ms(3, || {
                let _ = if transposed { conv_transpose2d_input_grad(dy.clone(), wi.clone(), [n, n], [s; 2], [pad; 2]) } else { conv2d_input_grad(dy.clone(), wi.clone(), [n, n], [s; 2], [pad; 2]) };
            });
            let fast_w = |chunk: usize| {
                time_ms(3, || {
                    let _ = if transposed { conv_transpose2d_weight_grad(xi.clone(), dy.clone(), [k, k], [s; 2], [pad; 2], chunk, WgradKind::Im2col) } else { conv2d_weight_grad(xi.clone(), dy.clone(), [k, k], [s; 2], [pad; 2], chunk, WgradKind::Im2col) };
                })
            };
            let (w_split, w_whole) = (fast_w(1024), fast_w(usize::MAX));
            eprintln!("| {name} | {stock:.1} | {fast:.1} | {tuned:.1} | {:.2} | dgrad stock {stock_d:.1} fast {fast_d:.1}; wgrad stock {stock_w:.1} split {w_split:.1} whole {w_whole:.1} |", stock / fast);
        }
    }
}
