//! Complete operators assembled from [`crate::layers`]: MgNO and FNO (2-D and 1-D).

pub mod fno;
pub mod mgno;
pub mod unet;

pub use fno::{Fno1d, Fno1dConfig, Fno2d, Fno2dConfig};
pub use mgno::{MgNo, MgNoConfig};
pub use unet::{Unet, UnetConfig};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::backend::{ActivationBackend, ConvBackend, ModelBackend};

/// A 2-D operator the training engine can fit: maps `[batch, c_in, H, W]` to
/// `[batch, c_out, H, W]` on any grid.
pub trait Operator2d<B: Backend>: Module<B> {
    /// Applies the operator.
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4>;
}

impl<B: ConvBackend + ActivationBackend> Operator2d<B> for MgNo<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        MgNo::forward(self, x)
    }
}

impl<B: ModelBackend> Operator2d<B> for Fno2d<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        Fno2d::forward(self, x)
    }
}
