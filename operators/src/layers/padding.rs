//! Boundary handling of convolutions. In MgNO the padding mode of every 3×3 convolution plays
//! the role of the boundary condition: zeros ≈ homogeneous Dirichlet, circular = periodic,
//! reflect ≈ homogeneous Neumann. burn's `conv2d` only pads with zeros, so the other modes pad
//! the input explicitly and convolve without padding.

use burn::config::Config;
use burn::module::{Initializer, Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::ops::ConvOptions;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::fastconv::{fast_conv2d, ConvBackend};

/// How a convolution sees the outside of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaddingMode {
    /// Zeros outside the domain (PyTorch `padding_mode='zeros'`); the Darcy setting.
    #[default]
    Zeros,
    /// Periodic wrap-around (`'circular'`); the Navier–Stokes setting.
    Circular,
    /// Mirror without repeating the edge (`'reflect'`); the Helmholtz setting.
    Reflect,
}

impl PaddingMode {
    /// Names accepted in configuration files.
    pub const NAMES: &'static str = "zeros, circular, reflect";

    /// Parses a name from a configuration file.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zeros" => Some(Self::Zeros),
            "circular" => Some(Self::Circular),
            "reflect" => Some(Self::Reflect),
            _ => None,
        }
    }
}

/// Pads the last two axes of `x` by `p` on every side with the given mode.
///
/// Circular padding wraps around; reflect padding mirrors without repeating the edge (as
/// PyTorch, which needs `p < H` and `p < W`); on a grid too small for that (e.g. one pixel,
/// reached at coarse levels) it falls back to repeating the edge.
pub fn pad2d<B: Backend>(x: Tensor<B, 4>, p: usize, mode: PaddingMode) -> Tensor<B, 4> {
    if p == 0 {
        return x;
    }
    let [_, _, h, w] = x.dims();
    match mode {
        PaddingMode::Zeros => {
            let x = zero_pad(x, 2, p, p);
            zero_pad(x, 3, p, p)
        }
        PaddingMode::Reflect => {
            let x = reflect(x, 2, p, h);
            reflect(x, 3, p, w)
        }
        PaddingMode::Circular => {
            let x = wrap(x, 2, p, h);
            wrap(x, 3, p, w)
        }
    }
}

/// Appends `before` and `after` zeros along axis `dim`, in the dtype of `x`.
///
/// burn 0.21's `Tensor::pad` with a constant builds its fill in the backend's default float
/// type, which breaks f64 tensors on Flex (used by the gradient checks); concatenating zeros of
/// the input's own dtype works for every dtype.
pub fn zero_pad<B: Backend>(x: Tensor<B, 4>, dim: usize, before: usize, after: usize) -> Tensor<B, 4> {
    if before == 0 && after == 0 {
        return x;
    }
    let dims = x.dims();
    let (device, dtype) = (x.device(), x.dtype());
    let block = |n: usize| {
        let mut d = dims;
        d[dim] = n;
        Tensor::<B, 4>::zeros(d, (&device, dtype))
    };
    let mut parts = Vec::with_capacity(3);
    if before > 0 {
        parts.push(block(before));
    }
    parts.push(x);
    if after > 0 {
        parts.push(block(after));
    }
    Tensor::cat(parts, dim)
}

/// Reflect padding of axis `dim` (length `n`) by `p < n`; when `p ≥ n` (a grid too small to
/// mirror) the edge value is repeated instead. Built from slices and flips rather than
/// `Tensor::pad`, which mishandles f64 on Flex in burn 0.21.
fn reflect<B: Backend>(x: Tensor<B, 4>, dim: usize, p: usize, n: usize) -> Tensor<B, 4> {
    let (before, after) = if p < n {
        (x.clone().narrow(dim, 1, p).flip([dim as isize]), x.clone().narrow(dim, n - 1 - p, p).flip([dim as isize]))
    } else {
        (x.clone().narrow(dim, 0, 1).repeat_dim(dim, p), x.clone().narrow(dim, n - 1, 1).repeat_dim(dim, p))
    };
    Tensor::cat(vec![before, x, after], dim)
}

/// Circular padding of axis `dim` (length `n`) by `p`, for any `p` (repeats the grid if `p > n`).
fn wrap<B: Backend>(x: Tensor<B, 4>, dim: usize, p: usize, n: usize) -> Tensor<B, 4> {
    let mut before = Vec::new();
    let mut left = p;
    while left > 0 {
        let take = left.min(n);
        before.insert(0, x.clone().narrow(dim, n - take, take));
        left -= take;
    }
    let mut after = Vec::new();
    let mut left = p;
    while left > 0 {
        let take = left.min(n);
        after.push(x.clone().narrow(dim, 0, take));
        left -= take;
    }
    let mut parts = before;
    parts.push(x);
    parts.extend(after);
    Tensor::cat(parts, dim)
}

