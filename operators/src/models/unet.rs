//! The "modern U-Net" of PDEArena, as the NNs-to-NOs reference (`models/unet.py`, converted by
//! `models/unet_kernel_interp.py`) uses it, plain or converted into a neural operator
//! (`layers::interp_conv`).
//!
//! Structure (re-derived from the reference):
//! - optional (x, y) grid channels x_i = i/n appended to the input (`GridEmbedding2D`);
//! - a k×k lifting convolution to `hidden` channels;
//! - per level i, `blocks` residual blocks to `c_i = c_{i−1}·mults[i]` channels (the multipliers
//!   compound), then, except on the last level, a 3×3 stride-2 convolution down;
//! - two residual blocks in the middle;
//! - per level, deepest first, `blocks` residual blocks keeping c_i channels and one more to
//!   `c_i / mults[i]`, each taking the concatenation `[skip, x]` of the matching down-path output;
//!   between levels a 4×4 stride-2 transposed convolution (padding 2) fitted to the skip's grid;
//! - GroupNorm → GELU → k×k output convolution.
//!
//! A residual block is `conv2(GELU(GN2(conv1(GELU(GN1(x)))))) + shortcut(x)` with GroupNorm of
//! one group (`num_groups = 1` in the reference configuration, norm on), k×k "same"
//! convolutions with bias, and a 1×1 convolution as the shortcut where the channels change.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{GroupNorm, GroupNormConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::backend::{ActivationBackend, ConvBackend};
use crate::error::OperatorError;
use crate::layers::interp_conv::fit_centered;
use crate::layers::{gelu_exact, ConvTranspose2dUp, PaddedConv2d, PaddedConv2dConfig, PaddingMode, ResampleMode, Scale};

/// Configuration of a [`Unet`]. Defaults are oplab's CPU-sized model (hidden 8, multipliers
/// [1, 2, 2, 2], kernel 3, 2 blocks: 730,665 parameters with one input channel plus the grid);
/// the reference's Navier–Stokes model is hidden 19, [1, 2, 2, 3], kernel 9 (65,502,463).
#[derive(Config, Debug)]
pub struct UnetConfig {
    /// Input channels (without the grid channels).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output channels.
    #[config(default = 1)]
    pub out_channels: usize,
    /// Channels after the lifting convolution.
    #[config(default = 8)]
    pub hidden: usize,
    /// Channel multiplier per level (compounding); the number of levels.
    #[config(default = "vec![1, 2, 2, 2]")]
    pub mults: Vec<usize>,
    /// Side of the square kernels (odd).
    #[config(default = 3)]
    pub kernel: usize,
    /// Residual blocks per level.
    #[config(default = 2)]
    pub blocks: usize,
    /// Append (x, y) grid coordinates to the input.
    #[config(default = true)]
    pub grid: bool,
    /// Boundary handling of the k×k and stride-2 convolutions (the reference: zeros).
    #[config(default = "PaddingMode::Zeros")]
    pub padding: PaddingMode,
    /// How the converted net resamples around its transposed convolutions.
    #[config(default = "ResampleMode::Bilinear")]
    pub resample: ResampleMode,
}

impl UnetConfig {
    /// Checks every field; names start with `unet.`.
    pub fn validate(&self) -> crate::Result<()> {
        for (name, v, lo, hi) in [
            ("unet.in_channels", self.in_channels, 1, 1024),
            ("unet.out_channels", self.out_channels, 1, 1024),
            ("unet.hidden", self.hidden, 1, 4096),
            ("unet.blocks", self.blocks, 1, 16),
            ("unet.kernel", self.kernel, 1, 31),
        ] {
            if v < lo || v > hi {
                return Err(OperatorError::invalid(name, v, format!("must be {lo} to {hi}")));
            }
        }
        if self.kernel.is_multiple_of(2) {
            return Err(OperatorError::invalid("unet.kernel", self.kernel, "must be odd (same-padded convolutions keep the grid)"));
        }
        if self.mults.is_empty() || self.mults.len() > 8 {
            return Err(OperatorError::invalid("unet.levels", format!("{:?}", self.mults), "must hold 1 to 8 channel multipliers (one per level)"));
        }
        if let Some(m) = self.mults.iter().find(|m| !(1..=8).contains(*m)) {
            return Err(OperatorError::invalid("unet.levels", format!("{:?}", self.mults), format!("multipliers must be 1 to 8, not {m}")));
        }
        let widest = self.mults.iter().fold(self.hidden, |c, m| c.saturating_mul(*m));
        if widest > 1 << 16 {
            return Err(OperatorError::invalid(
                "unet.levels",
                format!("{:?}", self.mults),
                format!("give {widest} channels at the deepest level; at most 65536"),
            ));
        }
        Ok(())
    }

    /// The smallest grid side the net takes: 2^levels (each level but the last halves the grid,
    /// and the deepest one keeps at least two points a side).
    pub fn min_side(&self) -> usize {
        1 << self.mults.len()
    }

