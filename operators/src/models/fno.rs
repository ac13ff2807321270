//! FNO (Li et al., ICLR 2021) in the layout of the reference scripts `fourier_2d.py` /
//! `fourier_1d.py`: pointwise lifting of (input, grid coordinates), Fourier layers
//! `v ← GELU(K v + W v)` (no activation after the last), pointwise projection through a hidden
//! layer of 128. Optional zero domain padding at the far end of each axis for non-periodic data.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::backend::{select, ActivationBackend, ConvBackend, ModelBackend};
use crate::error::OperatorError;
use crate::layers::dft::{SpectralBasis1d, SpectralBasis2d};
use crate::layers::padding::zero_pad;
use crate::layers::{add_gelu, PaddedConv2d, PaddedConv2dConfig, SpectralConv1d, SpectralConv1dConfig, SpectralConv2d, SpectralConv2dConfig};

/// Configuration of an [`Fno2d`]. Defaults are the Darcy script (modes 12, width 32, 4 layers,
/// 2,368,001 parameters with one input channel plus the two grid channels).
#[derive(Config, Debug)]
pub struct Fno2dConfig {
    /// Input channels (without the grid channels).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output channels.
    #[config(default = 1)]
    pub out_channels: usize,
    /// Channels of the Fourier layers.
    #[config(default = 32)]
    pub width: usize,
    /// Modes kept `[per sign along H, along W]`.
    #[config(default = "[12, 12]")]
    pub modes: [usize; 2],
    /// Number of Fourier layers.
    #[config(default = 4)]
    pub layers: usize,
    /// Hidden channels of the projection.
    #[config(default = 128)]
    pub projection: usize,
    /// Append the (x, y) coordinates in [0, 1] as input channels.
    #[config(default = true)]
    pub grid: bool,
    /// Zero padding appended at the far end of both axes before the Fourier layers (the Darcy
    /// script uses 9 on 85² to soften the periodicity assumption).
    #[config(default = 0)]
    pub domain_padding: usize,
    /// Grid coordinates `i/n` (a periodic grid, `data.layout = "periodic"`) instead of the node
    /// grid's `i/(n−1)`: the coordinate channels then hold the same physical point on every grid.
    #[config(default = false)]
    pub periodic_grid: bool,
}

impl Fno2dConfig {
    /// Checks every field.
    pub fn validate(&self) -> crate::error::Result<()> {
        for (name, v, max) in [
            ("fno.in_channels", self.in_channels, 1024),
            ("fno.out_channels", self.out_channels, 1024),
            ("fno.width", self.width, 4096),
            ("fno.modes[0]", self.modes[0], 4096),
            ("fno.modes[1]", self.modes[1], 4096),
            ("fno.layers", self.layers, 64),
            ("fno.projection", self.projection, 1 << 16),
        ] {
            if v == 0 || v > max {
                return Err(OperatorError::invalid(name, v, format!("must be 1 to {max}")));
            }
        }
        if self.domain_padding > 4096 {
            return Err(OperatorError::invalid("fno.domain_padding", self.domain_padding, "must be 0 to 4096"));
        }
        Ok(())
    }

    /// Builds the model (validating first).
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::error::Result<Fno2d<B>> {
        self.validate()?;
        let lift_in = self.in_channels + if self.grid { 2 } else { 0 };
        let pw = |ci: usize, co: usize| PaddedConv2dConfig::new([ci, co], 1).with_bias(true).init(device);
        Ok(Fno2d {
            lift: pw(lift_in, self.width),
            spectral: (0..self.layers).map(|_| SpectralConv2dConfig::new([self.width; 2], self.modes).init(device)).collect(),
            pointwise: (0..self.layers).map(|_| pw(self.width, self.width)).collect(),
            proj1: pw(self.width, self.projection),
            proj2: pw(self.projection, self.out_channels),
            modes: self.modes,
            grid: match (self.grid, self.periodic_grid) {
                (false, _) => GridChannels::Off,
                (true, false) => GridChannels::Nodes,
                (true, true) => GridChannels::Periodic,
            },
            domain_padding: self.domain_padding,
        })
    }
}

