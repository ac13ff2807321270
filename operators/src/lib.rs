//! Neural operators for oplab on burn: backends now; MgNO, FNO and their training engine are the
//! subject of the operator-engine issue. Models are generic over `B: Backend` so the CPU (`Flex`)
//! and CUDA builds share one implementation.
#![warn(missing_docs)]

pub mod backend;

pub use backend::DeviceKind;