    fn conv(&self, ci: usize, co: usize, k: usize, stride: usize) -> PaddedConv2dConfig {
        PaddedConv2dConfig::new([ci, co], k).with_stride(stride).with_padding(k / 2).with_mode(self.padding).with_bias(true)
    }

    fn block<B: Backend>(&self, ci: usize, co: usize, device: &B::Device) -> ResBlock<B> {
        ResBlock {
            norm1: GroupNormConfig::new(1, ci).init(device),
            conv1: self.conv(ci, co, self.kernel, 1).init(device),
            norm2: GroupNormConfig::new(1, co).init(device),
            conv2: self.conv(co, co, self.kernel, 1).init(device),
            shortcut: (ci != co).then(|| PaddedConv2dConfig::new([ci, co], 1).with_bias(true).init(device)),
        }
    }

    /// Builds the net (validating first).
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<Unet<B>> {
        self.validate()?;
        let cin = self.in_channels + if self.grid { 2 } else { 0 };
        let lift = self.conv(cin, self.hidden, self.kernel, 1).init(device);
        let levels = self.mults.len();
        let mut down = Vec::with_capacity(levels);
        let mut c = self.hidden;
        for (i, m) in self.mults.iter().enumerate() {
            let co = c * m;
            let mut blocks = Vec::with_capacity(self.blocks);
            for _ in 0..self.blocks {
                blocks.push(self.block(c, co, device));
                c = co;
            }
            let down_conv = (i + 1 < levels).then(|| self.conv(c, c, 3, 2).init(device));
            down.push(DownLevel { blocks, down: down_conv });
        }
        let middle = vec![self.block(c, c, device), self.block(c, c, device)];
        let mut up = Vec::with_capacity(levels);
        for i in (0..levels).rev() {
            // Each block takes [skip, x]: the skips of this level carry c channels, the last
            // one (the level's input) c / mults[i].
            let mut blocks: Vec<ResBlock<B>> = (0..self.blocks).map(|_| self.block(2 * c, c, device)).collect();
            let co = c / self.mults[i];
            blocks.push(self.block(c + co, co, device));
            c = co;
            let up_conv = (i > 0).then(|| ConvTranspose2dUp::new(c, c, device));
            up.push(UpLevel { blocks, up: up_conv });
        }
        let norm = GroupNormConfig::new(1, self.hidden).init(device);
        let head = self.conv(self.hidden, self.out_channels, self.kernel, 1).init(device);
        Ok(Unet { lift, down, middle, up, norm, head, grid: self.grid, resample: self.resample })
    }
}

/// `conv2(GELU(GN2(conv1(GELU(GN1(x)))))) + shortcut(x)`.
#[derive(Module, Debug)]
pub struct ResBlock<B: Backend> {
    /// GroupNorm (one group) of the input.
    pub norm1: GroupNorm<B>,
    /// First k×k convolution, c_in → c_out.
    pub conv1: PaddedConv2d<B>,
    /// GroupNorm (one group) of the first convolution's output.
    pub norm2: GroupNorm<B>,
    /// Second k×k convolution, c_out → c_out.
    pub conv2: PaddedConv2d<B>,
    /// 1×1 convolution where the channels change (else the identity).
    pub shortcut: Option<PaddedConv2d<B>>,
}

impl<B: ConvBackend + ActivationBackend> ResBlock<B> {
    /// The block at scale `s`.
    pub fn forward_at(&self, x: Tensor<B, 4>, s: Scale) -> Tensor<B, 4> {
        let h = self.conv1.forward_at(gelu_exact(self.norm1.forward(x.clone())), s);
        let h = self.conv2.forward_at(gelu_exact(self.norm2.forward(h)), s);
        let skip = match &self.shortcut {
            Some(conv) => conv.forward_at(x, s),
            None => x,
        };
        h + skip
    }
}

/// One level of the contracting path.
#[derive(Module, Debug)]
pub struct DownLevel<B: Backend> {
    /// Residual blocks at this level.
    pub blocks: Vec<ResBlock<B>>,
    /// 3×3 stride-2 convolution to the next level (absent on the deepest).
    pub down: Option<PaddedConv2d<B>>,
}

/// One level of the expanding path.
#[derive(Module, Debug)]
pub struct UpLevel<B: Backend> {
    /// `blocks + 1` residual blocks, each on [skip, x].
    pub blocks: Vec<ResBlock<B>>,
    /// Transposed convolution to the next finer level (absent on the finest).
    pub up: Option<ConvTranspose2dUp<B>>,
}

/// The U-Net.
#[derive(Module, Debug)]
pub struct Unet<B: Backend> {
    /// k×k lifting convolution.
    pub lift: PaddedConv2d<B>,
    /// Contracting path, finest level first.
    pub down: Vec<DownLevel<B>>,
    /// The two middle blocks.
    pub middle: Vec<ResBlock<B>>,
    /// Expanding path, deepest level first.
    pub up: Vec<UpLevel<B>>,
    /// Final GroupNorm.
    pub norm: GroupNorm<B>,
    /// k×k output convolution.
    pub head: PaddedConv2d<B>,
    /// Whether grid channels are appended.
    pub grid: bool,
    /// Resampling around the transposed convolutions of the converted net.
    pub resample: ResampleMode,
}