/// The 2-D FNO.
#[derive(Module, Debug)]
pub struct Fno2d<B: Backend> {
    /// Pointwise lifting to the width.
    pub lift: PaddedConv2d<B>,
    /// Fourier layers.
    pub spectral: Vec<SpectralConv2d<B>>,
    /// Pointwise skips of the Fourier layers.
    pub pointwise: Vec<PaddedConv2d<B>>,
    /// First projection layer (width → hidden).
    pub proj1: PaddedConv2d<B>,
    /// Second projection layer (hidden → out).
    pub proj2: PaddedConv2d<B>,
    /// Modes kept.
    pub modes: [usize; 2],
    /// Which coordinates are appended (not part of the record: it follows the run's data
    /// layout; the record holds an empty `grid` entry, as when this was a flag).
    #[module(skip)]
    pub grid: GridChannels,
    /// Zero padding at the far ends, in pixels of the training grid.
    pub domain_padding: usize,
}

/// The coordinate channels an [`Fno2d`] appends to its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridChannels {
    /// None.
    Off,
    /// `i/(n−1)`: the nodes of [0, 1], boundaries included.
    Nodes,
    /// `i/n`: a periodic grid.
    Periodic,
}

/// Coordinates along H and W, `[batch, 2, H, W]`, in the dtype of `like`: `i/(n−1)` (nodes of
/// [0, 1]) or, on a periodic grid, `i/n`.
fn grid2d<B: Backend>(like: &Tensor<B, 4>, periodic: bool) -> Tensor<B, 4> {
    let [b, _, h, w] = like.dims();
    let at = |i: usize, n: usize| match (periodic, n) {
        (true, _) => i as f64 / n as f64,
        (false, 1) => 0.0,
        (false, _) => i as f64 / (n - 1) as f64,
    };
    let mut v = Vec::with_capacity(2 * h * w);
    for i in 0..h {
        for _ in 0..w {
            v.push(at(i, h));
        }
    }
    for _ in 0..h {
        for j in 0..w {
            v.push(at(j, w));
        }
    }
    let data = TensorData::new(v, [1, 2, h, w]).convert_dtype(like.dtype());
    Tensor::<B, 4>::from_data(data, (&like.device(), like.dtype())).repeat_dim(0, b)
}

impl<B: ModelBackend> Fno2d<B> {
    /// Applies the operator.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, H, W]`
    /// - output: `[batch, out_channels, H, W]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_padded(x, self.domain_padding)
    }

    /// The zero padding on a grid of width `w` for a model trained on width `base_side`:
    /// `domain_padding` is a fraction of the domain, not a pixel count, so it scales with
    /// `s = w/base_side` (rounded to whole pixels; exact at the training grid and wherever
    /// `domain_padding · s` is whole). A fixed pixel count would change the padded period, and
    /// with it the physical frequency of every Fourier mode, from grid to grid (neuraloperator
    /// issue #72).
    pub fn padding_at(&self, w: usize, base_side: usize) -> usize {
        let base = base_side.max(1);
        (2 * self.domain_padding * w + base) / (2 * base)
    }

    /// The operator on a grid other than the training grid (`base_side` wide): the domain
    /// padding scaled by [`Fno2d::padding_at`]. At the training grid this is [`Fno2d::forward`]
    /// bit for bit.
    pub fn forward_scaled(&self, x: Tensor<B, 4>, base_side: usize) -> Tensor<B, 4> {
        let p = self.padding_at(x.dims()[3], base_side);
        self.forward_padded(x, p)
    }

    fn forward_padded(&self, x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
        let [_, _, h, w] = x.dims();
        let x = match self.grid {
            GridChannels::Off => x,
            GridChannels::Nodes => Tensor::cat(vec![x.clone(), grid2d(&x, false)], 1),
            GridChannels::Periodic => Tensor::cat(vec![x.clone(), grid2d(&x, true)], 1),
        };
        let mut v = self.lift.forward(x);
        if p > 0 {
            v = zero_pad(zero_pad(v, 2, 0, p), 3, 0, p);
        }
        let layout = select::spectral_layout::<B>();
        let basis = SpectralBasis2d::with_layout(h + p, w + p, self.modes, layout, &v.device(), v.dtype());
        let n = self.spectral.len();
        for (i, (k, pw)) in self.spectral.iter().zip(&self.pointwise).enumerate() {
            let (spectral, pointwise) = (k.forward(v.clone(), &basis), pw.forward(v));
            v = if i + 1 < n { add_gelu(spectral, pointwise) } else { spectral + pointwise };
        }
        if p > 0 {
            v = v.narrow(2, 0, h).narrow(3, 0, w);
        }
        self.proj2.forward(gelu(self.proj1.forward(v)))
    }
}