/// A square convolution with symmetric padding in a chosen [`PaddingMode`].
#[derive(Config, Debug)]
pub struct PaddedConv2dConfig {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Side of the square kernel.
    pub kernel_size: usize,
    /// Stride (the same along both axes).
    #[config(default = 1)]
    pub stride: usize,
    /// Halo width on each side.
    #[config(default = 0)]
    pub padding: usize,
    /// What the halo holds.
    #[config(default = "PaddingMode::Zeros")]
    pub mode: PaddingMode,
    /// Whether the convolution has a bias.
    #[config(default = false)]
    pub bias: bool,
}

/// A square convolution whose halo follows a [`PaddingMode`].
#[derive(Module, Debug)]
pub struct PaddedConv2d<B: Backend> {
    /// Kernel, `[channels_out, channels_in, k, k]`.
    pub weight: Param<Tensor<B, 4>>,
    /// Optional bias, `[channels_out]`.
    pub bias: Option<Param<Tensor<B, 1>>>,
    /// Stride along both axes.
    pub stride: usize,
    /// Halo width.
    pub padding: usize,
    /// Halo contents.
    pub mode: PaddingMode,
}

impl PaddedConv2dConfig {
    /// Builds the layer with PyTorch's default initialisation, U(±1/√fan_in) for weight and bias,
    /// so that models start from the same distribution as the reference code.
    pub fn init<B: Backend>(&self, device: &B::Device) -> PaddedConv2d<B> {
        let [ci, co] = self.channels;
        let k = self.kernel_size;
        let fan_in = ci * k * k;
        let init = torch_uniform(fan_in);
        let weight = init.init_with([co, ci, k, k], Some(fan_in), None, device);
        let bias = self.bias.then(|| init.init_with([co], Some(fan_in), None, device));
        PaddedConv2d { weight, bias, stride: self.stride, padding: self.padding, mode: self.mode }
    }
}

/// U(−1/√fan_in, 1/√fan_in), PyTorch's default for convolutions and linear layers.
pub fn torch_uniform(fan_in: usize) -> Initializer {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Initializer::Uniform { min: -bound, max: bound }
}

impl<B: ConvBackend> PaddedConv2d<B> {
    /// Applies the convolution (through [`fast_conv2d`], whose backward avoids burn's slow
    /// GPU convolution gradients).
    ///
    /// # Shapes
    /// - `x`: `[batch, channels_in, H, W]`
    /// - output: `[batch, channels_out, (H + 2p − k)/s + 1, (W + 2p − k)/s + 1]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let bias = self.bias.as_ref().map(|b| b.val());
        match self.mode {
            // Zero halos are handled inside the convolution kernel, which saves a copy.
            PaddingMode::Zeros => fast_conv2d(
                x,
                self.weight.val(),
                bias,
                ConvOptions::new([self.stride; 2], [self.padding; 2], [1, 1], 1),
            ),
            mode => fast_conv2d(
                pad2d(x, self.padding, mode),
                self.weight.val(),
                bias,
                ConvOptions::new([self.stride; 2], [0, 0], [1, 1], 1),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    fn grid(h: usize, w: usize) -> Tensor<Cpu, 4> {
        let v: Vec<f32> = (0..h * w).map(|i| i as f32).collect();
        Tensor::from_data(TensorData::new(v, [1, 1, h, w]), &Default::default())
    }

    #[test]
    fn circular_padding_wraps_both_axes() {
        let y: Vec<f32> = pad2d(grid(2, 3), 1, PaddingMode::Circular).into_data().to_vec().unwrap();
        // rows: [last, 0, 1, first] of the 2×3 grid [[0,1,2],[3,4,5]], columns wrapped likewise
        assert_eq!(y, vec![5., 3., 4., 5., 3., 2., 0., 1., 2., 0., 5., 3., 4., 5., 3., 2., 0., 1., 2., 0.]);
    }

    #[test]
    fn reflect_padding_mirrors_without_the_edge() {
        let y: Vec<f32> = pad2d(grid(2, 3), 1, PaddingMode::Reflect).into_data().to_vec().unwrap();
        assert_eq!(&y[0..5], &[4., 3., 4., 5., 4.]);
        assert_eq!(&y[5..10], &[1., 0., 1., 2., 1.]);
    }

    #[test]
    fn padding_modes_parse_from_config_names() {
        for name in ["zeros", "circular", "reflect"] {
            assert!(PaddingMode::parse(name).is_some());
        }
        assert!(PaddingMode::parse("same").is_none());
    }
}
