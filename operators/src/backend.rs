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
    fn device_parsing_names_what_is_available() {
        assert_eq!("cpu".parse::<DeviceKind>().unwrap(), DeviceKind::Cpu);
        let err = "tpu".parse::<DeviceKind>().unwrap_err().to_string();
        assert!(err.starts_with("device = tpu is invalid") && err.contains("cpu"), "{err}");
        assert_eq!("cuda".parse::<DeviceKind>().is_ok(), cfg!(feature = "cuda"));
    }
}