/// Configuration of an [`Fno1d`]. Defaults are the Burgers script (modes 16, width 64, 4 layers).
#[derive(Config, Debug)]
pub struct Fno1dConfig {
    /// Input channels (without the grid channel).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output channels.
    #[config(default = 1)]
    pub out_channels: usize,
    /// Channels of the Fourier layers.
    #[config(default = 64)]
    pub width: usize,
    /// Half-spectrum modes kept.
    #[config(default = 16)]
    pub modes: usize,
    /// Number of Fourier layers.
    #[config(default = 4)]
    pub layers: usize,
    /// Hidden channels of the projection.
    #[config(default = 128)]
    pub projection: usize,
    /// Append the coordinate in [0, 1] as an input channel.
    #[config(default = true)]
    pub grid: bool,
}

impl Fno1dConfig {
    /// Builds the model, checking every field.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::error::Result<Fno1d<B>> {
        for (name, v, max) in [
            ("fno1d.in_channels", self.in_channels, 1024),
            ("fno1d.out_channels", self.out_channels, 1024),
            ("fno1d.width", self.width, 4096),
            ("fno1d.modes", self.modes, 1 << 16),
            ("fno1d.layers", self.layers, 64),
            ("fno1d.projection", self.projection, 1 << 16),
        ] {
            if v == 0 || v > max {
                return Err(OperatorError::invalid(name, v, format!("must be 1 to {max}")));
            }
        }
        let lift_in = self.in_channels + usize::from(self.grid);
        // Pointwise layers on a 1-D signal are 1×1 convolutions on an H = 1 grid.
        let pw = |ci: usize, co: usize| PaddedConv2dConfig::new([ci, co], 1).with_bias(true).init(device);
        Ok(Fno1d {
            lift: pw(lift_in, self.width),
            spectral: (0..self.layers).map(|_| SpectralConv1dConfig::new([self.width; 2], self.modes).init(device)).collect(),
            pointwise: (0..self.layers).map(|_| pw(self.width, self.width)).collect(),
            proj1: pw(self.width, self.projection),
            proj2: pw(self.projection, self.out_channels),
            modes: self.modes,
            grid: self.grid,
        })
    }
}

/// The 1-D FNO.
#[derive(Module, Debug)]
pub struct Fno1d<B: Backend> {
    /// Pointwise lifting.
    pub lift: PaddedConv2d<B>,
    /// Fourier layers.
    pub spectral: Vec<SpectralConv1d<B>>,
    /// Pointwise skips.
    pub pointwise: Vec<PaddedConv2d<B>>,
    /// First projection layer.
    pub proj1: PaddedConv2d<B>,
    /// Second projection layer.
    pub proj2: PaddedConv2d<B>,
    /// Modes kept.
    pub modes: usize,
    /// Whether the coordinate is appended.
    pub grid: bool,
}

