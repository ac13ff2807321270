//! Building blocks the models are assembled from: padded convolutions with a boundary mode (on
//! the custom-backward convolution of [`fastconv`]), the multigrid V-cycle of MgNO, and
//! truncated-Fourier spectral convolutions of FNO.

pub mod activation;
pub mod dft;
pub mod fastconv;
pub mod mgconv;
pub mod padding;
pub mod spectral;
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub mod conv_kernels;
#[cfg(feature = "cuda")]
pub mod gelu_kernel;

pub use activation::add_gelu;
pub use fastconv::{ConvBackend, ConvGradPath};
pub use mgconv::{MgConv, MgConvConfig};
pub use padding::{PaddedConv2d, PaddedConv2dConfig, PaddingMode};
pub use spectral::{SpectralConv1d, SpectralConv1dConfig, SpectralConv2d, SpectralConv2dConfig};
