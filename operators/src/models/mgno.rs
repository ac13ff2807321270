//! MgNO (He, Liu, Xu, ICLR 2024): layers `u ← GELU(MgConv(u) + W u + b)`, then a 1×1 head.
//!
//! As in the reference `MgNO_DC`, there is no lifting or projection network: the first V-cycle
//! takes the input channels directly as its right-hand side f, the pointwise term is a 1×1
//! convolution with bias, and the head is a 1×1 convolution without bias.
//!
//! ```
//! use burn::tensor::Tensor;
//! use oplab_operators::backend::Cpu;
//! use oplab_operators::MgNoConfig;
//!
//! // A small MgNO: 8 channels, 2 layers, a 3-level V-cycle (17 → 9 → 5 nodes per side).
//! let config = MgNoConfig::new().with_channels(8).with_layers(2).with_levels(vec![[1, 0], [1, 0], [2, 0]]);
//! let device = Default::default();
//! let model = config.init::<Cpu>(&device).unwrap();
//! // Fields are [batch, channels, height, width]; the output has the input's grid.
//! let a = Tensor::<Cpu, 4>::ones([2, 1, 17, 17], &device);
//! let u = model.forward(a);
//! assert_eq!(u.dims(), [2, 1, 17, 17]);
//! // An invalid configuration is an error naming the field, not a panic.
//! let err = MgNoConfig::new().with_channels(0).init::<Cpu>(&device).unwrap_err();
//! assert!(err.to_string().contains("mgno.channels"));
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::backend::{ActivationBackend, ConvBackend};
use crate::error::OperatorError;
use crate::layers::{add_gelu, MgConv, MgConvConfig, PaddedConv2d, PaddedConv2dConfig, PaddingMode};

/// Configuration of an [`MgNo`]. Defaults are the Darcy-rough model of the paper,
/// `MgNO_DC(4, 24, 1, [[1,0]]*5 + [[2,0]])`, 572,661 parameters.
#[derive(Config, Debug)]
pub struct MgNoConfig {
    /// Input channels (1 for Darcy: the coefficient alone, no coordinates).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output channels of the head.
    #[config(default = 1)]
    pub out_channels: usize,
    /// Width c_u of every layer.
    #[config(default = 24)]
    pub channels: usize,
    /// Number of MgConv layers.
    #[config(default = 4)]
    pub layers: usize,
    /// `[pre, post]` smoothing steps per level, finest first (the number of levels).
    #[config(default = "vec![[1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [2, 0]]")]
    pub levels: Vec<[usize; 2]>,
    /// Boundary handling of the 3×3 convolutions.
    #[config(default = "PaddingMode::Zeros")]
    pub padding: PaddingMode,
    /// Transposed-convolution kernel per level transition (empty: 4 everywhere).
    #[config(default = "Vec::new()")]
    pub prolongation_kernels: Vec<usize>,
}

impl MgNoConfig {
    /// The smooth-Darcy model of the reference code (`MgNO_DC_smooth(5, 24, 1, ...)`, 211² grid,
    /// transposed kernels 3, 4, 3, 3, 4), 678,093 parameters.
    pub fn darcy_smooth() -> Self {
        MgNoConfig::new().with_layers(5).with_prolongation_kernels(vec![3, 4, 3, 3, 4])
    }

    /// Checks every field.
    pub fn validate(&self) -> crate::error::Result<()> {
        for (name, v, max) in [
            ("mgno.in_channels", self.in_channels, 1024),
            ("mgno.out_channels", self.out_channels, 1024),
            ("mgno.channels", self.channels, 4096),
            ("mgno.layers", self.layers, 64),
        ] {
            if v == 0 || v > max {
                return Err(OperatorError::invalid(name, v, format!("must be 1 to {max}")));
            }
        }
        self.block(self.in_channels).validate("mgno")
    }

    fn block(&self, channels_f: usize) -> MgConvConfig {
        MgConvConfig::new(channels_f, self.channels, self.levels.clone())
            .with_padding(self.padding)
            .with_prolongation_kernels(self.prolongation_kernels.clone())
    }

    /// Builds the model (validating first).
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::error::Result<MgNo<B>> {
        self.validate()?;
        let mut blocks = Vec::with_capacity(self.layers);
        let mut skips = Vec::with_capacity(self.layers);
        for i in 0..self.layers {
            let cin = if i == 0 { self.in_channels } else { self.channels };
            blocks.push(self.block(cin).init(device)?);
            skips.push(PaddedConv2dConfig::new([cin, self.channels], 1).with_bias(true).init(device));
        }
        let head = PaddedConv2dConfig::new([self.channels, self.out_channels], 1).init(device);
        Ok(MgNo { blocks, skips, head })
    }
}

/// The MgNO operator.
#[derive(Module, Debug)]
pub struct MgNo<B: Backend> {
    /// One V-cycle per layer.
    pub blocks: Vec<MgConv<B>>,
    /// The pointwise (1×1, with bias) term of each layer.
    pub skips: Vec<PaddedConv2d<B>>,
    /// 1×1 head without bias, c_u → c_out.
    pub head: PaddedConv2d<B>,
}