/// Coordinates x_i = i/n along H and W (`GridEmbedding2D`'s periodic grid), `[batch, 2, H, W]`,
/// in the dtype of `like`: nested grids (n, 2n, …) share their points.
pub fn periodic_grid<B: Backend>(like: &Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, _, h, w] = like.dims();
    let mut v = Vec::with_capacity(2 * h * w);
    v.extend((0..h).flat_map(|i| std::iter::repeat_n(i as f64 / h as f64, w)));
    v.extend((0..h).flat_map(|_| (0..w).map(|j| j as f64 / w as f64)));
    let data = TensorData::new(v, [1, 2, h, w]).convert_dtype(like.dtype());
    Tensor::<B, 4>::from_data(data, (&like.device(), like.dtype())).repeat_dim(0, b)
}

impl<B: ConvBackend + ActivationBackend> Unet<B> {
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
        let mut x = self.lift.forward_at(x, s);
        let mut skips = vec![x.clone()];
        for level in &self.down {
            for block in &level.blocks {
                x = block.forward_at(x, s);
                skips.push(x.clone());
            }
            if let Some(down) = &level.down {
                x = down.forward_at(x, s);
                skips.push(x.clone());
            }
        }
        for block in &self.middle {
            x = block.forward_at(x, s);
        }
        for level in &self.up {
            for block in &level.blocks {
                // Built with one skip per block (init), so the stack cannot run dry.
                let skip = skips.pop().unwrap_or_else(|| x.clone());
                let [_, _, h, w] = skip.dims();
                x = block.forward_at(Tensor::cat(vec![skip, fit_centered(x, [h, w])], 1), s);
            }
            if let Some(up) = &level.up {
                let target = skips.last().map_or_else(|| x.dims(), |t| t.dims());
                x = up.forward_at(x, [target[2], target[3]], s, self.resample);
            }
        }
        self.head.forward_at(gelu_exact(self.norm.forward(x)), s)
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

    /// Test 2 (sizes): the parameter counts of the reference shapes.
    #[test]
    fn parameter_counts_are_the_reference_ones() {
        let device = Default::default();
        let default: Unet<Cpu> = UnetConfig::new().init(&device).unwrap();
        assert_eq!(default.num_params(), 730_665);
        let reference: Unet<Cpu> = UnetConfig::new().with_hidden(19).with_mults(vec![1, 2, 2, 3]).with_kernel(9).init(&device).unwrap();
        assert_eq!(reference.num_params(), 65_502_463);
    }

    #[test]
    fn invalid_configurations_name_the_field() {
        let err = UnetConfig::new().with_kernel(4).validate().unwrap_err().to_string();
        assert!(err.starts_with("unet.kernel = 4 is invalid"), "{err}");
        let err = UnetConfig::new().with_mults(vec![]).validate().unwrap_err().to_string();
        assert!(err.starts_with("unet.levels = [] is invalid"), "{err}");
        let err = UnetConfig::new().with_hidden(0).validate().unwrap_err().to_string();
        assert!(err.starts_with("unet.hidden = 0 is invalid"), "{err}");
    }

    /// Test 1 (model) and test 2 (grids): at s = 1 the converted net is the plain net bit for bit;
    /// forwards on even, odd and non-square grids, plain and converted, keep the shape and add
    /// no parameters, and one record loads into the net for every grid.
    #[test]
    fn converted_net_is_plain_at_unit_scale_and_runs_on_every_grid() {
        let device = Default::default();
        let cfg = UnetConfig::new().with_hidden(4).with_mults(vec![1, 2, 2]).with_blocks(1);
        let net: Unet<Cpu> = cfg.init(&device).unwrap();
        let params = net.num_params();
        for side in [16usize, 23] {
            let x = Tensor::<Cpu, 4>::random([2, 1, side, side], Distribution::Normal(0.0, 1.0), &device);
            assert_eq!(values(net.forward_at(x.clone(), Scale::new(side, side))), values(net.forward(x)));
        }
        for (h, w) in [(16usize, 16usize), (17, 17), (31, 31), (64, 64), (128, 128), (20, 33)] {
            let x = Tensor::<Cpu, 4>::random([1, 1, h, w], Distribution::Normal(0.0, 1.0), &device);
            let fresh: Unet<Cpu> = cfg.init(&device).unwrap();
            let loaded = fresh.load_record(net.clone().into_record());
            let converted = loaded.forward_at(x.clone(), Scale::new(w, 32));
            assert_eq!(converted.dims(), [1, 1, h, w], "{h}×{w}");
            assert_eq!(loaded.forward(x.clone()).dims(), [1, 1, h, w]);
            assert_eq!(values(net.forward_at(x, Scale::new(w, 32))), values(converted), "the loaded record is the net");
            assert_eq!(loaded.num_params(), params);
        }
        assert_eq!(net.num_params(), params);
    }
}
