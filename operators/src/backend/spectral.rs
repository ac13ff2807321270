//! The spectral-layout capability: which [`SpectralLayout`] FNO's spectral layers use on a
//! backend under `spectral = "auto"` (`backend::select::spectral_layout`).

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;

use super::options::SpectralLayout;

/// A backend with a preferred layout for the complex products of spectral layers. Each plain
/// backend opts in with its own `impl` (Flex below, the GPU backends in `backend::cuda`).
pub trait SpectralBackend: Backend {
    /// The layout under `spectral = "auto"`: [`SpectralLayout::Split`] unless the backend gains
    /// from fewer, larger products.
    fn preferred_spectral_layout() -> SpectralLayout {
        SpectralLayout::Split
    }
}

/// burn's CPU backend: split (the stacked layout's larger products measured slower there).
impl SpectralBackend for burn::backend::Flex {}

/// Under autodiff: the inner backend's preference.
impl<B: SpectralBackend, C: CheckpointStrategy> SpectralBackend for Autodiff<B, C> {
    fn preferred_spectral_layout() -> SpectralLayout {
        B::preferred_spectral_layout()
    }
}
