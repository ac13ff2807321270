//! The backends the operators run on, and everything that is specific to one: the capability
//! traits the layers and the training engine use, each backend's implementation of them, the GPU
//! kernels, and the one place that chooses between implementations.
//!
//! - Capabilities, one trait per concern, each with the plain (no kernel) behaviour as default
//!   methods and an `Autodiff<B>` implementation that records oplab's operations:
//!   [`conv::ConvBackend`] (convolutions with a hand-written backward), [`activation::ActivationBackend`]
//!   (`gelu(a + b)` with the exact gradient), [`optim::OptimBackend`] (a fused Adam step) and
//!   [`spectral::SpectralBackend`] (the layout of FNO's spectral products). [`ModelBackend`] is
//!   what a model needs of its backend.
//! - [`options`]: [`BackendOptions`], the typed `[backend]` table of a run's configuration.
//! - [`select`]: the one place that turns those options and the backends' preferences into the
//!   paths each operation takes.
//! - `cuda` (builds with the `cuda` or `wgpu` feature): the cubecl kernels, their launchers, the
//!   GPU backends' capability implementations and CUDA device setup.
//!
//! Models are generic over `B: Backend`; the aliases below name the backends oplab builds use.
//! `Flex` is burn's pure-Rust CPU backend (always available); the CUDA backends (cubecl, NVRTC at
//! run time) exist when the crate is built with the `cuda` feature.

pub mod activation;
pub mod conv;
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub mod cuda;
pub mod optim;
pub mod options;
pub mod select;
pub mod spectral;
pub mod tensor;

use std::fmt;
use std::str::FromStr;

pub use activation::ActivationBackend;
pub use conv::{ConvBackend, ConvPlan};
pub use optim::{AdamHyper, OptimBackend};
pub use options::{BackendOptions, Choice, ConvGradPath, CudaFlavor, SpectralLayout, WgradKind};
pub use spectral::SpectralBackend;

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

/// What a model of this crate needs of its backend: convolutions, the layers' activation and the
/// spectral layout (the training engine adds [`OptimBackend`] for the inner backend).
pub trait ModelBackend: ConvBackend + ActivationBackend + SpectralBackend {}

impl<B: ConvBackend + ActivationBackend + SpectralBackend> ModelBackend for B {}

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

impl DeviceKind {
    /// Parses a device list as `--devices` takes it: `cuda:0,cuda:1` (or `cpu,cpu`, `cpu:0,cpu:1`:
    /// replicas as threads on the CPU). One kind, distinct indices; a bare `cuda` is `cuda:0`, a
    /// bare `cpu` the next CPU replica.
    pub fn parse_list(s: &str) -> Result<(DeviceKind, Vec<usize>), DeviceError> {
        let bad = |why: String| DeviceError { value: s.into(), allowed: why };
        let mut kind = None;
        let mut indices: Vec<usize> = Vec::new();
        for (position, item) in s.split(',').map(str::trim).enumerate() {
            let (name, index) = match item.split_once(':') {
                Some((name, index)) => {
                    let index = index.parse::<usize>().ok().filter(|&i| i < 1024).ok_or_else(|| bad(format!("`{item}`: a device index must be 0 to 1023")))?;
                    (name, index)
                }
                None => (item, if item == "cpu" { position } else { 0 }),
            };
            let this: DeviceKind = name.parse().map_err(|e: DeviceError| bad(format!("`{item}`: {}", e.allowed)))?;
            if kind.is_some_and(|k| k != this) {
                return Err(bad("all devices must be of one kind (cpu or cuda)".into()));
            }
            if indices.contains(&index) {
                return Err(bad(format!("`{item}` is listed twice")));
            }
            kind = Some(this);
            indices.push(index);
        }
        Ok((kind.unwrap_or_default(), indices))
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
mod device_list_tests {
    use super::*;

    #[test]
    fn device_lists_parse_and_bad_ones_name_the_item() {
        assert_eq!(DeviceKind::parse_list("cpu,cpu").unwrap(), (DeviceKind::Cpu, vec![0, 1]));
        assert_eq!(DeviceKind::parse_list("cpu:0, cpu:3").unwrap(), (DeviceKind::Cpu, vec![0, 3]));
        for (list, says) in [("cpu:0,cpu:0", "listed twice"), ("cpu:x", "index"), ("tpu:0", "must be one of"), ("", "must be one of")] {
            let e = DeviceKind::parse_list(list).unwrap_err().to_string();
            assert!(e.starts_with("device = ") && e.contains(says), "{list}: {e}");
        }
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
    fn device_parsing_names_what_is_available() {
        assert_eq!("cpu".parse::<DeviceKind>().unwrap(), DeviceKind::Cpu);
        let err = "tpu".parse::<DeviceKind>().unwrap_err().to_string();
        assert!(err.starts_with("device = tpu is invalid") && err.contains("cpu"), "{err}");
        assert_eq!("cuda".parse::<DeviceKind>().is_ok(), cfg!(feature = "cuda"));
    }
}
