//! Building blocks the models are assembled from: padded convolutions with a boundary mode (on
//! the custom-backward convolution of `backend::conv`), the multigrid V-cycle of MgNO, the
//! layers' `gelu(a + b)`, and truncated-Fourier spectral convolutions of FNO. Layers reach the
//! backend only through its capability traits, with the paths `backend::select` chooses.

pub mod activation;
pub mod dft;
pub mod interp_conv;
pub mod mgconv;
pub mod padding;
pub mod resample;
pub mod spectral;

pub use activation::{add_gelu, gelu_exact};
pub use interp_conv::{ConvTranspose2dUp, Scale};
pub use mgconv::{MgConv, MgConvConfig};
pub use padding::{PaddedConv2d, PaddedConv2dConfig, PaddingMode};
pub use resample::{resample, ResampleMode};
pub use spectral::{SpectralConv1d, SpectralConv1dConfig, SpectralConv2d, SpectralConv2dConfig};
