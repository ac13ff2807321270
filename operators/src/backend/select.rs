//! The one place that selects paths: which implementation each part of a model's step takes,
//! from the run's [`BackendOptions`] and, where they say `auto`, the backend's own preferences.
//!
//! The options of a run hold for the thread that runs it ([`with_options`]: `training::train` and
//! `training::evaluate` install the run's `[backend]` table for their duration), so runs with
//! different options can share a process (tests do). Every choice is made when an operation is
//! recorded, on that thread, and stored with it; nothing read here is consulted again when a
//! backward pass or a fusion stream executes later. Outside any run the defaults hold.
//!
//! The GPU kernels' tuning parameters ([`BenchKnobs`]) are process-wide instead: kernels launch
//! from a fusion backend's server thread, and only the GPU benchmark sets them.

use std::cell::Cell;

use super::conv::{ConvBackend, ConvPlan};
use super::options::{AdamStep, BackendOptions, BenchKnobs, Choice, ConvGradPath, CudaFlavor, Gelu, SpectralLayout};
use super::spectral::SpectralBackend;

thread_local! {
    static CURRENT: Cell<Option<BackendOptions>> = const { Cell::new(None) };
}

/// The options in force on this thread: the innermost [`with_options`], else the defaults.
pub fn options() -> BackendOptions {
    CURRENT.with(Cell::get).unwrap_or_default()
}

/// Runs `f` with `options` in force on this thread, then restores what was in force before (also
/// when `f` panics).
pub fn with_options<R>(options: &BackendOptions, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<BackendOptions>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(Some(*options))));
    f()
}

/// Runs `f` with every convolution recorded on this thread taking `path`, the other options as
/// they are (tests and benchmarks compare paths side by side this way).
pub fn with_grad_path<R>(path: ConvGradPath, f: impl FnOnce() -> R) -> R {
    with_options(&BackendOptions { conv_grad: Choice::Fixed(path), ..options() }, f)
}

/// The plan of the convolutions recorded now on backend `B`: `conv_grad`, else the backend's
/// preferred path (tuned on the CPU, fast elsewhere), with [`conv_plan_on`]'s formulation.
pub fn conv_plan<B: ConvBackend>() -> ConvPlan {
    conv_plan_on::<B>(options().conv_grad.or_else(B::preferred_grad_path))
}

/// The plan of a convolution on `path`: `conv_wgrad`, else the backend's preferred weight-gradient
/// formulation (its kernel on GPU backends, the im2col GEMM on the CPU), and the backend's
/// split-K chunk unless a benchmark knob sets one.
pub fn conv_plan_on<B: ConvBackend>(path: ConvGradPath) -> ConvPlan {
    let preferred = ConvPlan::preferred::<B>(path);
    ConvPlan { path, wgrad: options().conv_wgrad.or_else(|| preferred.wgrad), chunk: bench_knobs().wgrad_chunk.unwrap_or(preferred.chunk) }
}

/// The layout of FNO's spectral layers on backend `B`: `spectral`, else the backend's preference
/// (stacked on GPU backends, split on the CPU).
pub fn spectral_layout<B: SpectralBackend>() -> SpectralLayout {
    options().spectral.or_else(B::preferred_spectral_layout)
}

/// Whether the layers' `gelu(a + b)` is oplab's operation with the exact gradient (else burn's).
pub fn exact_gelu() -> bool {
    options().gelu == Gelu::Exact
}

/// Whether Adam takes the fused step where the backend has one (else burn's Adam everywhere).
pub fn fused_adam() -> bool {
    options().adam == AdamStep::Fused
}

/// The CUDA backend a model trains and evaluates on: `cuda`, else without burn's fusion layer for
/// a convolutional model (MgNO: its step is almost all convolutions, which do not fuse) and with
/// it otherwise (FNO); see [`CudaFlavor`].
pub fn cuda_flavor(options: &BackendOptions, convolutional: bool) -> CudaFlavor {
    options.cuda.or_else(|| if convolutional { CudaFlavor::Direct } else { CudaFlavor::Fusion })
}

