//! oplab's GPU code: cubecl kernels and their launchers, the capability implementations of the
//! GPU backends, and CUDA device setup. The kernels are runtime-generic cubecl: a CUDA build runs
//! them on burn's CUDA backends, and a `wgpu` build on burn's wgpu backend, which exists so that
//! `gpu_bench --device wgpu` can run the GPU checks on a machine without an NVIDIA GPU (Mesa's
//! software Vulkan driver); `bench/operators/conv_kernel_check` runs the kernel files themselves
//! on wgpu against f64 references.
//!
//! - [`conv`]: direct convolutions (a shared-memory tiled kernel, a gather kernel for the shapes
//!   it does not take) and weight gradients;
//! - `gelu` (CUDA builds): `gelu(a + b)` and its exact gradient, one kernel each way;
//! - [`adam`]: the fused Adam step;
//! - [`fusion_job`]: running any of them as a custom operation of burn's fusion stream;
//! - `device` (CUDA builds): cubecl's memory pool.
//!
//! What each backend gets, and why, is the `impl` blocks below: one place per backend.

pub mod adam;
pub mod conv;
#[cfg(feature = "cuda")]
pub mod device;
pub mod fusion_job;
#[cfg(feature = "cuda")]
pub mod gelu;

use burn::tensor::ops::FloatTensor;

use super::activation::ActivationBackend;
use super::conv::ConvBackend;
use super::optim::{AdamHyper, OptimBackend};
use super::options::{SpectralLayout, WgradKind};
use super::spectral::SpectralBackend;

/// The capabilities of a fusion backend `Fusion<CubeBackend<$runtime, f32, i32, $bool>>`: oplab's
/// convolution kernels and fused Adam step through its fusion stream, the weight-gradient kernel
/// and the stacked spectral layout preferred, and burn's `gelu(a + b)` composition (which the
/// fusion layer fuses) under the exact gradient.
macro_rules! fused_kernel_backend {
    ($(#[$doc:meta])* $backend:ty, $runtime:ty, $bool:ty) => {
        $(#[$doc])*
        impl ConvBackend for $backend {
            fn preferred_wgrad_kind() -> WgradKind {
                WgradKind::Kernel
            }

            fn direct_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, out_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool) -> Option<FloatTensor<Self>> {
                conv::fused_direct_conv::<$runtime, f32, i32, $bool>(x, weight, out_hw, stride, padding, transposed)
            }

            fn conv2d_weight_grad_kernel(x: FloatTensor<Self>, dy: FloatTensor<Self>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Option<FloatTensor<Self>> {
                conv::fused_weight_grad::<$runtime, f32, i32, $bool>(x, dy, kernel, stride, padding)
            }
        }

        impl OptimBackend for $backend {
            fn adam_step_kernel(param: FloatTensor<Self>, grad: FloatTensor<Self>, m1: FloatTensor<Self>, m2: FloatTensor<Self>, hyper: AdamHyper) -> Option<[FloatTensor<Self>; 3]> {
                adam::fused_adam_step::<$runtime, f32, i32, $bool>(param, grad, m1, m2, hyper)
            }
        }

        impl ActivationBackend for $backend {}

        impl SpectralBackend for $backend {
            fn preferred_spectral_layout() -> SpectralLayout {
                SpectralLayout::Stacked
            }
        }
    };
}

#[cfg(feature = "cuda")]
fused_kernel_backend!(
    /// CUDA through cubecl (with fusion; `Fusion<CubeBackend<CudaRuntime, f32, i32, u8>>`): the
    /// backend the fast path exists for. Its dedicated kernels run every convolution, forward and
    /// backward, and FNO uses the stacked spectral layout. With them the MgNO training step took
    /// about a quarter of the time of burn's own convolutions (`bench/RESULTS.md`), and the weight
    /// gradient stays within 1.6e-5 of burn's stock one where a split-K GEMM was 2e-4 off.
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

/// CUDA through cubecl without burn's fusion layer (`backend::CudaDirect`): every tensor
/// operation launches its own kernel at once, which is how MgNO trains on CUDA
/// (`backend::select::cuda_flavor`). oplab's kernels launch directly, and the layers' GELU runs
/// as one kernel each way (burn composes it from about twenty element-wise kernels, each a pass
/// over the activations, which nothing fuses here).
#[cfg(feature = "cuda")]
mod direct {
    use super::*;

    type CudaDirect = burn_cubecl::CubeBackend<cubecl::cuda::CudaRuntime, f32, i32, u8>;

    impl ConvBackend for CudaDirect {
        fn preferred_wgrad_kind() -> WgradKind {
            WgradKind::Kernel
        }

        fn direct_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            out_hw: [usize; 2],
            stride: [usize; 2],
            padding: [usize; 2],
            transposed: bool,
        ) -> Option<FloatTensor<Self>> {
            conv::direct_conv(x, weight, out_hw, stride, padding, transposed)
        }

        fn conv2d_weight_grad_kernel(
            x: FloatTensor<Self>,
            dy: FloatTensor<Self>,
            kernel: [usize; 2],
            stride: [usize; 2],
            padding: [usize; 2],
        ) -> Option<FloatTensor<Self>> {
            conv::direct_weight_grad(x, dy, kernel, stride, padding)
        }
    }

    impl OptimBackend for CudaDirect {
        fn adam_step_kernel(
            param: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            m1: FloatTensor<Self>,
            m2: FloatTensor<Self>,
            hyper: AdamHyper,
        ) -> Option<[FloatTensor<Self>; 3]> {
            adam::direct_adam_step(param, grad, m1, m2, hyper)
        }
    }

    impl ActivationBackend for CudaDirect {
        fn add_gelu_kernel(a: FloatTensor<Self>, b: FloatTensor<Self>) -> Option<FloatTensor<Self>> {
            gelu::direct_add_gelu(a, b)
        }

        fn add_gelu_backward_kernel(a: FloatTensor<Self>, b: FloatTensor<Self>, grad: FloatTensor<Self>) -> Option<FloatTensor<Self>> {
            gelu::direct_add_gelu_backward(a, b, grad)
        }
    }

    impl SpectralBackend for CudaDirect {
        fn preferred_spectral_layout() -> SpectralLayout {
            SpectralLayout::Stacked
        }
    }
}
