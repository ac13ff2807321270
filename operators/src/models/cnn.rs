//! A residual stack of k×k convolutions without pooling, plain or converted into an operator
//! (`layers::interp_conv`): the simplest convolutional net, cheap on CPU, on one grid throughout.
//!
//! `v = lift([a, x, y])`, then per block `v ← v + conv₂(GELU(conv₁(GELU(v))))`, then
//! `u = head(GELU(v))`; every convolution k×k, "same"-padded, with bias.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::unet::periodic_grid;
use crate::backend::{ActivationBackend, ConvBackend};
use crate::error::OperatorError;
use crate::layers::{gelu_exact, PaddedConv2d, PaddedConv2dConfig, PaddingMode, Scale};

/// Configuration of a [`Cnn`]. Defaults: width 32, 4 blocks, kernel 3, grid channels (75,169
/// parameters with one input channel).
#[derive(Config, Debug)]
pub struct CnnConfig {
    /// Input channels (without the grid channels).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output channels.
    #[config(default = 1)]
    pub out_channels: usize,
    /// Channels of the hidden layers.
    #[config(default = 32)]
    pub width: usize,
    /// Residual blocks (two convolutions each).
    #[config(default = 4)]
    pub blocks: usize,
    /// Side of the square kernels (odd).
    #[config(default = 3)]
    pub kernel: usize,
    /// Append (x, y) grid coordinates to the input.
    #[config(default = true)]
    pub grid: bool,
    /// Boundary handling of the convolutions.
    #[config(default = "PaddingMode::Zeros")]
    pub padding: PaddingMode,
}

impl CnnConfig {
    /// Checks every field; names start with `cnn.`.
    pub fn validate(&self) -> crate::Result<()> {
        for (name, v, lo, hi) in [
            ("cnn.in_channels", self.in_channels, 1, 1024),
            ("cnn.out_channels", self.out_channels, 1, 1024),
            ("cnn.width", self.width, 1, 4096),
            ("cnn.blocks", self.blocks, 0, 256),
            ("cnn.kernel", self.kernel, 1, 31),
        ] {
            if v < lo || v > hi {
                return Err(OperatorError::invalid(name, v, format!("must be {lo} to {hi}")));
            }
        }
        if self.kernel.is_multiple_of(2) {
            return Err(OperatorError::invalid("cnn.kernel", self.kernel, "must be odd (same-padded convolutions keep the grid)"));
        }
        Ok(())
    }

    fn conv<B: Backend>(&self, ci: usize, co: usize, device: &B::Device) -> PaddedConv2d<B> {
        PaddedConv2dConfig::new([ci, co], self.kernel).with_padding(self.kernel / 2).with_mode(self.padding).with_bias(true).init(device)
    }

    /// Builds the net (validating first).
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<Cnn<B>> {
        self.validate()?;
        let cin = self.in_channels + if self.grid { 2 } else { 0 };
        let w = self.width;
        Ok(Cnn {
            lift: self.conv(cin, w, device),
            blocks: (0..self.blocks).map(|_| CnnBlock { conv1: self.conv(w, w, device), conv2: self.conv(w, w, device) }).collect(),
            head: self.conv(w, self.out_channels, device),
            grid: self.grid,
        })
    }
}

/// `v + conv₂(GELU(conv₁(GELU(v))))`.
#[derive(Module, Debug)]
pub struct CnnBlock<B: Backend> {
    /// First convolution.
    pub conv1: PaddedConv2d<B>,
    /// Second convolution.
    pub conv2: PaddedConv2d<B>,
}

/// The residual CNN.
#[derive(Module, Debug)]
pub struct Cnn<B: Backend> {
    /// Lifting convolution.
    pub lift: PaddedConv2d<B>,
    /// Residual blocks.
    pub blocks: Vec<CnnBlock<B>>,
    /// Output convolution.
    pub head: PaddedConv2d<B>,
    /// Whether grid channels are appended.
    pub grid: bool,
}

impl<B: ConvBackend + ActivationBackend> Cnn<B> {
    /// The plain net.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, H, W]`
    /// - output: `[batch, out_channels, H, W]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_at(x, Scale::ONE)
    }

    /// The net converted to a grid `s` times finer than the training grid (plain at s = 1).
    pub fn forward_at(&self, x: Tensor<B, 4>, s: Scale) -> Tensor<B, 4> {
        let x = if self.grid { Tensor::cat(vec![x.clone(), periodic_grid(&x)], 1) } else { x };
        let mut v = self.lift.forward_at(x, s);
        for block in &self.blocks {
            let h = block.conv1.forward_at(gelu_exact(v.clone()), s);
            v = v + block.conv2.forward_at(gelu_exact(h), s);
        }
        self.head.forward_at(gelu_exact(v), s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::Distribution;

    fn values<B: Backend>(t: Tensor<B, 4>) -> Vec<f32> {
        t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
    }

    #[test]
    fn sizes_shapes_and_unit_scale() {
        let device = Default::default();
        let net: Cnn<Cpu> = CnnConfig::new().init(&device).unwrap();
        assert_eq!(net.num_params(), 75_169);
        let params = net.num_params();
        for side in [16usize, 21, 40] {
            let x = Tensor::<Cpu, 4>::random([2, 1, side, side], Distribution::Normal(0.0, 1.0), &device);
            assert_eq!(values(net.forward_at(x.clone(), Scale::new(side, side))), values(net.forward(x.clone())));
            assert_eq!(net.forward_at(x, Scale::new(side, 16)).dims(), [2, 1, side, side]);
        }
        assert_eq!(net.num_params(), params);
        let err = CnnConfig::new().with_kernel(2).validate().unwrap_err().to_string();
        assert!(err.starts_with("cnn.kernel = 2 is invalid"), "{err}");
    }
}
