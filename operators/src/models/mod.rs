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
use crate::layers::{resample, ResampleMode};

/// How a trained network is discretised on a grid other than its training grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discretization {
    /// The trained layers as they are (kernels in pixels).
    Plain,
    /// Layers defined on the domain, re-sampled to the grid: scale `s = W / base_side`.
    Converted {
        /// Width of the training grid.
        base_side: usize,
    },
}

/// A 2-D operator the training engine can fit: maps `[batch, c_in, H, W]` to
/// `[batch, c_out, H, W]` on any grid.
pub trait Operator2d<B: Backend>: Module<B> {
    /// Applies the operator.
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4>;

    /// Applies the operator in discretisation `d` (the plain forward unless the model has one).
    fn forward_with(&self, x: Tensor<B, 4>, d: Discretization) -> Tensor<B, 4> {
        let _ = d;
        self.forward(x)
    }

    /// Whether the model has convolutions that a converted discretisation re-samples.
    fn has_convolutions(&self) -> bool {
        false
    }
}

/// The input-output interpolation baseline: resample `x` to the training grid, apply the plain
/// model there, resample the output back to `x`'s grid.
pub fn io_interp_forward<B: Backend, M: Operator2d<B>>(model: &M, x: Tensor<B, 4>, train_grid: [usize; 2], mode: ResampleMode) -> Tensor<B, 4> {
    let [_, _, h, w] = x.dims();
    resample(model.forward(resample(x, train_grid, mode)), [h, w], mode)
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

    /// Converted: the domain padding scaled with the grid ([`Fno2d::forward_scaled`]).
    fn forward_with(&self, x: Tensor<B, 4>, d: Discretization) -> Tensor<B, 4> {
        match d {
            Discretization::Plain => Fno2d::forward(self, x),
            Discretization::Converted { base_side } => self.forward_scaled(x, base_side),
        }
    }
}
