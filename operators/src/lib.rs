//! Neural operators for oplab on burn: MgNO and FNO, and the engine that trains and evaluates
//! them on oplab's HDF5 datasets.
//!
//! Layout (mirroring neuraloperator's package): [`layers`] (padded convolutions, the multigrid
//! V-cycle, spectral convolutions), [`models`] (MgNO, FNO 2-D/1-D), [`losses`] (relative L2 with
//! quadrature weights, spectral relative H1), [`normalizers`], [`data`] (loading, splitting,
//! batching), [`training`] (optimisers, schedules, checkpoints, metrics, plots), and
//! [`backend`] (the capability traits the layers run on, the GPU kernels, and the typed
//! `[backend]` options that choose between implementations). Models are generic over
//! `B: Backend` and run on the capabilities of [`backend::ModelBackend`] (convolutions with a fast
//! backward, the exact-gradient GELU, the spectral layout), so the CPU (`Flex`) and CUDA builds
//! share one implementation.
//!
//! [`export`] writes a trained MgNO or FNO as a safetensors file under PyTorch's parameter names
//! and reads one back into a model.
//!
//! [`prose`] is the PROSE multimodal transformer (trajectory + equation guess → future
//! trajectory + equation).
//!
//! [`dynamics`] holds the almost-linear RNN (AL-RNN) for dynamical-systems reconstruction: model,
//! teacher-forcing training, `D_stsp`/`D_H` metrics and symbolic coding, in plain f64 Rust.
#![warn(missing_docs)]

pub mod backend;
pub mod data;
pub mod dynamics;
pub mod error;
pub mod export;
pub mod layers;
pub mod losses;
pub mod models;
pub mod normalizers;
pub mod plot;
pub mod prose;
pub mod registry;
pub mod run;
pub mod training;

pub use backend::DeviceKind;
pub use error::{OperatorError, Result};
pub use models::{Fno1d, Fno1dConfig, Fno2d, Fno2dConfig, MgNo, MgNoConfig, Operator2d};