/// Prepares this process for a CUDA run with `options` (cubecl's memory pool, which the first CUDA
/// run of a process fixes) and returns the backend the model runs on ([`cuda_flavor`]).
#[cfg(feature = "cuda")]
pub fn prepare_cuda(options: &BackendOptions, convolutional: bool) -> CudaFlavor {
    super::cuda::device::configure_memory(options.memory);
    cuda_flavor(options, convolutional)
}

/// Which pool cubecl allocates from, in words (this reads, and so fixes, cubecl's configuration).
#[cfg(feature = "cuda")]
pub fn cuda_memory_pool() -> &'static str {
    super::cuda::device::memory_pool_in_use()
}

#[cfg(feature = "bench-knobs")]
static KNOBS: std::sync::OnceLock<BenchKnobs> = std::sync::OnceLock::new();

/// The kernels' tuning parameters: what `set_bench_knobs` set, else none (every kernel's
/// default; always so in a build without the `bench-knobs` feature).
pub fn bench_knobs() -> BenchKnobs {
    #[cfg(feature = "bench-knobs")]
    {
        KNOBS.get().copied().unwrap_or_default()
    }
    #[cfg(not(feature = "bench-knobs"))]
    {
        BenchKnobs::default()
    }
}

/// Sets the kernels' tuning parameters for the rest of the process, once, after checking their
/// ranges (benchmark builds only: `bench-knobs` feature).
#[cfg(feature = "bench-knobs")]
pub fn set_bench_knobs(knobs: BenchKnobs) -> crate::error::Result<()> {
    knobs.validate()?;
    KNOBS.set(knobs).map_err(|_| crate::error::OperatorError::invalid("knob", "a second setting", "the knobs are set once per process"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::options::WgradKind;
    use burn::backend::{Autodiff, Flex};

    /// A thread's options win over the defaults, nest, and are restored afterwards; other threads
    /// keep their own.
    #[test]
    fn options_are_scoped_to_the_thread() {
        assert_eq!(options(), BackendOptions::default());
        assert_eq!(conv_plan::<Flex>().path, ConvGradPath::Tuned);
        assert_eq!(conv_plan::<Autodiff<Flex>>(), ConvPlan { path: ConvGradPath::Tuned, wgrad: WgradKind::Im2col, chunk: usize::MAX });
        let taps = BackendOptions { conv_wgrad: Choice::Fixed(WgradKind::Taps), gelu: Gelu::Burn, ..Default::default() };
        let inside = with_options(&taps, || {
            let other = std::thread::spawn(|| (exact_gelu(), conv_plan::<Flex>().wgrad)).join().unwrap();
            let nested = with_grad_path(ConvGradPath::Stock, conv_plan::<Flex>);
            (conv_plan::<Flex>(), nested, exact_gelu(), other)
        });
        assert_eq!(inside.0.path, ConvGradPath::Tuned);
        assert_eq!(inside.0.wgrad, WgradKind::Taps);
        assert_eq!((inside.1.path, inside.1.wgrad), (ConvGradPath::Stock, WgradKind::Taps));
        assert!(!inside.2);
        assert_eq!(inside.3, (true, WgradKind::Im2col), "another thread sees the defaults");
        assert_eq!(options(), BackendOptions::default());
        assert_eq!(spectral_layout::<Autodiff<Flex>>(), SpectralLayout::Split);
        assert!(fused_adam() && exact_gelu());
    }

    #[test]
    fn the_cuda_backend_follows_the_model_unless_fixed() {
        let auto = BackendOptions::default();
        assert_eq!(cuda_flavor(&auto, true), CudaFlavor::Direct);
        assert_eq!(cuda_flavor(&auto, false), CudaFlavor::Fusion);
        let fusion = BackendOptions { cuda: Choice::Fixed(CudaFlavor::Fusion), ..auto };
        assert_eq!(cuda_flavor(&fusion, true), CudaFlavor::Fusion);
    }
}