impl<B: ConvBackend + ActivationBackend> Fno1d<B> {
    /// Applies the operator.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, n]`
    /// - output: `[batch, out_channels, n]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, _, n] = x.dims();
        let x = if self.grid {
            let v: Vec<f64> = (0..n).map(|i| if n > 1 { i as f64 / (n - 1) as f64 } else { 0.0 }).collect();
            let g = Tensor::<B, 3>::from_data(TensorData::new(v, [1, 1, n]).convert_dtype(x.dtype()), (&x.device(), x.dtype())).repeat_dim(0, b);
            Tensor::cat(vec![x, g], 1)
        } else {
            x
        };
        let as2 = |t: Tensor<B, 3>| t.unsqueeze_dim::<4>(2);
        let as1 = |t: Tensor<B, 4>| t.squeeze_dim::<3>(2);
        let mut v = as1(self.lift.forward(as2(x)));
        let basis = SpectralBasis1d::new(n, self.modes, &v.device(), v.dtype());
        let layers = self.spectral.len();
        for (i, (k, pw)) in self.spectral.iter().zip(&self.pointwise).enumerate() {
            let (spectral, pointwise) = (k.forward(v.clone(), &basis), as1(pw.forward(as2(v))));
            v = if i + 1 < layers { add_gelu(spectral, pointwise) } else { spectral + pointwise };
        }
        as1(self.proj2.forward(gelu(self.proj1.forward(as2(v)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::Distribution;

    #[test]
    fn darcy_fno_has_the_reference_parameter_count() {
        let model: Fno2d<Cpu> = Fno2dConfig::new().init(&Default::default()).unwrap();
        assert_eq!(model.num_params(), 2_368_001);
    }

    /// The domain padding is a fraction of the domain: at the training grid the scaled forward is
    /// the plain one bit for bit; elsewhere the padding scales with the grid (rounded).
    #[test]
    fn domain_padding_scales_with_the_grid_and_is_exact_at_the_training_grid() {
        let device = Default::default();
        let model: Fno2d<Cpu> =
            Fno2dConfig::new().with_width(4).with_modes([3, 3]).with_layers(2).with_projection(8).with_domain_padding(5).init(&device).unwrap();
        assert_eq!([model.padding_at(32, 32), model.padding_at(64, 32), model.padding_at(128, 32), model.padding_at(16, 32)], [5, 10, 20, 3]);
        assert_eq!(model.padding_at(8, 32), 1);
        let x = Tensor::<Cpu, 4>::random([2, 1, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        let plain: Vec<f32> = model.forward(x.clone()).into_data().to_vec().unwrap();
        let scaled: Vec<f32> = model.forward_scaled(x.clone(), 32).into_data().to_vec().unwrap();
        assert_eq!(plain, scaled);
        let x64 = Tensor::<Cpu, 4>::random([1, 1, 64, 64], Distribution::Normal(0.0, 1.0), &device);
        assert_eq!(model.forward_scaled(x64, 32).dims(), [1, 1, 64, 64]);
    }

    #[test]
    fn periodic_grid_coordinates_are_i_over_n() {
        let like = Tensor::<Cpu, 4>::zeros([1, 1, 2, 4], &Default::default());
        let nodes: Vec<f32> = grid2d(&like, false).into_data().to_vec().unwrap();
        let periodic: Vec<f32> = grid2d(&like, true).into_data().to_vec().unwrap();
        // Channel 1 (x along W) of the first row.
        assert_eq!(&nodes[8..12], &[0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
        assert_eq!(&periodic[8..12], &[0.0, 0.25, 0.5, 0.75]);
        assert_eq!(&periodic[0..8], &[0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5]);
    }

    #[test]
    fn fno_runs_on_any_grid_with_and_without_padding() {
        let device = Default::default();
        for pad in [0, 3] {
            let model: Fno2d<Cpu> =
                Fno2dConfig::new().with_width(4).with_modes([3, 5]).with_layers(2).with_projection(8).with_domain_padding(pad).init(&device).unwrap();
            for (h, w) in [(16, 16), (7, 5), (1, 9)] {
                let x = Tensor::<Cpu, 4>::random([2, 1, h, w], Distribution::Normal(0.0, 1.0), &device);
                assert_eq!(model.forward(x).dims(), [2, 1, h, w]);
            }
        }
        let model: Fno1d<Cpu> = Fno1dConfig::new().with_width(4).with_modes(6).with_layers(2).init(&device).unwrap();
        let x = Tensor::<Cpu, 3>::random([3, 1, 20], Distribution::Normal(0.0, 1.0), &device);
        assert_eq!(model.forward(x).dims(), [3, 1, 20]);
    }
}
