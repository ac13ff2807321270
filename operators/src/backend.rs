//! Backends the operators run on, and choosing one at run time.
//!
//! Models are generic over `B: Backend`; these aliases name the two oplab builds use. `Flex` is
//! burn's pure-Rust CPU backend (always available); `Cuda` (cubecl, NVRTC at run time) exists when
//! the crate is built with the `cuda` feature.

use std::fmt;
use std::str::FromStr;

/// CPU inference backend.
pub type Cpu = burn::backend::Flex;
/// CPU training backend (autodiff over [`Cpu`]).
pub type CpuTrain = burn::backend::Autodiff<Cpu>;
/// CUDA inference backend.
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;
/// CUDA training backend.
#[cfg(feature = "cuda")]
pub type CudaTrain = burn::backend::Autodiff<Cuda>;
/// CUDA inference backend without burn's fusion layer: every tensor operation launches its kernel
/// at once (see [`CudaFlavor`]).
#[cfg(feature = "cuda")]
pub type CudaDirect = burn_cubecl::CubeBackend<cubecl::cuda::CudaRuntime, f32, i32, u8>;
/// CUDA training backend without burn's fusion layer.
#[cfg(feature = "cuda")]
pub type CudaDirectTrain = burn::backend::Autodiff<CudaDirect>;

/// Which of burn's two CUDA backends runs a model.
///
/// burn's default CUDA backend records operations in a fusion stream that a server thread
/// optimises and launches; that pays off where many small elementwise operations fuse (FNO's
/// spectral layers), and costs host time where nearly every operation is a convolution that
/// cannot fuse (MgNO: about 700 kernels per training step, each then passing through the fusion
/// server as well as cubecl's). Measured on an H200 (session 7, `bench/RESULTS.md`, one call):
/// MgNO's 64² step took 15.2 ms with fusion (burn's Adam, cubecl's default pool), 13.2 ms without
/// it (fused Adam) and 10.8 ms without it from the persistent pool (`configure_cuda_memory`, CUDA builds);
/// FNO's 256² step 9.5 ms with fusion against 14.2 ms without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CudaFlavor {
    /// `Fusion<CubeBackend<..>>` ([`Cuda`]).
    Fusion,
    /// `CubeBackend<..>` alone ([`CudaDirect`]).
    Direct,
}

impl CudaFlavor {
    /// The flavour for a model: [`CudaFlavor::Direct`] for convolutional models (MgNO),
    /// [`CudaFlavor::Fusion`] otherwise; `OPLAB_CUDA_BACKEND=fusion|direct` overrides both.
    pub fn for_model(convolutional: bool) -> Self {
        match std::env::var("OPLAB_CUDA_BACKEND").ok().as_deref().map(str::trim) {
            Some("fusion") => CudaFlavor::Fusion,
            Some("direct") => CudaFlavor::Direct,
            _ if convolutional => CudaFlavor::Direct,
            _ => CudaFlavor::Fusion,
        }
    }
}

/// Sends every CUDA allocation of this process to cubecl's persistent memory pool, unless
/// `OPLAB_CUDA_MEMORY=dynamic` or a `cubecl.toml` (of the working directory or a parent) sets
/// `[memory] persistent_memory` itself. Call before the first CUDA tensor exists; later calls, or
/// a cubecl configuration that was already read, leave everything as it is.
///
/// Why: cubecl's default pool carves tensors out of shared pages and searches and coalesces those
/// pages on every allocation, on the thread that also launches the kernels. A training step of
/// MgNO allocates about a thousand tensors; on an H200 host profile (session 7) that search was
/// the largest single cost of the launching thread. The persistent pool keeps buckets of equal
/// sizes, so an allocation is one hash lookup; it never returns memory to the device, which a
/// training loop (the same shapes every step) does not need. Measured MgNO 64² step without
/// fusion: 13.2 ms with the default pool, 10.8 ms with the persistent one.
#[cfg(feature = "cuda")]
pub fn configure_cuda_memory() {
    use cubecl::config::memory::PersistentMemory;
    use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
    if std::env::var("OPLAB_CUDA_MEMORY").ok().as_deref().map(str::trim) == Some("dynamic") {
        return;
    }
    let mut state = CubeClRuntimeConfig::storage().lock();
    if state.is_some() {
        return;
    }
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    // The default is `Enabled` (persistent only where asked for); a file that chose `disabled` or
    // `enforced` is kept as it is.
    if matches!(config.memory.persistent_memory, PersistentMemory::Enabled) {
        config.memory.persistent_memory = PersistentMemory::Enforced;
    }
    *state = Some(std::sync::Arc::new(config));
}