impl<B: ConvBackend + ActivationBackend> MgNo<B> {
    /// Applies the operator.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, H, W]`
    /// - output: `[batch, out_channels, H, W]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut u = x;
        for (block, skip) in self.blocks.iter().zip(&self.skips) {
            u = add_gelu(block.forward(u.clone()), skip.forward(u));
        }
        self.head.forward(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::Distribution;

    #[test]
    fn darcy_rough_model_has_the_reference_parameter_count() {
        let model: MgNo<Cpu> = MgNoConfig::new().init(&Default::default()).unwrap();
        assert_eq!(model.num_params(), 572_661);
    }

    #[test]
    fn darcy_smooth_model_has_the_reference_parameter_count() {
        let model: MgNo<Cpu> = MgNoConfig::darcy_smooth().init(&Default::default()).unwrap();
        assert_eq!(model.num_params(), 678_093);
    }

    #[test]
    fn runs_on_grids_not_divisible_by_the_coarsening() {
        let device = Default::default();
        for padding in [PaddingMode::Zeros, PaddingMode::Circular, PaddingMode::Reflect] {
            let cfg = MgNoConfig::new().with_channels(4).with_layers(2).with_padding(padding).with_levels(vec![[1, 1], [1, 0], [1, 0], [2, 0]]);
            let model: MgNo<Cpu> = cfg.init(&device).unwrap();
            for (h, w) in [(16, 16), (13, 11), (21, 8), (3, 5)] {
                let x = Tensor::<Cpu, 4>::random([2, 1, h, w], Distribution::Normal(0.0, 1.0), &device);
                assert_eq!(model.forward(x).dims(), [2, 1, h, w], "{padding:?} {h}x{w}");
            }
        }
        // The smooth-Darcy kernels reproduce the reference's 211 → 7 → 211 hierarchy.
        let cfg = MgNoConfig::darcy_smooth().with_channels(2).with_layers(1);
        let model: MgNo<Cpu> = cfg.init(&device).unwrap();
        let x = Tensor::<Cpu, 4>::random([1, 1, 211, 211], Distribution::Normal(0.0, 1.0), &device);
        assert_eq!(model.forward(x).dims(), [1, 1, 211, 211]);
    }

    #[test]
    fn invalid_configurations_name_the_field() {
        let err = MgNoConfig::new().with_levels(vec![[0, 0], [1, 0]]).validate().unwrap_err().to_string();
        assert!(err.starts_with("mgno.levels[0] = [0, 0] is invalid"), "{err}");
        let err = MgNoConfig::new().with_channels(0).validate().unwrap_err().to_string();
        assert!(err.starts_with("mgno.channels = 0"), "{err}");
        let err = MgNoConfig::new().with_prolongation_kernels(vec![4]).validate().unwrap_err().to_string();
        assert!(err.contains("prolongation_kernels"), "{err}");
        let err = MgNoConfig::new().with_levels(vec![[1, 0], [1, 1]]).validate().unwrap_err().to_string();
        assert!(err.contains("coarsest"), "{err}");
    }

    /// A few Adam steps of a small MgNO (every kind of convolution, all three boundary modes)
    /// give the same loss curve on the fast and the stock path.
    #[test]
    fn training_on_every_convolution_path_gives_the_same_losses() {
        use crate::backend::select::with_grad_path;
        use crate::backend::tensor::testing::{vec64, Ad};
        use crate::backend::ConvGradPath;
        use crate::losses::relative_l2;
        use burn::optim::{AdamConfig, GradientsParams, Optimizer};
        let device = Default::default();
        for padding in [PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Circular] {
            let cfg = MgNoConfig::new().with_channels(4).with_layers(2).with_levels(vec![[1, 1], [1, 1], [2, 0]]).with_padding(padding);
            let model0 = cfg.init::<Ad>(&device).unwrap();
            let x = Tensor::<Ad, 4>::random([4, 1, 13, 10], Distribution::Normal(0.0, 1.0), &device);
            let y = Tensor::<Ad, 4>::random([4, 1, 13, 10], Distribution::Normal(0.0, 1.0), &device);
            // Parameters initialise lazily, and each clone of an uninitialised one draws its own
            // values: touch them all once so that both runs start from the same model.
            let _ = model0.forward(x.clone());
            let curve = |path: ConvGradPath| -> Vec<f64> {
                with_grad_path(path, || {
                    let mut model = model0.clone();
                    let mut optim = AdamConfig::new().init::<Ad, crate::models::MgNo<Ad>>();
                    let mut values = Vec::new();
                    for _ in 0..6 {
                        let loss = relative_l2(model.forward(x.clone()), y.clone(), None).mean();
                        values.push(vec64(loss.clone().inner())[0]);
                        let grads = GradientsParams::from_grads(loss.backward(), &model);
                        model = optim.step(1e-2, model, grads);
                    }
                    values
                })
            };
            let (fast, stock) = (curve(ConvGradPath::Fast), curve(ConvGradPath::Stock));
            let tuned = curve(ConvGradPath::Tuned);
            for (t, s) in tuned.iter().zip(&stock) {
                assert!((t - s).abs() <= 1e-5 * s.abs(), "{padding:?}: tuned {t} vs stock {s}");
            }
            for (i, (f, s)) in fast.iter().zip(&stock).enumerate() {
                assert!((f - s).abs() <= 1e-5 * s.abs(), "{padding:?} step {i}: fast {f} vs stock {s}");
            }
            assert!(fast[5] < fast[0], "{padding:?}: the loss should fall ({fast:?})");
            eprintln!("MgNO {padding:?}: loss {:.6} -> {:.6} on both paths", fast[0], fast[5]);
        }
    }
}