/// Where to run, as chosen by `--device cpu|cuda`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// burn's Flex CPU backend.
    #[default]
    Cpu,
    /// The first CUDA device (needs a build with the `cuda` feature).
    Cuda,
}

/// An unknown or unavailable device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device = {value} is invalid: {allowed}")]
pub struct DeviceError {
    /// What was asked for.
    pub value: String,
    /// What is available in this build.
    pub allowed: String,
}

impl DeviceKind {
    /// Whether this build can run on the device.
    pub fn is_available(self) -> bool {
        match self {
            DeviceKind::Cpu => true,
            DeviceKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// What the first training steps on this device cost before they reach full speed, for a
    /// one-line notice at the start of a run (`None`: nothing worth saying).
    pub fn warm_up_notice(self) -> Option<&'static str> {
        match self {
            DeviceKind::Cpu => None,
            DeviceKind::Cuda if cfg!(feature = "autotune") => Some(
                "note: this build autotunes burn's GPU kernels: the first step at every new shape benchmarks candidate \
                 kernels and can take minutes (an H200 measured 0.5-3+ min); `make cuda-fixed` builds without the autotuner",
            ),
            DeviceKind::Cuda => Some("note: the first steps compile burn's GPU kernels (seconds; built without the autotuner)"),
        }
    }

    /// Devices this build supports, for error messages and `--help`.
    pub fn available() -> &'static str {
        if cfg!(feature = "cuda") {
            "cpu, cuda"
        } else {
            "cpu (this build has no CUDA support; rebuild with `--features cuda`)"
        }
    }
}

impl FromStr for DeviceKind {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, DeviceError> {
        let kind = match s {
            "cpu" => DeviceKind::Cpu,
            "cuda" | "gpu" => DeviceKind::Cuda,
            _ => return Err(DeviceError { value: s.into(), allowed: format!("must be one of: {}", DeviceKind::available()) }),
        };
        if !kind.is_available() {
            return Err(DeviceError { value: s.into(), allowed: format!("must be one of: {}", DeviceKind::available()) });
        }
        Ok(kind)
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Cuda => "cuda",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Tensor, TensorData};

    #[test]
    fn cpu_backend_computes_a_matmul() {
        let device = Default::default();
        let a = Tensor::<Cpu, 2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]), &device);
        let b = Tensor::<Cpu, 2>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0, 0.25], [2, 2]), &device);
        let c: Vec<f32> = a.matmul(b).into_data().to_vec().unwrap();
        assert_eq!(c, vec![4.5, -0.5, 9.5, -2.0]);
    }

    #[test]
    fn convolutional_models_get_the_backend_without_fusion_unless_overridden() {
        match std::env::var("OPLAB_CUDA_BACKEND").ok().as_deref() {
            Some("fusion") => assert_eq!(CudaFlavor::for_model(true), CudaFlavor::Fusion),
            Some("direct") => assert_eq!(CudaFlavor::for_model(false), CudaFlavor::Direct),
            _ => {
                assert_eq!(CudaFlavor::for_model(true), CudaFlavor::Direct);
                assert_eq!(CudaFlavor::for_model(false), CudaFlavor::Fusion);
            }
        }
    }

    #[test]
    fn device_parsing_names_what_is_available() {
        assert_eq!("cpu".parse::<DeviceKind>().unwrap(), DeviceKind::Cpu);
        let err = "tpu".parse::<DeviceKind>().unwrap_err().to_string();
        assert!(err.starts_with("device = tpu is invalid") && err.contains("cpu"), "{err}");
        assert_eq!("cuda".parse::<DeviceKind>().is_ok(), cfg!(feature = "cuda"));
    }
}
